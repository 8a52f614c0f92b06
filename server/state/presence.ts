// Who is in each room. A person counts once however many tabs or transports they use;
// their last connection leaving starts a grace period, so a quick reconnect never flickers.
import type { Clock, Timer } from "./clock";
import { sameUser } from "../../lib/presence-diff";
import type { User } from "../../lib/protocol";

interface Member {
  user: User;
  connections: Set<string>;
  leaving: Timer | null;
}

/** Who is in `room` changed (read them with `members`: not listed here, as that costs O(members) per change). */
export type PresenceListener = (room: string) => void;

export class Presence {
  private readonly rooms = new Map<string, Map<string, Member>>();
  /** Each touching connection's lapse: its timer, and the time it is really due (touches move it). */
  private readonly lapses = new Map<string, { timer: Timer; due: number }>();

  constructor(
    private readonly clock: Clock,
    readonly graceMs: number,
    private readonly onChange: PresenceListener,
  ) {}

  /** A connection of `user` is in `room`. */
  add(room: string, user: User, connectionId: string): void {
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Map()));
    const m = members.get(user.id);
    if (m) {
      m.connections.add(connectionId);
      if (m.leaving) {
        m.leaving.cancel();
        m.leaving = null;
      }
      // Back as someone else to look at (a guest who made their name an account): shown so.
      if (!sameUser(m.user, user)) {
        m.user = user;
        this.onChange(room);
      }
      return;
    }
    members.set(user.id, { user, connections: new Set([connectionId]), leaving: null });
    this.onChange(room);
  }

  /**
   * A connection that only says "still here" now and then (a long poll): present until `ttlMs`
   * passes without another touch, then gone at once (the lapse is its grace).
   */
  touch(room: string, user: User, connectionId: string, ttlMs: number): void {
    this.add(room, user, connectionId);
    const key = `${room}\u0000${connectionId}`;
    const due = this.clock.now() + ttlMs;
    const lapse = this.lapses.get(key);
    // A poller touches on every poll: its timer stays and the due time moves on; a timer that
    // fires early arms again for the rest.
    if (lapse && lapse.due <= due) return void (lapse.due = due);
    lapse?.timer.cancel();
    this.armLapse(room, user.id, connectionId, key, due);
  }

  private armLapse(room: string, userId: string, connectionId: string, key: string, due: number): void {
    const timer = this.clock.setTimeout(() => {
      const lapse = this.lapses.get(key)!;
      if (lapse.due > this.clock.now()) return this.armLapse(room, userId, connectionId, key, lapse.due);
      this.lapses.delete(key);
      this.remove(room, userId, connectionId, { immediate: true });
    }, due - this.clock.now());
    this.lapses.set(key, { timer, due });
  }

  /** A connection left; the person leaves after the grace unless another connection is there. */
  remove(room: string, userId: string, connectionId: string, opts: { immediate?: boolean } = {}): void {
    const m = this.rooms.get(room)?.get(userId);
    if (!m || !m.connections.delete(connectionId) || m.connections.size > 0) return;
    if (opts.immediate || this.graceMs === 0) return this.drop(room, userId);
    m.leaving?.cancel();
    m.leaving = this.clock.setTimeout(() => this.drop(room, userId), this.graceMs);
  }

  /**
   * The person is no longer in `room` on any connection, at once (removed from a private room):
   * whatever said they were there — a socket, a page, a poll's touch — no longer does.
   */
  removePerson(room: string, userId: string): void {
    const m = this.rooms.get(room)?.get(userId);
    if (!m) return;
    for (const connectionId of m.connections) this.cancelLapse(room, connectionId);
    m.connections.clear();
    m.leaving?.cancel();
    m.leaving = null;
    this.drop(room, userId);
  }

  /** `connectionId` is in no room any more, at once (its session signed out). */
  removeConnection(connectionId: string): void {
    for (const [room, members] of [...this.rooms]) {
      for (const [userId, m] of [...members]) {
        if (!m.connections.has(connectionId)) continue;
        this.cancelLapse(room, connectionId);
        this.remove(room, userId, connectionId, { immediate: true });
      }
    }
  }

  private cancelLapse(room: string, connectionId: string): void {
    const key = `${room}\u0000${connectionId}`;
    this.lapses.get(key)?.timer.cancel();
    this.lapses.delete(key);
  }

  has(room: string, userId: string): boolean {
    return this.rooms.get(room)?.has(userId) ?? false;
  }

  members(room: string): User[] {
    return [...(this.rooms.get(room)?.values() ?? [])].map((m) => m.user);
  }

  /** Rooms with anyone in them. */
  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  private drop(room: string, userId: string): void {
    const members = this.rooms.get(room);
    const m = members?.get(userId);
    if (!members || !m || m.connections.size > 0) return;
    members.delete(userId);
    if (members.size === 0) this.rooms.delete(room);
    this.onChange(room);
  }
}
