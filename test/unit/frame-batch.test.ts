// Bursts reach the stores once a frame, in order, and never wait long in a tab without frames.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createFrameBatch, runsOf } from "../../lib/store/frame-batch";

beforeEach(() => {
  vi.useFakeTimers();
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
