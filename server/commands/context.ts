// What a command needs to know about the connection it came from, and what it answers. Every
// transport (a WebSocket, a long-poll page, a one-off HTTP call) builds one of these; the
// commands never see a socket or a request.
import type { AppendResult } from "../eventlog";
import type { PersonRates } from "../ratelimit";
import type { ServerFrame, User } from "../../lib/protocol";

/** Where a command came from, as the metrics label it (`rt_acks_total{transport}`). */
export type CommandTransport = "ws" | "longpoll" | "http";

export interface CommandContext {
  readonly user: User;
  readonly transport: CommandTransport;
  /**
   * Names the connection to the hub as the source of the typing and cursor it starts, so its
   * leaving takes them away (the person's other connections leaving do not). None over a
   * one-off HTTP call.
   */
  readonly source?: string;
  /** The person's rate limits, shared by every connection of theirs. */
  readonly rates: PersonRates;
  /**
   * The rooms this connection joined; `null` for a one-off HTTP call, which joins nothing and
   * may act in any room that exists.
   */
  readonly rooms: ReadonlySet<string> | null;
  /**
   * A long-poll page: each of its requests may reach any instance behind a load balancer with
   * no sticky sessions, so a frame for a room it joined through another instance joins it here
   * first instead of being refused `not_joined`.
   */
  readonly joinOnDemand?: boolean;
  /**
   * Starts following `room` (live delivery, replay after `since`, presence): transport
   * business. Resolves with the answer frames the transport did not deliver itself — a
   * WebSocket writes `joined` at the subscription's start, ahead of the replayed events, and
   * returns none; a long-poll page returns its `joined`.
   */
  subscribe(room: string, since: number | undefined): Promise<ServerFrame[]>;
  /** Stops following `room` and leaves it at once; false when it was not joined. */
  unsubscribe(room: string): boolean;
  /**
   * Version 1.3: follows the room's canvas stream after `since`, with `answer` (`canvas.joined`
   * or `canvas.snapshot`) ahead of any event. Resolves with the frames the transport did not
   * deliver itself, as `subscribe`. None over a one-off HTTP call.
   */
  followCanvas?(room: string, since: number, answer: ServerFrame): Promise<ServerFrame[]>;
  /** Stops following the room's canvas; nothing when it was not followed. */
  unfollowCanvas?(room: string): void;
}

/** A command's answer. */
export interface Reply {
  /** Answer frames, known when the command has taken effect (an error, a page's `joined`). */
  frames: ServerFrame[];
  /**
   * A send's `ack` (or error) once the message is durable. The next command need not wait for
   * it: commands take effect in order, commits overlap.
   */
  later?: Promise<LaterReply>;
  /** Dropped without an answer for being over a limit (typing, cursor input): a flood signal. */
  excess?: boolean;
}

export interface LaterReply {
  frames: ServerFrame[];
  /** The durable message, for answers that carry it whole (`POST /api/rooms/:id/messages`). */
  appended?: AppendResult;
}

/** A reply of just these frames. */
export const answer = (...frames: ServerFrame[]): Reply => ({ frames });
