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
  /** Changes of mine the server acknowledged at a seq this board has not reached yet. */
  private readonly ackedAt = new Map<string, number>();
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
    this.dropReached();
    this.cached = null;
  }

  /**
   * The server acknowledged a change of mine at `seq`. Its event normally drops it from the
   * pending ones; but a snapshot past `seq` already holds it without that event, and applying
   * it again on top would undo later writes by others.
   */
  acked(clientId: string, seq: number): void {
    if (!this.has(clientId)) return;
    if (seq <= this.seq) return this.drop(clientId);
    this.ackedAt.set(clientId, seq);
  }

  private dropReached(): void {
    for (const [clientId, seq] of this.ackedAt) if (seq <= this.seq) this.drop(clientId);
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
    this.dropReached();
    this.cached = null;
  }

  /** The server refused a change of mine (or it was given up): the server's board wins. */
  drop(clientId: string): void {
    this.ackedAt.delete(clientId);
    const i = this.pending.findIndex((p) => p.clientId === clientId);
    if (i < 0) return;
    this.pending.splice(i, 1);
    this.cached = null;
  }

  has(clientId: string): boolean {
    return this.pending.some((p) => p.clientId === clientId);
  }
}
