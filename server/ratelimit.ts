// What one person may send, and the window counter behind the abuse limit. The token bucket
// itself is shared with the browser client (lib/token-bucket.ts).
import { SEND_BURST, SEND_RATE_PER_S } from "../lib/protocol";

/**
 * What one person may send, per second with a burst, over a WebSocket or the HTTP upstream of
 * the fallback transports alike.
 */
export const SEND_LIMITS = {
  send: { rate: SEND_RATE_PER_S, burst: SEND_BURST },
  typing: { rate: 2, burst: 2 },
  cursor: { rate: 60, burst: 60 },
} as const;

/** Counts events in a sliding window of fixed buckets; answers whether a limit was passed. */
export class WindowCounter {
  private count = 0;
  private windowStart: number;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  /** Records one; true when this one passes the limit within the window. */
  hit(): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.count = 0;
    }
    this.count += 1;
    return this.count > this.limit;
  }
}
