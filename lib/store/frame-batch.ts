// Work that arrives in bursts, done once per animation frame: a burst of 50 messages a second
// with cursors moving is a handful of store updates (and renders) a frame, not one per event.
// A hidden tab runs no animation frames, so a timer stands in for them there; either one that
// comes first flushes, and the queue never waits longer than FLUSH_AT_MOST_MS.

/** The longest anything waits in the queue (a hidden tab, a page without animation frames). */
const FLUSH_AT_MOST_MS = 100;

export interface FrameBatch<T> {
  /** Queues one item; the next frame hands it, with the rest of the frame's, to `flush`. */
  push(item: T): void;
  /** Hands over what is queued now. */
  flushNow(): void;
  /** Drops what is queued and stops (on unbind). */
  cancel(): void;
}

export function createFrameBatch<T>(flush: (items: T[]) => void): FrameBatch<T> {
  let queue: T[] = [];
  let frame: number | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const unschedule = () => {
    if (frame !== null) cancelAnimationFrame(frame);
    if (timer !== null) clearTimeout(timer);
    frame = null;
    timer = null;
  };
  const flushNow = () => {
    unschedule();
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    flush(items);
  };

  return {
    push(item) {
      queue.push(item);
      if (timer !== null) return;
      if (typeof requestAnimationFrame === "function") frame = requestAnimationFrame(flushNow);
      timer = setTimeout(flushNow, FLUSH_AT_MOST_MS);
    },
    flushNow,
    cancel() {
      unschedule();
      queue = [];
    },
  };
}

/**
 * Splits `items` into runs of one kind, in order: consecutive messages go to the store in one
 * update, and a change after them still comes after them.
 */
export function runsOf<T, K>(items: readonly T[], kindOf: (item: T) => K): Array<{ kind: K; items: T[] }> {
  const runs: Array<{ kind: K; items: T[] }> = [];
  for (const item of items) {
    const kind = kindOf(item);
    const last = runs[runs.length - 1];
    if (last && last.kind === kind) last.items.push(item);
    else runs.push({ kind, items: [item] });
  }
  return runs;
}
