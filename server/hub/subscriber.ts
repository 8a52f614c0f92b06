// What every transport's connection looks like to the hub: one small interface the WebSocket,
// SSE and long-poll connections all implement, so no part of the hub knows which it talks to.
import type { User } from "../../lib/protocol";
import type { Outgoing, RoomFrame } from "./outgoing";

export type Transport = "ws" | "sse" | "longpoll";

/**
 * Why the server ends a connection. Each transport maps it to its own way of closing (a
 * WebSocket close code, an SSE stream ended, a poll answered), so the hub never names one.
 */
export type DisconnectReason =
  /** The session signed out (on any instance): the client must sign in again. */
  | "signed-out"
  /** This instance is shutting down: the client reconnects, to another instance if need be. */
  | "draining"
  /** The connection fell too far behind: the client resumes from the log. */
  | "too-slow"
  /** Its person changed their name (protocol 1.9): the client reconnects at once, as them now. */
  | "changed";

export interface DisconnectOptions {
  /** Draining: how long the client should wait before reconnecting (spreads the reconnects). */
  reconnectAfterMs?: number;
}

export interface Subscriber {
  readonly id: string;
  readonly user: User;
  readonly sessionId: string;
  readonly transport: Transport;
  /**
   * Its transport counts its open connections itself (`rt_connections`): registered is not
   * open for it. A long poll's subscription stays registered between requests; the poll is
   * open only while one is held.
   */
  readonly countedByTransport?: boolean;
  /** A durable event, in seq order, exactly once per subscription. */
  onEvent(stream: string, event: Outgoing): void;
  /** Presence, typing or cursors changed in a room this subscriber watches. */
  onRoomFrame?(frame: RoomFrame): void;
  /** The hub cannot keep this subscriber in order any more (it fell too far behind). */
  onLagged?(): void;
  /** Ends the connection, for `reason`. */
  disconnect?(reason: DisconnectReason, opts?: DisconnectOptions): void;
  /** This person read their mentions up to `readSeq`, on some device: the count is shared. */
  onRead?(readSeq: number): void;
  /**
   * This person read `room` up to `readSeq`, on some device (protocol 1.2): whether or not this
   * connection follows the room, since a room list shows every room's unread count.
   * `markedUnread` (1.11): the person set it there by marking what follows unread, maybe back.
   */
  onRoomRead?(room: string, readSeq: number, markedUnread: boolean): void;
  /** This person muted (or unmuted) `room`, on some device (protocol 1.12), followed or not. */
  onMuted?(room: string, muted: boolean): void;
  /**
   * This person lost access to `room` (removed from a private room, on some instance): stop
   * following it at once and say so; from now on every read of it answers `unknown_room`.
   */
  onRemoved?(room: string): void;
}
