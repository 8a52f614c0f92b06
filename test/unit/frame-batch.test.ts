// Bursts reach the stores once a frame, in order, and never wait long in a tab without frames.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BURST_PACE_MS, createFrameBatch, runsOf } from "../../lib/store/frame-batch";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("createFrameBatch", () => {
  it("hands everything pushed before a frame to one flush, in order", () => {
    const frames: Array<() => void> = [];
    vi.stubGlobal("requestAnimationFrame", (cb: () => void) => frames.push(cb));
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    const flushed: number[][] = [];
    const batch = createFrameBatch<number>((items) => flushed.push(items));
    for (let i = 1; i <= 50; i++) batch.push(i);
    expect(flushed).toEqual([]);
    frames.shift()!();
    expect(flushed).toEqual([Array.from({ length: 50 }, (_, i) => i + 1)]);
    // The timer that stood in for the frame was cleared with it: nothing is flushed twice.
    vi.advanceTimersByTime(1_000);
    expect(flushed).toHaveLength(1);
    batch.push(51);
    frames.shift()!();
    expect(flushed).toEqual([Array.from({ length: 50 }, (_, i) => i + 1), [51]]);
  });

  it("flushes on a timer where no frame comes (a hidden tab), and drops the queue when cancelled", () => {
    vi.stubGlobal("requestAnimationFrame", () => 1);
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    const flushed: string[][] = [];
    const batch = createFrameBatch<string>((items) => flushed.push(items));
    batch.push("a");
    batch.push("b");
    vi.advanceTimersByTime(100);
    expect(flushed).toEqual([["a", "b"]]);
    batch.push("c");
    batch.cancel();
    vi.advanceTimersByTime(1_000);
    expect(flushed).toEqual([["a", "b"]]);
  });
});

describe("the page's batches together", () => {
  it("flush in one frame callback, each with its own items; one cancelled leaves the other due", () => {
    const frames: Array<() => void> = [];
    vi.stubGlobal("requestAnimationFrame", (cb: () => void) => frames.push(cb));
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    const flushed: string[] = [];
    const room = createFrameBatch<string>((items) => flushed.push(`room ${items.join(",")}`));
    const feed = createFrameBatch<string>((items) => flushed.push(`feed ${items.join(",")}`));
    feed.push("f1");
    room.push("m1");
    feed.push("f2");
    // One frame asked for, however many batches wait for it: the stores change in one task.
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(flushed).toEqual(["feed f1,f2", "room m1"]);
    room.push("m2");
    feed.push("f3");
    feed.cancel();
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(flushed).toEqual(["feed f1,f2", "room m1", "room m2"]);
    // A batch flushed by hand leaves the other waiting for its frame.
    room.push("m3");
    feed.push("f4");
    room.flushNow();
    expect(flushed.at(-1)).toBe("room m3");
    vi.advanceTimersByTime(100);
    expect(flushed.at(-1)).toBe("feed f4");
    expect(flushed).toHaveLength(5);
  });
});

describe("a paced batch (messages, the feed)", () => {
  /** Each test's fake clock starts again at 0: a pace past any flush at its start. */
  function pastEarlierTests(): void {
    vi.advanceTimersByTime(BURST_PACE_MS);
  }

  /** Frames the test runs by hand, with the fake clock moved to each frame's time. */
  function frames() {
    const waiting: Array<() => void> = [];
    vi.stubGlobal("requestAnimationFrame", (cb: () => void) => waiting.push(cb));
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    pastEarlierTests();
    return {
      /** Moves the clock on one frame (16 ms) and runs what asked for it; its timers fire first if due. */
      next() {
        vi.advanceTimersByTime(16);
        for (const cb of waiting.splice(0)) cb();
      },
    };
  }

  it("takes the first message at the next frame; while the burst lasts, at most once a pace, with every frame's cursors", () => {
    const f = frames();
    const flushed: string[] = [];
    const messages = createFrameBatch<string>((items) => flushed.push(items.join(",")), { paced: true });
    const cursors = createFrameBatch<string>((items) => flushed.push(items.join(",")));
    messages.push("m1");
    f.next();
    expect(flushed).toEqual(["m1"]);
    // A burst: a message and a cursor every frame.
    let elapsed = 0;
    for (let i = 2; elapsed + 16 < BURST_PACE_MS; i++, elapsed += 16) {
      messages.push(`m${i}`);
      cursors.push(`c${i}`);
      f.next();
    }
    // The cursors went in at each frame; the messages waited, together.
    expect(flushed.every((x, i) => i === 0 || x.startsWith("c"))).toBe(true);
    expect(flushed.length).toBeGreaterThan(3);
    const waiting = flushed.length;
    f.next();
    f.next();
    expect(flushed.length).toBe(waiting + 1);
    expect(flushed.at(-1)).toMatch(/^m2,m3,m4,m5,m6/);
    // Quiet for a pace: the next message goes in at the next frame again.
    vi.advanceTimersByTime(BURST_PACE_MS);
    messages.push("late");
    f.next();
    expect(flushed.at(-1)).toBe("late");
    messages.cancel();
    cursors.cancel();
  });

  it("in a tab without frames, still goes in, a pace apart", () => {
    vi.stubGlobal("requestAnimationFrame", () => 1);
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    pastEarlierTests();
    const flushed: string[][] = [];
    const messages = createFrameBatch<string>((items) => flushed.push(items), { paced: true });
    messages.push("a");
    vi.advanceTimersByTime(100);
    expect(flushed).toEqual([["a"]]);
    messages.push("b");
    messages.push("c");
    vi.advanceTimersByTime(BURST_PACE_MS + 100);
    expect(flushed).toEqual([["a"], ["b", "c"]]);
  });
});

describe("runsOf", () => {
  it("groups consecutive items of one kind and keeps the order between kinds", () => {
    const items = ["m1", "m2", "c1", "m3", "m4", "m5"];
    expect(runsOf(items, (s) => s[0])).toEqual([
      { kind: "m", items: ["m1", "m2"] },
      { kind: "c", items: ["c1"] },
      { kind: "m", items: ["m3", "m4", "m5"] },
    ]);
  });
});
