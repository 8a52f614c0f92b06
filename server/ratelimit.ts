// What one person may send, the buckets that hold them to it, and the window counter behind
// the abuse limit. The token bucket itself is shared with the browser client
// (lib/token-bucket.ts).
import { SEND_BURST, SEND_RATE_PER_S } from "../lib/protocol";
import { TokenBucket } from "../lib/token-bucket";

/**
 * What one person may do, per second with a burst, over all their WebSockets and the HTTP
 * upstream of the fallback transports together: opening more connections buys no more.
 */
export const SEND_LIMITS = {
  send: { rate: SEND_RATE_PER_S, burst: SEND_BURST },
  typing: { rate: 2, burst: 2 },
  cursor: { rate: 60, burst: 60 },
  /**
   * Read positions (protocol 1.2): a client sends one per room after the reader has looked for
   * a moment; the burst covers a few rooms opened one after another, or a few devices at once.
   */
  read: { rate: 2, burst: 10 },
  /** Every join may read the log; the burst lets a reconnecting tab rejoin all its rooms at once. */
  join: { rate: 5, burst: 50 },
  /**
   * Canvas changes (protocol 1.3): a drop, a colour, a note's text — each a durable append. A
   * person works at a few a second; the burst covers undoing a run of changes at once.
   */
  canvas: { rate: 20, burst: 40 },
  /** In-between drag boxes and selections (protocol 1.3): lossy like cursors, at their rate. */
  canvasLive: { rate: 60, burst: 60 },
  /**
   * Frames of any kind, counted before one is parsed: four times the cursor limit, far above
   * what the person's clients send together (cursors at 30 Hz, everything else a few a second),
   * so only a flood reaches it. Per person, like the rest: twenty sockets of one person read
   * no more than one would, so a flood opened on many sockets at once costs the server one
   * socket's parsing.
   */
  frame: { rate: 240, burst: 480 },
} as const;

export type RateKind = keyof typeof SEND_LIMITS;
export type RateLimits = Record<RateKind, { rate: number; burst: number }>;

/** How often idle people's buckets are looked for and dropped. */
const SWEEP_MS = 10_000;

/**
 * One set of token buckets per person, shared by every connection of theirs in this process.
 * A person's buckets are dropped once they have no connection left and the buckets have
 * refilled: a full bucket is no different from a new one, so dropping it forgets nothing, and
 * closing every connection to come back with fresh buckets gains nothing. Memory is bounded by
 * the people connected plus those who left within the last few seconds.
 */
export class PersonRates {
  private readonly people = new Map<string, Map<RateKind, TokenBucket>>();
  private lastSweep: number;
  private readonly now: () => number;

  constructor(
    private readonly opts: {
      limits?: RateLimits;
      now?: () => number;
      /** Whether the person holds a connection now (their buckets are kept while so). */
      isConnected?: (personId: string) => boolean;
    } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.lastSweep = this.now();
  }

  /** Takes one token of `kind` for the person; false when their bucket is empty. */
  take(personId: string, kind: RateKind): boolean {
    if (this.now() - this.lastSweep >= SWEEP_MS) this.sweep();
    let buckets = this.people.get(personId);
    if (!buckets) this.people.set(personId, (buckets = new Map()));
    let bucket = buckets.get(kind);
    if (!bucket) {
      const { rate, burst } = (this.opts.limits ?? SEND_LIMITS)[kind];
      buckets.set(kind, (bucket = new TokenBucket(rate, burst, this.now)));
    }
    return bucket.take();
  }

  /** The person's last connection closed: their buckets go now if full, else at a later sweep. */
  forget(personId: string): void {
    const buckets = this.people.get(personId);
    if (buckets && [...buckets.values()].every((b) => b.full)) this.people.delete(personId);
  }

  /** People with buckets kept (for tests and metrics). */
  get size(): number {
    return this.people.size;
  }

  private sweep(): void {
    this.lastSweep = this.now();
    for (const personId of this.people.keys()) {
      if (!this.opts.isConnected?.(personId)) this.forget(personId);
    }
  }
}

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

  /** Records `n`; true when this passes the limit within the window. */
  hit(n = 1): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.count = 0;
    }
    this.count += n;
    return this.count > this.limit;
  }
}
