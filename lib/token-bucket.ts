// A token bucket: a rate with a burst. The server keeps one per person and frame kind to
// enforce PROTOCOL.md's limits; the browser client keeps one to pace its outbox under the same
// limit, so a backlog drains in order instead of provoking `rate_limited` replies.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** How long until `take` succeeds. */
  get waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  /** True when the bucket has refilled to its burst: it is then no different from a new one. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }

  /** Full again (a new connection: the server's bucket for it starts full). */
  reset(): void {
    this.tokens = this.burst;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.ratePerSecond);
    this.last = t;
  }
}
