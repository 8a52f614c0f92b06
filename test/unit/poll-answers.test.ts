// Long-poll batching: when a batch window waits and who answers with it, how shared poll answers
// are kept (age, size, count), and the exact shape of the rooms' `state` token.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PollAnswers, PollBatches, roomsToken, type BatchedPoll } from "../../server/transports/poll-answers";

/** A poll that records each answer it is given. */
function poll(): BatchedPoll & { answers: string[] } {
  const answers: string[] = [];
  return { answers, answer: (reason) => void answers.push(reason) };
}

describe("PollBatches", () => {
  /** The injected clock; `advance` moves it and the fake timers together. */
  let t = 0;
  const now = () => t;
  const advance = (ms: number) => {
    t += ms;
    vi.advanceTimersByTime(ms);
  };

  beforeEach(() => {
    t = 0;
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate"] });
  });
  afterEach(() => vi.useRealTimers());

  it("answers the first wake after a quiet spell at the end of the tick, not after the window", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    const a = poll();
    batches.wake(a);
    expect(a.answers).toEqual([]);
    advance(0);
    expect(a.answers).toEqual(["events"]);
  });

  it("makes a wake soon after the last window opened wait the whole window", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    const first = poll();
    batches.wake(first);
    advance(0);
    advance(5);
    const second = poll();
    batches.wake(second);
    advance(0);
    advance(8);
    expect(second.answers).toEqual([]);
    advance(1);
    expect(second.answers).toEqual([]);
    advance(1);
    expect(second.answers).toEqual(["events"]);
    expect(first.answers).toEqual(["events"]);
  });

  it("answers every poll woken while a window is open together, each exactly once", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    batches.wake(poll());
    advance(0);
    advance(2);
    const [a, b, c] = [poll(), poll(), poll()];
    batches.wake(a);
    advance(3);
    batches.wake(b);
    batches.wake(a);
    advance(3);
    batches.wake(c);
    advance(3);
    expect([a.answers, b.answers, c.answers]).toEqual([[], [], []]);
    advance(1);
    expect([a.answers, b.answers, c.answers]).toEqual([["events"], ["events"], ["events"]]);
    advance(100);
    expect([a.answers, b.answers, c.answers]).toEqual([["events"], ["events"], ["events"]]);
  });

  it("gathers polls woken in the same tick after a quiet spell into one answer at the end of it", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    const [a, b] = [poll(), poll()];
    batches.wake(a);
    batches.wake(b);
    expect([a.answers, b.answers]).toEqual([[], []]);
    advance(0);
    expect([a.answers, b.answers]).toEqual([["events"], ["events"]]);
  });

  it("lets a poll join only an open window, and answers it with that window", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    const early = poll();
    expect(batches.join(early)).toBe(false);
    advance(100);
    expect(early.answers).toEqual([]);

    batches.wake(poll());
    advance(0);
    advance(4);
    const woken = poll();
    batches.wake(woken);
    const joined = poll();
    expect(batches.join(joined)).toBe(true);
    expect(batches.join(joined)).toBe(true);
    advance(9);
    expect(joined.answers).toEqual([]);
    advance(1);
    expect([woken.answers, joined.answers]).toEqual([["events"], ["events"]]);
    expect(batches.join(poll())).toBe(false);
  });

  it("opens a new window for a wake after the last one flushed", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    const a = poll();
    batches.wake(a);
    advance(0);
    expect(a.answers).toEqual(["events"]);
    // 1 ms after that opening: a burst, so this window waits.
    advance(1);
    const b = poll();
    batches.wake(b);
    advance(10);
    expect(b.answers).toEqual(["events"]);
    // Long after: a fresh window, answered at the end of its tick; the old polls are not answered again.
    advance(100);
    const c = poll();
    batches.wake(c);
    advance(0);
    expect([a.answers, b.answers, c.answers]).toEqual([["events"], ["events"], ["events"]]);
  });

  it("measures the burst from the previous window's opening, not its flush", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    batches.wake(poll());
    advance(0);
    advance(10);
    batches.wake(poll()); // opened at 10, a burst: flushes at 20
    advance(10);
    advance(6); // 16 ms after the last opening, though only 6 after its flush
    const late = poll();
    batches.wake(late);
    advance(0);
    expect(late.answers).toEqual(["events"]);
  });

  it("does not count exactly one and a half windows since the last opening as a burst", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    batches.wake(poll());
    advance(0);
    advance(15);
    const a = poll();
    batches.wake(a);
    advance(0);
    expect(a.answers).toEqual(["events"]);
  });

  it("counts just under one and a half windows since the last opening as a burst", () => {
    const batches = new PollBatches({ windowMs: 10, now });
    batches.wake(poll());
    advance(0);
    t += 14.5;
    const a = poll();
    batches.wake(a);
    advance(0);
    advance(9);
    expect(a.answers).toEqual([]);
    advance(1);
    expect(a.answers).toEqual(["events"]);
  });

  it("always answers at the end of the tick when the window is 0 ms", () => {
    const batches = new PollBatches({ windowMs: 0, now });
    for (let i = 0; i < 3; i++) {
      const a = poll();
      batches.wake(a);
      expect(a.answers).toEqual([]);
      advance(0);
      expect(a.answers).toEqual(["events"]);
    }
  });

  it("ends a window no sooner than the pace after the last one ended", () => {
    const batches = new PollBatches({ windowMs: 10, paceMs: 50, now });
    const first = poll();
    batches.wake(first);
    advance(0);
    expect(first.answers).toEqual(["events"]);
    // 30 ms later, not a burst by the window (over 15 ms since it opened) but inside the pace.
    advance(30);
    const second = poll();
    batches.wake(second);
    advance(19);
    expect(second.answers).toEqual([]);
    advance(1);
    expect(second.answers).toEqual(["events"]);
    expect(first.answers).toEqual(["events"]);
  });

  it("answers at once an event further from the last window than the pace", () => {
    const batches = new PollBatches({ windowMs: 10, paceMs: 50, now });
    batches.wake(poll());
    advance(0);
    advance(50);
    const a = poll();
    batches.wake(a);
    advance(0);
    expect(a.answers).toEqual(["events"]);
  });

  it("keeps a poll that comes back with events inside the pace for the next window", () => {
    const batches = new PollBatches({ windowMs: 10, paceMs: 50, now });
    batches.wake(poll());
    advance(0);
    advance(5);
    const back = poll();
    expect(batches.join(back)).toBe(true);
    // A poll woken meanwhile answers in the same window: pollers stay at one position.
    advance(20);
    const woken = poll();
    batches.wake(woken);
    advance(24);
    expect([back.answers, woken.answers]).toEqual([[], []]);
    advance(1);
    expect([back.answers, woken.answers]).toEqual([["events"], ["events"]]);
    // Past the pace, with no window open, a poll with events waiting is answered at once.
    advance(50);
    expect(batches.join(poll())).toBe(false);
  });

  it("answers a paced stream of events once per pace, not once per event", () => {
    const batches = new PollBatches({ windowMs: 10, paceMs: 50, now });
    const answered: number[] = [];
    // One poller, back at once after each answer; an event every 20 ms wakes it unless it
    // already waits in a window (which then carries that event too).
    let held: BatchedPoll | null = null;
    for (let ms = 0; ms < 500; ms += 20) {
      if (!held) {
        held = { answer: () => void (answered.push(t), (held = null)) };
        batches.wake(held);
      }
      advance(20);
    }
    // 25 events over 500 ms: at most one answer per 50 ms, 10 or 11 of them, each ≥ 50 ms apart.
    expect(answered.length).toBeGreaterThanOrEqual(9);
    expect(answered.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < answered.length; i++) expect(answered[i]! - answered[i - 1]!).toBeGreaterThanOrEqual(50);
  });

  it("reads performance.now when no clock is given", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "performance"] });
    const batches = new PollBatches({ windowMs: 10 });
    batches.wake(poll());
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(5);
    const a = poll();
    batches.wake(a);
    vi.advanceTimersByTime(9);
    expect(a.answers).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(a.answers).toEqual(["events"]);
  });
});

describe("PollAnswers.encode", () => {
  /** A maker of `text` that counts how often it is asked to make and how often `made` is counted. */
  function maker(text: string) {
    const calls = { make: 0, inc: 0 };
    const made = { inc: () => void calls.inc++ };
    const make = () => {
      calls.make++;
      return text;
    };
    return { calls, made, make };
  }

  beforeEach(() => vi.useFakeTimers({ toFake: ["performance"] }));
  afterEach(() => vi.useRealTimers());

  it("hands out the very same bytes for a key within a second, made and counted once", () => {
    const answers = new PollAnswers();
    const { calls, made, make } = maker('{"events":[]}');
    const first = answers.encode("feed=1", made, make);
    vi.advanceTimersByTime(999);
    const second = answers.encode("feed=1", made, make);
    expect(second).toBe(first);
    expect(first.toString("utf8")).toBe('{"events":[]}');
    expect(calls).toEqual({ make: 1, inc: 1 });
  });

  it("makes the answer again once it is a second old", () => {
    const answers = new PollAnswers();
    const { calls, made, make } = maker("x");
    const first = answers.encode("k", made, make);
    vi.advanceTimersByTime(1000);
    const again = answers.encode("k", made, make);
    expect(again).not.toBe(first);
    expect(again.toString("utf8")).toBe("x");
    expect(calls).toEqual({ make: 2, inc: 2 });
    // The fresh one is kept in turn.
    vi.advanceTimersByTime(999);
    expect(answers.encode("k", made, make)).toBe(again);
    expect(calls).toEqual({ make: 2, inc: 2 });
  });

  it("makes an answer with no key afresh every time", () => {
    const answers = new PollAnswers();
    const { calls, made, make } = maker("alone");
    const a = answers.encode(null, made, make);
    const b = answers.encode(null, made, make);
    expect(b).not.toBe(a);
    expect(b.toString("utf8")).toBe("alone");
    expect(calls).toEqual({ make: 2, inc: 2 });
  });

  it("keeps different keys' answers apart", () => {
    const answers = new PollAnswers();
    const one = answers.encode("a", undefined, () => "one");
    const two = answers.encode("b", undefined, () => "two");
    expect(one.toString("utf8")).toBe("one");
    expect(two.toString("utf8")).toBe("two");
    expect(answers.encode("a", undefined, () => "not made")).toBe(one);
    expect(answers.encode("b", undefined, () => "not made")).toBe(two);
  });

  it("encodes make()'s string as UTF-8 and works without a counter", () => {
    const answers = new PollAnswers();
    const bytes = answers.encode("k", undefined, () => "café ☕");
    expect([...bytes]).toEqual([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0xe2, 0x98, 0x95]);
  });

  it("keeps an answer of up to 256 KiB and makes a bigger one again each time", () => {
    const answers = new PollAnswers();
    const limit = maker("x".repeat(256 * 1024));
    const kept = answers.encode("limit", limit.made, limit.make);
    expect(answers.encode("limit", limit.made, limit.make)).toBe(kept);
    expect(limit.calls).toEqual({ make: 1, inc: 1 });

    const over = maker("x".repeat(256 * 1024 + 1));
    answers.encode("over", over.made, over.make);
    answers.encode("over", over.made, over.make);
    expect(over.calls).toEqual({ make: 2, inc: 2 });
  });

  it("measures an answer's size in bytes, not characters", () => {
    const answers = new PollAnswers();
    // 131,073 characters, 262,146 bytes: over the limit.
    const wide = maker("é".repeat(128 * 1024 + 1));
    const bytes = answers.encode("wide", wide.made, wide.make);
    expect(bytes.length).toBe(256 * 1024 + 2);
    answers.encode("wide", wide.made, wide.make);
    expect(wide.calls).toEqual({ make: 2, inc: 2 });
  });

  it("keeps at most 64 answers, dropping the oldest first", () => {
    const answers = new PollAnswers();
    const kept = Array.from({ length: 64 }, (_, i) => answers.encode(`k${i}`, undefined, () => `v${i}`));
    const missed: string[] = [];
    const probe = (key: string) => answers.encode(key, undefined, () => (missed.push(key), `again ${key}`));
    for (let i = 0; i < 64; i++) expect(probe(`k${i}`)).toBe(kept[i]);
    expect(missed).toEqual([]);

    const newest = answers.encode("k64", undefined, () => "v64");
    expect(probe("k1")).toBe(kept[1]);
    expect(probe("k63")).toBe(kept[63]);
    expect(probe("k64")).toBe(newest);
    expect(missed).toEqual([]);
    expect(probe("k0").toString("utf8")).toBe("again k0");
    expect(missed).toEqual(["k0"]);
  });

  it("does not let answers made without a key take a place among the kept ones", () => {
    const answers = new PollAnswers();
    const kept = Array.from({ length: 64 }, (_, i) => answers.encode(`k${i}`, undefined, () => `v${i}`));
    answers.encode(null, undefined, () => "alone");
    expect(answers.encode("k0", undefined, () => "again")).toBe(kept[0]);
  });

  it("moves an answer made again after it expired to the newest place", () => {
    const answers = new PollAnswers();
    for (let i = 0; i < 64; i++) answers.encode(`k${i}`, undefined, () => `v${i}`);
    vi.advanceTimersByTime(1000);
    const remade = answers.encode("k0", undefined, () => "fresh");
    expect(remade.toString("utf8")).toBe("fresh");
    answers.encode("k64", undefined, () => "v64"); // drops k1, now the oldest
    expect(answers.encode("k0", undefined, () => "not made")).toBe(remade);
  });
});

describe("roomsToken", () => {
  /** FNV-1a over each name and a ',' after it, with BigInt arithmetic: independent of Math.imul. */
  function reference(epoch: string, rooms: string[], version: (room: string) => number): string {
    let hash = 0x811c9dc5n;
    const step = (byte: number) => (hash = ((hash ^ BigInt(byte)) * 0x01000193n) & 0xffffffffn);
    for (const room of rooms) {
      for (const ch of room) step(ch.charCodeAt(0));
      step(0x2c);
    }
    return [epoch, ...rooms.map((r) => version(r).toString(36)), hash.toString(36)].join(".");
  }

  it("is the epoch, each room's version in base 36 and the names' hash in base 36, joined by dots", () => {
    // "a": 0x811c9dc5 ^ 0x61 = 0x811c9da4, × 0x01000193 → 0xe40c292c;
    //      ^ 0x2c = 0xe40c2900, × 0x01000193 → 0xff248b00 = "1ysjshs" in base 36.
    expect(roomsToken("e1", ["a"], () => 35)).toBe("e1.z.1ysjshs");
    expect(roomsToken("e1", ["a"], () => 36)).toBe("e1.10.1ysjshs");
    expect(roomsToken("e1", ["a"], () => 0)).toBe("e1.0.1ysjshs");
  });

  it("is the epoch and the bare offset basis's hash for no rooms", () => {
    expect(roomsToken("ep", [], () => 1)).toBe(`ep.${(0x811c9dc5).toString(36)}`);
    expect(roomsToken("ep", [], () => 1)).toBe("ep.ztntfp");
  });

  it("matches an independent FNV-1a for several room lists", () => {
    const versions: Record<string, number> = { lobby: 12, ab: 7, c: 1000, a: 3, bc: 0, "room-9_x": 46656 };
    const version = (room: string) => versions[room]!;
    for (const rooms of [["lobby"], ["ab", "c"], ["a", "bc"], ["room-9_x", "lobby", "a"]]) {
      expect(roomsToken("p42", rooms, version)).toBe(reference("p42", rooms, version));
    }
    expect(roomsToken("p42", ["ab", "c"], version)).toBe("p42.7.rs.10rt87x");
  });

  it("changes when any room's version changes", () => {
    const base: Record<string, number> = { a: 1, b: 2, c: 3 };
    const token = (v: Record<string, number>) => roomsToken("e", ["a", "b", "c"], (r) => v[r]!);
    const before = token(base);
    expect(token({ ...base })).toBe(before);
    for (const room of ["a", "b", "c"]) expect(token({ ...base, [room]: base[room]! + 1 })).not.toBe(before);
  });

  it("tells different room lists apart, even with the same versions and letters", () => {
    const one = () => 1;
    const tokens = [["ab", "c"], ["a", "bc"], ["abc"], ["c", "ab"], ["a"], ["b"]].map((rooms) => roomsToken("e", rooms, one));
    expect(new Set(tokens).size).toBe(tokens.length);
    // The split and the order are in the hash alone: the versions read the same.
    expect(tokens[0]).toBe("e.1.1.10rt87x");
    expect(tokens[1]).toBe("e.1.1.dkd7ft");
  });

  it("depends on the epoch", () => {
    expect(roomsToken("e1", ["a"], () => 1)).not.toBe(roomsToken("e2", ["a"], () => 1));
  });

  it("asks each room's version in the order given", () => {
    const asked: string[] = [];
    roomsToken("e", ["b", "a", "c"], (r) => (asked.push(r), 1));
    expect(asked).toEqual(["b", "a", "c"]);
  });
});
