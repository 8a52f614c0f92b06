// A live summary of the server for the ops page: samples its own Prometheus metrics once a
// second and keeps the last minute, so the page can draw small charts without a Prometheus.
import type { Metrics } from "./metrics";
import type { LatencyQuantile, OpsSample, OpsSnapshot } from "../lib/protocol";

interface Totals {
  messages: number;
  deliveries: number;
  batchSum: number;
  batchCount: number;
  fanoutBuckets: Bucket[];
  commitBuckets: Bucket[];
}

interface Bucket {
  le: number;
  count: number;
}

/** One sample a second, the last minute kept. */
export const OPS_SAMPLE_MS = 1_000;
export const OPS_KEPT_SAMPLES = 60;

export class OpsSampler {
  private readonly samples: OpsSample[] = [];
  private last: Totals | null = null;
  private lastAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();

  constructor(
    private readonly metrics: Metrics,
    private readonly instance: string,
    private readonly intervalMs = OPS_SAMPLE_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  snapshot(): OpsSnapshot {
    return { instance: this.instance, uptimeS: Math.round((Date.now() - this.started) / 1000), samples: [...this.samples] };
  }

  /** Takes one sample now (the timer calls this; tests may too). */
  async sample(): Promise<OpsSample> {
    const m = this.metrics;
    const [connections, appends, deliveries, batch, fanout, commit, slow] = await Promise.all([
      m.connections.get(),
      m.appends.get(),
      m.deliveries.get(),
      m.appendBatchSize.get(),
      m.fanoutSeconds.get(),
      m.commitSeconds.get(),
      m.slowConsumerCloses.get(),
    ]);
    const byTransport = (t: string) => connections.values.find((v) => v.labels.transport === t)?.value ?? 0;
    const totals: Totals = {
      messages: appends.values.filter((v) => v.labels.stream_kind === "room").reduce((a, v) => a + v.value, 0),
      deliveries: deliveries.values.reduce((a, v) => a + v.value, 0),
      batchSum: histogramField(batch.values, "_sum"),
      batchCount: histogramField(batch.values, "_count"),
      fanoutBuckets: buckets(fanout.values),
      commitBuckets: buckets(commit.values),
    };
    const now = Date.now();
    const prev = this.last;
    const seconds = prev ? Math.max(0.001, (now - this.lastAt) / 1000) : 1;
    const delta = (a: number, b: number | undefined) => Math.max(0, a - (b ?? a));
    const batches = delta(totals.batchCount, prev?.batchCount);
    const sample: OpsSample = {
      at: now,
      connections: { ws: byTransport("ws"), sse: byTransport("sse"), longpoll: byTransport("longpoll") },
      messagesPerSec: round(delta(totals.messages, prev?.messages) / seconds),
      deliveriesPerSec: round(delta(totals.deliveries, prev?.deliveries) / seconds),
      fanoutP50: quantileMs(totals.fanoutBuckets, prev?.fanoutBuckets, 0.5),
      fanoutP99: quantileMs(totals.fanoutBuckets, prev?.fanoutBuckets, 0.99),
      batchSizeMean: batches > 0 ? round(delta(totals.batchSum, prev?.batchSum) / batches) : null,
      commitP99: quantileMs(totals.commitBuckets, prev?.commitBuckets, 0.99),
      slowConsumerCloses: slow.values.reduce((a, v) => a + v.value, 0),
    };
    this.last = totals;
    this.lastAt = now;
    this.samples.push(sample);
    if (this.samples.length > OPS_KEPT_SAMPLES) this.samples.shift();
    return sample;
  }
}

type Value = { value: number; labels: Partial<Record<string, string | number>>; metricName?: string };

function histogramField(values: Value[], suffix: string): number {
  return values.filter((v) => v.metricName?.endsWith(suffix)).reduce((a, v) => a + v.value, 0);
}

function buckets(values: Value[]): Bucket[] {
  const byLe = new Map<number, number>();
  for (const v of values) {
    if (!v.metricName?.endsWith("_bucket")) continue;
    const le = v.labels.le === "+Inf" ? Infinity : Number(v.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + v.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * A quantile of the observations made since `prev`, from cumulative buckets: the upper bound of
 * the bucket it falls in, in ms. Past the highest finite bound there is no upper bound to give,
 * only a lower one: that bound, marked `over`. Null when nothing was observed.
 */
export function quantileMs(now: Bucket[], prev: Bucket[] | undefined, q: number): LatencyQuantile | null {
  const counts = now.map((b, i) => ({ le: b.le, count: b.count - (prev?.[i]?.count ?? 0) }));
  const total = counts.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  const top = counts.findLast((b) => Number.isFinite(b.le));
  for (const b of counts) {
    if (b.count < rank) continue;
    if (Number.isFinite(b.le)) return { ms: round(b.le * 1000), over: false };
    break;
  }
  return top ? { ms: round(top.le * 1000), over: true } : null;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
