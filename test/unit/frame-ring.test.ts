// The inspector's frame ring: bounded, newest first, totals kept past what it holds.
import { describe, expect, it } from "vitest";
import { FrameRing } from "../../components/inspector/frame-ring";
import type { FrameLog } from "../../lib/realtime/types";

const frame = (n: number, direction: FrameLog["direction"] = "in"): FrameLog => ({ direction, transport: "websocket", type: `t${n}`, bytes: n, at: n });

describe("FrameRing", () => {
  it("keeps the last `capacity` frames, newest first", () => {
    const ring = new FrameRing(3);
    expect(ring.newestFirst()).toEqual([]);
    ring.push(frame(1));
    ring.push(frame(2));
    expect(ring.newestFirst().map((f) => f.type)).toEqual(["t2", "t1"]);
    for (let n = 3; n <= 1000; n++) ring.push(frame(n, n % 2 ? "in" : "out"));
    expect(ring.newestFirst().map((f) => f.type)).toEqual(["t1000", "t999", "t998"]);
  });

  it("counts every frame and byte by direction, and clears", () => {
    const ring = new FrameRing(2);
    ring.push(frame(10, "in"));
    ring.push(frame(20, "out"));
    ring.push(frame(30, "in"));
    expect(ring.totals).toEqual({ in: 2, out: 1, bytesIn: 40, bytesOut: 20 });
    ring.clear();
    expect(ring.newestFirst()).toEqual([]);
    expect(ring.totals).toEqual({ in: 0, out: 0, bytesIn: 0, bytesOut: 0 });
  });
});
