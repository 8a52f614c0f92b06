// The peer-instance protocol: what this instance tells the others over the ephemeral bus
// (server/backplane/ephemeral.ts holds the messages; Redis carries them), and what it keeps of
// theirs — each instance's rooms and cursors, until it stops announcing itself or says goodbye.
// Losing a message is harmless by design: every instance re-announces its whole state on a
// heartbeat, and what is not renewed expires.
import type { EphemeralBus, EphemeralMessage, RoomPresence } from "../backplane/ephemeral";
import type { Clock, Timer } from "../state/clock";
import { PRESENCE_GRACE_MS, type Actor, type CursorMap, type CursorState, type LiveDragMap, type LiveSelectionMap, type User } from "../../lib/protocol";

/** Another instance's presence is forgotten after this many of its heartbeats without one. */
export const PEER_EXPIRY_HEARTBEATS = 3;
/** How often an instance re-announces its presence to the others, unless told otherwise. */
const DEFAULT_HEARTBEAT_MS = 5_000;
/** A drained instance's clients reconnect within this (ws drain spread) when it does not say. */
const DEFAULT_RECONNECT_SPREAD_MS = 5_000;
/** However long a departing instance asks its members be kept, no longer than this. */
const MAX_DEPARTURE_KEEP_MS = 60_000;
/** Instances that said goodbye, remembered so a late message cannot bring them back as ghosts. */
const MAX_DEPARTED = 1_000;

/** What the peers tell the rest of the hub, and ask of it. */
export interface PeerHandlers {
  /** This instance's own presence and typing, per room, to announce in full. */
  localRooms(): Record<string, RoomPresence>;
  /** Another instance's presence or typing in `room` changed (or it went away). */
  roomChanged(room: string): void;
  /** Another instance's cursors moved (`null`: gone): out with this instance's next tick. */
  relayCursors(room: string, cursors: CursorMap): void;
  /** Another instance's canvas drags or selections changed: out with this instance's next tick. */
  relayCanvas(room: string, drags: LiveDragMap, selections: LiveSelectionMap): void;
  /** A session signed out on another instance. */
  signedOut(sessionId: string): void;
  /** A person's read marker moved on another instance. */
  read(userId: string, readSeq: number): void;
  /** A person's read position in a room moved (or was marked back) on another instance. */
  roomRead(userId: string, room: string, readSeq: number, markedUnread: boolean): void;
  /** A person muted or unmuted a room on another instance. */
  muted(userId: string, room: string, muted: boolean): void;
  /** A person was removed from a private room on another instance. */
  removed(userId: string, room: string): void;
  /** A person changed their name on another instance. */
  personChanged(userId: string): void;
}

export interface PeerOptions {
  clock: Clock;
  /** This process's name on the bus, unique to it: messages are told apart by it. */
  instanceId: string;
  /** How often this instance re-announces its presence to the others; they forget it after 3×. */
  heartbeatMs?: number;
  presenceGraceMs?: number;
  handlers: PeerHandlers;
}

/** What another instance last told us about its rooms. */
interface RemoteInstance {
  rooms: Map<string, RoomPresence>;
  cursors: Map<string, Map<string, CursorState>>;
  expiresAt: number;
  /** Set once it said goodbye: when its members are let go. */
  departing?: Timer;
}

export class Peers {
  private bus: EphemeralBus | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly remote = new Map<string, RemoteInstance>();
  private readonly departed = new Set<string>();
  private readonly instanceId: string;
  private readonly heartbeatMs: number;
  private readonly graceMs: number;
  private readonly handlers: PeerHandlers;

  constructor(private readonly opts: PeerOptions) {
    this.instanceId = opts.instanceId;
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.graceMs = opts.presenceGraceMs ?? PRESENCE_GRACE_MS;
    this.handlers = opts.handlers;
  }

  /** Starts sharing presence, typing and cursors with the other instances through `bus`. */
  async attach(bus: EphemeralBus): Promise<void> {
    this.bus = bus;
    await bus.start(
      (msg) => this.handleMessage(msg),
      () => {
        bus.publish({ t: "sync", i: this.instanceId });
        this.announceState();
      },
    );
    this.heartbeatTimer = setInterval(() => {
      this.announceState();
      this.expireRemotes();
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /**
   * Says goodbye. `reconnectSpreadMs`: how long this instance's clients were told they may wait
   * before reconnecting elsewhere; the others keep showing them present that long, plus the grace.
   */
  stop(reconnectSpreadMs = DEFAULT_RECONNECT_SPREAD_MS): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    for (const r of this.remote.values()) r.departing?.cancel();
    this.bus?.publish({ t: "bye", i: this.instanceId, keepMs: reconnectSpreadMs + this.graceMs });
    // Presence graces still running here would announce changes after the goodbye.
    this.bus = null;
  }

  // --- Telling the others --------------------------------------------------

  /** This instance's presence or typing in `room` is now `state`. */
  roomChanged(room: string, state: RoomPresence): void {
    this.bus?.publish({ t: "room", i: this.instanceId, room, state });
  }

  /** This instance's canvas drags and selections in `room` that changed this tick. */
  canvasMoved(room: string, drags: LiveDragMap, selections: LiveSelectionMap): void {
    this.bus?.publish({ t: "canvas", i: this.instanceId, room, drags, selections });
  }

  /** This instance's cursor changes in `room` for this tick. */
  cursorsMoved(room: string, cursors: CursorMap): void {
    this.bus?.publish({ t: "cursors", i: this.instanceId, room, cursors });
  }

  signedOut(sessionId: string): void {
    this.bus?.publish({ t: "signout", i: this.instanceId, sessionId });
  }

  read(userId: string, readSeq: number): void {
    this.bus?.publish({ t: "read", i: this.instanceId, userId, readSeq });
  }

  roomRead(userId: string, room: string, readSeq: number, markedUnread: boolean): void {
    this.bus?.publish({ t: "room.read", i: this.instanceId, userId, room, readSeq, ...(markedUnread ? { unread: true as const } : {}) });
  }

  muted(userId: string, room: string, muted: boolean): void {
    this.bus?.publish({ t: "room.muted", i: this.instanceId, userId, room, muted });
  }

  removed(userId: string, room: string): void {
    this.bus?.publish({ t: "removed", i: this.instanceId, userId, room });
  }

  personChanged(userId: string): void {
    this.bus?.publish({ t: "person", i: this.instanceId, userId });
  }

  // --- What the others have ------------------------------------------------

  /** The members present in `room` on each other instance. */
  members(room: string): User[][] {
    return [...this.remote.values()].map((r) => r.rooms.get(room)?.members ?? []);
  }

  /** Who is typing in `room` on each other instance. */
  typing(room: string): Actor[][] {
    return [...this.remote.values()].map((r) => r.rooms.get(room)?.typing ?? []);
  }

  /** The other instances' cursors in `room`. */
  cursors(room: string): CursorMap {
    const out: CursorMap = {};
    for (const r of this.remote.values()) for (const [id, c] of r.cursors.get(room) ?? []) out[id] = c;
    return out;
  }

  // --- Hearing the others --------------------------------------------------

  private announceState(): void {
    this.bus?.publish({ t: "state", i: this.instanceId, rooms: this.handlers.localRooms() });
  }

  private remoteInstance(id: string): RemoteInstance {
    let r = this.remote.get(id);
    if (!r) this.remote.set(id, (r = { rooms: new Map(), cursors: new Map(), expiresAt: 0 }));
    r.expiresAt = this.opts.clock.now() + PEER_EXPIRY_HEARTBEATS * this.heartbeatMs;
    return r;
  }

  private handleMessage(msg: EphemeralMessage): void {
    if (this.departed.has(msg.i)) return;
    switch (msg.t) {
      case "state": {
        const r = this.remoteInstance(msg.i);
        const touched = new Set([...r.rooms.keys(), ...Object.keys(msg.rooms)]);
        r.rooms = new Map(Object.entries(msg.rooms));
        for (const room of touched) this.handlers.roomChanged(room);
        return;
      }
      case "room": {
        const r = this.remoteInstance(msg.i);
        r.rooms.set(msg.room, msg.state);
        this.handlers.roomChanged(msg.room);
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
        this.handlers.relayCursors(msg.room, msg.cursors);
        return;
      }
      case "canvas":
        // Like cursors: with this instance's next tick. Drags are not kept per instance: one
        // that goes away mid-drag leaves the last box, until its dragger's next change or drop.
        return this.handlers.relayCanvas(msg.room, msg.drags, msg.selections);
      case "sync":
        return this.announceState();
      case "bye":
        return this.departInstance(msg.i, msg.keepMs);
      case "signout":
        return this.handlers.signedOut(msg.sessionId);
      case "read":
        return this.handlers.read(msg.userId, msg.readSeq);
      case "room.read":
        return this.handlers.roomRead(msg.userId, msg.room, msg.readSeq, msg.unread === true);
      case "room.muted":
        return this.handlers.muted(msg.userId, msg.room, msg.muted);
      case "removed":
        return this.handlers.removed(msg.userId, msg.room);
      case "person":
        return this.handlers.personChanged(msg.userId);
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
      if (state.typing.length > 0) this.handlers.roomChanged(room);
    }
    this.forgetCursors(r);
    const keep = Math.min(MAX_DEPARTURE_KEEP_MS, Math.max(0, keepMs ?? DEFAULT_RECONNECT_SPREAD_MS + this.graceMs));
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
    for (const room of r.rooms.keys()) this.handlers.roomChanged(room);
    this.forgetCursors(r);
  }

  private forgetCursors(r: RemoteInstance): void {
    for (const [room, cursors] of r.cursors) {
      const gone: CursorMap = {};
      for (const userId of cursors.keys()) gone[userId] = null;
      if (cursors.size > 0) this.handlers.relayCursors(room, gone);
    }
    r.cursors.clear();
  }
}
