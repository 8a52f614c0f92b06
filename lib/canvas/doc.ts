// One person's canvas of one room, without React or a transport: the board they see (committed
// plus their pending changes, lib/canvas/pending.ts), their undo history (undo.ts), and the
// way out for a change (a `canvas.ops` frame in the outbox, which keeps it across reconnects and
// offline spells). The store (lib/store/canvas.ts) and the convergence test drive the same class.
import { boardFrom, refusal, type Board } from "./board";
import { PendingBoard } from "./pending";
import { UndoHistory } from "./undo";
import type { CanvasObject, CanvasOp, RealtimeEvent } from "../protocol";

export interface CanvasDocDeps {
  /** Queues the change to be sent once (false: it could not be queued — the outbox is full). */
  send(clientId: string, ops: CanvasOp[]): boolean;
  newClientId(): string;
}

export class CanvasDoc {
  readonly board = new PendingBoard();
  readonly history = new UndoHistory();
  /** Whether a snapshot (or a resumed position) has given the committed board a start. */
  loaded = false;

  constructor(private readonly deps: CanvasDocDeps) {}

  get view(): Board {
    return this.board.view;
  }

  /**
   * A change I make: shown at once, remembered for undo, queued for the server. Refused here
   * (null) when it cannot apply to what I see — an object someone deleted a moment ago — or
   * when it cannot be queued; otherwise its clientId.
   */
  change(ops: CanvasOp[]): string | null {
    if (ops.length === 0 || refusal(this.view, ops)) return null;
    const before = this.view;
    const clientId = this.submit(ops);
    if (clientId) this.history.record(ops, before);
    return clientId;
  }

  /**
   * Takes back my latest change still undoable on the board as it is now: true when it did,
   * "overridden" when that change is someone else's work now (nothing changes), false if none.
   */
  undo(): boolean | "overridden" {
    return this.apply(this.history.undo(this.view));
  }

  redo(): boolean | "overridden" {
    return this.apply(this.history.redo(this.view));
  }

  private apply(ops: CanvasOp[] | "overridden" | null): boolean | "overridden" {
    if (ops === "overridden") return ops;
    return ops !== null && this.submit(ops) !== null;
  }

  /** The board as of `seq`, from the server. */
  snapshot(seq: number, objects: CanvasObject[]): void {
    this.board.reset(boardFrom(objects), seq);
    this.loaded = true;
  }

  /** A committed change (anyone's), in stream order. */
  committed(event: Extract<RealtimeEvent, { type: "canvas.ops" }>): void {
    this.board.committedBatch(event.seq, event.data.ops, event.data.clientId);
  }

  /** The server acknowledged a change of mine at `seq`. */
  acked(clientId: string, seq: number): void {
    this.board.acked(clientId, seq);
  }

  /** The server refused a change of mine for good: the server's board wins. */
  refused(clientId: string): void {
    this.board.drop(clientId);
  }

  /** A change of mine still waiting from before (a reload): shown again until it is committed. */
  restore(clientId: string, ops: CanvasOp[]): void {
    this.board.local({ clientId, ops });
  }

  private submit(ops: CanvasOp[]): string | null {
    const clientId = this.deps.newClientId();
    if (!this.deps.send(clientId, ops)) return null;
    this.board.local({ clientId, ops });
    return clientId;
  }
}
