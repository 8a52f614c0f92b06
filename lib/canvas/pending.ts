// A client's view of the board: the server's board as committed so far, with this client's own
// changes that the server has not committed yet applied on top (Figma's multiplayer model). Each
// committed batch moves the confirmed board; the pending changes are re-applied over it, so a
// local change shows at once and, once everything is committed, the view is the server's board.
import { applyOps, emptyBoard, type Board } from "./board";
import type { CanvasOp } from "../protocol";

export interface PendingChange {
  clientId: string;
  ops: CanvasOp[];
}

export class PendingBoard {
  private confirmed: Board = emptyBoard();
  private seq = 0;
  private readonly pending: PendingChange[] = [];
  private cached: Board | null = null;

  /** The board as the server committed it, up to `position`. */
  get committed(): Board {
    return this.confirmed;
  }

  /** The last committed seq folded in (0: none). */
  get position(): number {
    return this.seq;
  }

  /** What this person sees: the committed board with their pending changes applied. */
  get view(): Board {
    if (this.cached) return this.cached;
    let b = this.confirmed;
    for (const p of this.pending) b = applyOps(b, p.ops);
    return (this.cached = b);
  }

  get pendingChanges(): readonly PendingChange[] {
    return this.pending;
  }

  /** A change of mine, applied at once; it stays pending until its batch is committed. */
  local(change: PendingChange): void {
    if (this.pending.some((p) => p.clientId === change.clientId)) return;
    this.pending.push(change);
    this.cached = null;
  }

  /** The server's board as of `seq` (a snapshot): it replaces what was committed before. */
  reset(board: Board, seq: number): void {
    this.confirmed = board;
    this.seq = seq;
    this.cached = null;
  }

  /**
   * A committed batch, in seq order. When it is one of mine it is no longer pending: the
   * committed board now holds it, in its place in the server's order.
   */
  committedBatch(seq: number, ops: readonly CanvasOp[], mine: string | null): void {
    if (seq <= this.seq) return;
    this.confirmed = applyOps(this.confirmed, ops);
    this.seq = seq;
    if (mine !== null) this.drop(mine);
    this.cached = null;
  }

  /** The server refused a change of mine (or it was given up): the server's board wins. */
  drop(clientId: string): void {
    const i = this.pending.findIndex((p) => p.clientId === clientId);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.cached = null;
  }

  has(clientId: string): boolean {
    return this.pending.some((p) => p.clientId === clientId);
  }
}
