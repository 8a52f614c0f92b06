// Capped exponential backoff with full jitter: spreads reconnects so a restart is not a stampede.

/** The first reconnect waits up to 1 s; each next one up to twice as long, never over 5 s. */
export const BACKOFF_BASE_MS = 1_000;
/**
 * Low enough that a page is back within seconds of a restarted server answering (at 30 s, the
 * pages of a server down for ten seconds came back 11–13 s later); full jitter up to 5 s still
 * spreads a thousand clients' reconnects over seconds instead of one burst.
 */
export const BACKOFF_CAP_MS = 5_000;

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  random?: () => number;
}

/** Delay before reconnect attempt `attempt` (0-based): uniform in [0, min(cap, base·2^attempt)]. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? BACKOFF_BASE_MS;
  const cap = opts.capMs ?? BACKOFF_CAP_MS;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor((opts.random ?? Math.random)() * ceiling);
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions = {}) {}
  /** The next delay; each call backs off further. */
  next(): number {
    return backoffDelay(this.attempt++, this.opts);
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}
