// The session registry: every open connection on this instance, whatever its transport, so a
// session's or a person's connections can be found at once (sign-out, a read marker moved).
import type { Metrics } from "../metrics";
import type { DisconnectReason, Subscriber } from "./subscriber";

export class SessionRegistry {
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly metrics?: Metrics) {}

  /** Adds a connection; false if it was already here. */
  add(sub: Subscriber): boolean {
    if (this.subscribers.has(sub)) return false;
    this.subscribers.add(sub);
    this.metrics?.connections.inc({ transport: sub.transport });
    return true;
  }

  /** Removes a connection; false if it was not here. */
  remove(sub: Subscriber): boolean {
    if (!this.subscribers.delete(sub)) return false;
    this.metrics?.connections.dec({ transport: sub.transport });
    return true;
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

  /** Tells a person's connections here that their read marker moved. */
  announceRead(userId: string, readSeq: number): void {
    for (const sub of this.subscribers) if (sub.user.id === userId) sub.onRead?.(readSeq);
  }
}
