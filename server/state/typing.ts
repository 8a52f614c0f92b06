// Who is typing in each room: start and renew set a deadline, stop clears at once. Each entry
// remembers the connection it came from, so a person's other tab closing does not clear it.
import type { Clock, Timer } from "./clock";
import type { Actor } from "../../lib/protocol";

export type TypingListener = (room: string, users: Actor[]) => void;

export class Typing {
  private readonly rooms = new Map<string, Map<string, { actor: Actor; source: string | undefined; expiry: Timer }>>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly onChange: TypingListener,
  ) {}

  /** Starts or renews `actor` typing in `room` for the TTL, from connection `source`. */
  start(room: string, actor: Actor, source?: string): void {
    let users = this.rooms.get(room);
    if (!users) this.rooms.set(room, (users = new Map()));
    const existing = users.get(actor.id);
    existing?.expiry.cancel();
    // Only {id, name} goes on the wire, whatever else the caller's user object holds.
    const who: Actor = { id: actor.id, name: actor.name };
    users.set(actor.id, { actor: who, source, expiry: this.clock.setTimeout(() => this.stop(room, actor.id), this.ttlMs) });
    if (!existing) this.onChange(room, this.users(room));
  }

  /** Stops `userId` typing; with `source`, only if that connection is where the typing came from. */
  stop(room: string, userId: string, source?: string): void {
    const users = this.rooms.get(room);
    const entry = users?.get(userId);
    if (!users || !entry) return;
    if (source !== undefined && entry.source !== source) return;
    entry.expiry.cancel();
    users.delete(userId);
    if (users.size === 0) this.rooms.delete(room);
    this.onChange(room, this.users(room));
  }

  /** Rooms where anyone is typing. */
  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  users(room: string): Actor[] {
    return [...(this.rooms.get(room)?.values() ?? [])].map((e) => e.actor);
  }
}
