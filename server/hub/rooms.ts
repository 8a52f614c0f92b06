// Rooms' ephemeral state: who is present (with a grace on leaving), who is typing, where the
// cursors are — on this instance and, through `RemoteRooms`, on the others — and the frames
// that announce its changes to each room's watchers. Nothing here is durable or in the log.
import type { RoomPresence } from "../backplane/ephemeral";
import type { Metrics } from "../metrics";
import type { Clock } from "../state/clock";
import { CursorCoalescer, type CursorAt } from "../state/cursors";
import { CanvasLive } from "./canvas-live";
import { Presence } from "../state/presence";
import { Typing } from "../state/typing";
import { diffPresence, isEmptyDiff } from "../../lib/presence-diff";
import {
  PRESENCE_GRACE_MS,
  TYPING_TTL_MS,
  type Actor,
  type CursorMap,
  type LiveDragMap,
  type LiveSelectionMap,
  type RoomState,
  type User,
} from "../../lib/protocol";
import { RoomFrame } from "./outgoing";
import type { Subscriber } from "./subscriber";

/** A cursor that has not moved for this long is removed, as if its owner had left. */
export const CURSOR_IDLE_MS = 30_000;
/** Presence and typing changes within this window go out as one frame per room. */
const ANNOUNCE_WINDOW_MS = 20;
/**
 * A room's changes go out at most once per this many ms per watcher (and at most every 250 ms
 * however big): each announcement is a frame to every watcher, so a room of 1,000 people
 * churning costs its watchers ~5,000 frames a second in all rather than 50,000. Rooms of up to
 * 100 watchers keep the plain 20 ms window.
 */
const ANNOUNCE_MS_PER_WATCHER = 0.2;
const MAX_ANNOUNCE_WINDOW_MS = 250;

/** The other instances' share of the rooms, and where this instance's changes go for them (`Peers`). */
export interface RemoteRooms {
  members(room: string): User[][];
  typing(room: string): Actor[][];
  cursors(room: string): CursorMap;
  roomChanged(room: string, state: RoomPresence): void;
  cursorsMoved(room: string, cursors: CursorMap): void;
  canvasMoved(room: string, drags: LiveDragMap, selections: LiveSelectionMap): void;
}

/** What the rooms use of a subscriber. */
export type RoomSubscriber = Pick<Subscriber, "id" | "user" | "onRoomFrame">;

export interface RoomsOptions {
  clock: Clock;
  remote: RemoteRooms;
  metrics?: Metrics;
  presenceGraceMs?: number;
  typingTtlMs?: number;
  cursorIdleMs?: number;
  /** Turn cursor coalescing off (benchmarks compare both). */
  coalesceCursors?: boolean;
  /** A cursor, drag or selection came in: the cursor tick has work (see `Hub.start`). */
  onCursorWork?: () => void;
}

/** What a room's watchers were last told: its members by id (and their JSON, made on demand) and who was typing. */
interface AnnouncedRoom {
  members: Map<string, User>;
  json?: string;
  typing: string;
  /** When these members were announced (performance.now()): the room's window runs from here. */
  at: number;
}

export class Rooms {
  readonly presence: Presence;
  readonly typing: Typing;
  readonly cursors: CursorCoalescer;
  /** Drags and selections on the room's canvas (protocol 1.3), coalesced on the cursor tick. */
  readonly canvasLive: CanvasLive;
  private readonly watchers = new Map<string, Set<RoomSubscriber>>();
  /** The rooms each subscriber watches, so it can be let go of everywhere at once. */
  private readonly watching = new Map<RoomSubscriber, Set<string>>();
  private readonly versions = new Map<string, number>();
  private readonly dirtyRooms = new Set<string>();
  /** Rooms whose local presence or typing changed: the other instances are told at the next flush. */
  private readonly localDirty = new Set<string>();
  /**
   * The members (by id) and typing list last broadcast per room: the next presence frame is the
   * change from these, and a 1.1 client joining is shown these members (see `announcedMembers`).
   */
  private readonly announced = new Map<string, AnnouncedRoom>();
  private announceTimer: NodeJS.Timeout | null = null;
  private readonly remote: RemoteRooms;
  private readonly metrics: Metrics | undefined;

  constructor(opts: RoomsOptions) {
    this.remote = opts.remote;
    this.metrics = opts.metrics;
    this.presence = new Presence(opts.clock, opts.presenceGraceMs ?? PRESENCE_GRACE_MS, (room) => this.localRoomChanged(room));
    // Typing lists are short and their changes must keep pace with the messages: no window.
    this.typing = new Typing(opts.clock, opts.typingTtlMs ?? TYPING_TTL_MS, (room) => {
      this.localRoomChanged(room);
      this.settleRoom(room);
    });
    this.canvasLive = new CanvasLive(
      (room, drags, selections, own) => {
        if (own) this.remote.canvasMoved(room, own.drags, own.selections);
        this.broadcast(new RoomFrame({ type: "canvas.live", room, drags, selections }));
      },
      opts.coalesceCursors ?? true,
      opts.onCursorWork,
    );
    this.cursors = new CursorCoalescer(opts.clock, (room, cursors, own) => this.onCursorFlush(room, cursors, own), {
      idleMs: opts.cursorIdleMs ?? CURSOR_IDLE_MS,
      coalesce: opts.coalesceCursors,
      onWork: opts.onCursorWork,
    });
  }

  /** Stops the announcement timer (the server is stopping). */
  stop(): void {
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.announceTimer = null;
  }

  // --- Watchers ------------------------------------------------------------

  /** The subscriber's connection is in the room: it counts as present and gets room frames. */
  enter(room: string, sub: RoomSubscriber, presenceId = sub.id): void {
    this.watch(room, sub);
    this.presence.add(room, sub.user, presenceId);
  }

  /**
   * The subscriber left the room (or disconnected): presence after the grace; typing and the
   * cursor now, if they came from this connection.
   */
  leave(room: string, sub: RoomSubscriber, opts: { immediate?: boolean; presenceId?: string } = {}): void {
    this.unwatch(room, sub);
    this.presence.remove(room, sub.user.id, opts.presenceId ?? sub.id, opts);
    this.typing.stop(room, sub.user.id, sub.id);
    this.cursors.remove(room, sub.user.id, sub.id);
    this.canvasLive.leave(room, sub.user.id, sub.id);
  }

  /**
   * A long-polling page said goodbye (protocol 1.20): its typing, cursor, drags and selection go
   * now, as a closed socket's do, and its presence lapses after the grace unless it polls again.
   * A lapse, not a leave: a reload goes on under the same page id, and its next poll or batch
   * renews the presence whichever of the two the server hears first.
   */
  pageGone(room: string, sub: RoomSubscriber): void {
    this.presence.touch(room, sub.user, sub.id, this.presence.graceMs);
    this.typing.stop(room, sub.user.id, sub.id);
    this.cursors.remove(room, sub.user.id, sub.id);
    this.canvasLive.leave(room, sub.user.id, sub.id);
  }

  /** Leaves every room the subscriber watches (its connection closed). */
  leaveAll(sub: RoomSubscriber): void {
    for (const room of [...(this.watching.get(sub) ?? [])]) this.leave(room, sub);
  }

  /** Receive a room's ephemeral frames without counting as present (a held long poll). */
  watch(room: string, sub: RoomSubscriber): void {
    let set = this.watchers.get(room);
    if (!set) this.watchers.set(room, (set = new Set()));
    set.add(sub);
    let rooms = this.watching.get(sub);
    if (!rooms) this.watching.set(sub, (rooms = new Set()));
    rooms.add(room);
  }

  unwatch(room: string, sub: RoomSubscriber): void {
    const rooms = this.watching.get(sub);
    if (rooms?.delete(room) && rooms.size === 0) this.watching.delete(sub);
    const set = this.watchers.get(room);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) this.watchers.delete(room);
  }

  // --- Changes from this instance -----------------------------------------

  /** Starts, renews or stops `actor` typing (`source`: the connection it came from). */
  setTyping(room: string, actor: Actor, typing: boolean, source?: string): void {
    if (typing) this.typing.start(room, actor, source);
    else this.typing.stop(room, actor.id);
  }

  /** `user` pointed at `at` (`source`: the connection it came from). */
  moveCursor(room: string, user: User, at: CursorAt, source?: string): void {
    this.metrics?.cursorInputs.inc();
    const before = this.cursors.stats.coalesced;
    this.cursors.update(room, user, at, source);
    if (this.cursors.stats.coalesced > before) this.metrics?.cursorCoalesced.inc();
  }

  hideCursor(room: string, userId: string, source?: string): void {
    this.cursors.remove(room, userId, source);
  }

  // --- The state, on every instance ---------------------------------------

  /** Everyone present in a room, on any instance, once each. */
  members(room: string): User[] {
    return unionById(this.presence.members(room), this.remote.members(room));
  }

  /** Everyone typing in a room, on any instance. */
  typingUsers(room: string): Actor[] {
    return unionById(this.typing.users(room), this.remote.typing(room));
  }

  /** Every current cursor in a room, on any instance. */
  cursorSnapshot(room: string): CursorMap {
    return Object.assign(this.remote.cursors(room), this.cursors.snapshot(room));
  }

  roomState(room: string): RoomState {
    return { members: this.members(room), typing: this.typingUsers(room), cursors: this.cursorSnapshot(room) };
  }

  /** This instance's own presence and typing in every room that has any (for the other instances). */
  localRooms(): Record<string, RoomPresence> {
    const rooms: Record<string, RoomPresence> = {};
    for (const room of new Set([...this.presence.roomIds(), ...this.typing.roomIds()])) rooms[room] = this.localRoom(room);
    return rooms;
  }

  private localRoom(room: string): RoomPresence {
    return { members: this.presence.members(room), typing: this.typing.users(room) };
  }

  /** Counts changes to a room's ephemeral state, so a poller can tell what it has not seen. */
  version(room: string): number {
    return this.versions.get(room) ?? 0;
  }

  // --- Announcements -------------------------------------------------------

  /** Presence or typing changed here: the other instances and our watchers will hear of it. */
  private localRoomChanged(room: string): void {
    this.localDirty.add(room);
    this.roomChanged(room);
  }

  /**
   * A room's presence or typing changed (here or on another instance). Announcements are
   * coalesced per room over a short window: a thousand people joining at once is a handful of
   * presence frames, not a thousand frames of a growing member list each.
   */
  roomChanged(room: string): void {
    this.dirtyRooms.add(room);
    this.armAnnouncements();
  }

  private armAnnouncements(): void {
    if (this.announceTimer) return;
    this.announceTimer = setTimeout(() => this.flushAnnouncements(), ANNOUNCE_WINDOW_MS);
    this.announceTimer.unref();
  }

  /** When a room may be announced again: its window, longer the more watchers it has, after the last. */
  private announceDue(room: string): number {
    const last = this.announced.get(room)?.at;
    if (last === undefined) return 0;
    const watchers = this.watchers.get(room)?.size ?? 0;
    return last + Math.min(MAX_ANNOUNCE_WINDOW_MS, Math.max(ANNOUNCE_WINDOW_MS, watchers * ANNOUNCE_MS_PER_WATCHER));
  }

  /** Announces a room's pending change now (a poll about to answer wants the latest state). */
  settleRoom(room: string): void {
    if (!this.dirtyRooms.delete(room)) return;
    if (this.localDirty.delete(room)) this.remote.roomChanged(room, this.localRoom(room));
    this.announceRoom(room);
  }

  private flushAnnouncements(): void {
    this.announceTimer = null;
    for (const room of this.localDirty) this.remote.roomChanged(room, this.localRoom(room));
    this.localDirty.clear();
    const now = performance.now();
    for (const room of [...this.dirtyRooms]) {
      if (this.announceDue(room) > now) continue; // a big room: its window is not over yet
      this.dirtyRooms.delete(room);
      this.announceRoom(room);
    }
    if (this.dirtyRooms.size > 0) this.armAnnouncements();
  }

  /**
   * The room's members as last announced to everyone in it. A 1.1 connection joining is shown
   * these (and itself), not the members this instant: the `presence_diff` frames that follow
   * are changes from this very list, so applying them leaves nobody shown who has gone — even
   * someone who came and went between two announcements, whom no diff mentions.
   */
  announcedMembers(room: string): User[] {
    return [...(this.announced.get(room)?.members.values() ?? [])];
  }

  /**
   * `announcedMembers` and `user` (once) as JSON array text. The list's text is made once per
   * announcement and reused by every join until the next: churning joins cost no serializing
   * of the whole room each.
   */
  announcedMembersJson(room: string, user: User): string {
    const entry = this.announced.get(room);
    if (!entry) return `[${JSON.stringify(user)}]`;
    const list = (entry.json ??= JSON.stringify([...entry.members.values()]));
    if (entry.members.has(user.id)) return list;
    return list === "[]" ? `[${JSON.stringify(user)}]` : `${list.slice(0, -1)},${JSON.stringify(user)}]`;
  }

  /**
   * Broadcasts a room's members and typing (across all instances) where they changed: members
   * as one frame holding both the full list (protocol 1) and the change (1.1). People who left
   * and came back within the window are no change, so churn nets out here.
   */
  private announceRoom(room: string): void {
    const members = this.members(room);
    const typing = this.typingUsers(room);
    const before = this.announced.get(room);
    const typingNow = JSON.stringify(typing);
    const typingBefore = before?.typing ?? "[]";
    const diff = diffPresence(before?.members ?? new Map(), members);
    if (members.length === 0 && typing.length === 0) this.announced.delete(room);
    else if (isEmptyDiff(diff) && before) before.typing = typingNow;
    else this.announced.set(room, { members: new Map(members.map((u) => [u.id, u])), typing: typingNow, at: performance.now() });
    if (!isEmptyDiff(diff)) {
      const change = new RoomFrame({ type: "presence_diff", room, joins: diff.joins, leaves: diff.leaves });
      this.broadcast(new RoomFrame({ type: "presence", room, members }, change));
    }
    if (typingNow !== typingBefore) {
      this.broadcast(new RoomFrame({ type: "typing", room, users: typing }));
    }
  }

  /** A room's cursor frame for this tick: to our watchers, and our own changes to the other instances. */
  private onCursorFlush(room: string, cursors: CursorMap, own: CursorMap | null): void {
    this.metrics?.cursorFrames.inc();
    if (own) this.remote.cursorsMoved(room, own);
    this.broadcast(new RoomFrame({ type: "cursors", room, cursors }));
  }

  private broadcast(frame: RoomFrame): void {
    this.versions.set(frame.room, (this.versions.get(frame.room) ?? 0) + 1);
    for (const sub of this.watchers.get(frame.room) ?? []) sub.onRoomFrame?.(frame);
  }
}

function unionById<T extends { id: string }>(local: T[], others: T[][]): T[] {
  const seen = new Map(local.map((u) => [u.id, u]));
  for (const list of others) for (const u of list) if (!seen.has(u.id)) seen.set(u.id, u);
  return [...seen.values()];
}
