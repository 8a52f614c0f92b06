// Work that arrives in bursts, done once per animation frame: a burst of 50 messages a second
// with cursors moving is a handful of store updates (and renders) a frame, not one per event.
// Every batch of the page flushes in the same frame callback, so the stores they feed (the open
// room's, the feed's, the sidebar's) change together and React renders once for all of them.
//
// A burst is paced: a batch made `paced` (messages, the feed) flushes at most every
// BURST_PACE_MS, so 50 messages a second render 10 times a second, 5 at a time, rather than at
// every frame — where the page would spend most of its time rendering the list, measuring rows
// and laying out. A message after a quiet spell still goes in at the next frame. Cursors are
// not paced: they cost no render (cursor-animator.ts writes transforms), and they glide.
//
// A hidden tab runs no animation frames, so a timer stands in for them there; either one that
// comes first flushes, and nothing waits longer than FLUSH_AT_MOST_MS past its pace.

/** The longest anything waits in a queue (a hidden tab, a page without animation frames). */
const FLUSH_AT_MOST_MS = 100;
/** While a burst lasts, paced batches flush at most this often (a person reads no faster). */
export const BURST_PACE_MS = 100;

export interface FrameBatch<T> {
  /** Queues one item; the next frame hands it, with the rest of the frame's, to `flush`. */
  push(item: T): void;
  /** Hands over what is queued now. */
  flushNow(): void;
  /** Drops what is queued and stops (on unbind). */
  cancel(): void;
}

/** The batches holding items (each one's flush, and whether it is paced), in the order they were first pushed to. */
const due = new Map<() => void, boolean>();
let frame: number | null = null;
/** Stands in for the frame where none comes (a hidden tab). */
let fallback: ReturnType<typeof setTimeout> | null = null;
/** Only paced batches are due, and the pace has not allowed them yet. */
let paceTimer: ReturnType<typeof setTimeout> | null = null;
/** When the paced batches last flushed. */
let pacedAt = -Infinity;

function unschedule(): void {
  if (frame !== null) cancelAnimationFrame(frame);
  if (fallback !== null) clearTimeout(fallback);
  if (paceTimer !== null) clearTimeout(paceTimer);
  frame = fallback = paceTimer = null;
}

/** How long the paced batches must still wait. A clock behind their last flush (a fake one) lets them go. */
function paceLeft(now: number): number {
  const since = now - pacedAt;
  return since >= BURST_PACE_MS || since < 0 ? 0 : BURST_PACE_MS - since;
}

function schedule(): void {
  let wait = paceLeft(performance.now());
  for (const paced of due.values()) if (!paced) wait = 0;
  if (wait > 0) {
    paceTimer ??= setTimeout(() => {
      paceTimer = null;
      schedule();
    }, wait);
    return;
  }
  if (frame !== null || fallback !== null) return;
  if (typeof requestAnimationFrame === "function") frame = requestAnimationFrame(flushDue);
  fallback = setTimeout(flushDue, FLUSH_AT_MOST_MS);
}

/** One frame: every batch due, the paced ones only once the pace allows. */
function flushDue(): void {
  if (frame !== null) cancelAnimationFrame(frame);
  if (fallback !== null) clearTimeout(fallback);
  frame = fallback = null;
  const now = performance.now();
  const pacedNow = paceLeft(now) === 0;
  const flushes = [...due].filter(([, paced]) => pacedNow || !paced);
  if (flushes.some(([, paced]) => paced)) pacedAt = now;
  // Each takes itself out of `due` as it flushes.
  for (const [flush] of flushes) flush();
  if (due.size > 0) schedule();
}

function forget(flush: () => void): void {
  due.delete(flush);
  if (due.size === 0) unschedule();
}

export function createFrameBatch<T>(flush: (items: T[]) => void, { paced = false }: { paced?: boolean } = {}): FrameBatch<T> {
  let queue: T[] = [];
  const flushNow = () => {
    forget(flushNow);
    if (queue.length === 0) return;
    const items = queue;
    queue = [];
    flush(items);
  };

  return {
    push(item) {
      queue.push(item);
      if (due.has(flushNow)) return;
      due.set(flushNow, paced);
      schedule();
    },
    flushNow,
    cancel() {
      queue = [];
      forget(flushNow);
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
