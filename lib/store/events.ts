// Merging pages of history with live events: one copy per seq, in seq order.
import type { RealtimeEvent } from "../protocol";

export type EventOf<T extends RealtimeEvent["type"]> = Extract<RealtimeEvent, { type: T }>;

/** `current` and `incoming` merged, deduplicated by seq (the incoming copy wins), ascending. */
export function mergeBySeq<E extends { seq: number }>(current: readonly E[], incoming: readonly E[]): E[] {
  if (incoming.length === 0) return current as E[];
  const last = current[current.length - 1];
  // The common case: live events that simply follow what we have.
  if (last && incoming.every((e, i) => e.seq > (i === 0 ? last.seq : incoming[i - 1]!.seq))) {
    return [...current, ...incoming];
  }
  const bySeq = new Map<number, E>();
  for (const e of current) bySeq.set(e.seq, e);
  for (const e of incoming) bySeq.set(e.seq, e);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** An event that stands for a message elsewhere: the feed's `message.posted`, a mention, a reply. */
type Pointer = { data: { roomId: string; seq: number; preview: string } };

/**
 * `events` with the pointers at message `seq` of `roomId` showing `preview` (its new text's, or
 * "" once deleted), as the server now stores them; the same list when none points there.
 */
export function withPreview<E extends Pointer>(events: E[], roomId: string, seq: number, preview: string): E[] {
  const at = (e: E) => e.data.roomId === roomId && e.data.seq === seq && e.data.preview !== preview;
  return events.some(at) ? events.map((e) => (at(e) ? { ...e, data: { ...e.data, preview } } : e)) : events;
}

/**
 * The newest `limit` of an ascending list: how long-lived tabs keep their lists bounded.
 * `trimmed` says whether older ones were dropped (they can be fetched again over HTTP).
 */
export function keepNewest<E>(list: E[], limit: number): { list: E[]; trimmed: boolean } {
  return list.length > limit ? { list: list.slice(list.length - limit), trimmed: true } : { list, trimmed: false };
}

/** The oldest `limit` of an ascending list: a window paged backwards drops its newest end. */
export function keepOldest<E>(list: E[], limit: number): { list: E[]; trimmed: boolean } {
  return list.length > limit ? { list: list.slice(0, limit), trimmed: true } : { list, trimmed: false };
}
