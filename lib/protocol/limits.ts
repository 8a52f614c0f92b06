// Versions, limits and close codes: the numbers of the wire contract (PROTOCOL.md).

/** Version 1 of the WebSocket subprotocol: presence as full member lists. */
export const PROTOCOL_VERSION = "rt.v1";
/** Version 1.1: presence as a full list on `joined`, then `presence_diff` frames. */
export const PROTOCOL_VERSION_1_1 = "rt.v1.1";
/** Version 1.2: 1.1, and `read` frames (read positions moving on the person's other devices). */
export const PROTOCOL_VERSION_1_2 = "rt.v1.2";
/** The subprotocols a client offers, preferred first; an older server selects one it knows. */
export const OFFERED_PROTOCOLS = [PROTOCOL_VERSION_1_2, PROTOCOL_VERSION_1_1, PROTOCOL_VERSION] as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION | typeof PROTOCOL_VERSION_1_1 | typeof PROTOCOL_VERSION_1_2;
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;
/** A `join` that missed more than this many events is told to reload instead. */
export const MAX_REPLAY = 1000;
/** A message's text, after trimming, is at most this many characters (UTF-16 code units). */
export const MAX_MESSAGE_CHARS = 4000;
/** People one message may mention (version 1.2). */
export const MAX_MENTIONS = 50;
/** Different emoji on one message; one more is refused `too_many_reactions`. */
export const MAX_REACTION_EMOJI = 20;
/** The unread count a room list reports stops here (shown as "99+"). */
export const UNREAD_COUNT_CAP = 100;
export const TYPING_TTL_MS = 5_000;
export const TYPING_RENEW_MS = 3_000;
/** Sends the server takes per person (all their connections and HTTP together): 10 a second, bursts of 20. */
export const SEND_RATE_PER_S = 10;
export const SEND_BURST = 20;
export const CURSOR_TICK_MS = 50;
/** Rooms in a page of `GET /api/rooms` when the client names no `limit`, and the most it may. */
export const ROOM_PAGE_DEFAULT = 50;
export const ROOM_PAGE_MAX = 200;
export const PRESENCE_GRACE_MS = 3_000;
export const POLL_PRESENCE_TTL_MS = 35_000;
export const POLL_MAX_WAIT_S = 25;
/**
 * Version 1.3: a held poll woken by an event waits at most this long for what else commits, so
 * one answer carries a burst instead of its first event alone.
 */
export const POLL_BATCH_MS = 25;
/**
 * Version 1.4: while events keep coming, the server answers held polls at most this often (one
 * batch window ends no sooner than this after the last one ended), so a poller makes at most
 * 20 requests a second however fast its streams move.
 */
export const POLL_PACE_MS = 50;
/** Version 1.3: a poll's `state` token is at most this long (longer: `400 bad_request`). */
export const POLL_STATE_TOKEN_MAX = 200;
export const SSE_RETRY_MS = 2_000;
/** The server writes a `: ping` comment this often on an idle event stream. */
export const SSE_PING_MS = 15_000;

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  restarting: 1012,
  tooSlow: 1013,
  sessionInvalid: 4401,
} as const;
