// The ops page's numbers: OpsSampler reads the server's own Prometheus metrics once a second,
// and quantileMs turns histogram buckets into the latency the page shows.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { counterFor, createMetrics, type Metrics } from "../../server/metrics";
import { OPS_KEPT_SAMPLES, OpsSampler, quantileMs } from "../../server/ops";
import { formatStat } from "../../components/ops/sparkline";

/** Cumulative buckets as Prometheus keeps them: [le in seconds, count of observations ≤ le]. */
const buckets = (...pairs: [number, number][]) => pairs.map(([le, count]) => ({ le, count }));

describe("quantileMs", () => {
  const now = buckets([0.001, 10], [0.01, 90], [0.1, 99], [Infinity, 100]);

  it("answers the upper bound of the bucket the quantile falls in, in ms", () => {
    expect(quantileMs(now, undefined, 0.05)).toEqual({ ms: 1, over: false });
    expect(quantileMs(now, undefined, 0.5)).toEqual({ ms: 10, over: false });
    expect(quantileMs(now, undefined, 0.99)).toEqual({ ms: 100, over: false });
  });

  it("counts only the observations since the previous sample", () => {
    // Since `prev`: 80 more ≤ 1 ms and nothing slower, so even p99 is 1 ms.
    const later = buckets([0.001, 90], [0.01, 170], [0.1, 179], [Infinity, 180]);
    expect(quantileMs(later, now, 0.99)).toEqual({ ms: 1, over: false });
  });

  it("says the latency is past the top bucket, at least its bound, when it is — not nothing", () => {
    // One observation in ten took longer than the highest bound: p50 is fine, p99 is "> 100 ms".
    const slow = buckets([0.001, 5], [0.01, 8], [0.1, 9], [Infinity, 10]);
    expect(quantileMs(slow, undefined, 0.5)).toEqual({ ms: 1, over: false });
    expect(quantileMs(slow, undefined, 0.99)).toEqual({ ms: 100, over: true });
    const allSlow = buckets([0.001, 0], [0.1, 0], [Infinity, 3]);
    expect(quantileMs(allSlow, undefined, 0.5)).toEqual({ ms: 100, over: true });
  });

  it("is null when nothing was observed in the interval", () => {
    expect(quantileMs(now, now, 0.5)).toBeNull();
    expect(quantileMs([], undefined, 0.5)).toBeNull();
  });

  it("reads on the page as a number, a lower bound past the top bucket, or a dash for nothing", () => {
    const shown = (q: ReturnType<typeof quantileMs>) => formatStat(q?.ms ?? null, " ms", q?.over);
    expect(shown(quantileMs(now, undefined, 0.5))).toBe("10 ms");
    expect(shown(quantileMs(buckets([1, 0], [2.5, 0], [Infinity, 4]), undefined, 0.99))).toBe("> 2,500 ms");
    expect(shown(quantileMs(now, now, 0.99))).toBe("—");
  });
});

describe("OpsSampler", () => {
  let metrics: Metrics;
  let sampler: OpsSampler;
  let t: number;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["Date"] });
    t = Date.UTC(2026, 0, 1);
    vi.setSystemTime(t);
    metrics = createMetrics({ defaultMetrics: false });
    sampler = new OpsSampler(metrics, "i-1");
  });
  afterEach(() => {
    sampler.stop();
    vi.useRealTimers();
  });

  const tick = (ms = 1_000) => vi.setSystemTime((t += ms));

  it("reports connections by transport as they are now", async () => {
    metrics.connections.set({ transport: "ws" }, 3);
    metrics.connections.set({ transport: "longpoll" }, 1);
    const s = await sampler.sample();
    expect(s.connections).toEqual({ ws: 3, sse: 0, longpoll: 1 });
  });

  it("turns running totals into per-second rates and per-interval means", async () => {
    metrics.appends.inc({ stream_kind: "room" }, 7);
    const first = await sampler.sample();
    // The first sample has nothing to compare with: no rates yet.
    expect(first.messagesPerSec).toBe(0);
    expect(first.batchSizeMean).toBeNull();

    tick(2_000);
    metrics.appends.inc({ stream_kind: "room" }, 10);
    metrics.appends.inc({ stream_kind: "feed" }, 4); // not a chat message
    counterFor(metrics.deliveries, "ws")!.inc(30);
    for (const size of [4, 6, 8]) metrics.appendBatchSize.observe(size);
    const s = await sampler.sample();
    expect(s.messagesPerSec).toBe(5);
    expect(s.deliveriesPerSec).toBe(15);
    expect(s.batchSizeMean).toBe(6);

    tick();
    const idle = await sampler.sample();
    expect(idle.messagesPerSec).toBe(0);
    expect(idle.batchSizeMean).toBeNull();
    expect(idle.fanoutP50).toBeNull();
  });

  it("reads fan-out and commit latency per interval, past the top bucket included", async () => {
    await sampler.sample();
    tick();
    for (let i = 0; i < 99; i++) metrics.fanoutSeconds.observe(0.0008);
    metrics.fanoutSeconds.observe(30);
    metrics.commitSeconds.observe(0.004);
    const s = await sampler.sample();
    expect(s.fanoutP50).toEqual({ ms: 1, over: false });
    expect(s.fanoutP99).toEqual({ ms: 1, over: false });
    expect(s.commitP99).toEqual({ ms: 5, over: false });

    tick();
    metrics.fanoutSeconds.observe(30);
    const slow = await sampler.sample();
    expect(slow.fanoutP50).toEqual({ ms: 2500, over: true });
  });

  it("counts slow-consumer closes since start across transports", async () => {
    metrics.slowConsumerCloses.inc({ transport: "ws" }, 2);
    metrics.slowConsumerCloses.inc({ transport: "sse" });
    expect((await sampler.sample()).slowConsumerCloses).toBe(3);
  });

  it("keeps the last minute of samples, oldest dropped first", async () => {
    for (let i = 0; i < OPS_KEPT_SAMPLES + 5; i++) {
      await sampler.sample();
      tick();
    }
    const snap = sampler.snapshot();
    expect(snap.instance).toBe("i-1");
    expect(snap.samples).toHaveLength(OPS_KEPT_SAMPLES);
    expect(snap.samples[0]!.at).toBe(Date.UTC(2026, 0, 1) + 5_000);
    expect(snap.samples.at(-1)!.at).toBe(t - 1_000);
  });
});
