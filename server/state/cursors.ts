// Live cursors: latest wins per (room, person), flushed once per tick per room as one frame
// holding only what changed since the last flush. `null` means that cursor left. Batches other
// instances relayed ride the same tick's frame, so a room gets one frame per tick however many
// instances its people are spread over.
import type { Clock } from "./clock";
import type { CursorMap, CursorState, User } from "../../lib/protocol";

/**
 * One room's frame for a tick. `cursors`: everything that changed, here or relayed from other
 * instances — for this instance's subscribers. `own`: only the changes made here — for the
 * other instances; null when there were none.
 */
export type CursorFlush = (room: string, cursors: CursorMap, own: CursorMap | null) => void;

/** Where a person points: x and y in [0,1] of the canvas, and (1.15) the point of the board when their page says it. */
export type CursorAt = Pick<CursorState, "x" | "y" | "board">;

export interface CursorStats {
  inputs: number;
  coalesced: number;
  frames: number;
}

interface RoomCursors {
  /** `source`: the connection the position came from; only it leaving takes the cursor away. */
  current: Map<string, { state: CursorState; lastInput: number; source: string | undefined }>;
  /** What subscribers were last told. */
  sent: Map<string, CursorState>;
  dirty: Set<string>;
  /** Changes other instances relayed since the last flush, latest wins. */
  relayed: Map<string, CursorState | null>;
}

export class CursorCoalescer {
  private readonly rooms = new Map<string, RoomCursors>();
  private readonly dirtyRooms = new Set<string>();
  private lastIdleSweep = 0;
  readonly stats: CursorStats = { inputs: 0, coalesced: 0, frames: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly onFlush: CursorFlush,
    private readonly opts: {
      idleMs: number;
      coalesce?: boolean;
      /** Something came in that a tick must send or retire (the tick runs only while there is). */
      onWork?: () => void;
    },
  ) {}

  /** `user` pointed at `at` from connection `source` (none: over HTTP). */
  update(room: string, user: Pick<User, "id" | "name" | "color">, at: CursorAt, source?: string): void {
    this.stats.inputs++;
    const r = this.room(room);
    if (r.dirty.has(user.id) && r.current.has(user.id)) this.stats.coalesced++;
    const state: CursorState = at.board ? { x: at.x, y: at.y, board: at.board, name: user.name, color: user.color } : { x: at.x, y: at.y, name: user.name, color: user.color };
    r.current.set(user.id, { state, lastInput: this.clock.now(), source });
    r.dirty.add(user.id);
    this.dirtyRooms.add(room);
    if (this.opts.coalesce === false) this.flushRoom(room);
    this.opts.onWork?.();
  }

  /**
   * The person's cursor left the room (leave, disconnect, pointer out). With `source`, only if
   * that connection is where it came from: a person's other tab closing leaves it be.
   */
  remove(room: string, userId: string, source?: string): void {
    const r = this.rooms.get(room);
    if (!r || (!r.current.has(userId) && !r.sent.has(userId))) return;
    if (source !== undefined && r.current.get(userId)?.source !== source) return;
    r.current.delete(userId);
    r.dirty.add(userId);
    this.dirtyRooms.add(room);
    if (this.opts.coalesce === false) this.flushRoom(room);
    this.opts.onWork?.();
  }

  /**
   * Another instance's batch for a room: sent with this tick's frame rather than as a frame of
   * its own. Only what that instance sends is relayed, so nothing here tracks its cursors.
   */
  relay(room: string, cursors: CursorMap): void {
    const r = this.room(room);
    for (const [userId, c] of Object.entries(cursors)) {
      if (c === null && r.current.has(userId)) {
        // That person's tab elsewhere let go, but their tab here still points: it wins, and is
        // announced again on this tick so the other instance's viewers see it back too.
        r.sent.delete(userId);
        r.dirty.add(userId);
        r.relayed.delete(userId);
      } else r.relayed.set(userId, c);
    }
    this.dirtyRooms.add(room);
    if (this.opts.coalesce === false) this.flushRoom(room);
    this.opts.onWork?.();
  }

  /** One tick: a frame per room that changed. Also retires cursors idle past the limit. */
  flush(): void {
    const now = this.clock.now();
    if (now - this.lastIdleSweep >= 1000) {
      this.lastIdleSweep = now;
      for (const [room, r] of this.rooms) {
        for (const [userId, c] of r.current) if (now - c.lastInput >= this.opts.idleMs) this.remove(room, userId);
      }
    }
    for (const room of [...this.dirtyRooms]) this.flushRoom(room);
  }

  /** Rooms with anything tracked: bounded by the rooms with cursors in them, not every room ever pointed at. */
  get roomCount(): number {
    return this.rooms.size;
  }

  /** Everyone's current cursor in a room, for a newcomer or a poll answer. */
  snapshot(room: string): CursorMap {
    const out: CursorMap = {};
    for (const [id, c] of this.rooms.get(room)?.current ?? []) out[id] = c.state;
    return out;
  }

  private flushRoom(room: string): void {
    this.dirtyRooms.delete(room);
    const r = this.rooms.get(room);
    if (!r) return;
    const own: CursorMap = {};
    let anyOwn = false;
    for (const userId of r.dirty) {
      const cur = r.current.get(userId)?.state;
      const last = r.sent.get(userId);
      if (cur) {
        // Not moved: the same spot of the canvas, and of the board (1.15: the board may move under a still pointer).
        if (last && last.x === cur.x && last.y === cur.y && last.board?.x === cur.board?.x && last.board?.y === cur.board?.y) continue;
        r.sent.set(userId, cur);
        own[userId] = cur;
        anyOwn = true;
      } else if (last) {
        r.sent.delete(userId);
        own[userId] = null;
        anyOwn = true;
      }
    }
    r.dirty.clear();
    if (!anyOwn && r.relayed.size === 0) return this.forgetIfEmpty(room, r);
    // The same person's cursor from here and from elsewhere (tabs on two instances): ours wins.
    const cursors: CursorMap = Object.assign(Object.fromEntries(r.relayed), own);
    r.relayed.clear();
    this.forgetIfEmpty(room, r);
    this.stats.frames++;
    this.onFlush(room, cursors, anyOwn ? own : null);
  }

  private forgetIfEmpty(room: string, r: RoomCursors): void {
    if (r.current.size === 0 && r.sent.size === 0 && r.relayed.size === 0) this.rooms.delete(room);
  }

  private room(room: string): RoomCursors {
    let r = this.rooms.get(room);
    if (!r) this.rooms.set(room, (r = { current: new Map(), sent: new Map(), dirty: new Set(), relayed: new Map() }));
    return r;
  }
}
