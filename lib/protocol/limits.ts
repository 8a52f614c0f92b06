// Versions, limits and close codes: the numbers of the wire contract (PROTOCOL.md).

/** Version 1 of the WebSocket subprotocol: presence as full member lists. */
export const PROTOCOL_VERSION = "rt.v1";
/** Version 1.1: presence as a full list on `joined`, then `presence_diff` frames. */
export const PROTOCOL_VERSION_1_1 = "rt.v1.1";
/** The subprotocols a client offers, preferred first; a v1 server selects the `rt.v1` after it. */
export const OFFERED_PROTOCOLS = [PROTOCOL_VERSION_1_1, PROTOCOL_VERSION] as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION | typeof PROTOCOL_VERSION_1_1;
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;
/** A `join` that missed more than this many events is told to reload instead. */
export const MAX_REPLAY = 1000;
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
