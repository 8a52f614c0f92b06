// The hub: one facade over the parts the transports talk to, each its own module under hub/ —
//   hub/fanout.ts    durable events to every subscriber of a stream, in order, with replay;
//   hub/rooms.ts     rooms' ephemeral state (presence, typing, cursors) and its announcements;
//   hub/peers.ts     the peer-instance protocol over the ephemeral bus;
//   hub/sessions.ts  the registry of open connections;
//   hub/outgoing.ts  what subscribers are handed, encoded once per transport's own encoder.
// The hub knows no wire format and no transport: each transport implements `Subscriber`.
import type { EphemeralBus } from "./backplane/ephemeral";
import type { EventLog } from "./eventlog";
import { StreamFanout, type SubscribeOptions, type SubscribeResult } from "./hub/fanout";
import { Peers } from "./hub/peers";
import { Rooms } from "./hub/rooms";
import { SessionRegistry } from "./hub/sessions";
import type { DisconnectReason, Subscriber } from "./hub/subscriber";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import type { Clock } from "./state/clock";
import type { CursorAt, CursorCoalescer } from "./state/cursors";
import type { Presence } from "./state/presence";
import type { Typing } from "./state/typing";
import type { CanvasLive } from "./hub/canvas-live";
import { CURSOR_TICK_MS, type Actor, type DragBox, type LiveDragMap, type LiveSelectionMap, type CursorMap, type RealtimeEvent, type RoomState, type User } from "../lib/protocol";

export type { Encoder, RoomStateFrame } from "./hub/outgoing";
export { Outgoing, RoomFrame } from "./hub/outgoing";
export type { DisconnectOptions, DisconnectReason, Subscriber, Transport } from "./hub/subscriber";
export type { StreamLog, SubscribeOptions, SubscribeResult } from "./hub/fanout";
export { CURSOR_IDLE_MS } from "./hub/rooms";
export { PEER_EXPIRY_HEARTBEATS } from "./hub/peers";

export interface HubOptions {
  log: EventLog;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  presenceGraceMs?: number;
  typingTtlMs?: number;
  cursorIdleMs?: number;
  cursorTickMs?: number;
  /** Turn cursor coalescing off (benchmarks compare both). */
  coalesceCursors?: boolean;
  /** This process's name on the ephemeral bus, unique to it: messages are told apart by it. */
  instanceId?: string;
  /** How often this instance re-announces its presence to the others; they forget it after 3×. */
  presenceHeartbeatMs?: number;
}

export class Hub {
  private readonly fanout: StreamFanout;
  private readonly rooms: Rooms;
  private readonly peers: Peers;
  private readonly sessions: SessionRegistry;
  private cursorTimer: NodeJS.Timeout | null = null;
  private started = false;
  readonly presence: Presence;
  readonly typing: Typing;
  readonly cursors: CursorCoalescer;

  constructor(private readonly opts: HubOptions) {
    this.sessions = new SessionRegistry(opts.metrics);
    this.fanout = new StreamFanout({ log: opts.log, clock: opts.clock, logger: opts.logger, metrics: opts.metrics });
    this.peers = new Peers({
      clock: opts.clock,
      instanceId: opts.instanceId ?? "local",
      heartbeatMs: opts.presenceHeartbeatMs,
      presenceGraceMs: opts.presenceGraceMs,
      handlers: {
        localRooms: () => this.rooms.localRooms(),
        roomChanged: (room) => this.rooms.roomChanged(room),
        relayCursors: (room, cursors) => this.rooms.cursors.relay(room, cursors),
        relayCanvas: (room, drags, selections) => this.rooms.canvasLive.relay(room, drags, selections),
        signedOut: (sessionId) => this.disconnectSession(sessionId, "signed-out", false),
        read: (userId, readSeq) => this.announceRead(userId, readSeq, false),
        roomRead: (userId, room, readSeq, markedUnread) => this.announceRoomRead(userId, room, readSeq, markedUnread, false),
        muted: (userId, room, muted) => this.announceMuted(userId, room, muted, false),
        removed: (userId, room) => this.revokeRoom(userId, room, false),
        personChanged: (userId) => this.personChanged(userId, false),
      },
    });
    this.rooms = new Rooms({
      clock: opts.clock,
      remote: this.peers,
      metrics: opts.metrics,
      presenceGraceMs: opts.presenceGraceMs,
      typingTtlMs: opts.typingTtlMs,
      onCursorWork: () => this.wakeCursorTick(),
      cursorIdleMs: opts.cursorIdleMs,
      coalesceCursors: opts.coalesceCursors,
    });
    this.presence = this.rooms.presence;
    this.typing = this.rooms.typing;
    this.cursors = this.rooms.cursors;
    opts.log.onCommit((events) => this.publish(events));
  }

  /**
   * Lets the cursor tick run. It runs only while a cursor, drag or selection is held or waits to
   * be sent: a server whose people chat and nobody points does not wake twenty times a second
   * for nothing (with 1000 idle WebSockets that was nearly half its idle CPU: bench/RESULTS.md).
   * Tests with a manual clock call `cursors.flush()` themselves.
   */
  start(): void {
    this.started = true;
    this.wakeCursorTick();
  }

  private wakeCursorTick(): void {
    if (!this.started || this.cursorTimer || !this.cursorsHeld()) return;
    this.cursorTimer = setInterval(() => {
      this.cursors.flush();
      this.rooms.canvasLive.flush();
      // Everything sent, and every cursor retired or taken away: the next input starts it again.
      if (!this.cursorsHeld()) this.stopCursorTick();
    }, this.opts.cursorTickMs ?? CURSOR_TICK_MS);
    this.cursorTimer.unref();
  }

  /** A cursor, drag or selection is held, or a change to one waits for the tick. */
  private cursorsHeld(): boolean {
    return this.cursors.roomCount > 0 || this.rooms.canvasLive.activeRooms > 0;
  }

  private stopCursorTick(): void {
    if (this.cursorTimer) clearInterval(this.cursorTimer);
    this.cursorTimer = null;
  }

  /**
   * Stops the timers and says goodbye to the other instances. `reconnectSpreadMs`: how long this
   * instance's clients were told they may wait before reconnecting elsewhere (the drain spread);
   * the others keep showing them present that long, plus the presence grace.
   */
  stop(opts: { reconnectSpreadMs?: number } = {}): void {
    this.started = false;
    this.stopCursorTick();
    this.rooms.stop();
    this.peers.stop(opts.reconnectSpreadMs);
  }

  /** Shares presence, typing and cursors with other instances through `bus`. */
  attachBus(bus: EphemeralBus): Promise<void> {
    return this.peers.attach(bus);
  }

  // ---------------------------------------------------------------------------
  // Connections

  register(sub: Subscriber): void {
    this.sessions.add(sub);
  }

  /** Forgets a connection everywhere: streams, rooms (after the presence grace), typing. */
  unregister(sub: Subscriber): void {
    if (!this.sessions.has(sub)) return;
    this.fanout.unsubscribeAll(sub);
    this.rooms.leaveAll(sub);
    this.sessions.remove(sub);
  }

  connections(): Subscriber[] {
    return this.sessions.all();
  }

  /** Ends every connection of a session, on every instance (`tellOthers`), for `reason`. */
  disconnectSession(sessionId: string, reason: DisconnectReason, tellOthers = true): void {
    if (tellOthers) this.peers.signedOut(sessionId);
    for (const listener of this.signOutListeners) listener(sessionId);
    this.sessions.disconnectSession(sessionId, reason);
  }

  /**
   * A person changed their name (protocol 1.9). Their sessions are read again and their
   * connections, on every instance, are made again: what they send from then on, and where
   * they are present, carries the new name. Presence keeps them through the reconnect.
   */
  personChanged(userId: string, tellOthers = true): void {
    if (tellOthers) this.peers.personChanged(userId);
    this.onPersonChanged?.(userId);
    this.sessions.disconnectPerson(userId, "changed");
  }

  /**
   * A person's read marker moved: their open connections, on every instance, hear it at once,
   * so the unread count clears on their other devices too. Nothing is appended to the log; a
   * connection that misses this (another instance's bus down) catches up on its next refresh.
   */
  announceRead(userId: string, readSeq: number, tellOthers = true): void {
    if (tellOthers) this.peers.read(userId, readSeq);
    this.sessions.announceRead(userId, readSeq);
  }

  /**
   * A person's read position in a room moved (protocol 1.2): as `announceRead`, their open
   * connections on every instance hear it at once, so the room's unread count clears on every
   * device. A connection that misses it reads the positions again from the room list.
   */
  /**
   * A person was removed from a private room: every connection of theirs, on every instance,
   * stops following it now (a WebSocket hears `removed`, an event stream or a held poll naming
   * it ends). What they would join or read next is refused by the membership check.
   */
  revokeRoom(userId: string, room: string, tellOthers = true): void {
    if (tellOthers) this.peers.removed(userId, room);
    this.sessions.removeFromRoom(userId, room);
    for (const listener of this.revocationListeners) listener(userId, room);
    // Whatever else said they were there (a long poll's touch lasts until its lapse) no longer does.
    this.presence.removePerson(room, userId);
  }

  /**
   * Called on every removal from a room, here or on another instance: for what follows rooms
   * without being a connection of its own (a long-polling page's joined rooms).
   */
  onRevoke(listener: (userId: string, room: string) => void): void {
    this.revocationListeners.push(listener);
  }


  announceRoomRead(userId: string, room: string, readSeq: number, markedUnread = false, tellOthers = true): void {
    if (tellOthers) this.peers.roomRead(userId, room, readSeq, markedUnread);
    this.sessions.announceRoomRead(userId, room, readSeq, markedUnread);
  }

  /** A person muted (or unmuted) a room (protocol 1.12): every connection of theirs, on every instance, is told. */
  announceMuted(userId: string, room: string, muted: boolean, tellOthers = true): void {
    if (tellOthers) this.peers.muted(userId, room, muted);
    this.sessions.announceMuted(userId, room, muted);
  }

  /**
   * Called when a session signs out, here or on another instance: for what keeps sessions
   * without being a connection of the hub's (the session cache, long-polling pages).
   */
  onSignOut(listener: (sessionId: string) => void): void {
    this.signOutListeners.push(listener);
  }
  private readonly signOutListeners: Array<(sessionId: string) => void> = [];
  /** A person changed (here or on another instance): forget what was cached of their sessions. */
  onPersonChanged: ((userId: string) => void) | null = null;
  /** What `onRevoke` registered: told of every removal from a room. */
  private readonly revocationListeners: Array<(userId: string, room: string) => void> = [];

  // ---------------------------------------------------------------------------
  // Durable streams (hub/fanout.ts)

  subscribe(stream: string, sub: Subscriber, opts: SubscribeOptions = {}): Promise<SubscribeResult> {
    return this.fanout.subscribe(stream, sub, opts);
  }

  unsubscribe(stream: string, sub: Subscriber): void {
    this.fanout.unsubscribe(stream, sub);
  }

  isSubscribed(stream: string, sub: Subscriber): boolean {
    return this.fanout.isSubscribed(stream, sub);
  }

  /** New committed events (local commits, or read after another instance's NOTIFY). */
  publish(events: RealtimeEvent[]): void {
    this.fanout.publish(events);
  }

  /**
   * Another instance moved these heads: read what this hub has not published yet.
   * `null` means "some streams changed" (the notification was too big to list them).
   */
  catchUpHeads(heads: Map<string, number> | null): Promise<void> {
    return this.fanout.catchUpHeads(heads);
  }

  /** Streams that have subscribers here, with the last seq published (for backplane catch-up). */
  followedStreams(): Map<string, number | null> {
    return this.fanout.followedStreams();
  }

  // ---------------------------------------------------------------------------
  // Rooms: ephemeral state (hub/rooms.ts)

  /** The subscriber's connection is in the room: it counts as present and gets room frames. */
  enterRoom(room: string, sub: Subscriber, presenceId = sub.id): void {
    // A connection that closed on its way in (its answer found it too slow) stays out: it would
    // count as present with nothing left to ever take it away.
    if (!this.sessions.has(sub)) return;
    this.rooms.enter(room, sub, presenceId);
  }

  /**
   * The subscriber left the room (or disconnected): presence after the grace; typing and the
   * cursor now, if they came from this connection.
   */
  leaveRoom(room: string, sub: Subscriber, opts: { immediate?: boolean; presenceId?: string } = {}): void {
    this.rooms.leave(room, sub, opts);
  }

  /** A long-polling page said goodbye (1.20): see `Rooms.pageGone`. */
  pageGone(room: string, sub: Subscriber): void {
    this.rooms.pageGone(room, sub);
  }

  /** Receive a room's ephemeral frames without counting as present (a held long poll). */
  watch(room: string, sub: Subscriber): void {
    if (!this.sessions.has(sub)) return;
    this.rooms.watch(room, sub);
  }

  unwatch(room: string, sub: Subscriber): void {
    this.rooms.unwatch(room, sub);
  }

  /**
   * Starts, renews or stops `actor` typing. `source` is the connection it came from: leaving
   * the room there clears it, the person's other connections leaving do not. A stop (or a send)
   * clears it from any connection.
   */
  setTyping(room: string, actor: Actor, typing: boolean, source?: string): void {
    this.rooms.setTyping(room, actor, typing, source);
  }

  /**
   * `user` pointed at `at`. `source` is the connection it came from (none: over HTTP): leaving
   * the room there takes the cursor away, the person's other connections leaving do not.
   */
  moveCursor(room: string, user: User, at: CursorAt, source?: string): void {
    this.rooms.moveCursor(room, user, at, source);
  }

  /** The pointer left the canvas: from `source`, only if the cursor came from there. */
  hideCursor(room: string, userId: string, source?: string): void {
    this.rooms.hideCursor(room, userId, source);
  }

  /**
   * `user`'s in-between drag boxes and selection on the room's canvas (protocol 1.3), from
   * connection `source`: latest wins per object and per person, out on the next cursor tick.
   */
  moveOnCanvas(room: string, user: User, drags: Record<string, DragBox | null> | undefined, selection: string[] | undefined, source?: string): void {
    this.rooms.canvasLive.update(room, user, source, drags, selection);
  }

  /** Every drag and selection on the room's canvas now. */
  canvasLiveSnapshot(room: string): { drags: LiveDragMap; selections: LiveSelectionMap } {
    return this.rooms.canvasLive.snapshot(room);
  }

  /** The canvas' drags and selections coalescer (tests with a manual clock flush it themselves). */
  get canvasLive(): CanvasLive {
    return this.rooms.canvasLive;
  }

  /** Everyone present in a room, on any instance, once each. */
  members(room: string): User[] {
    return this.rooms.members(room);
  }

  /** Everyone typing in a room, on any instance. */
  typingUsers(room: string): Actor[] {
    return this.rooms.typingUsers(room);
  }

  /** Every current cursor in a room, on any instance. */
  cursorSnapshot(room: string): CursorMap {
    return this.rooms.cursorSnapshot(room);
  }

  roomState(room: string): RoomState {
    return this.rooms.roomState(room);
  }

  /** Announces a room's pending change now (a poll about to answer wants the latest state). */
  settleRoom(room: string): void {
    this.rooms.settleRoom(room);
  }

  /** The room's members as last announced to everyone in it (see `Rooms.announcedMembers`). */
  announcedMembers(room: string): User[] {
    return this.rooms.announcedMembers(room);
  }

  /** `announcedMembers` and `user` (once) as JSON array text, made once per announcement. */
  announcedMembersJson(room: string, user: User): string {
    return this.rooms.announcedMembersJson(room, user);
  }

  /** Counts changes to a room's ephemeral state, so a poller can tell what it has not seen. */
  roomVersion(room: string): number {
    return this.rooms.version(room);
  }
}
