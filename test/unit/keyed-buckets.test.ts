import { describe, expect, it } from "vitest";
import { KeyedBuckets } from "../../server/keyed-buckets";

describe("KeyedBuckets", () => {
  it("limits each key on its own: a burst, then the rate; answers whole seconds to wait", () => {
    let t = 0;
    const b = new KeyedBuckets({ ratePerSecond: 1, burst: 3, now: () => t });
    expect([b.take("a"), b.take("a"), b.take("a")]).toEqual([0, 0, 0]);
    expect(b.take("a")).toBe(1);
    expect(b.take("b")).toBe(0);
    t += 1000;
    expect(b.take("a")).toBe(0);
    expect(b.take("a")).toBe(1);
  });

  it("holds at most maxKeys buckets, dropping full (idle) ones first, then the least recently used", () => {
    let t = 0;
    const b = new KeyedBuckets({ ratePerSecond: 1, burst: 2, maxKeys: 100, now: () => t });
    for (let i = 0; i < 10_000; i++) b.take(`addr-${i}`);
    expect(b.size).toBeLessThanOrEqual(100);

    // "busy" is used up and kept in use; the others refill while idle and are dropped first.
    const c = new KeyedBuckets({ ratePerSecond: 1, burst: 2, maxKeys: 3, now: () => t });
    c.take("busy");
    c.take("busy");
    c.take("idle-1");
    c.take("idle-2");
    t += 5_000;
    expect(c.take("busy")).toBe(0); // refilled too, but now in use again
    expect(c.take("busy")).toBe(0);
    c.take("new");
    expect(c.size).toBeLessThanOrEqual(3);
    expect(c.take("busy")).toBe(1); // still limited: not the one evicted
  });
});
