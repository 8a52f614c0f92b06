// Work that arrives in bursts, done once per animation frame: a burst of 50 messages a second
// with cursors moving is a handful of store updates (and renders) a frame, not one per event.
// Every batch of the page flushes in the same frame callback, so the stores they feed (the open
// room's, the feed's, the sidebar's) change together and React renders once for all of them.
// A hidden tab runs no animation frames, so a timer stands in for them there; either one that
// comes first flushes, and nothing waits longer than FLUSH_AT_MOST_MS.

/** The longest anything waits in a queue (a hidden tab, a page without animation frames). */
const FLUSH_AT_MOST_MS = 100;

export interface FrameBatch<T> {
  /** Queues one item; the next frame hands it, with the rest of the frame's, to `flush`. */
  push(item: T): void;
  /** Hands over what is queued now. */
  flushNow(): void;
  /** Drops what is queued and stops (on unbind). */
  cancel(): void;
}

/** The batches holding items, in the order they were first pushed to since the last frame. */
const due = new Set<() => void>();
let frame: number | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;

function unschedule(): void {
  if (frame !== null) cancelAnimationFrame(frame);
  if (timer !== null) clearTimeout(timer);
  frame = null;
  timer = null;
}

function flushDue(): void {
  unschedule();
  const flushes = [...due];
  due.clear();
  for (const flush of flushes) flush();
}

function schedule(flush: () => void): void {
  due.add(flush);
  if (timer !== null) return;
  if (typeof requestAnimationFrame === "function") frame = requestAnimationFrame(flushDue);
  timer = setTimeout(flushDue, FLUSH_AT_MOST_MS);
}

function unscheduleOne(flush: () => void): void {
  due.delete(flush);
  if (due.size === 0) unschedule();
}

export function createFrameBatch<T>(flush: (items: T[]) => void): FrameBatch<T> {
  let queue: T[] = [];
  const flushNow = () => {
    unscheduleOne(flushNow);
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    flush(items);
  };

  return {
    push(item) {
      queue.push(item);
      schedule(flushNow);
    },
    flushNow,
    cancel() {
      unscheduleOne(flushNow);
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
