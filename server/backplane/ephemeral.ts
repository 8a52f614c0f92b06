// Ephemeral state across instances: who is present and typing in each room, and each
// instance's coalesced cursor batch per tick. Losing a message here is harmless by design —
// every instance re-announces its full state on a heartbeat, and what is not renewed expires —
// so it rides plain pub/sub (Redis). Nothing durable ever goes this way.
import type { Actor, CursorMap, LiveDragMap, LiveSelectionMap, User } from "../../lib/protocol";

export interface RoomPresence {
  members: User[];
  typing: Actor[];
}

export type EphemeralMessage =
  /** An instance's whole state: sent on a heartbeat and when asked. */
  | { t: "state"; i: string; rooms: Record<string, RoomPresence> }
  /** One room changed on an instance. */
  | { t: "room"; i: string; room: string; state: RoomPresence }
  /** One cursor tick of an instance, for one room: only what changed. */
  | { t: "cursors"; i: string; room: string; cursors: CursorMap }
  /** One tick of an instance's canvas drags and selections (protocol 1.3), for one room: only what changed. */
  | { t: "canvas"; i: string; room: string; drags: LiveDragMap; selections: LiveSelectionMap }
  /** A newcomer asks everyone for their state. */
  | { t: "sync"; i: string }
  /**
   * An instance is going away. Its typing and cursors go now; its members stay up to `keepMs`
   * (its clients' reconnect spread plus the presence grace), so people reconnecting to another
   * instance never blink out of the room. Nothing more from it counts after this.
   */
  | { t: "bye"; i: string; keepMs?: number }
  /** A session signed out: every instance closes its connections. */
  | { t: "signout"; i: string; sessionId: string }
  /** A person's read marker moved: every instance tells that person's open streams. */
  | { t: "read"; i: string; userId: string; readSeq: number }
  /** A person's read position in a room moved (protocol 1.2), or was marked back (`unread`, 1.11): every instance tells their connections. */
  | { t: "room.read"; i: string; userId: string; room: string; readSeq: number; unread?: true }
  /** A person muted or unmuted a room (protocol 1.12): every instance tells their connections. */
  | { t: "room.muted"; i: string; userId: string; room: string; muted: boolean }
  /** A person was removed from a private room: every instance cuts their connections off from it. */
  | { t: "removed"; i: string; userId: string; room: string }
  /** A person changed their name (protocol 1.9): every instance reads them again and makes their connections again. */
  | { t: "person"; i: string; userId: string };

export interface EphemeralBus {
  /** Sends to every other instance; never throws, never queues while disconnected. */
  publish(msg: EphemeralMessage): void;
  /**
   * Starts receiving. `onConnected` runs on each (re)connection: a moment to ask for state
   * and re-announce our own, since anything may have been missed while apart.
   */
  start(onMessage: (msg: EphemeralMessage) => void, onConnected: () => void): Promise<void>;
  stop(): Promise<void>;
}
