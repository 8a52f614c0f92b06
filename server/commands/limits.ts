// The limits one connection (a WebSocket, or one long-polling page) is held to, whatever
// carries its frames. The per-person rates they share are in server/ratelimit.ts.
import { SEND_LIMITS } from "../ratelimit";

/**
 * Rooms one connection may have joined at once. Each is a subscription, a presence entry and a
 * replay of up to MAX_REPLAY events; a tab shows a room or two.
 */
export const MAX_ROOMS_PER_CONNECTION = 50;
/**
 * Every join may read the database (room check, head, replay). The burst lets a reconnecting
 * tab rejoin every room it may hold at once; past it, joins are answered `rate_limited`. Per
 * person, like every limit in SEND_LIMITS.
 */
export const JOIN_RATE = { perSecond: SEND_LIMITS.join.rate, burst: SEND_LIMITS.join.burst };

/**
 * Frames one person may deliver over all their connections, per second with a burst (the
 * `frame` kind of SEND_LIMITS), counted before any is parsed. A WebSocket drops the rest
 * unread; a long-poll batch answers them `rate_limited`.
 */
export const FRAME_RATE = { perSecond: SEND_LIMITS.frame.rate, burst: SEND_LIMITS.frame.burst };
