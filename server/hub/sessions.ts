// The session registry: every open connection on this instance, whatever its transport, so a
// session's or a person's connections can be found at once (sign-out, a read position moved).
import type { Metrics } from "../metrics";
import type { DisconnectReason, Subscriber } from "./subscriber";

export class SessionRegistry {
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly metrics?: Metrics) {}

  /** Adds a connection (again: nothing changes). */
  add(sub: Subscriber): void {
    if (this.subscribers.has(sub)) return;
    this.subscribers.add(sub);
    if (!sub.countedByTransport) this.metrics?.connections.inc({ transport: sub.transport });
  }

  /** Removes a connection (not here: nothing changes). */
  remove(sub: Subscriber): void {
    if (this.subscribers.delete(sub) && !sub.countedByTransport) this.metrics?.connections.dec({ transport: sub.transport });
  }

  has(sub: Subscriber): boolean {
    return this.subscribers.has(sub);
  }

  all(): Subscriber[] {
    return [...this.subscribers];
  }

  /** Ends every connection of a session here, for `reason`. */
  disconnectSession(sessionId: string, reason: DisconnectReason): void {
    for (const sub of [...this.subscribers]) if (sub.sessionId === sessionId) sub.disconnect?.(reason);
  }

  /** Ends every connection of a person here, for `reason`. */
  disconnectPerson(userId: string, reason: DisconnectReason): void {
    for (const sub of [...this.subscribers]) if (sub.user.id === userId) sub.disconnect?.(reason);
  }

  /** Tells a person's connections here that their read marker moved. */
  announceRead(userId: string, readSeq: number): void {
    for (const sub of this.subscribers) if (sub.user.id === userId) sub.onRead?.(readSeq);
  }

  /** Cuts a person's connections here off from `room`. */
  removeFromRoom(userId: string, room: string): void {
    for (const sub of [...this.subscribers]) if (sub.user.id === userId) sub.onRemoved?.(room);
  }

  /** Tells a person's connections here that their read position in `room` moved (or was set back: `markedUnread`). */
  announceRoomRead(userId: string, room: string, readSeq: number, markedUnread: boolean): void {
    for (const sub of this.subscribers) if (sub.user.id === userId) sub.onRoomRead?.(room, readSeq, markedUnread);
  }

  /** Tells a person's connections here that they muted (or unmuted) `room`. */
  announceMuted(userId: string, room: string, muted: boolean): void {
    for (const sub of this.subscribers) if (sub.user.id === userId) sub.onMuted?.(room, muted);
  }
}
