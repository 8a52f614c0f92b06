"use client";
// The ops page: one instance's last minute, as small live charts with the current numbers
// beside them. Everything comes from GET /api/ops, which samples the server's own Prometheus
// metrics once a second (server/ops.ts).
import { useId, type ReactNode } from "react";
import { COLORS, formatStat, Sparkline, type Color, type Series } from "./sparkline";
import { useOps, type OpsSample } from "./use-ops";
import type { LatencyQuantile } from "@/lib/protocol";

/** The server keeps a minute of one-second samples. */
const SLOTS = 60;

export function OpsDashboard() {
  const { snapshot, error } = useOps();
  const samples = snapshot?.samples ?? [];
  const now = samples.at(-1);

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-5xl space-y-5 p-4 sm:p-6">
        <div className="flex flex-wrap items-end justify-between gap-x-4 gap-y-2">
          <div className="min-w-0">
            <h1 className="text-xl font-bold tracking-tight">Ops</h1>
            <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">This server instance over the last minute, sampled every second from its own metrics.</p>
          </div>
          {snapshot && (
            <p className="flex min-w-0 items-center gap-2 text-xs text-slate-500 dark:text-slate-400">
              <span aria-hidden className={`size-2 shrink-0 rounded-full ${error ? "bg-amber-400" : "bg-emerald-500"}`} />
              <span className="truncate">
                Instance <code className="font-mono text-slate-700 dark:text-slate-300">{snapshot.instance}</code> · up {formatUptime(snapshot.uptimeS)}
              </span>
            </p>
          )}
        </div>

        {error && (
          <p role="alert" className="rounded-lg border border-amber-200 dark:border-amber-800 bg-amber-50 dark:bg-amber-950 px-3 py-2 text-sm text-amber-900 dark:text-amber-100">
            {error}. Trying again every second; the charts keep the last minute they saw.
          </p>
        )}
        {!snapshot && !error && <p className="text-sm text-slate-500 dark:text-slate-400">Waiting for the first sample…</p>}

        {snapshot && (
          <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
            <Card title="Live connections" hint="Open WebSockets, event streams and held long polls.">
              <Stats
                items={[
                  { name: "WebSocket connections", short: "WebSocket", value: now?.connections.ws, color: COLORS.indigo },
                  { name: "SSE connections", short: "SSE", value: now?.connections.sse, color: COLORS.emerald },
                  { name: "Long-polling connections", short: "Long polling", value: now?.connections.longpoll, color: COLORS.amber },
                ]}
              />
              <Sparkline
                label="Live connections by transport"
                slots={SLOTS}
                stacked
                series={[
                  series("WebSocket", COLORS.indigo, samples, (s) => s.connections.ws),
                  series("SSE", COLORS.emerald, samples, (s) => s.connections.sse),
                  series("Long polling", COLORS.amber, samples, (s) => s.connections.longpoll),
                ]}
              />
            </Card>

            <Card title="Throughput" hint="Chat messages appended, and durable events handed to subscribers.">
              <Stats
                items={[
                  { name: "Messages per second", short: "Messages/s", value: now?.messagesPerSec, color: COLORS.indigo },
                  { name: "Deliveries per second", short: "Deliveries/s", value: now?.deliveriesPerSec, color: COLORS.slate },
                ]}
              />
              <Sparkline
                label="Messages and deliveries per second"
                slots={SLOTS}
                series={[
                  series("Deliveries/s", COLORS.slate, samples, (s) => s.deliveriesPerSec),
                  series("Messages/s", COLORS.indigo, samples, (s) => s.messagesPerSec),
                ]}
              />
            </Card>

            <Card title="Fan-out latency" hint="From commit to every subscriber's socket, per second.">
              <Stats
                items={[
                  { name: "Fan-out p50", short: "p50", ...latency(now?.fanoutP50), color: COLORS.emerald },
                  { name: "Fan-out p99", short: "p99", ...latency(now?.fanoutP99), color: COLORS.rose, dashed: true },
                ]}
              />
              <Sparkline
                label="Fan-out latency p50 and p99"
                unit=" ms"
                slots={SLOTS}
                series={[
                  series("p50", COLORS.emerald, samples, (s) => s.fanoutP50?.ms ?? null),
                  { ...series("p99", COLORS.rose, samples, (s) => s.fanoutP99?.ms ?? null), dashed: true },
                ]}
              />
            </Card>

            <Card title="Group commit" hint="Appends per batch (one INSERT each), and commit latency.">
              <Stats
                items={[
                  { name: "Mean batch size", short: "Mean batch", value: now?.batchSizeMean, color: COLORS.indigo },
                  { name: "Commit p99", short: "Commit p99", ...latency(now?.commitP99), color: COLORS.slate },
                ]}
              />
              <Sparkline label="Mean append batch size" slots={SLOTS} series={[series("Mean batch", COLORS.indigo, samples, (s) => s.batchSizeMean)]} />
            </Card>

            <Card title="Slow consumers" hint="Sockets closed for falling too far behind; they resume from the log.">
              <Stats
                items={[
                  { name: "Slow-consumer closes in the last minute", short: "Last minute", value: closesInWindow(samples), color: COLORS.rose },
                  { name: "Slow-consumer closes since start", short: "Since start", value: now?.slowConsumerCloses, color: COLORS.slate },
                ]}
              />
              <Sparkline label="Slow-consumer closes per second" slots={SLOTS} series={[series("Closes", COLORS.rose, samples, perSecondCloses)]} />
            </Card>
          </div>
        )}
      </div>
    </div>
  );
}

function Card({ title, hint, children }: { title: string; hint: string; children: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id} className="flex min-w-0 flex-col gap-3 rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-4 shadow-sm">
      <div>
        <h2 id={id} className="text-sm font-semibold">
          {title}
        </h2>
        <p className="mt-0.5 text-xs text-slate-500 dark:text-slate-400">{hint}</p>
      </div>
      {children}
    </section>
  );
}

interface Stat {
  /** The full name, read by assistive technology (and tests): "WebSocket connections". */
  name: string;
  short: string;
  value: number | null | undefined;
  unit?: string;
  /** The value is a lower bound: the latency was past the highest bucket ("> 2500 ms"). */
  over?: boolean;
  color: Color;
  dashed?: boolean;
}

/** A latency quantile as a stat's value, unit and whether it is only a lower bound. */
function latency(q: LatencyQuantile | null | undefined): Pick<Stat, "value" | "unit" | "over"> {
  return { value: q === undefined ? undefined : (q?.ms ?? null), unit: " ms", over: q?.over };
}

/** The current numbers: each term is its short name, with the full name for those who want it. */
function Stats({ items }: { items: Stat[] }) {
  return (
    <dl className="flex flex-wrap gap-x-5 gap-y-2">
      {items.map((s) => (
        <div key={s.name} className="min-w-0">
          <dt className="flex items-center gap-1.5 text-xs text-slate-500 dark:text-slate-400">
            <span aria-hidden className={`h-0.5 w-3 shrink-0 rounded-full ${s.color.swatch} ${s.dashed ? "[mask:repeating-linear-gradient(90deg,#000_0_4px,transparent_4px_6px)]" : ""}`} />
            <span aria-hidden>{s.short}</span>
            <span className="sr-only">{s.name}</span>
          </dt>
          <dd className="text-xl font-semibold text-slate-900 dark:text-slate-100 tabular-nums">
            {formatStat(s.value, s.unit, s.over)}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function series(label: string, color: Color, samples: OpsSample[], pick: (s: OpsSample, i: number, all: OpsSample[]) => number | null): Series {
  return { label, color, values: samples.map(pick) };
}

/** The closes counter is a running total: per second is the step between samples. */
function perSecondCloses(s: OpsSample, i: number, all: OpsSample[]): number | null {
  const prev = all[i - 1];
  return prev ? Math.max(0, s.slowConsumerCloses - prev.slowConsumerCloses) : null;
}

function closesInWindow(samples: OpsSample[]): number | undefined {
  const first = samples[0];
  const last = samples.at(-1);
  return first && last ? Math.max(0, last.slowConsumerCloses - first.slowConsumerCloses) : undefined;
}

function formatUptime(s: number): string {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return h < 48 ? `${h} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(h / 24)} days`;
}
