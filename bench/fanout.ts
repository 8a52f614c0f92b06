// bench:fanout — chat fan-out: how many deliveries per second each server sustains with p99
// delivery latency ≤ 100 ms, and its CPU per delivery. Three shapes: 1 room × 1000 clients,
// 50 rooms × 20 clients and 500 rooms × 2 (the shape of direct messages), ~100-byte messages at open-loop arrival rates that step up ×1.5 until
// the latency bound or completeness breaks, then bisect between the last pass and that failure
// (3 steps: the best rate within ~5%; bench/lib/search.ts). Later runs of a server resume the
// ascent near its earlier runs' best. Side by side, each in a child process pinned to CPU 0:
//   ours      the app (createApp): authenticated WebSockets, every message appended to the
//             durable log (ack after commit) and fanned out by the hub; on Postgres when there is one
//   embedded  the same app on the embedded default, as `npm start` runs it: PGlite on disk with
//             fsync on, in its own process (its CPU counts as the server's)
//   raw       a bare `ws` server that serializes and frames once and writes the same frame to
//             every TCP socket (the limit of the stack)
//   send      a bare `ws` server that serializes once and `ws.send`s the bytes to all (ws frames
//             them per socket)
//   naive     a bare `ws` server that JSON.stringifies per client
//   socketio  Socket.IO 4.8, io.to(room).emit
//   before    ours from another checkout (--before DIR): an earlier server side by side
// The load generator (this process, CPU 1) speaks each wire protocol with a lean client.
// End to end (send → commit → fan-out → arrival) in the 1-room shape, fixed-rate windows:
// before the rate steps, each server at 10 msg/s (10,000 deliveries/s, nothing to batch) and
// at 100 msg/s (100,000 deliveries/s, where the baselines near their limits); after them, ours
// at half its own highest passing rate (the latency of a server under real load, not at its
// edge). `--e2e-rate` gives every shape those windows, at the rates named; `--profile DIR`
// writes a CPU profile of each server over each fixed-rate window (and gives every shape them).
import { mkdirSync } from "node:fs";
import path from "node:path";
import { usePostgres } from "./lib/app-server";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore, type ServerChild } from "./lib/child";
import { fmt, fmtSpan, Latency, median, Progress, ratio, rotation, round, runQueueWaitNs, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { openRoomClients, startRoomServer, timedText, type RoomClients, type RoomServer } from "./lib/rooms";
import { benchScript } from "./lib/script";
import { findMaxRate } from "./lib/search";

export type FanoutServer = RoomServer | "embedded" | "before";
export const FANOUT_SERVERS: FanoutServer[] = ["ours", "embedded", "raw", "send", "naive", "socketio"];

export interface Shape {
  name: string;
  rooms: number;
  perRoom: number;
  /** First arrival rate tried, messages/s over all rooms. */
  startRate: number;
}
export const SHAPES: Shape[] = [
  { name: "1 room × 1000 clients", rooms: 1, perRoom: 1000, startRate: 10 },
  { name: "50 rooms × 20 clients", rooms: 50, perRoom: 20, startRate: 250 },
  { name: "500 rooms × 2 clients", rooms: 500, perRoom: 2, startRate: 500 },
];

export interface FanoutOptions {
  servers?: FanoutServer[];
  shapes?: Shape[];
  runs?: number;
  /** Sending time of each rate step. */
  stepMs?: number;
  /** Longest wait for a step's last deliveries. */
  graceMs?: number;
  /** Each step's rate is the last one's times this. */
  factor?: number;
  /** Bisection steps between the highest pass and the first failure (3: within ~5% at factor 1.5). */
  bisect?: number;
  maxSteps?: number;
  /**
   * Later runs of a server resume their ascent near the best of its earlier runs (after the
   * first rate, which every run measures) instead of climbing from the first rate again.
   */
  resume?: boolean;
  p99LimitMs?: number;
  /** Distinct people signed in to our server (clients share their sessions). */
  people?: number;
  /** Use the local Postgres for our server's log when it answers (else PGlite in memory). */
  postgres?: boolean;
  /**
   * Fixed-rate windows before the steps: messages/s each, and their length (0: none). In the
   * 1-room shape always; in the others when profiling or when `fixedInEveryShape`.
   */
  e2eRates?: number[];
  /** The fixed-rate windows in every shape (`--e2e-rate` given): CPU per delivery side by side at set rates. */
  fixedInEveryShape?: boolean;
  e2eMs?: number;
  /**
   * After the steps, a window at this fraction of the server's own highest passing rate (ours
   * and before only, 1-room shapes; 0: none).
   */
  e2eOfBest?: number;
  /** Writes a CPU profile of each server over each fixed-rate window to this directory. */
  profileDir?: string;
  /** With `profileDir`: a sampling heap profile of the same window beside it (`--heap`). */
  heapProfile?: boolean;
  /** Another checkout of this repository: its server runs as `before`. */
  before?: string;
  /** The earlier version on the embedded database (PGlite on disk), as `embedded`, instead of ours' database. */
  beforeEmbedded?: boolean;
  quietWaitMs?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  progress?: Progress;
}

export interface StepResult {
  rate: number;
  sent: number;
  expected: number;
  delivered: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuPercent: number;
  /** The server runnable but waiting for its core (other work on CPU 0), % of the window. */
  serverWaitPercent: number;
  serverCpuUsPerDelivery: number;
  /** Of which in the kernel (system time): mostly the sockets' sends. */
  serverSysUsPerDelivery: number;
  loadGenCpuPercent: number;
  pass: boolean;
}

export interface FanoutSample {
  server: FanoutServer;
  shape: string;
  run: number;
  /** The fixed-rate windows (end-to-end latency at set loads), in the order run. */
  fixed: FixedWindow[];
  /** Where the CPU profiles went. */
  profiles?: string[];
  steps: StepResult[];
  /** The highest passing step (null: not even the first rate passed). */
  best: StepResult | null;
  background: number;
}

/** A fixed-rate window: at a set rate (every server), or at a fraction of the server's own best. */
export interface FixedWindow extends StepResult {
  /** "rate": at `rate` for every server; "of-best": at `ofBest` × this run's best rate. */
  kind: "rate" | "of-best";
  ofBest?: number;
}

/** A fixed-rate window's medians over the runs. */
export interface FixedSummary {
  kind: FixedWindow["kind"];
  ofBest?: number;
  runs: number;
  rate: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  deliveredPct: number;
  serverCpuPercent: number;
  serverWaitPercent: number;
  serverCpuUsPerDelivery: number;
  serverSysUsPerDelivery: number;
  /** The lowest and highest p50 and p99 over the runs. */
  p50Span: Span;
  p99Span: Span;
}

export interface FanoutSummary {
  server: FanoutServer;
  shape: string;
  runs: number;
  maxMessagesPerSec: number;
  deliveriesPerSec: number;
  /** The lowest and highest run (a run where nothing passed counts 0). */
  deliveriesPerSecSpan: Span;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDelivery: number;
  /** CPU µs per delivery at the shape's first rate, the same load for every server. */
  cpuUsPerDeliveryAtStartRate: number;
  vsRaw: number;
  vsSocketIo: number;
  /**
   * At the window that set the limit (the lowest failure above the best), medians over the
   * runs: how busy the server's core was, how long it waited for it, and how busy the load
   * generator's was. A generator near 100% there means the figure is the generator's limit too.
   */
  atLimit: { serverCpuPercent: number; serverWaitPercent: number; loadGenCpuPercent: number } | null;
  /** The fixed-rate windows' medians, set rates first (ascending), then of-best. */
  fixed: FixedSummary[];
}

export interface FanoutResults {
  samples: FanoutSample[];
  summary: FanoutSummary[];
  database: string;
  /** `before` ran on the embedded database, beside `embedded` (--before-embedded). */
  beforeEmbedded?: boolean;
}

export async function runFanout(opts: FanoutOptions = {}): Promise<FanoutResults> {
  const servers = opts.servers ?? FANOUT_SERVERS;
  const shapes = opts.shapes ?? SHAPES;
  const runs = opts.runs ?? 3;
  const progress = opts.progress ?? new Progress("fanout", false);
  const postgres = await usePostgres((opts.postgres ?? true) && (servers.includes("ours") || servers.includes("before")));
  const samples: FanoutSample[] = [];
  if (opts.profileDir) mkdirSync(opts.profileDir, { recursive: true });
  for (const shape of shapes) {
    for (let run = 0; run < runs; run++) {
      for (const server of rotation(servers, run)) {
        const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
        const label = `${shape.name} ${server} run ${run + 1}/${runs}`;
        const earlier = samples.filter((s) => s.shape === shape.name && s.server === server && s.best).map((s) => s.best!.rate);
        const near = (opts.resume ?? true) && earlier.length ? median(earlier) : undefined;
        const sample = await searchRate(server, shape, { ...opts, near, usePostgres: postgres, label, progress, run });
        samples.push({ ...sample, background });
        const b = sample.best;
        progress.note(
          b
            ? `${label}: ${fmt(b.deliveriesPerSec)} deliveries/s (${fmt(b.rate)} msg/s, p99 ${fmt(b.p99Ms)} ms, ${fmt(b.serverCpuUsPerDelivery)} CPU-µs/delivery)`
            : `${label}: no rate passed`,
        );
      }
    }
  }
  progress.done();
  return { samples, summary: summarizeFanout(samples), database: postgres ? "postgres" : "pglite-memory", ...(opts.beforeEmbedded ? { beforeEmbedded: true } : {}) };
}

/** Medians over the runs, per shape and server; ratios against raw and Socket.IO in the same run. */
export function summarizeFanout(samples: FanoutSample[]): FanoutSummary[] {
  const out: FanoutSummary[] = [];
  for (const shape of [...new Set(samples.map((s) => s.shape))]) {
    const of = (server: FanoutServer) => samples.filter((s) => s.shape === shape && s.server === server);
    const dps = (server: FanoutServer) => median(of(server).map((s) => s.best?.deliveriesPerSec ?? 0));
    for (const server of ["ours", "embedded", "before", "raw", "send", "naive", "socketio"] as const) {
      const ss = of(server);
      if (ss.length === 0) continue;
      const bests = ss.map((s) => s.best).filter((b): b is StepResult => b !== null);
      const m = (f: (b: StepResult) => number, d = 1) => (bests.length ? round(median(bests.map(f)), d) : NaN);
      const d = dps(server);
      const limits = ss
        .map((s) => s.steps.filter((x) => !x.pass && x.rate > (s.best?.rate ?? 0)).sort((a, b) => a.rate - b.rate)[0])
        .filter((x): x is StepResult => x !== undefined);
      const atLimit = (f: (x: StepResult) => number) => round(median(limits.map(f)), 1);
      out.push({
        server,
        shape,
        runs: ss.length,
        maxMessagesPerSec: m((b) => b.rate, 0),
        deliveriesPerSec: round(d, 0),
        deliveriesPerSecSpan: span(ss.map((s) => s.best?.deliveriesPerSec ?? 0), 0),
        p50Ms: m((b) => b.p50Ms),
        p99Ms: m((b) => b.p99Ms),
        serverCpuUsPerDelivery: m((b) => b.serverCpuUsPerDelivery, 2),
        cpuUsPerDeliveryAtStartRate: round(median(ss.map((s) => s.steps[0]?.serverCpuUsPerDelivery ?? NaN)), 2),
        vsRaw: round(d / dps("raw"), 3),
        vsSocketIo: round(d / dps("socketio"), 3),
        atLimit: limits.length
          ? { serverCpuPercent: atLimit((x) => x.serverCpuPercent), serverWaitPercent: atLimit((x) => x.serverWaitPercent), loadGenCpuPercent: atLimit((x) => x.loadGenCpuPercent) }
          : null,
        fixed: summarizeFixed(ss.flatMap((s) => s.fixed)),
      });
    }
  }
  return out;
}

function summarizeFixed(windows: FixedWindow[]): FixedSummary[] {
  const key = (w: FixedWindow) => (w.kind === "rate" ? `rate:${w.rate}` : `of-best:${w.ofBest}`);
  const keys = [...new Set(windows.map(key))];
  return keys
    .map((k) => {
      const ws = windows.filter((w) => key(w) === k);
      const m = (f: (x: FixedWindow) => number, digits = 1) => round(median(ws.map(f)), digits);
      return {
        kind: ws[0]!.kind,
        ...(ws[0]!.ofBest !== undefined ? { ofBest: ws[0]!.ofBest } : {}),
        runs: ws.length,
        rate: m((x) => x.rate),
        deliveriesPerSec: m((x) => x.deliveriesPerSec, 0),
        p50Ms: m((x) => x.p50Ms, 2),
        p99Ms: m((x) => x.p99Ms, 2),
        deliveredPct: m((x) => (100 * x.delivered) / Math.max(1, x.expected), 2),
        serverCpuPercent: m((x) => x.serverCpuPercent),
        serverWaitPercent: m((x) => x.serverWaitPercent ?? NaN),
        serverCpuUsPerDelivery: m((x) => x.serverCpuUsPerDelivery, 2),
        serverSysUsPerDelivery: m((x) => x.serverSysUsPerDelivery, 2),
        p50Span: span(ws.map((x) => x.p50Ms)),
        p99Span: span(ws.map((x) => x.p99Ms)),
      };
    })
    .sort((a, b) => (a.kind === b.kind ? a.rate - b.rate : a.kind === "rate" ? -1 : 1));
}

// ---------------------------------------------------------------------------
// One server, one shape: connect everyone, then step the rate up.

interface SearchOptions extends FanoutOptions {
  /** The median best rate of this server's earlier runs in this shape, if any. */
  near?: number;
  usePostgres: boolean;
  label: string;
  progress: Progress;
  run: number;
}

async function searchRate(server: FanoutServer, shape: Shape, o: SearchOptions): Promise<Omit<FanoutSample, "background">> {
  const progress = o.progress;
  progress.update(`${o.label}: starting the server`, true);
  let child: ServerChild | null = null;
  let clients: RoomClients | null = null;
  try {
    if (server === "before" && !o.before) throw new Error("the `before` server needs --before DIR (a checkout of this repository)");
    // `before` runs on the database `embedded` runs on with --before-embedded, else on ours'.
    const onEmbedded = server === "embedded" || (server === "before" && Boolean(o.beforeEmbedded));
    child = await startRoomServer(server === "before" || server === "embedded" ? "ours" : server, {
      postgres: o.usePostgres && !onEmbedded,
      pgliteOnDisk: onEmbedded,
      core: serverCore(o.serverCore),
      root: server === "before" ? o.before : undefined,
    });
    // Per-window accounting: deliveries whose send time falls in the window's sending time.
    let windowFrom = Infinity;
    let windowTo = -Infinity;
    let delivered = 0;
    // Every arrival since the warm-up, to know when the queues are empty again.
    let arrived = 0;
    const latency = new Latency();
    clients = await openRoomClients({
      server: server === "before" || server === "embedded" ? "ours" : server,
      port: child.port,
      rooms: shape.rooms,
      perRoom: shape.perRoom,
      people: o.people ?? 50,
      label: o.label,
      progress,
      onTimed: (_i, t) => {
        arrived++;
        if (t >= windowFrom && t <= windowTo) {
          delivered++;
          latency.record(performance.now() - t);
        }
      },
    });
    const c = clients;
    const srv = child;
    let msgNo = 0;
    const stepMs = o.stepMs ?? 2000;
    const graceMs = o.graceMs ?? 1500;
    const limit = o.p99LimitMs ?? 100;

    /**
     * Sends open-loop at `rate` for `skipMs + ms`, counting what was sent after `skipMs` (a
     * fresh server's first second is JIT compilation); waits up to the grace for the last
     * deliveries. Server CPU is over the counted part and the grace.
     */
    const window = async (rate: number, ms: number, skipMs = 0): Promise<StepResult> => {
      latency.reset();
      delivered = 0;
      windowFrom = Infinity;
      windowTo = Infinity;
      const start = performance.now();
      let sentAll = 0;
      let sent = 0;
      let stats0 = skipMs > 0 ? null : await srv.stats();
      let wait0 = runQueueWaitNs(srv.pid);
      let self0 = process.cpuUsage();
      let from = performance.now();
      if (skipMs === 0) windowFrom = from;
      // Open loop: messages are due at fixed times whatever the server's answers.
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const now = performance.now();
          if (stats0 === null && now - start >= skipMs) {
            // The counted part starts now (stats are read without waiting: CPU since here).
            stats0 = { cpuUserUs: NaN, cpuSystemUs: NaN, rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
            void srv.stats().then((s) => (stats0 = s));
            wait0 = runQueueWaitNs(srv.pid);
            self0 = process.cpuUsage();
            from = now;
            windowFrom = now;
          }
          const due = Math.min(Math.floor(((now - start) * rate) / 1000), Math.floor(((skipMs + ms) * rate) / 1000));
          while (sentAll < due) {
            const n = msgNo++;
            const room = n % shape.rooms;
            const member = Math.floor(n / shape.rooms) % shape.perRoom;
            const t = performance.now();
            c.send(room * shape.perRoom + member, timedText(t));
            sentAll++;
            if (t >= windowFrom) sent++;
          }
          if (now - start >= skipMs + ms) {
            clearInterval(timer);
            resolve();
          }
          progress.update(`${o.label}: ${fmt(rate)} msg/s, ${fmt((delivered / Math.max(1, now - from)) * 1000)} deliveries/s`);
        }, 1);
      });
      windowTo = performance.now();
      const expected = sent * shape.perRoom;
      const waitUntil = performance.now() + graceMs;
      while (delivered < expected && performance.now() < waitUntil) await sleep(10);
      const stats1 = await srv.stats();
      const self1 = process.cpuUsage(self0);
      const seconds = (performance.now() - from) / 1000;
      const cpuUs = cpuDeltaUs(stats0!, stats1);
      const p99 = latency.p(99);
      windowFrom = Infinity;
      // The next window starts with empty queues: everything sent so far delivered everywhere
      // (a failed window leaves a backlog that would otherwise count against the next one), or
      // a few seconds at most (a server that dropped some never catches up).
      const drainUntil = performance.now() + 5000;
      while (arrived < msgNo * shape.perRoom && performance.now() < drainUntil) await sleep(20);
      await sleep(200);
      return {
        rate: round(rate, 1),
        sent,
        expected,
        delivered,
        deliveriesPerSec: round(delivered / (ms / 1000), 0),
        p50Ms: round(latency.p(50), 2),
        p99Ms: round(p99, 2),
        serverCpuPercent: round(cpuUs / 1e4 / seconds, 1),
        serverWaitPercent: round((runQueueWaitNs(srv.pid) - wait0) / 1e7 / seconds, 1),
        serverCpuUsPerDelivery: round(cpuUs / Math.max(1, delivered), 3),
        serverSysUsPerDelivery: round((stats1.cpuSystemUs - stats0!.cpuSystemUs) / Math.max(1, delivered), 3),
        loadGenCpuPercent: round((self1.user + self1.system) / 1e4 / seconds, 1),
        pass: delivered >= expected * 0.99 && p99 <= limit,
      };
    };

    const fixed: FixedWindow[] = [];
    const profiles: string[] = [];
    const e2eMs = o.e2eMs ?? 0;
    const profiled = o.profileDir !== undefined;
    /**
     * A fixed-rate window (its first second uncounted: JIT), profiled when asked. Starting the
     * profiler stops the server's thread for about 0.1 s, so it starts before the window: inside
     * it, that pause would be the window's p99.
     */
    const fixedWindow = async (rate: number, kind: FixedWindow["kind"], ofBest?: number): Promise<void> => {
      if (profiled) await srv.profileStart(undefined, { heap: o.heapProfile });
      const r = await window(rate, e2eMs, Math.min(1000, e2eMs));
      let profile: string | undefined;
      if (profiled) {
        profile = path.resolve(o.profileDir!, `fanout-${server}-run${o.run + 1}-${Math.round(rate)}msgs-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
        await srv.profileStop(profile);
        profiles.push(profile);
      }
      fixed.push({ ...r, kind, ...(ofBest !== undefined ? { ofBest } : {}) });
      progress.note(`${o.label}: ${fmt(r.rate)} msg/s for ${fmt(e2eMs / 1000)} s: p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms, delivered ${fmt((100 * r.delivered) / Math.max(1, r.expected), 1)}%, ${fmt(r.serverCpuUsPerDelivery)} CPU-µs/delivery (${fmt(r.serverSysUsPerDelivery)} kernel)${profile ? `, profile ${profile}` : ""}`);
    };
    // Every server starts measuring from rest: what connecting set going has finished.
    await srv.settled();
    const endToEnd = (shape.rooms === 1 || profiled || o.fixedInEveryShape === true) && e2eMs > 0;
    if (endToEnd) for (const rate of o.e2eRates ?? [10, 100]) await fixedWindow(rate, "rate");

    const { steps, best } = await findMaxRate(
      { start: shape.startRate, factor: o.factor ?? 1.5, bisect: o.bisect ?? 3, maxSteps: o.maxSteps ?? 20, near: o.near },
      (rate) => window(rate, stepMs),
    );
    const ofBest = o.e2eOfBest ?? 0;
    if (endToEnd && ofBest > 0 && best && (server === "ours" || server === "embedded" || server === "before")) await fixedWindow(best.rate * ofBest, "of-best", ofBest);
    return { server, shape: shape.name, run: o.run, fixed, ...(profiles.length ? { profiles } : {}), steps, best };
  } finally {
    clients?.close();
    await child?.stop();
  }
}

export function fanoutMarkdown(r: FanoutResults): string {
  const names: Record<FanoutServer, string> = {
    ours: "ours (app, durable log)",
    embedded: "ours on the embedded default (PGlite on disk, fsync on)",
    before: r.beforeEmbedded ? "ours, earlier version (--before), on the embedded database" : "ours, earlier version (--before)",
    raw: "raw ws, frame once",
    send: "ws.send, serialize once",
    naive: "naive ws, stringify per client",
    socketio: "Socket.IO 4.8",
  };
  const parts: string[] = [];
  for (const shape of [...new Set(r.summary.map((s) => s.shape))]) {
    const of = r.summary.filter((s) => s.shape === shape);
    // End to end, grouped by rate: every server at 10 msg/s, then at 100, then ours under its own load.
    const fixedRows = of
      .flatMap((s) => s.fixed.map((f) => ({ s, f })))
      .map((x, i) => ({ ...x, i }))
      .sort((a, b) => (a.f.kind === "rate" ? a.f.rate : Infinity) - (b.f.kind === "rate" ? b.f.rate : Infinity) || a.i - b.i)
      .map(({ s, f }) => [
        names[s.server],
        f.kind === "rate" ? fmt(f.rate) : `${fmt(f.rate)} (${fmt(f.ofBest! * 100, 0)}% of its best)`,
        fmt(f.deliveriesPerSec),
        fmtSpan(f.p50Ms, f.p50Span),
        fmtSpan(f.p99Ms, f.p99Span),
        `${fmt(f.deliveredPct, 1)}%`,
        `${fmt(f.serverCpuPercent)} (${fmt(f.serverWaitPercent)})`,
        fmt(f.serverCpuUsPerDelivery),
        fmt(f.serverSysUsPerDelivery),
      ]);
    if (fixedRows.length > 0) {
      parts.push(
        `**${shape}: end to end at fixed rates** (send → ${of.some((s) => s.server === "ours") ? "commit → fan-out → " : ""}arrival at every receiver; medians over the runs)\n\n` +
          table(["server", "msgs/s", "deliveries/s", "p50 ms (min–max)", "p99 ms (min–max)", "delivered", "server CPU % (waiting for its core)", "CPU-µs per delivery", "of which kernel"], fixedRows),
      );
    }
    const rows = of.map((s) => [
      names[s.server],
      fmt(s.maxMessagesPerSec),
      fmtSpan(s.deliveriesPerSec, s.deliveriesPerSecSpan),
      `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)}`,
      fmt(s.serverCpuUsPerDelivery),
      fmt(s.cpuUsPerDeliveryAtStartRate),
      ratio(s.vsRaw, 1),
      ratio(s.vsSocketIo, 1),
      s.atLimit ? `${fmt(s.atLimit.serverCpuPercent)} (${fmt(s.atLimit.serverWaitPercent)}) · ${fmt(s.atLimit.loadGenCpuPercent)}` : "–",
    ]);
    parts.push(
      `**${shape}**\n\n` +
        table(
          [
            "server",
            "msgs/s",
            "deliveries/s at p99 ≤ 100 ms (min–max over the runs)",
            "p50 / p99 ms",
            "CPU-µs per delivery",
            "CPU-µs per delivery at the first rate",
            "vs raw",
            "vs Socket.IO",
            "where it failed: server CPU % (waiting) · load generator CPU %",
          ],
          rows,
        ),
    );
    const ours = of.find((s) => s.server === (r.beforeEmbedded ? "embedded" : "ours"));
    const before = of.find((s) => s.server === "before");
    if (ours && before) {
      parts.push(
        `${r.beforeEmbedded ? "embedded ÷ before (both on the embedded database)" : "ours ÷ before"}: deliveries/s ${ratio(ours.deliveriesPerSec, before.deliveriesPerSec)}` +
          ours.fixed
            .filter((f) => f.kind === "rate")
            .map((f) => {
              const b = before.fixed.find((x) => x.kind === "rate" && x.rate === f.rate);
              return b ? `, CPU-µs per delivery at ${fmt(f.rate)} msg/s ${ratio(f.serverCpuUsPerDelivery, b.serverCpuUsPerDelivery)}` : "";
            })
            .join("") +
          `, CPU-µs per delivery at the first rate ${ratio(ours.cpuUsPerDeliveryAtStartRate, before.cpuUsPerDeliveryAtStartRate)}`,
      );
    }
  }
  return parts.join("\n\n");
}

benchScript(import.meta.url, {
  name: "fanout",
  settings: ({ quick, runs, num, get, has }) => ({
    servers: (get("servers")?.split(",") as FanoutServer[] | undefined) ?? FANOUT_SERVERS,
    // `--shape 50` is the 50-room shape alone; `--shape 50,500` both; a whole name also works.
    shapes: has("shape") ? SHAPES.filter((s) => get("shape")!.split(",").some((x) => s.name === x || s.name.startsWith(`${x} `))) : SHAPES,
    runs: runs ?? (quick ? 1 : 3),
    stepMs: num("step", quick ? 500 : 1000),
    graceMs: num("grace", quick ? 500 : 1000),
    factor: num("factor", 1.5),
    bisect: num("bisect", 3),
    maxSteps: num("max-steps", quick ? 2 : 20),
    resume: !has("no-resume"),
    p99LimitMs: num("p99", 100),
    people: num("people", 50),
    e2eRates: (get("e2e-rate") ?? "10,100").split(",").map((x) => {
      const rate = Number(x);
      if (!(rate > 0)) throw new Error(`--e2e-rate takes messages/s, comma-separated, got "${x}"`);
      return rate;
    }),
    fixedInEveryShape: has("e2e-rate"),
    e2eMs: num("e2e-ms", quick ? 500 : 5000),
    e2eOfBest: num("e2e-of-best", 0.5),
    profileDir: get("profile"),
    heapProfile: has("heap"),
    before: get("before"),
    beforeEmbedded: has("before-embedded"),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runFanout({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({ ...settings, shapes: settings.shapes.map((s) => s.name), database: results.database, pinning }),
  markdown: fanoutMarkdown,
});
