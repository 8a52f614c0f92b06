// The boards of the rooms' shared canvases on the server (protocol 1.3): what each board holds
// now, the check of a change against it, its append to the room's `canvas:<roomId>` stream, and
// the snapshots kept beside the log so a late joiner reads one row and a few operations instead
// of the whole history. The fold itself is lib/canvas/board.ts, the one the clients use.
import type { PrismaClient } from "./db/generated/client";
import type { AppendResult, EventLog } from "./eventlog";
import type { Logger } from "./log";
import { applyOps, boardFrom, boardObjects, foldBatches, refusal, type Board } from "../lib/canvas/board";
import { mergeTextOps } from "../lib/canvas/text-merge";
import { canvasObjectSchema, canvasStream, SNAPSHOT_EVERY, type Actor, type CanvasObject, type CanvasOp, type ErrorCode, type RealtimeEvent } from "../lib/protocol";
import { z } from "../lib/protocol/zod";

/** A change the board refuses (PROTOCOL.md: `unknown_object`, `object_exists`, `board_full`). */
export class CanvasError extends Error {
  override name = "CanvasError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A board as this server last folded it. */
interface Folded {
  board: Board;
  /** The canvas stream's seq the board is folded to. */
  seq: number;
  /** The seq of the newest stored snapshot (0: none). */
  snapshotSeq: number;
}

/** Boards kept folded in memory, least recently used first out; any other is read again. */
export const MAX_BOARDS_IN_MEMORY = 64;
/** Operations read from the log per query while folding. */
const FOLD_PAGE = 1000;

const storedObjects = z.array(canvasObjectSchema);

const acceptedKey = (actorId: string, clientId: string) => `${actorId}\u0000${clientId}`;

/** A change this instance accepted: its ops, its append, and once committed its seq. */
interface Accepted {
  ops: CanvasOp[];
  result: Promise<AppendResult>;
  seq?: number;
}

export class CanvasBoards {
  private readonly folded = new Map<string, Folded>();
  /** Per canvas, the change being checked and appended: the next waits, so it checks against it. */
  private readonly turns = new Map<string, Promise<unknown>>();
  /**
   * Per canvas, the changes this instance accepted and queued that the log has not shown
   * committed yet (or committed while a check was under way), in order, by actor and
   * clientId. Bounded by the log's queue.
   */
  private readonly accepted = new Map<string, Map<string, Accepted>>();
  private readonly snapshotting = new Set<string>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: EventLog,
    private readonly opts: { logger?: Logger; snapshotEvery?: number; maxBoards?: number } = {},
  ) {}

  /**
   * The board as committed now. Another instance may have committed since this one last looked,
   * so what is in memory is brought up to the log's head first (one query when nothing is new).
   */
  async current(room: string): Promise<{ board: Board; seq: number }> {
    const stream = canvasStream(room);
    let f = this.folded.get(stream);
    if (!f) {
      const snap = await this.latestSnapshot(room);
      f = { board: boardFrom(snap.objects), seq: snap.seq, snapshotSeq: snap.seq };
    }
    for (;;) {
      const page: RealtimeEvent[] = await this.log.readAfter(stream, f.seq, FOLD_PAGE);
      const last = page[page.length - 1];
      if (last) {
        const batches = page.map((e) => (e.type === "canvas.ops" ? e.data.ops : []));
        f = { ...f, board: foldBatches(f.board, batches), seq: last.seq };
        // What the log shows committed is no longer pending here, even before its append resolves.
        const accepted = this.accepted.get(stream);
        if (accepted) for (const e of page) if (e.type === "canvas.ops") accepted.delete(acceptedKey(e.actor.id, e.data.clientId));
      }
      if (page.length < FOLD_PAGE) break;
    }
    this.remember(stream, f);
    this.maybeSnapshot(stream, f);
    return { board: f.board, seq: f.seq };
  }

  /**
   * Checks `ops` against the board as it stands and appends them as one `canvas.ops` event;
   * resolves once durable. Changes to one canvas take turns on this instance for their check,
   * each against the committed board with every change accepted before it applied on top — the
   * server's own pending changes, as a page keeps its own — so a change need not wait for the one
   * before it to commit, and one board's changes share a group commit. Across instances the
   * fold's rules (an op on a missing object changes nothing) keep every reader's board the same
   * whatever got through. A repeated `clientId` answers the first event and checks nothing.
   */
  change(room: string, actor: Actor, ops: CanvasOp[], clientId: string): Promise<AppendResult> {
    const stream = canvasStream(room);
    const key = acceptedKey(actor.id, clientId);
    const before = this.turns.get(stream) ?? Promise.resolve();
    const turn = before.catch(() => undefined).then(async (): Promise<{ result: Promise<AppendResult> }> => {
      const queued = this.accepted.get(stream)?.get(key);
      if (queued) return { result: queued.result };
      const earlier = await this.log.findByKey(stream, actor.id, clientId);
      if (earlier) return { result: Promise.resolve({ event: earlier, duplicate: true }) };
      const { board, seq } = await this.current(room);
      let expected = board;
      // A change committed after the board was read is not on it yet (its seq is past the board's).
      for (const a of this.accepted.get(stream)?.values() ?? []) if (a.seq === undefined || a.seq > seq) expected = applyOps(expected, a.ops);
      const why = refusal(expected, ops);
      if (why) throw new CanvasError(why.code, why.message);
      // A note's text written from what it read before another change was accepted keeps both (1.16).
      const merged = mergeTextOps(expected, ops);
      const result = this.log.append({ stream, type: "canvas.ops", actor, data: { ops: merged, clientId }, clientId });
      let mine = this.accepted.get(stream);
      if (!mine) this.accepted.set(stream, (mine = new Map()));
      mine.set(key, { ops: merged, result });
      // Committed or failed, it is no longer the server's pending change (a failed one was never
      // in the log; a committed one is, and the next fold reads it from there). Unless a check
      // is under way: it may have read the board just before this commit, and still needs the
      // change on top of what it read (the seq tells it whether it did). It is let go when the
      // checks under way are done (`forgetCommitted`).
      const settled = (committed?: AppendResult) => {
        const now = this.accepted.get(stream);
        const entry = now?.get(key);
        if (!now || entry?.result !== result) return;
        if (committed && this.turns.has(stream)) {
          entry.seq = committed.event.seq;
          return;
        }
        now.delete(key);
        if (now.size === 0) this.accepted.delete(stream);
      };
      result.then(settled, () => settled());
      return { result };
    });
    this.turns.set(stream, turn);
    void turn.finally(() => {
      if (this.turns.get(stream) !== turn) return;
      this.turns.delete(stream);
      this.forgetCommitted(stream);
    }).catch(() => undefined);
    return turn.then((t) => t.result);
  }

  /** No check is under way: the committed changes kept for one are let go (the log has them). */
  private forgetCommitted(stream: string): void {
    const mine = this.accepted.get(stream);
    if (!mine) return;
    for (const [key, a] of mine) if (a.seq !== undefined) mine.delete(key);
    if (mine.size === 0) this.accepted.delete(stream);
  }

  /** The canvas stream's last committed seq. */
  head(room: string): Promise<number> {
    return this.log.head(canvasStream(room));
  }

  /** The newest stored snapshot of the room's board; an empty board at 0 when there is none. */
  async latestSnapshot(room: string): Promise<{ seq: number; objects: CanvasObject[] }> {
    const rows = await this.prisma.$queryRaw<{ seq: bigint; objects: unknown }[]>`
      SELECT seq, objects FROM canvas_snapshots WHERE stream = ${canvasStream(room)}`;
    const row = rows[0];
    if (!row) return { seq: 0, objects: [] };
    const objects = typeof row.objects === "string" ? (JSON.parse(row.objects) as unknown) : row.objects;
    return { seq: Number(row.seq), objects: storedObjects.parse(objects) };
  }

  /** Stores the board as of `seq` unless a newer snapshot is already there (another instance's). */
  async storeSnapshot(room: string, board: Board, seq: number): Promise<void> {
    const json = JSON.stringify(boardObjects(board));
    await this.prisma.$executeRaw`
      INSERT INTO canvas_snapshots (stream, seq, objects) VALUES (${canvasStream(room)}, ${seq}, ${json}::jsonb)
      ON CONFLICT (stream) DO UPDATE SET seq = EXCLUDED.seq, objects = EXCLUDED.objects, at = now()
        WHERE canvas_snapshots.seq < EXCLUDED.seq`;
  }

  private remember(stream: string, f: Folded): void {
    // Two reads may race: the board folded further wins.
    const had = this.folded.get(stream);
    if (had && had.seq > f.seq) f = had;
    this.folded.delete(stream);
    this.folded.set(stream, f);
    const max = this.opts.maxBoards ?? MAX_BOARDS_IN_MEMORY;
    while (this.folded.size > max) this.folded.delete(this.folded.keys().next().value!);
  }

  /** After SNAPSHOT_EVERY batches past the last snapshot, store a new one; off the change's path. */
  private maybeSnapshot(stream: string, f: Folded): void {
    if (f.seq - f.snapshotSeq < (this.opts.snapshotEvery ?? SNAPSHOT_EVERY) || this.snapshotting.has(stream)) return;
    this.snapshotting.add(stream);
    const room = stream.slice("canvas:".length);
    void this.storeSnapshot(room, f.board, f.seq)
      .then(() => {
        const now = this.folded.get(stream);
        if (now && now.snapshotSeq < f.seq) this.folded.set(stream, { ...now, snapshotSeq: f.seq });
      })
      .catch((err: unknown) => this.opts.logger?.error({ err, stream }, "storing a canvas snapshot failed"))
      .finally(() => this.snapshotting.delete(stream));
  }
}
