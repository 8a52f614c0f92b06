// The hub: fans durable events out to every subscriber of a stream, whatever its transport,
// and keeps each room's ephemeral state (presence, typing, cursors).
//
// Delivery is exactly once and in seq order per subscription. A subscription is registered
// first, then replays the log after its position while live events wait in its buffer, then
// switches to live — so replay and live meet with no gap and no duplicate. Events reaching the
// hub out of order (another instance committed in between) are filled in from the log.
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { EphemeralBus, EphemeralMessage, RoomPresence } from "./backplane/ephemeral";
import type { EventLog } from "./eventlog";
import type { Logger } from "./log";
import { counterFor, type Metrics } from "./metrics";
import { sseEventBody } from "./transports/sse-frame";
import { wsTextFrame } from "./transports/ws-frame";
import type { Clock, Timer } from "./state/clock";
import { CursorCoalescer } from "./state/cursors";
import { Presence } from "./state/presence";
import { diffPresence, isEmptyDiff } from "../lib/presence-diff";
import { Typing } from "./state/typing";
import {
  CloseCode,
  CURSOR_TICK_MS,
  PRESENCE_GRACE_MS,
  TYPING_TTL_MS,
  type Actor,
  type CursorMap,
  type CursorState,
  type RealtimeEvent,
  type RoomState,
  type ServerFrame,
  type User,
} from "../lib/protocol";

export type Transport = "ws" | "sse" | "longpoll";

/**
 * A durable event with its wire forms, each made at most once for all subscribers: the JSON
 * text, the whole WebSocket frame and the SSE event's bytes after its `id:` line (so no socket
 * or stream encodes or frames it again, and stalled ones share one copy of what they hold).
 */
export class Outgoing {
  private jsonText: string | undefined;
  private wsBytes: Buffer | undefined;
  private sseBytes: Buffer | undefined;
  constructor(readonly event: RealtimeEvent) {}
  get seq(): number {
    return this.event.seq;
  }
  get json(): string {
    return (this.jsonText ??= JSON.stringify(this.event));
  }
  /**
   * The `{"type":"event",…}` text frame, whole (see `wsTextFrame`): the ServerFrame
   * `{ type: "event", event }`, spliced around the JSON text made once for every transport.
   */
  get wsFrame(): Buffer {
    return (this.wsBytes ??= wsTextFrame(`{"type":"event","event":${this.json}}`));
  }
  /** `event: <type>` and `data: <json>` and the blank line (see `sseEventBody`): each stream writes its own `id:` line first. */
  get sseBody(): Buffer {
    return (this.sseBytes ??= sseEventBody(this.event.type, this.json));
  }
}

/** The frames of a room's ephemeral state. */
export type RoomStateFrame = Extract<ServerFrame, { type: "presence" | "presence_diff" | "typing" | "cursors" }>;

/**
 * An ephemeral room frame (presence, typing or cursors), serialized at most once, when the
 * first subscriber asks for it. A presence frame also carries its `diff` (protocol 1.1): each
 * subscriber takes the one its version speaks, and a form nobody takes is never serialized —
 * with only 1.1 clients in a big room, the full member list is not written out per change.
 */
export class RoomFrame {
  private bytes: Buffer | undefined;
  private text: string | undefined;
  readonly type: RoomStateFrame["type"];
  readonly room: string;
  constructor(
    private readonly frame: RoomStateFrame,
    /** For a presence frame: the same change as a `presence_diff` frame. */
    readonly diff?: RoomFrame,
  ) {
    this.type = frame.type;
    this.room = frame.room;
  }
  get json(): string {
    return (this.text ??= JSON.stringify(this.frame));
  }
  /** The WebSocket text frame, whole, made once for every socket (see `wsTextFrame`). */
  get wsFrame(): Buffer {
    return (this.bytes ??= wsTextFrame(this.json));
  }
}

/** What every transport's connection looks like to the hub. */
export interface Subscriber {
  readonly id: string;
  readonly user: User;
  readonly sessionId: string;
  readonly transport: Transport;
  /** A durable event, in seq order, exactly once per subscription. */
  onEvent(stream: string, event: Outgoing): void;
  /** Presence, typing or cursors changed in a room this subscriber watches. */
  onRoomFrame?(frame: RoomFrame): void;
  /** The hub cannot keep this subscriber in order any more (it fell too far behind). */
  onLagged?(): void;
  /** Ends the connection (session revoked, server draining). */
  disconnect?(code: number, reason: string): void;
  /** This person read their mentions up to `readSeq`, on some device: the count is shared. */
  onRead?(readSeq: number): void;
}

export interface SubscribeOptions {
  /** Replay everything after this seq; null/undefined: live events only. */
  since?: number | null;
  /**
   * Whether `since` is a position the client brought (a resume, counted in the metrics) rather
   * than one the server chose for it, such as the head it was shown on connecting. Default: true.
   */
  resumed?: boolean;
  /** More missed than this (or `since` beyond the head): start live from the head instead. */
  maxReplay?: number;
  /** Called once the head is known, before any replayed event. */
  onStart?: (head: number, reset: boolean) => void;
}

export interface SubscribeResult {
  head: number;
  reset: boolean;
}

interface Subscription {
  sub: Subscriber;
  lastSeq: number;
  /** Non-null while replaying: live events wait here. */
  pending: Outgoing[] | null;
}

interface StreamState {
  subs: Map<string, Subscription>;
  /** The last seq fanned out here; null until known. */
  lastPublished: number | null;
  inbox: Outgoing[];
  pumping: boolean;
  /** The latest events, contiguous, to replay short gaps without asking the database. */
  recent: Outgoing[];
}

/** A cursor that has not moved for this long is removed, as if its owner had left. */
export const CURSOR_IDLE_MS = 30_000;
/** Another instance's presence is forgotten after this many of its heartbeats without one. */
export const PEER_EXPIRY_HEARTBEATS = 3;

const RECENT_PER_STREAM = 256;
const MAX_IDLE_STREAMS = 10_000;
const IDLE_STREAM_MS = 60_000;
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
const REPLAY_PAGE = 500;
/** Live events a replaying subscription may hold before it is told it lagged. */
const MAX_PENDING = 5_000;

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

/** What another instance last told us about its rooms. */
interface RemoteInstance {
  rooms: Map<string, RoomPresence>;
  cursors: Map<string, Map<string, CursorState>>;
  expiresAt: number;
  /** Set once it said goodbye: when its members are let go. */
  departing?: Timer;
}

/** What a room's watchers were last told: its members by id (and their JSON, made on demand) and who was typing. */
interface AnnouncedRoom {
  members: Map<string, User>;
  json?: string;
  typing: string;
  /** When these members were announced (performance.now()): the room's window runs from here. */
  at: number;
}

/** A drained instance's clients reconnect within this (ws drain spread) when it does not say. */
const DEFAULT_RECONNECT_SPREAD_MS = 5_000;
/** However long a departing instance asks its members be kept, no longer than this. */
const MAX_DEPARTURE_KEEP_MS = 60_000;
/** Instances that said goodbye, remembered so a late message cannot bring them back as ghosts. */
const MAX_DEPARTED = 1_000;

export class Hub {
  private readonly streams = new Map<string, StreamState>();
  private readonly watchers = new Map<string, Set<Subscriber>>();
  /** Every registered connection, with the streams and rooms it follows (for a cheap goodbye). */
  private readonly subscribers = new Map<Subscriber, { streams: Set<string>; rooms: Set<string> }>();
  private readonly roomVersions = new Map<string, number>();
  /** Streams with no subscriber, oldest first, with when they became idle. */
  private readonly idleStreams = new Map<string, number>();
  private readonly log: EventLog;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private cursorTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private announceTimer: NodeJS.Timeout | null = null;
  private readonly dirtyRooms = new Set<string>();
  private readonly localDirty = new Set<string>();
  private bus: EphemeralBus | null = null;
  private readonly remote = new Map<string, RemoteInstance>();
  private readonly departed = new Set<string>();
  /**
   * The members (by id) and typing list last broadcast per room: the next presence frame is the
   * change from these, and a 1.1 client joining is shown these members (see `announcedMembers`).
   */
  private readonly announced = new Map<string, AnnouncedRoom>();
  private readonly instanceId: string;
  /** Bound once: a labelled counter looked up per delivery costs more than the delivery's bookkeeping. */
  private readonly deliveryCounters: Record<Transport, { inc(): void }> | undefined;
  readonly presence: Presence;
  readonly typing: Typing;
  readonly cursors: CursorCoalescer;

  constructor(private readonly opts: HubOptions) {
    this.log = opts.log;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
    this.instanceId = opts.instanceId ?? "local";
    const d = opts.metrics?.deliveries;
    this.deliveryCounters = d && { ws: counterFor(d, "ws")!, sse: counterFor(d, "sse")!, longpoll: counterFor(d, "longpoll")! };
    this.presence = new Presence(opts.clock, opts.presenceGraceMs ?? PRESENCE_GRACE_MS, (room) => this.localRoomChanged(room));
    // Typing lists are short and their changes must keep pace with the messages: no window.
    this.typing = new Typing(opts.clock, opts.typingTtlMs ?? TYPING_TTL_MS, (room) => {
      this.localRoomChanged(room);
      this.settleRoom(room);
    });
    this.cursors = new CursorCoalescer(opts.clock, (room, cursors, own) => this.onCursorFlush(room, cursors, own), {
      idleMs: opts.cursorIdleMs ?? CURSOR_IDLE_MS,
      coalesce: opts.coalesceCursors,
    });
    this.log.onCommit((events) => this.publish(events));
  }

  /** Starts the cursor tick. Tests with a manual clock call `cursors.flush()` themselves. */
  start(): void {
    if (this.cursorTimer) return;
    this.cursorTimer = setInterval(() => this.cursors.flush(), this.opts.cursorTickMs ?? CURSOR_TICK_MS);
    this.cursorTimer.unref();
  }

  /**
   * Stops the timers and says goodbye to the other instances. `reconnectSpreadMs`: how long this
   * instance's clients were told they may wait before reconnecting elsewhere (the drain spread);
   * the others keep showing them present that long, plus the presence grace.
   */
  stop(opts: { reconnectSpreadMs?: number } = {}): void {
    if (this.cursorTimer) clearInterval(this.cursorTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.announceTimer) clearTimeout(this.announceTimer);
    this.cursorTimer = this.heartbeatTimer = this.announceTimer = null;
    for (const r of this.remote.values()) r.departing?.cancel();
    const keepMs = (opts.reconnectSpreadMs ?? DEFAULT_RECONNECT_SPREAD_MS) + (this.opts.presenceGraceMs ?? PRESENCE_GRACE_MS);
    this.bus?.publish({ t: "bye", i: this.instanceId, keepMs });
    // Presence graces still running here would announce changes after the goodbye.
    this.bus = null;
  }

  // ---------------------------------------------------------------------------
  // Other instances (ephemeral state over the bus)

  /** Shares presence, typing and cursors with other instances through `bus`. */
  async attachBus(bus: EphemeralBus): Promise<void> {
    this.bus = bus;
    const beat = this.opts.presenceHeartbeatMs ?? 5_000;
    await bus.start(
      (msg) => this.handleBusMessage(msg),
      () => {
        bus.publish({ t: "sync", i: this.instanceId });
        this.announceState();
      },
    );
    this.heartbeatTimer = setInterval(() => {
      this.announceState();
      this.expireRemotes();
    }, beat);
    this.heartbeatTimer.unref();
  }

  private announceState(): void {
    const rooms: Record<string, RoomPresence> = {};
    for (const room of new Set([...this.presence.roomIds(), ...this.typing.roomIds()])) rooms[room] = this.localRoom(room);
    this.bus?.publish({ t: "state", i: this.instanceId, rooms });
  }

  private localRoom(room: string): RoomPresence {
    return { members: this.presence.members(room), typing: this.typing.users(room) };
  }

  private remoteInstance(id: string): RemoteInstance {
    let r = this.remote.get(id);
    if (!r) this.remote.set(id, (r = { rooms: new Map(), cursors: new Map(), expiresAt: 0 }));
    r.expiresAt = this.opts.clock.now() + PEER_EXPIRY_HEARTBEATS * (this.opts.presenceHeartbeatMs ?? 5_000);
    return r;
  }

  private handleBusMessage(msg: EphemeralMessage): void {
    if (this.departed.has(msg.i)) return;
    switch (msg.t) {
      case "state": {
        const r = this.remoteInstance(msg.i);
        const touched = new Set([...r.rooms.keys(), ...Object.keys(msg.rooms)]);
        r.rooms = new Map(Object.entries(msg.rooms));
        for (const room of touched) this.roomChanged(room);
        return;
      }
      case "room": {
        const r = this.remoteInstance(msg.i);
        r.rooms.set(msg.room, msg.state);
        this.roomChanged(msg.room);
        return;
      }
      case "cursors": {
        const r = this.remoteInstance(msg.i);
        let cursors = r.cursors.get(msg.room);
        if (!cursors) r.cursors.set(msg.room, (cursors = new Map()));
        for (const [id, c] of Object.entries(msg.cursors)) {
          if (c) cursors.set(id, c);
          else cursors.delete(id);
        }
        // Out with this instance's next tick, not as a frame of its own: with K instances a
        // room still gets one cursor frame per tick.
        this.cursors.relay(msg.room, msg.cursors);
        return;
      }
      case "sync":
        return this.announceState();
      case "bye":
        return this.departInstance(msg.i, msg.keepMs);
      case "signout":
        return this.disconnectSession(msg.sessionId, CloseCode.sessionInvalid, "Signed out", false);
      case "read":
        return this.announceRead(msg.userId, msg.readSeq, false);
      default: {
        const unknown: never = msg;
        void unknown;
      }
    }
  }

  /**
   * An instance is draining for a deploy: its clients are reconnecting to the others, each after
   * its own jittered delay. Dropping its members at once would show everyone leaving and coming
   * back; keeping them until their reconnect window closes shows nothing, since each person is
   * present through the union with wherever they reconnect (and gone after it if they don't).
   */
  private departInstance(id: string, keepMs: number | undefined): void {
    this.departed.add(id);
    if (this.departed.size > MAX_DEPARTED) this.departed.delete(this.departed.values().next().value!);
    const r = this.remote.get(id);
    if (!r) return;
    for (const [room, state] of r.rooms) {
      r.rooms.set(room, { members: state.members, typing: [] });
      if (state.typing.length > 0) this.roomChanged(room);
    }
    this.forgetCursors(r);
    const keep = Math.min(MAX_DEPARTURE_KEEP_MS, Math.max(0, keepMs ?? DEFAULT_RECONNECT_SPREAD_MS + (this.opts.presenceGraceMs ?? PRESENCE_GRACE_MS)));
    r.expiresAt = Infinity;
    r.departing?.cancel();
    r.departing = this.opts.clock.setTimeout(() => this.forgetInstance(id), keep);
  }

  /** Drops instances that stopped announcing themselves (crashed, or cut off from the bus). */
  private expireRemotes(): void {
    const now = this.opts.clock.now();
    for (const [id, r] of this.remote) if (r.expiresAt <= now) this.forgetInstance(id);
  }

  private forgetInstance(id: string): void {
    const r = this.remote.get(id);
    if (!r) return;
    this.remote.delete(id);
    r.departing?.cancel();
    for (const room of r.rooms.keys()) this.roomChanged(room);
    this.forgetCursors(r);
  }

  private forgetCursors(r: RemoteInstance): void {
    for (const [room, cursors] of r.cursors) {
      const gone: CursorMap = {};
      for (const userId of cursors.keys()) gone[userId] = null;
      if (cursors.size > 0) this.cursors.relay(room, gone);
    }
    r.cursors.clear();
  }

  // ---------------------------------------------------------------------------
  // Connections

  register(sub: Subscriber): void {
    if (this.subscribers.has(sub)) return;
    this.subscribers.set(sub, { streams: new Set(), rooms: new Set() });
    this.metrics?.connections.inc({ transport: sub.transport });
  }

  /** Forgets a connection everywhere: streams, rooms (after the presence grace), typing. */
  unregister(sub: Subscriber): void {
    const follows = this.subscribers.get(sub);
    if (!follows) return;
    for (const stream of [...follows.streams]) this.unsubscribe(stream, sub);
    for (const room of [...follows.rooms]) this.leaveRoom(room, sub);
    this.subscribers.delete(sub);
    this.metrics?.connections.dec({ transport: sub.transport });
  }

  connections(): Subscriber[] {
    return [...this.subscribers.keys()];
  }

  /** Ends every connection of a signed-out session, on every instance. */
  disconnectSession(sessionId: string, code: number, reason: string, tellOthers = true): void {
    if (tellOthers) this.bus?.publish({ t: "signout", i: this.instanceId, sessionId });
    this.onSignOut?.(sessionId);
    for (const sub of [...this.subscribers.keys()]) if (sub.sessionId === sessionId) sub.disconnect?.(code, reason);
  }

  /**
   * A person's read marker moved: their open connections, on every instance, hear it at once,
   * so the unread count clears on their other devices too. Nothing is appended to the log; a
   * connection that misses this (another instance's bus down) catches up on its next refresh.
   */
  announceRead(userId: string, readSeq: number, tellOthers = true): void {
    if (tellOthers) this.bus?.publish({ t: "read", i: this.instanceId, userId, readSeq });
    for (const sub of this.subscribers.keys()) if (sub.user.id === userId) sub.onRead?.(readSeq);
  }

  /** Called when a session signs out anywhere (the session cache forgets it). */
  onSignOut: ((sessionId: string) => void) | null = null;

  // ---------------------------------------------------------------------------
  // Durable streams

  async subscribe(stream: string, sub: Subscriber, opts: SubscribeOptions = {}): Promise<SubscribeResult> {
    const st = this.streamState(stream);
    const s: Subscription = { sub, lastSeq: 0, pending: [] };
    st.subs.set(sub.id, s);
    this.subscribers.get(sub)?.streams.add(stream);
    const since = opts.since ?? null;
    let head: number;
    let headKnown = false;
    try {
      // A stream this hub follows knows its head (every commit reaches it, and another
      // instance's commits follow through the backplane's catch-up): a live-only join, or a
      // position within it, costs no query — join churn never reaches the database. Only a
      // stream new here, or a position beyond its head (seen through another instance, or a
      // reset log), needs the database's word.
      const known = st.lastPublished;
      headKnown = known !== null && (since === null || since <= known);
      head = headKnown ? known! : await this.log.head(stream);
    } catch (err) {
      if (st.subs.get(sub.id) === s) this.unsubscribe(stream, sub);
      throw err;
    }
    if (st.lastPublished === null) st.lastPublished = head;
    const reset =
      since !== null && (since > head || (opts.maxReplay !== undefined && head - since > opts.maxReplay));
    s.lastSeq = since === null || reset ? head : since;
    if (since !== null && opts.resumed !== false) this.metrics?.[reset ? "resets" : "resumes"].inc({ transport: sub.transport });
    if (st.subs.get(sub.id) !== s) return { head, reset };
    opts.onStart?.(head, reset);
    // Starting at the head this hub knows, nothing is missed: later events reach it live. A head
    // just read from the database is read after too (a commit may land between the two).
    await this.replay(stream, st, s, headKnown && s.lastSeq >= head);
    return { head, reset };
  }

  unsubscribe(stream: string, sub: Subscriber): void {
    const st = this.streams.get(stream);
    if (!st) return;
    st.subs.delete(sub.id);
    this.subscribers.get(sub)?.streams.delete(stream);
    if (st.subs.size === 0 && !st.pumping) this.idle(stream);
  }

  isSubscribed(stream: string, sub: Subscriber): boolean {
    return this.streams.get(stream)?.subs.has(sub.id) ?? false;
  }

  /** New committed events (local commits, or read after another instance's NOTIFY). */
  publish(events: RealtimeEvent[]): void {
    const started = performance.now();
    const touched = new Map<string, StreamState>();
    for (const e of events) {
      const st = this.streams.get(e.stream);
      if (!st) continue;
      st.inbox.push(new Outgoing(e));
      touched.set(e.stream, st);
    }
    if (touched.size === 0) return;
    for (const [stream, st] of touched) if (!st.pumping) void this.pump(stream, st);
    this.metrics?.fanoutSeconds.observe((performance.now() - started) / 1000);
  }

  /**
   * Another instance moved these heads: read what this hub has not published yet.
   * `null` means "some streams changed" (the notification was too big to list them).
   */
  async catchUpHeads(heads: Map<string, number> | null): Promise<void> {
    const targets = heads ? [...heads].filter(([s]) => this.streams.has(s)) : [...this.streams.keys()].map((s) => [s, Infinity] as const);
    await Promise.all(
      targets.map(async ([stream, head]) => {
        const st = this.streams.get(stream);
        if (!st || st.lastPublished === null || head <= st.lastPublished) return;
        if (st.subs.size === 0 && !st.pumping) {
          // Nobody follows it here: forget it rather than read events no one will get.
          this.streams.delete(stream);
          this.idleStreams.delete(stream);
          return;
        }
        this.metrics?.backplaneReads.inc();
        const events = await this.log.readAfter(stream, st.lastPublished, REPLAY_PAGE);
        if (events.length > 0) this.publish(events);
        if (events.length === REPLAY_PAGE) await this.catchUpHeads(new Map([[stream, head]]));
      }),
    );
  }

  /** Streams that have subscribers here, with the last seq published (for backplane catch-up). */
  followedStreams(): Map<string, number | null> {
    return new Map([...this.streams].filter(([, st]) => st.subs.size > 0).map(([s, st]) => [s, st.lastPublished]));
  }

  /**
   * A stream nobody follows stays known for a while — its head and recent events current — so
   * the next subscriber (a long poll coming back, a reconnect) need not ask the database.
   * Bounded in count and time.
   */
  private idle(stream: string): void {
    this.idleStreams.delete(stream);
    this.idleStreams.set(stream, this.opts.clock.now());
    const now = this.opts.clock.now();
    for (const [name, since] of this.idleStreams) {
      if (this.idleStreams.size <= MAX_IDLE_STREAMS && now - since < IDLE_STREAM_MS) break;
      this.idleStreams.delete(name);
      const st = this.streams.get(name);
      if (st && st.subs.size === 0 && !st.pumping) this.streams.delete(name);
    }
  }

  private streamState(stream: string): StreamState {
    this.idleStreams.delete(stream);
    let st = this.streams.get(stream);
    if (!st) {
      st = { subs: new Map(), lastPublished: null, inbox: [], pumping: false, recent: [] };
      this.streams.set(stream, st);
    }
    return st;
  }

  /** Publishes a stream's inbox in seq order, reading any gap from the log first. */
  private async pump(stream: string, st: StreamState): Promise<void> {
    st.pumping = true;
    try {
      while (st.inbox.length > 0) {
        st.inbox.sort((a, b) => a.seq - b.seq);
        const next = st.inbox[0]!;
        if (st.lastPublished !== null && next.seq <= st.lastPublished) {
          st.inbox.shift();
          continue;
        }
        if (st.lastPublished !== null && next.seq > st.lastPublished + 1) {
          const missing = await this.log.readAfter(stream, st.lastPublished, next.seq - st.lastPublished - 1);
          if (missing.length === 0) {
            this.logger.warn({ stream, from: st.lastPublished, to: next.seq }, "gap not found in the log");
            st.lastPublished = next.seq - 1;
          }
          for (const e of missing) this.fanOut(st, new Outgoing(e));
          continue;
        }
        st.inbox.shift();
        this.fanOut(st, next);
      }
    } catch (err) {
      this.logger.error({ err, stream }, "fan-out gap fill failed; subscribers will resume from the log");
      st.inbox = [];
      for (const s of st.subs.values()) s.sub.onLagged?.();
    } finally {
      st.pumping = false;
      if (st.subs.size === 0) this.idle(stream);
    }
  }

  private fanOut(st: StreamState, out: Outgoing): void {
    st.lastPublished = out.seq;
    const recent = st.recent;
    if (recent.length > 0 && recent[recent.length - 1]!.seq !== out.seq - 1) recent.length = 0;
    recent.push(out);
    if (recent.length > RECENT_PER_STREAM) recent.shift();
    for (const s of st.subs.values()) this.offer(out.event.stream, st, s, out);
  }

  private offer(stream: string, st: StreamState, s: Subscription, out: Outgoing): void {
    if (s.pending) {
      if (s.pending.length >= MAX_PENDING) {
        st.subs.delete(s.sub.id);
        s.sub.onLagged?.();
        return;
      }
      s.pending.push(out);
      return;
    }
    if (out.seq <= s.lastSeq) return;
    if (out.seq === s.lastSeq + 1) return this.deliver(stream, s, out);
    // A hole between what this subscriber has and this event: replay it from the log.
    s.pending = [out];
    void this.replay(stream, st, s).catch((err: unknown) => {
      this.logger.error({ err, stream }, "replay failed");
      s.sub.onLagged?.();
    });
  }

  /** Delivers the log after `s.lastSeq`, then what waited in `s.pending`, then goes live. */
  private async replay(stream: string, st: StreamState, s: Subscription, upToDate = false): Promise<void> {
    let caughtUp = upToDate;
    let pages = 0;
    for (;;) {
      if (st.subs.get(s.sub.id) !== s) return;
      const pending = s.pending ?? [];
      pending.sort((a, b) => a.seq - b.seq);
      while (pending.length > 0 && pending[0]!.seq <= s.lastSeq + 1) {
        const e = pending.shift()!;
        if (e.seq === s.lastSeq + 1) this.deliver(stream, s, e);
      }
      if (caughtUp && pending.length === 0) {
        s.pending = null;
        return;
      }
      // Between pages, let the event loop turn: pages from memory never wait, and a replay
      // thousands of pages long must not hold every other connection (or a timer) back.
      if (pages++ > 0) await yieldToLoop();
      const page = this.fromRecent(st, s.lastSeq) ?? (await this.log.readAfter(stream, s.lastSeq, REPLAY_PAGE)).map((e) => new Outgoing(e));
      if (st.subs.get(s.sub.id) !== s) return;
      for (const e of page) if (e.seq === s.lastSeq + 1) this.deliver(stream, s, e);
      caughtUp = page.length < REPLAY_PAGE;
      if (caughtUp && pending.length > 0 && pending[0]!.seq > s.lastSeq + 1 && page.length === 0) {
        this.logger.warn({ stream, at: s.lastSeq, next: pending[0]!.seq }, "replay found a hole the log cannot fill");
        s.lastSeq = pending[0]!.seq - 1;
      }
    }
  }

  private deliver(stream: string, s: Subscription, e: Outgoing): void {
    s.lastSeq = e.seq;
    this.deliveryCounters?.[s.sub.transport].inc();
    s.sub.onEvent(stream, e);
  }

  /** The recent events after `seq` when the in-memory window covers them all. */
  private fromRecent(st: StreamState, seq: number): Outgoing[] | null {
    const r = st.recent;
    if (r.length === 0 || st.lastPublished === null) return null;
    if (r[0]!.seq > seq + 1 || r[r.length - 1]!.seq !== st.lastPublished) return null;
    if (seq >= st.lastPublished) return [];
    return r.slice(seq + 1 - r[0]!.seq);
  }

  // ---------------------------------------------------------------------------
  // Rooms: ephemeral state

  /** The subscriber's connection is in the room: it counts as present and gets room frames. */
  enterRoom(room: string, sub: Subscriber, presenceId = sub.id): void {
    // A connection that closed on its way in (its answer found it too slow) stays out: it would
    // count as present with nothing left to ever take it away.
    if (!this.subscribers.has(sub)) return;
    this.watch(room, sub);
    this.presence.add(room, sub.user, presenceId);
  }

  /**
   * The subscriber left the room (or disconnected): presence after the grace; typing and the
   * cursor now, if they came from this connection.
   */
  leaveRoom(room: string, sub: Subscriber, opts: { immediate?: boolean; presenceId?: string } = {}): void {
    this.unwatch(room, sub);
    this.presence.remove(room, sub.user.id, opts.presenceId ?? sub.id, opts);
    this.typing.stop(room, sub.user.id, sub.id);
    this.cursors.remove(room, sub.user.id, sub.id);
  }

  /** Receive a room's ephemeral frames without counting as present (a held long poll). */
  watch(room: string, sub: Subscriber): void {
    if (!this.subscribers.has(sub)) return;
    let set = this.watchers.get(room);
    if (!set) this.watchers.set(room, (set = new Set()));
    set.add(sub);
    this.subscribers.get(sub)?.rooms.add(room);
  }

  unwatch(room: string, sub: Subscriber): void {
    this.subscribers.get(sub)?.rooms.delete(room);
    const set = this.watchers.get(room);
    if (!set) return;
    set.delete(sub);
    if (set.size === 0) this.watchers.delete(room);
  }

  /**
   * Starts, renews or stops `actor` typing. `source` is the connection it came from: leaving
   * the room there clears it, the person's other connections leaving do not. A stop (or a send)
   * clears it from any connection.
   */
  setTyping(room: string, actor: Actor, typing: boolean, source?: string): void {
    if (typing) this.typing.start(room, actor, source);
    else this.typing.stop(room, actor.id);
  }

  /**
   * `user` pointed at (x, y). `source` is the connection it came from (none: over HTTP): leaving
   * the room there takes the cursor away, the person's other connections leaving do not.
   */
  moveCursor(room: string, user: User, x: number, y: number, source?: string): void {
    this.metrics?.cursorInputs.inc();
    const before = this.cursors.stats.coalesced;
    this.cursors.update(room, user, x, y, source);
    if (this.cursors.stats.coalesced > before) this.metrics?.cursorCoalesced.inc();
  }

  /** The pointer left the canvas: from `source`, only if the cursor came from there. */
  hideCursor(room: string, userId: string, source?: string): void {
    this.cursors.remove(room, userId, source);
  }

  /** Everyone present in a room, on any instance, once each. */
  members(room: string): User[] {
    return unionById(this.presence.members(room), [...this.remote.values()].map((r) => r.rooms.get(room)?.members ?? []));
  }

  /** Everyone typing in a room, on any instance. */
  typingUsers(room: string): Actor[] {
    return unionById(this.typing.users(room), [...this.remote.values()].map((r) => r.rooms.get(room)?.typing ?? []));
  }

  /** Every current cursor in a room, on any instance. */
  cursorSnapshot(room: string): CursorMap {
    const out: CursorMap = {};
    for (const r of this.remote.values()) for (const [id, c] of r.cursors.get(room) ?? []) out[id] = c;
    return Object.assign(out, this.cursors.snapshot(room));
  }

  roomState(room: string): RoomState {
    return { members: this.members(room), typing: this.typingUsers(room), cursors: this.cursorSnapshot(room) };
  }

  /** Presence or typing changed here: the other instances and our watchers will hear of it. */
  private localRoomChanged(room: string): void {
    this.localDirty.add(room);
    this.roomChanged(room);
  }

  /**
   * Announcements are coalesced per room over a short window: a thousand people joining at once
   * is a handful of presence frames, not a thousand frames of a growing member list each.
   */
  private roomChanged(room: string): void {
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
    if (this.localDirty.delete(room)) this.bus?.publish({ t: "room", i: this.instanceId, room, state: this.localRoom(room) });
    this.announceRoom(room);
  }

  private flushAnnouncements(): void {
    this.announceTimer = null;
    for (const room of this.localDirty) this.bus?.publish({ t: "room", i: this.instanceId, room, state: this.localRoom(room) });
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
      this.broadcastRoom(new RoomFrame({ type: "presence", room, members }, change));
    }
    if (typingNow !== typingBefore) {
      this.broadcastRoom(new RoomFrame({ type: "typing", room, users: typing }));
    }
  }

  /** A room's cursor frame for this tick: to our watchers, and our own changes to the other instances. */
  private onCursorFlush(room: string, cursors: CursorMap, own: CursorMap | null): void {
    this.metrics?.cursorFrames.inc();
    if (own) this.bus?.publish({ t: "cursors", i: this.instanceId, room, cursors: own });
    this.broadcastRoom(new RoomFrame({ type: "cursors", room, cursors }));
  }

  /** Counts changes to a room's ephemeral state, so a poller can tell what it has not seen. */
  roomVersion(room: string): number {
    return this.roomVersions.get(room) ?? 0;
  }

  private broadcastRoom(frame: RoomFrame): void {
    this.roomVersions.set(frame.room, (this.roomVersions.get(frame.room) ?? 0) + 1);
    for (const sub of this.watchers.get(frame.room) ?? []) sub.onRoomFrame?.(frame);
  }
}

function unionById<T extends { id: string }>(local: T[], others: T[][]): T[] {
  const seen = new Map(local.map((u) => [u.id, u]));
  for (const list of others) for (const u of list) if (!seen.has(u.id)) seen.set(u.id, u);
  return [...seen.values()];
}
