// One followed room, as Phoenix's Channel or centrifuge's Subscription: its own state, its
// resume position and its rejoin timer. It speaks only through `send` (the link) and never
// knows which transport carries it.
//
//   joining ──joined──▶ joined          (any answer from the server: `joined`)
//      │  ▲                 │
//   refused │ rejoin timer  │ lost (the server says not_joined, or the link dropped)
//      ▼  │                 ▼
//   errored ◀───────────── joining
//   left: the page left; terminal.
import { roomStream, type ClientFrame, type User } from "../protocol";
import { applyPresenceDiff } from "../presence-diff";
import type { Backoff } from "./backoff";
import type { Positions } from "./positions";

export type SubscriptionState = "joining" | "joined" | "errored" | "left";

/** The least a refused join waits before it is asked again: the server refills in that time. */
export const REJOIN_FLOOR_MS = 1_000;

export class Subscription {
  state: SubscriptionState = "joining";
  /** The room's members as last told (a `presence_diff` changes this list). */
  members: User[] = [];
  private rejoinTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly room: string,
    private readonly positions: Positions,
    /** Sends a frame on the link; false when the link cannot take it now (it rejoins on open). */
    private readonly send: (frame: ClientFrame) => boolean,
    private readonly rejoinBackoff: Backoff,
    /** Called when a rejoin timer fired: what was held back for the room may go after the join. */
    private readonly onRejoined: () => void,
  ) {}

  get stream(): string {
    return roomStream(this.room);
  }

  /** The newest seq seen of the room; undefined: joined live and no answer yet. */
  get position(): number | undefined {
    return this.positions.get(this.stream);
  }

  /** While a refused join waits to be asked again, the room's messages wait too. */
  get waitingToRejoin(): boolean {
    return this.rejoinTimer !== null;
  }

  joinFrame(): ClientFrame {
    const since = this.position;
    return since === undefined ? { type: "join", room: this.room } : { type: "join", room: this.room, since };
  }

  /** Sends the join (again); true when the link took it. */
  join(): boolean {
    if (this.state === "left") return false;
    this.cancelRejoin();
    this.state = "joining";
    return this.send(this.joinFrame());
  }

  /** The server's `joined`: live from `head` when the page had no position. */
  joined(head: number, members: User[]): void {
    if (this.state === "left") return;
    this.state = "joined";
    this.rejoinBackoff.reset();
    if (this.position === undefined) this.positions.set(this.stream, head);
    this.members = members;
  }

  /** A poll answer carried the room: the poll's stream list is its join. */
  carried(): void {
    if (this.state === "joining") this.state = "joined";
  }

  presence(members: User[]): User[] {
    if (this.state !== "left") this.members = members;
    return members;
  }

  presenceDiff(diff: { joins: User[]; leaves: User[] }): User[] {
    return this.presence(applyPresenceDiff(this.members, diff));
  }

  /**
   * The server could not take the join just then (rate_limited, overloaded, internal), or says
   * this connection is not in the room: ask again after a backoff, or the room would sit silent.
   */
  refused(): void {
    if (this.state === "left" || this.rejoinTimer) return;
    this.state = "errored";
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      this.join();
      this.onRejoined();
    }, Math.max(REJOIN_FLOOR_MS, this.rejoinBackoff.next()));
  }

  /** The link went down: a new connection joins again anyway. */
  linkDown(): void {
    this.cancelRejoin();
    if (this.state !== "left") this.state = "joining";
  }

  leave(): void {
    this.cancelRejoin();
    if (this.state === "left") return;
    this.state = "left";
    this.positions.delete(this.stream);
    this.send({ type: "leave", room: this.room });
  }

  /** The server dropped this person from the room: left, with nothing to tell it. */
  removed(): void {
    this.cancelRejoin();
    this.state = "left";
    this.positions.delete(this.stream);
  }

  private cancelRejoin(): void {
    if (this.rejoinTimer) clearTimeout(this.rejoinTimer);
    this.rejoinTimer = null;
  }
}
