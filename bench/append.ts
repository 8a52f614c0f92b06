// bench:append — durable appends per second, each acknowledged only after its commit.
//
// Three ways to append the same events, side by side on each database:
//   group   EventLog.append from many concurrent appenders (group commit, the app's hot path)
//   single  one INSERT per event in its own transaction, seq allocated under the same row lock
//           (`UPDATE streams SET head = head + 1 … RETURNING head`): the naive baseline
//   prisma  Prisma `createMany` in batches of 100, seq allocated under the same row lock in an
//           interactive transaction
// Databases: the local Postgres server (a fresh database, dropped after), PGlite in memory,
// PGlite on disk in a temporary directory, durable as the app runs it (`pglite-disk`: each
// commit fsynced) and relaxed (`pglite-disk-relaxed`: fsync off, EMBEDDED_DB_DURABILITY=relaxed),
// so the price of durability shows side by side. Each measurement starts from an empty log.
//
// Those three run closed-loop (each of 1000 appenders waits for its ack before the next): the
// rate is the most the method sustains, but the ack latency is that of a queue the appenders
// keep full, and a slow ack delays the next append instead of showing up in the percentiles
// (coordinated omission). So each run then measures group commit open-loop too: appends
// issued on a fixed schedule at 80% of that run's closed-loop rate, whatever the acks do, each
// ack's latency taken from the time the append was *due* — what a user sending at that rate
// would see.
import { EventLog, EventLogFullError } from "../server/eventlog";
import { createMetrics } from "../server/metrics";
import type { Database } from "../server/db/database";
import { Prisma } from "../server/db/generated/client";
import { NOTIFY_CHANNEL } from "../server/backplane/postgres";
import { fmt, fmtSpan, Latency, median, Progress, ratio, rotation, round, span, table, waitForQuiet, type Span } from "./lib/common";
import { openBenchDatabase, postgresAvailable, postgresSettings, type BenchDatabase, type DbTarget } from "./lib/db";
import { benchScript } from "./lib/script";

/** The closed-loop methods; "group-open" is group commit open-loop (see `openLoop`). */
export type AppendMethod = "group" | "single" | "prisma" | "group-open";
export const APPEND_METHODS: AppendMethod[] = ["group", "single", "prisma"];
export const APPEND_TARGETS: DbTarget[] = ["postgres", "pglite-memory", "pglite-disk-relaxed", "pglite-disk"];

export interface AppendOptions {
  targets?: DbTarget[];
  methods?: AppendMethod[];
  /** Measured time per (database, method, run), after the warm-up. */
  durationMs?: number;
  warmupMs?: number;
  runs?: number;
  /** Events in flight at once, for every method (prisma: this many / 100 batches). */
  inFlight?: number;
  /** Streams the events are spread over (rooms). */
  streams?: number;
  /**
   * After each run's closed-loop methods, group commit open-loop at this fraction of that run's
   * closed-loop group rate (0: not measured; needs "group" among the methods).
   */
  openLoop?: number;
  /** Longest wait for a quiet machine before each sample (0: don't wait). */
  quietWaitMs?: number;
  progress?: Progress;
}

export interface AppendSample {
  target: DbTarget;
  method: AppendMethod;
  run: number;
  events: number;
  seconds: number;
  eventsPerSec: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** Group commit only: mean events per committed batch. */
  meanBatch?: number;
  /** Open loop only: the appends/s offered (issued on schedule), and appends refused (queue full). */
  offeredPerSec?: number;
  refused?: number;
  /** How busy the whole machine was just before the sample (other work), 0–1. */
  background: number;
}

export interface AppendSummary {
  target: DbTarget;
  method: AppendMethod;
  runs: number;
  eventsPerSec: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** The lowest and highest run. */
  eventsPerSecSpan: Span;
  ackP99Span: Span;
  meanBatch?: number;
  /** Open loop: the median offered rate, and appends refused over all runs. */
  offeredPerSec?: number;
  refused?: number;
  /** This method's median over the naive single-row baseline's on the same database. */
  vsSingle: number;
}

export interface AppendResults {
  samples: AppendSample[];
  summary: AppendSummary[];
  skipped: Array<{ target: DbTarget; reason: string }>;
  postgres?: Record<string, string>;
  /** The open loop's rate as a fraction of the same run's closed-loop group rate (0: none). */
  openLoop?: number;
}

const TEXT = "The quick brown fox jumps over the lazy dog while the realtime log keeps every message in order.";

export async function runAppend(opts: AppendOptions = {}): Promise<AppendResults> {
  const methods = opts.methods ?? APPEND_METHODS;
  const runs = opts.runs ?? 3;
  const durationMs = opts.durationMs ?? 3000;
  const warmupMs = opts.warmupMs ?? 500;
  const inFlight = opts.inFlight ?? 1000;
  const streams = opts.streams ?? 10;
  const openLoop = opts.openLoop ?? 0.8;
  const progress = opts.progress ?? new Progress("append", false);
  const samples: AppendSample[] = [];
  const skipped: AppendResults["skipped"] = [];
  let postgres: Record<string, string> | undefined;

  for (const target of opts.targets ?? APPEND_TARGETS) {
    if (target === "postgres") {
      if (!(await postgresAvailable())) {
        skipped.push({ target, reason: "no Postgres server answers at DATABASE_URL" });
        progress.note("postgres: no server answers; skipped");
        continue;
      }
      postgres = await postgresSettings();
    }
    progress.update(`${target}: creating a fresh database`, true);
    const bdb = await openBenchDatabase(target);
    try {
      await createStreams(bdb.db, streams);
      for (let run = 0; run < runs; run++) {
        for (const method of rotation(methods, run)) {
          await resetLog(bdb.db);
          const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
          const label = `${target} ${method} run ${run + 1}/${runs}`;
          const sample = { ...(await measure(bdb, method, { durationMs, warmupMs, inFlight, streams, run, label, progress })), background };
          samples.push(sample);
          progress.note(`${label}: ${fmt(sample.eventsPerSec)} events/s (ack p99 ${fmt(sample.ackP99Ms)} ms)`);
        }
        const closed = samples.find((s) => s.target === target && s.run === run && s.method === "group");
        if (openLoop > 0 && closed && closed.eventsPerSec > 0) {
          await resetLog(bdb.db);
          const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
          const label = `${target} group open loop run ${run + 1}/${runs}`;
          const rate = closed.eventsPerSec * openLoop;
          const sample = { ...(await measureOpen(bdb, rate, { durationMs, warmupMs, inFlight, streams, run, label, progress })), background };
          samples.push(sample);
          progress.note(`${label}: ${fmt(sample.eventsPerSec)} of ${fmt(rate)} events/s offered, ack p50 ${fmt(sample.ackP50Ms)} / p99 ${fmt(sample.ackP99Ms)} ms${sample.refused ? `, ${sample.refused} refused` : ""}`);
        }
      }
    } finally {
      await bdb.drop();
    }
  }
  progress.done();
  return { samples, summary: summarize(samples), skipped, postgres, openLoop };
}

function summarize(samples: AppendSample[]): AppendSummary[] {
  const out: AppendSummary[] = [];
  const targets = [...new Set(samples.map((s) => s.target))];
  for (const target of targets) {
    const of = (m: AppendMethod) => samples.filter((s) => s.target === target && s.method === m);
    const single = median(of("single").map((s) => s.eventsPerSec));
    for (const method of [...APPEND_METHODS, "group-open" as const]) {
      const ss = of(method);
      if (ss.length === 0) continue;
      const eps = median(ss.map((s) => s.eventsPerSec));
      const batches = ss.map((s) => s.meanBatch).filter((b): b is number => b !== undefined);
      out.push({
        target,
        method,
        runs: ss.length,
        eventsPerSec: round(eps, 0),
        ackP50Ms: round(median(ss.map((s) => s.ackP50Ms))),
        ackP99Ms: round(median(ss.map((s) => s.ackP99Ms))),
        eventsPerSecSpan: span(ss.map((s) => s.eventsPerSec), 0),
        ackP99Span: span(ss.map((s) => s.ackP99Ms)),
        ...(batches.length ? { meanBatch: round(median(batches), 1) } : {}),
        ...(method === "group-open" ? { offeredPerSec: round(median(ss.map((s) => s.offeredPerSec ?? NaN)), 0), refused: ss.reduce((n, s) => n + (s.refused ?? 0), 0) } : {}),
        vsSingle: round(eps / single, 2),
      });
    }
  }
  return out;
}

async function createStreams(db: Database, n: number): Promise<void> {
  await db.sql.query("INSERT INTO streams (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING", [streamNames(n)]);
}

function streamNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `room:bench${i}`);
}

async function resetLog(db: Database): Promise<void> {
  await db.sql.exec("TRUNCATE events; UPDATE streams SET head = 0");
}

interface MeasureOptions {
  durationMs: number;
  warmupMs: number;
  inFlight: number;
  streams: number;
  run: number;
  label: string;
  progress: Progress;
}

/**
 * Closed loop: `workers` loops each append (or write a batch), wait for the ack, and go again.
 * Counts acks inside the measured window only (after the warm-up, before the deadline).
 */
async function measure(bdb: BenchDatabase, method: AppendMethod, o: MeasureOptions): Promise<Omit<AppendSample, "background">> {
  const names = streamNames(o.streams);
  const latency = new Latency();
  const start = performance.now();
  const measureFrom = start + o.warmupMs;
  const deadline = measureFrom + o.durationMs;
  let counted = 0;
  let batches = 0;
  let batchedEvents = 0;
  const acked = (n: number, t0: number) => {
    const now = performance.now();
    if (now < measureFrom || now > deadline) return;
    counted += n;
    latency.record(now - t0);
  };

  const ticker = setInterval(() => {
    const now = performance.now();
    const phase = now < measureFrom ? "warm-up" : `${fmt(counted / ((now - measureFrom) / 1000))} events/s`;
    o.progress.update(`${o.label}: ${phase}`);
  }, 250);

  const db = bdb.db;
  const actor = { id: "u_bench", name: "Bench" };
  let op: (worker: number, n: number) => Promise<number>;
  let workers: number;
  let log: EventLog | null = null;

  if (method === "group") {
    log = new EventLog(db, {
      metrics: createMetrics({ defaultMetrics: false }),
      notifyChannel: db.kind === "postgres" ? NOTIFY_CHANNEL : undefined,
      instanceId: "bench",
    });
    log.onCommit((events) => {
      batches++;
      batchedEvents += events.length;
    });
    const l = log;
    workers = o.inFlight;
    op = async (w, n) => {
      const clientId = `c${o.run}-${w}-${n}`;
      await l.append({ stream: names[w % names.length] as `room:${string}`, type: "message", actor, data: { text: TEXT, clientId }, clientId });
      return 1;
    };
  } else if (method === "single") {
    workers = o.inFlight;
    op = async (w, n) => {
      const clientId = `c${o.run}-${w}-${n}`;
      const stream = names[w % names.length]!;
      await db.transaction(async (tx) => {
        const [row] = await tx.query<{ head: string | number }>("UPDATE streams SET head = head + 1 WHERE name = $1 RETURNING head", [stream]);
        await tx.query(
          `INSERT INTO events (stream, seq, type, actor_id, actor_name, at, data, client_id)
           VALUES ($1, $2, 'message', $3, $4, now(), $5::jsonb, $6)`,
          [stream, row!.head, actor.id, actor.name, JSON.stringify({ text: TEXT, clientId }), clientId],
        );
      });
      return 1;
    };
  } else {
    const BATCH = 100;
    workers = Math.max(1, Math.round(o.inFlight / BATCH));
    op = async (w, n) => {
      const stream = names[w % names.length]!;
      await db.prisma.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ head: bigint }[]>(
          Prisma.sql`UPDATE streams SET head = head + ${BATCH} WHERE name = ${stream} RETURNING head`,
        );
        const first = BigInt(row!.head) - BigInt(BATCH) + 1n;
        const at = new Date();
        await tx.event.createMany({
          data: Array.from({ length: BATCH }, (_, i) => {
            const clientId = `c${o.run}-${w}-${n}-${i}`;
            return {
              stream,
              seq: first + BigInt(i),
              type: "message",
              actorId: actor.id,
              actorName: actor.name,
              at,
              data: { text: TEXT, clientId },
              clientId,
            };
          }),
        });
      });
      return BATCH;
    };
  }

  let failure: unknown = null;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let n = 0; performance.now() < deadline && failure === null; n++) {
      const t0 = performance.now();
      try {
        acked(await op(w, n), t0);
      } catch (err) {
        failure ??= err;
      }
    }
  });
  await Promise.all(loops);
  clearInterval(ticker);
  await log?.close();
  if (failure) throw failure;
  const seconds = o.durationMs / 1000;
  return {
    target: bdb.target,
    method,
    run: o.run,
    events: counted,
    seconds,
    eventsPerSec: round(counted / seconds, 0),
    ackP50Ms: round(latency.p(50)),
    ackP99Ms: round(latency.p(99)),
    ...(method === "group" ? { meanBatch: round(batchedEvents / Math.max(1, batches), 1) } : {}),
  };
}

/**
 * Open loop: appends are due every 1/rate seconds from the start, issued on time whatever the
 * earlier ones' acks do (the log's bounded queue refuses what it cannot hold). Each ack's
 * latency runs from the moment its append was due, not when the timer got round to it, so a
 * stall shows in full. Counts appends due inside the measured window and waits (bounded) for
 * their acks.
 */
async function measureOpen(bdb: BenchDatabase, rate: number, o: MeasureOptions): Promise<Omit<AppendSample, "background">> {
  const names = streamNames(o.streams);
  const latency = new Latency();
  const db = bdb.db;
  const actor = { id: "u_bench", name: "Bench" };
  const log = new EventLog(db, {
    metrics: createMetrics({ defaultMetrics: false }),
    notifyChannel: db.kind === "postgres" ? NOTIFY_CHANNEL : undefined,
    instanceId: "bench",
  });
  let batches = 0;
  let batchedEvents = 0;
  log.onCommit((events) => {
    batches++;
    batchedEvents += events.length;
  });
  const start = performance.now();
  const measureFrom = start + o.warmupMs;
  const deadline = measureFrom + o.durationMs;
  const period = 1000 / rate;
  let issued = 0;
  let due = 0;
  let counted = 0;
  let acked = 0;
  let refused = 0;
  let failure: unknown = null;
  try {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const until = Math.min(now, deadline);
        for (let at = start + issued * period; at <= until; at = start + issued * period) {
          const n = issued++;
          const inWindow = at >= measureFrom;
          if (inWindow) due++;
          const clientId = `o${o.run}-${n}`;
          log.append({ stream: names[n % names.length] as `room:${string}`, type: "message", actor, data: { text: TEXT, clientId }, clientId }).then(
            () => {
              if (!inWindow) return;
              counted++;
              acked++;
              latency.record(performance.now() - at);
            },
            (err: unknown) => {
              if (err instanceof EventLogFullError) refused++;
              else failure ??= err;
              if (inWindow) acked++;
            },
          );
        }
        o.progress.update(`${o.label}: ${now < measureFrom ? "warm-up" : `${fmt(counted / ((now - measureFrom) / 1000))} of ${fmt(rate)} events/s`}`);
        if (now >= deadline || failure !== null) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    // The window's last acks (bounded: a log that fell far behind is reported as it is).
    const waitUntil = performance.now() + 10_000;
    while (acked < due && performance.now() < waitUntil && failure === null) await new Promise((r) => setTimeout(r, 10));
  } finally {
    await log.close();
  }
  if (failure) throw failure;
  const seconds = o.durationMs / 1000;
  return {
    target: bdb.target,
    method: "group-open",
    run: o.run,
    events: counted,
    seconds,
    eventsPerSec: round(counted / seconds, 0),
    ackP50Ms: round(latency.p(50)),
    ackP99Ms: round(latency.p(99)),
    meanBatch: round(batchedEvents / Math.max(1, batches), 1),
    offeredPerSec: round(rate, 0),
    refused,
  };
}

export function appendMarkdown(r: AppendResults): string {
  const names: Record<AppendMethod, string> = {
    group: "group commit (EventLog.append)",
    single: "single-row INSERT per transaction",
    prisma: "Prisma createMany ×100",
    "group-open": "group commit, open loop",
  };
  const rows = r.summary.map((s) => [
    s.target,
    s.method === "group-open"
      ? `${names[s.method]} at ${fmt(s.offeredPerSec ?? NaN)}/s offered${s.refused ? ` (${fmt(s.refused, 0)} refused: queue full)` : ""}`
      : names[s.method],
    fmtSpan(s.eventsPerSec, s.eventsPerSecSpan),
    ratio(s.eventsPerSec, s.eventsPerSec / s.vsSingle),
    fmt(s.ackP50Ms),
    fmtSpan(s.ackP99Ms, s.ackP99Span),
    s.meanBatch === undefined ? "" : fmt(s.meanBatch, 0),
  ]);
  const text = table(["database", "method", "events/s, median (min–max)", "vs single-row", "ack p50 ms", "ack p99 ms (min–max)", "mean batch"], rows) + durabilityCost(r.summary, names);
  if (!r.summary.some((s) => s.method === "group-open")) return text;
  const share = r.openLoop ? `${fmt(r.openLoop * 100, 0)}% of` : "a fraction of";
  return `${text}\n\nClosed loop (every appender waiting for its ack before the next): the highest rate, and the ack latency of a queue kept full. Open loop: appends due on a fixed schedule at ${share} the same run's closed-loop group-commit rate, each ack timed from when its append was due — no coordinated omission.`;
}

/** What fsync costs the embedded database: durable (as the app runs it) over relaxed, per method. */
function durabilityCost(summary: AppendSummary[], names: Record<AppendMethod, string>): string {
  const find = (target: DbTarget, method: AppendMethod) => summary.find((s) => s.target === target && s.method === method);
  const rows = APPEND_METHODS.concat("group-open").flatMap((method) => {
    const durable = find("pglite-disk", method);
    const relaxed = find("pglite-disk-relaxed", method);
    if (!durable || !relaxed) return [];
    return [[names[method], ratio(durable.eventsPerSec, relaxed.eventsPerSec), ratio(durable.ackP50Ms, relaxed.ackP50Ms), ratio(durable.ackP99Ms, relaxed.ackP99Ms)]];
  });
  if (rows.length === 0) return "";
  const head = ["method", "events/s durable ÷ relaxed", "ack p50 durable ÷ relaxed", "ack p99 durable ÷ relaxed"];
  return `\n\nThe price of durability on PGlite on disk (pglite-disk: each commit fsynced, the default; pglite-disk-relaxed: fsync off):\n\n${table(head, rows)}`;
}

benchScript(import.meta.url, {
  name: "append",
  settings: ({ quick, runs, num, get }) => ({
    targets: (get("targets")?.split(",") as DbTarget[] | undefined) ?? APPEND_TARGETS,
    methods: (get("methods")?.split(",") as AppendMethod[] | undefined) ?? APPEND_METHODS,
    runs: runs ?? (quick ? 1 : 3),
    durationMs: num("duration", quick ? 500 : 3000),
    warmupMs: num("warmup", quick ? 200 : 500),
    inFlight: num("in-flight", quick ? 200 : 1000),
    streams: num("streams", 10),
    openLoop: num("open-loop", 0.8),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runAppend({ ...settings, progress }),
  pinning: "load generator (this process) on CPU 1; Postgres unpinned",
  markdown: appendMarkdown,
  notes: (results) => results.skipped.map((s) => `(${s.target} skipped: ${s.reason})`),
});
