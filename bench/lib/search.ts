// The highest arrival rate a server sustains within a bound (p99 latency, completeness), found
// by measuring windows at chosen rates: up by a factor from a first rate until a window fails,
// then bisection between the last pass and the failure. Shared by fan-out and transports; the
// caller's `measure` runs one open-loop window at a rate and says whether it passed.

export interface RateSearchOptions {
  /** The first rate, measured in every run (the same load for every server). */
  start: number;
  /** Each step up is the last rate times this (1.5: ~50% apart). */
  factor: number;
  /**
   * Bisection steps after the first failure, each halving the gap (geometrically) between the
   * highest pass and the lowest failure: with factor 1.5, 1 step leaves the answer within ~22%,
   * 3 steps within ~5%.
   */
  bisect: number;
  /** At most this many windows in all. */
  maxSteps: number;
  /**
   * Where earlier runs of the same server found their best: after the first rate the ascent
   * resumes two factors below it instead of climbing from the first rate again (several steps
   * fewer per run). Without it, or when it is below the first rate's next step, a plain ascent.
   */
  near?: number;
  /** When even the first rate fails, halve it down to this fraction of it, at most. */
  lowest?: number;
}

export interface RateWindow {
  rate: number;
  pass: boolean;
}

export interface RateSearch<R extends RateWindow> {
  /** Every window, in the order measured. */
  steps: R[];
  /** The highest rate that passed (null: none did). */
  best: R | null;
  /** The lowest rate that failed above `best` (null: none did within `maxSteps`). */
  failedAt: number | null;
}

export async function findMaxRate<R extends RateWindow>(o: RateSearchOptions, measure: (rate: number) => Promise<R>): Promise<RateSearch<R>> {
  const found: RateSearch<R> = { steps: [], best: null, failedAt: null };
  const left = () => found.steps.length < o.maxSteps;
  const run = async (rate: number): Promise<R> => {
    const r = await measure(rate);
    found.steps.push(r);
    if (r.pass && (!found.best || r.rate > found.best.rate)) found.best = r;
    if (!r.pass && r.rate > (found.best?.rate ?? 0) && (found.failedAt === null || r.rate < found.failedAt)) found.failedAt = r.rate;
    return r;
  };
  /** The gap still to close: highest pass and lowest failure above it, when both exist. */
  const gap = (): [number, number] | null => (found.best && found.failedAt !== null ? [found.best.rate, found.failedAt] : null);

  let first = await run(o.start);
  // A first window that fails may be the server's start-up (JIT, work left from connecting),
  // not its limit: measure it once more before believing it, or the whole search is capped by
  // a transient.
  if (!first.pass && left()) first = await run(o.start);
  if (first.pass) {
    // Up by `factor` until a window fails; a resumed ascent may start higher.
    let rate = o.start * o.factor;
    if (o.near !== undefined && o.near / o.factor ** 2 > rate) rate = o.near / o.factor ** 2;
    while (left()) {
      const r = await run(rate);
      if (!r.pass) break;
      rate *= o.factor;
    }
    // A resumed ascent can fail at its first step, far above the first rate: come down by
    // `factor` until a pass, so that the bisection starts from a gap of one factor.
    for (let g = gap(); left() && g && g[1] / g[0] > o.factor * 1.001; g = gap()) await run(g[1] / o.factor);
  } else {
    // Not even the first rate: halve it until a window passes (or the floor).
    const floor = o.start * (o.lowest ?? 1 / 8);
    for (let rate = o.start / 2; left() && !found.best && rate >= floor * 0.999; rate /= 2) await run(rate);
  }

  for (let i = 0, g = gap(); i < o.bisect && left() && g; i++, g = gap()) {
    const mid = Math.sqrt(g[0] * g[1]);
    // Closer than 2% apart: the windows' own noise is larger than that.
    if (mid / g[0] < 1.02) break;
    await run(mid);
  }
  return found;
}
