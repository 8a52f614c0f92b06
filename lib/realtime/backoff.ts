// Capped exponential backoff with full jitter: spreads reconnects so a restart is not a stampede.

/** The first reconnect waits up to 1 s; each next one up to twice as long, never over 4 s. */
export const BACKOFF_BASE_MS = 1_000;
/**
 * Low enough that a page is back within seconds of a restarted server answering: at 30 s, the
 * pages of a server down for ten seconds came back 11–13 s later. A client caught mid-wait when
 * the server comes back still has up to the whole cap to wait, so the cap sets the tail: at 5 s
 * the 95th percentile of a thousand pages came back 5.3 s after `/readyz` (bench:restart), at 4 s
 * within 5 s. Full jitter still spreads their reconnects over seconds instead of one burst.
 */
export const BACKOFF_CAP_MS = 4_000;

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
}
