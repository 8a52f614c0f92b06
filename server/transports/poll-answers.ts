// What makes long polls cheap to answer in bulk (protocol 1.3 and 1.4): the batch window held
// polls woken together wait out (paced under load), the answers encoded once for every poller
// at the same position, and the token that tells a poller's room state apart from the state now.
//
// A poll answered the moment its first event commits carries that event alone, and its client
// comes straight back for the next: under load the server answers a request per event per
// poller. Waiting a few milliseconds gathers the burst into one answer; polls woken in the same
// window answer together, so pollers at one position get the same bytes, made once.

/** A poll that can be answered. */
export interface BatchedPoll {
  answer(reason: "events"): void;
}

/**
 * The batch window: the first poll an event wakes opens it, every poll woken (or arriving with
 * events waiting) while it is open joins it, and all of them answer when it ends. One timer
 * for all of them, however many.
 *
 * A window waits only while events come close together (the last one opened less than one and a
 * half windows ago): then there is a burst to gather. An event after a quiet spell is answered
 * with its own commit batch at the end of its tick, so waiting costs latency only under load,
 * where it buys whole bursts per answer.
 *
 * Windows are paced: one ends no sooner than `paceMs` after the last one ended, and a poll that
 * comes back with events waiting before then waits for that window too. A poller is then
 * answered at most every `paceMs` however fast events come (unpaced, the number of requests
 * follows the event rate), and every poller a window answers comes back to the same position,
 * so the next window's answers are one encoding again. Events further apart than the pace are
 * answered as they come.
 */
export class PollBatches {
  private open: Set<BatchedPoll> | null = null;
  private lastOpened = -Infinity;
  private lastFlushed = -Infinity;
  private readonly windowMs: number;
  private readonly paceMs: number;
  private readonly now: () => number;

  constructor(o: { windowMs: number; paceMs?: number; now?: () => number }) {
    this.windowMs = o.windowMs;
    this.paceMs = o.paceMs ?? 0;
    this.now = o.now ?? (() => performance.now());
  }

  /** A held poll woke: it answers when the window ends (one opens now if none is open). */
  wake(poll: BatchedPoll): void {
    if (this.open) return void this.open.add(poll);
    const polls = new Set([poll]);
    this.open = polls;
    const now = this.now();
    const burst = now - this.lastOpened < this.windowMs * 1.5;
    this.lastOpened = now;
    const flush = () => {
      this.open = null;
      this.lastFlushed = this.now();
      for (const p of polls) p.answer("events");
    };
    const endsAt = Math.max(burst ? now + this.windowMs : now, this.lastFlushed + this.paceMs);
    if (endsAt > now) setTimeout(flush, endsAt - now).unref();
    else setImmediate(flush);
  }

  /**
   * A poll arrived with events waiting: it joins the open window, or opens one when the last
   * ended less than `paceMs` ago. False: none is open and none is due, answer at once.
   */
  join(poll: BatchedPoll): boolean {
    if (!this.open && this.now() >= this.lastFlushed + this.paceMs) return false;
    this.wake(poll);
    return true;
  }
}

/** Answers kept for pollers that come for the same one: a few, briefly. */
const MAX_ANSWERS = 64;
const ANSWER_TTL_MS = 1_000;
/** Bigger answers are made for their poller alone (the cache's memory stays small). */
const MAX_SHARED_BYTES = 256 * 1024;

/**
 * Poll answers made once for every poller they are the same for. The key names the answer's
 * content exactly (its streams and cursor, each stream's event count, which room state), so a
 * hit is the very bytes that poller would have been sent. Bounded in count, size and age.
 */
export class PollAnswers {
  private readonly kept = new Map<string, { bytes: Buffer; at: number }>();

  /**
   * The answer under `key`, made by `make` (and counted by `made`) when it is not kept;
   * `key` null: made for this poller alone.
   */
  encode(key: string | null, made: { inc(): void } | undefined, make: () => string): Buffer {
    const now = performance.now();
    if (key !== null) {
      const hit = this.kept.get(key);
      if (hit && now - hit.at < ANSWER_TTL_MS) return hit.bytes;
    }
    const bytes = Buffer.from(make());
    made?.inc();
    if (key !== null && bytes.length <= MAX_SHARED_BYTES) {
      this.kept.delete(key);
      this.kept.set(key, { bytes, at: now });
      if (this.kept.size > MAX_ANSWERS) this.kept.delete(this.kept.keys().next().value!);
    }
    return bytes;
  }
}

/**
 * The `state` token of some rooms' state (protocol 1.3), opaque to clients: the process's epoch,
 * each room's version, and a hash of the rooms' names (a token for other rooms never matches).
 */
export function roomsToken(epoch: string, rooms: readonly string[], version: (room: string) => number): string {
  let hash = 0x811c9dc5;
  let versions = "";
  for (const room of rooms) {
    versions += `.${version(room).toString(36)}`;
    for (let i = 0; i < room.length; i++) hash = Math.imul(hash ^ room.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0x2c, 0x01000193);
  }
  return `${epoch}${versions}.${(hash >>> 0).toString(36)}`;
}
