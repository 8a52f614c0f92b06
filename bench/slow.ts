// bench:slow — slow consumers: in one room of 1000 WebSocket clients receiving a steady chat
// stream, 5% of the clients stop reading their sockets (the TCP socket paused, so the server's
// sends pile up in its kernel send buffer, then in its own memory). Side by side, each on a
// fresh server in a child process pinned to CPU 0, the same stream with and without the
// stalled 5%:
//   ours     the app: a socket more than `maxBufferedBytes` (4 MiB) behind on durable events
//            is closed with 1013 (rt_slow_consumer_closes_total) and would resume from the log
//   raw      a bare `ws` server, serialize and frame once, no slow-consumer policy: it buffers for
//            ever, but every stalled socket's backlog holds the same frame buffers
//   naive    the same, JSON.stringify per socket: each socket's backlog is its own copy, so
//            memory grows for as long as the run lasts (a run past `--rss-limit` stops early)
// Beside the stalled WebSockets, ours also gets as many stalled SSE readers and stalled long
// pollers (`--sse-stalled`, `--poll-stalled`): raw sockets that send their requests (an SSE
// stream of the room; 10 pipelined polls) and never read. The app destroys them past their
// backlog or once their socket has not drained for 30 s (rt_slow_consumer_closes_total).
// Every second: the server's RSS, heap and external memory, the bytes the kernel holds for its
// connections (send queues plus the stalled clients' unread receive queues, /proc/net/tcp),
// its CPU, slow-consumer closes, and the delivery latency of the clients still reading.
// Messages are large (4000 characters, 3 UTF-8 bytes each: ~12 KB frames) so that a stalled
// socket falls megabytes behind within a minute. Each run lasts 60 s after the stall: the
// kernel buffers fill in ~30 s and ours closes the stalled sockets at ~45 s, so the last third
// (whose RSS slope the table gives) shows whether memory has stopped growing.
// Our server's WebSocket heartbeat is raised to 10 minutes for this bench (`pingIntervalMs`):
// a client that reads nothing answers no ping, and the default heartbeat would terminate it
// within 40 s whatever it had buffered, before the backlog bound is ever tested.
import { readFileSync } from "node:fs";
import { usePostgres } from "./lib/app-server";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore, type ChildStats, type ServerChild } from "./lib/child";
import { fmt, fmtSpan, Latency, median, Progress, ratio, rotation, round, runQueueWaitNs, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { openRoomClients, startRoomServer, type RoomClients } from "./lib/rooms";
import { openStalledHttp, type StalledHttp } from "./lib/stalled";
import { benchScript } from "./lib/script";

export type SlowServer = "ours" | "raw" | "naive";
export interface SlowVariant {
  server: SlowServer;
  stalled: boolean;
}
/**
 * By default: ours with and without the stalled clients, and both bare `ws` servers with them
 * (no policy). The naive one keeps a copy of every frame per stalled socket, so its memory
 * grows for as long as the run lasts; `--rss-limit` stops it early if it passes the limit.
 */
export const SLOW_VARIANTS: SlowVariant[] = [
  { server: "ours", stalled: false },
  { server: "ours", stalled: true },
  { server: "raw", stalled: true },
  { server: "naive", stalled: true },
];

export interface SlowOptions {
  variants?: SlowVariant[];
  clients?: number;
  /** Percent of the clients that stop reading. */
  stalledPercent?: number;
  /** Ours, with stalled clients: SSE readers of the room that never read (default: as many as stalled WebSockets). */
  sseStalled?: number;
  /** Ours, with stalled clients: connections pipelining polls of the room and reading no answer (default: as many). */
  pollStalled?: number;
  /** Messages per second into the room. */
  rate?: number;
  /** Characters per message (the app allows 4000). */
  textChars?: number;
  /** The filler character: "€" (3 UTF-8 bytes) makes the largest frames the app allows. */
  fill?: string;
  durationMs?: number;
  /** The stream runs this long, everyone reading, before the stall and the measurement begin. */
  warmupMs?: number;
  sampleMs?: number;
  /**
   * Our server's WebSocket heartbeat. A client that reads nothing answers no ping either, and
   * the default heartbeat (ping every 30 s, 10 s for the pong) terminates it within 40 s,
   * whatever it has buffered: the bench sets 10 minutes so that the backlog bound is what stops
   * a stalled client (`--ping-ms 30000` for the default).
   */
  pingIntervalMs?: number;
  /** A run stops early once the server's RSS passes this. */
  rssLimitBytes?: number;
  runs?: number;
  people?: number;
  postgres?: boolean;
  quietWaitMs?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  progress?: Progress;
}

export interface SlowPoint {
  /** Seconds since the stream started (and the stalled clients stopped reading). */
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  /** Bytes the kernel holds for the server's connections: its send queues + clients' unread data. */
  kernelQueued: number;
  /** Server CPU over the last interval, % of one core. */
  cpuPercent: number;
  /** Time the server was runnable but waiting for its core (other work on it), % of the interval. */
  waitPercent: number;
  /** Our server: mean time from a group-commit batch's start to its commit over the interval, ms. */
  commitMs?: number;
  slowCloses: number;
  connections: number;
  /** Our server: its SSE streams and held polls. */
  sse?: number;
  polls?: number;
  /** Bytes queued in the server process for its sockets (bare `ws` servers only). */
  buffered?: number;
  /** Delivery latency to the clients still reading, over the last interval. */
  p50Ms: number;
  p99Ms: number;
}

export interface SlowSample {
  server: SlowServer;
  stalled: boolean;
  run: number;
  clients: number;
  stalledClients: number;
  /** Stalled SSE readers and polling connections beside them (ours only). */
  stalledSse: number;
  stalledPollers: number;
  seconds: number;
  /** Why the run stopped before its duration, if it did. */
  stoppedBy?: string;
  sent: number;
  /** Of what was sent to the clients still reading, the share that arrived. */
  deliveredPct: number;
  p50Ms: number;
  p99Ms: number;
  rssStart: number;
  rssMax: number;
  rssEnd: number;
  kernelQueuedMax: number;
  slowCloses: number;
  /** Seconds from the stall to the first and the last slow-consumer close. */
  firstCloseS: number | null;
  lastCloseS: number | null;
  serverCpuPercent: number;
  /** The server waiting for its core, % of the run (other processes on CPU 0). */
  serverWaitPercent: number;
  /** Our server: mean and worst per-interval mean commit time, ms. */
  commitMeanMs?: number;
  commitWorstMs?: number;
  frameBytes: number;
  timeline: SlowPoint[];
  background: number;
}

export interface SlowSummary {
  server: SlowServer;
  stalled: boolean;
  runs: number;
  p50Ms: number;
  p99Ms: number;
  deliveredPct: number;
  rssStartMiB: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  /** RSS growth over the last third of the run, MiB per minute: ~0 once memory has plateaued. */
  rssSlopeMiBPerMin: number;
  /** The lowest and highest run. */
  p99Span: Span;
  rssSlopeSpan: Span;
  kernelQueuedMaxMiB: number;
  slowCloses: number;
  lastCloseS: number | null;
  serverCpuPercent: number;
  serverWaitPercent: number;
  commitMeanMs: number | null;
  commitWorstMs: number | null;
  /** Stalled ÷ not stalled, same server (null without both). */
  p50VsUnstalled: number | null;
  p99VsUnstalled: number | null;
}

export interface SlowResults {
  samples: SlowSample[];
  summary: SlowSummary[];
  database: string;
}

const MiB = 1024 * 1024;

export async function runSlow(opts: SlowOptions = {}): Promise<SlowResults> {
  const variants = opts.variants ?? SLOW_VARIANTS;
  const runs = opts.runs ?? 3;
  const progress = opts.progress ?? new Progress("slow", false);
  const postgres = await usePostgres((opts.postgres ?? true) && variants.some((v) => v.server === "ours"));
  const samples: SlowSample[] = [];
  for (let run = 0; run < runs; run++) {
    for (const v of rotation(variants, run)) {
      const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
      const label = `${v.server} ${v.stalled ? "with" : "without"} stalled clients, run ${run + 1}/${runs}`;
      const sample = await runOne(v, { ...opts, postgres, label, progress, run });
      samples.push({ ...sample, background });
      progress.note(
        `${label}: p50 ${fmt(sample.p50Ms)} / p99 ${fmt(sample.p99Ms)} ms, delivered ${fmt(sample.deliveredPct, 1)}%, RSS ${fmt(sample.rssStart / MiB)} → max ${fmt(sample.rssMax / MiB)} MiB, ` +
          `kernel-held max ${fmt(sample.kernelQueuedMax / MiB)} MiB, ${sample.slowCloses} slow-consumer closes${sample.stoppedBy ? ` (${sample.stoppedBy})` : ""}`,
      );
    }
  }
  progress.done();
  return { samples, summary: summarize(samples), database: postgres ? "postgres" : "pglite-memory" };
}

function summarize(samples: SlowSample[]): SlowSummary[] {
  const out: SlowSummary[] = [];
  const key = (s: { server: SlowServer; stalled: boolean }) => `${s.server}/${s.stalled}`;
  for (const k of [...new Set(samples.map(key))]) {
    const ss = samples.filter((s) => key(s) === k);
    const m = (f: (s: SlowSample) => number, d = 1) => round(median(ss.map(f)), d);
    out.push({
      server: ss[0]!.server,
      stalled: ss[0]!.stalled,
      runs: ss.length,
      p50Ms: m((s) => s.p50Ms, 2),
      p99Ms: m((s) => s.p99Ms, 2),
      deliveredPct: m((s) => s.deliveredPct, 2),
      rssStartMiB: m((s) => s.rssStart / MiB),
      rssMaxMiB: m((s) => s.rssMax / MiB),
      rssEndMiB: m((s) => s.rssEnd / MiB),
      rssSlopeMiBPerMin: m((s) => slope(s.timeline) * 60, 2),
      p99Span: span(ss.map((s) => s.p99Ms)),
      rssSlopeSpan: span(ss.map((s) => slope(s.timeline) * 60)),
      kernelQueuedMaxMiB: m((s) => s.kernelQueuedMax / MiB),
      slowCloses: m((s) => s.slowCloses, 0),
      lastCloseS: ss.some((s) => s.lastCloseS !== null) ? m((s) => s.lastCloseS ?? NaN) : null,
      serverCpuPercent: m((s) => s.serverCpuPercent),
      serverWaitPercent: m((s) => s.serverWaitPercent),
      commitMeanMs: ss[0]!.commitMeanMs === undefined ? null : m((s) => s.commitMeanMs ?? NaN, 2),
      commitWorstMs: ss[0]!.commitWorstMs === undefined ? null : m((s) => s.commitWorstMs ?? NaN, 2),
      p50VsUnstalled: null,
      p99VsUnstalled: null,
    });
  }
  for (const s of out) {
    const base = out.find((b) => b.server === s.server && !b.stalled);
    if (!base) continue;
    s.p50VsUnstalled = round(s.p50Ms / base.p50Ms, 3);
    s.p99VsUnstalled = round(s.p99Ms / base.p99Ms, 3);
  }
  return out;
}

/**
 * RSS growth over the last third of a timeline, MiB per second (least squares): whether memory
 * has stopped growing by the end, after the stalled sockets' kernel buffers have filled (and,
 * for ours, the slow-consumer closes).
 */
function slope(points: SlowPoint[]): number {
  const last = points[points.length - 1];
  if (!last) return NaN;
  // The last third of the run, or at least its last two samples (a busy machine samples late).
  const lastThird = points.filter((p) => p.t >= (last.t * 2) / 3);
  const half = lastThird.length >= 2 ? lastThird : points.slice(-2);
  if (half.length < 2) return NaN;
  const n = half.length;
  const mx = half.reduce((a, p) => a + p.t, 0) / n;
  const my = half.reduce((a, p) => a + p.rss / MiB, 0) / n;
  const sxy = half.reduce((a, p) => a + (p.t - mx) * (p.rss / MiB - my), 0);
  const sxx = half.reduce((a, p) => a + (p.t - mx) ** 2, 0);
  return sxx === 0 ? NaN : sxy / sxx;
}

/**
 * Bytes the kernel holds for connections to `port` on this machine: the server's send queues
 * (sent, not yet taken by the peer) and the clients' receive queues (arrived, not yet read).
 */
export function kernelQueuedBytes(port: number): number {
  let total = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    for (const line of text.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || f[3] !== "01") continue; // ESTABLISHED only
      const [tx, rx] = f[4]!.split(":").map((h) => parseInt(h, 16)) as [number, number];
      if (f[1]!.endsWith(hexPort)) total += tx;
      else if (f[2]!.endsWith(hexPort)) total += rx;
    }
  }
  return total;
}

interface RunOptions extends SlowOptions {
  postgres: boolean;
  label: string;
  progress: Progress;
  run: number;
}

async function runOne(v: SlowVariant, o: RunOptions): Promise<Omit<SlowSample, "background">> {
  const { progress, label } = o;
  const n = o.clients ?? 1000;
  // Every k-th client stops reading (spread over the room); none of them sends.
  const every = Math.max(1, Math.round(100 / (o.stalledPercent ?? 5)));
  const isStalled = (i: number) => v.stalled && i % every === every - 1;
  const healthy = Array.from({ length: n }, (_, i) => i).filter((i) => i % every !== every - 1);
  const stalledCount = v.stalled ? n - healthy.length : 0;
  const durationMs = o.durationMs ?? 60_000;
  const sampleMs = o.sampleMs ?? 1000;
  const rate = o.rate ?? 15;
  const fill = (o.fill ?? "€").repeat(o.textChars ?? 4000);
  const rssLimit = o.rssLimitBytes ?? 1.5 * 1024 * MiB;

  progress.update(`${label}: starting the server`, true);
  let child: ServerChild | null = null;
  let clients: RoomClients | null = null;
  let sender: NodeJS.Timeout | undefined;
  let stalledHttp: StalledHttp | null = null;
  try {
    child = await startRoomServer(v.server, {
      postgres: o.postgres,
      core: serverCore(o.serverCore),
      tuning: { pingIntervalMs: o.pingIntervalMs ?? 600_000 },
    });
    const srv = child;
    let counting = false;
    let delivered = 0;
    const overall = new Latency();
    const interval = new Latency();
    let frameBytes = 0;
    clients = await openRoomClients({
      server: v.server,
      port: child.port,
      rooms: 1,
      perRoom: n,
      people: o.people ?? 50,
      label,
      progress,
      onTimed: (i, t) => {
        // The same 95% in every variant: the clients that stall when some do are left out.
        if (!counting || i % every === every - 1) return;
        delivered++;
        const ms = performance.now() - t;
        overall.record(ms);
        interval.record(ms);
      },
    });
    const c = clients;
    const text = (t: number) => `~t=${t.toFixed(3)};${fill}`.slice(0, fill.length);
    frameBytes = Buffer.byteLength(text(performance.now()));

    // Open loop at `rate`, senders taken in turn from the clients that keep reading.
    let sent = 0;
    let sentCounted = 0;
    const sendStart = performance.now();
    sender = setInterval(() => {
      const due = Math.floor(((performance.now() - sendStart) * rate) / 1000);
      while (sent < due) {
        c.send(healthy[(sent * 7) % healthy.length]!, text(performance.now()));
        sent++;
        if (counting) sentCounted++;
      }
    }, 2);
    const warmupMs = o.warmupMs ?? 3000;
    while (performance.now() - sendStart < warmupMs) {
      progress.update(`${label}: warming up, ${fmt((performance.now() - sendStart) / 1000)} s`);
      await sleep(100);
    }
    for (let i = 0; i < n; i++) if (isStalled(i)) c.sockets[i]!.pause();
    if (v.server === "ours" && v.stalled) {
      progress.update(`${label}: opening stalled SSE readers and pollers`, true);
      stalledHttp = await openStalledHttp({ port: srv.port, room: c.roomNames[0]!, sse: o.sseStalled ?? stalledCount, polls: o.pollStalled ?? stalledCount });
    }
    type Commits = { count: number; seconds: number };
    const extra = async () => {
      if (v.server === "ours") {
        const [closes, conns, commits] = await Promise.all([
          srv.call<number>("slowConsumerCloses"),
          srv.call<{ ws: number; sse: number; poll: number }>("connections"),
          srv.call<Commits>("commits"),
        ]);
        return { slowCloses: closes, connections: conns.ws, sse: conns.sse, polls: conns.poll, buffered: undefined, commits };
      }
      const [conns, buf] = await Promise.all([srv.call<{ ws: number }>("connections"), srv.call<{ total: number }>("buffered")]);
      return { slowCloses: 0, connections: conns.ws, sse: undefined, polls: undefined, buffered: buf.total, commits: undefined };
    };

    const timeline: SlowPoint[] = [];
    const first = await srv.stats();
    const start = performance.now();
    const wait0 = runQueueWaitNs(srv.pid);
    let last: ChildStats = first;
    let lastAt = start;
    let lastWait = wait0;
    let lastCommits: Commits | undefined;
    const point = async (): Promise<SlowPoint> => {
      const [stats, x] = await Promise.all([srv.stats(), extra()]);
      const now = performance.now();
      const wait = runQueueWaitNs(srv.pid);
      const c1 = x.commits;
      const commitMs = c1 && lastCommits && c1.count > lastCommits.count ? round(((c1.seconds - lastCommits.seconds) * 1000) / (c1.count - lastCommits.count), 2) : undefined;
      lastCommits = c1;
      const p: SlowPoint = {
        t: round((now - start) / 1000, 1),
        rss: stats.rss,
        heapUsed: stats.heapUsed,
        external: stats.external,
        kernelQueued: kernelQueuedBytes(srv.port),
        cpuPercent: round(cpuDeltaUs(last, stats) / 1e4 / ((now - lastAt) / 1000), 1),
        waitPercent: round((wait - lastWait) / 1e4 / (now - lastAt), 1),
        ...(commitMs !== undefined ? { commitMs } : {}),
        slowCloses: x.slowCloses,
        connections: x.connections,
        ...(x.sse !== undefined ? { sse: x.sse, polls: x.polls } : {}),
        ...(x.buffered !== undefined ? { buffered: x.buffered } : {}),
        p50Ms: round(interval.p(50), 2),
        p99Ms: round(interval.p(99), 2),
      };
      interval.reset();
      last = stats;
      lastAt = now;
      lastWait = wait;
      return p;
    };
    counting = true;
    timeline.push({ ...(await point()), t: 0 });
    let stoppedBy: string | undefined;
    try {
      for (;;) {
        await sleep(Math.max(0, sampleMs - ((performance.now() - start) % sampleMs)));
        const p = await point();
        timeline.push(p);
        const stalledAll = stalledCount + (stalledHttp ? stalledHttp.sse + stalledHttp.polls : 0);
        const closes = v.stalled && v.server === "ours" ? `, ${p.slowCloses}/${stalledAll} stalled closed (SSE streams ${p.sse}, polls held ${p.polls})` : "";
        progress.update(
          `${label}: ${fmt(p.t)} s, RSS ${fmt(p.rss / MiB)} MiB, kernel ${fmt(p.kernelQueued / MiB)} MiB, CPU ${fmt(p.cpuPercent)}% (waiting ${fmt(p.waitPercent)}%), ` +
            `p99 ${fmt(p.p99Ms)} ms${p.commitMs !== undefined ? `, commit ${fmt(p.commitMs)} ms` : ""}${closes}`,
        );
        if (p.rss > rssLimit) {
          stoppedBy = `RSS passed ${fmt(rssLimit / MiB)} MiB`;
          break;
        }
        if (performance.now() - start >= durationMs) break;
      }
    } finally {
      clearInterval(sender);
    }
    const sendEnd = performance.now();
    // The last messages' deliveries to the clients still reading.
    const expected = sentCounted * healthy.length;
    const until = performance.now() + 3000;
    while (delivered < expected && performance.now() < until) await sleep(20);
    counting = false;
    const end = await srv.stats();
    const commitTimes = timeline.map((p) => p.commitMs).filter((x): x is number => x !== undefined);
    const closesAt = timeline.filter((p, i) => i > 0 && p.slowCloses > timeline[i - 1]!.slowCloses).map((p) => p.t);
    return {
      server: v.server,
      stalled: v.stalled,
      run: o.run,
      clients: n,
      stalledClients: stalledCount,
      stalledSse: stalledHttp?.sse ?? 0,
      stalledPollers: stalledHttp?.polls ?? 0,
      seconds: round((sendEnd - start) / 1000, 1),
      ...(stoppedBy ? { stoppedBy } : {}),
      sent: sentCounted,
      deliveredPct: round((100 * delivered) / Math.max(1, expected), 2),
      p50Ms: round(overall.p(50), 2),
      p99Ms: round(overall.p(99), 2),
      rssStart: first.rss,
      rssMax: Math.max(...timeline.map((p) => p.rss)),
      rssEnd: timeline[timeline.length - 1]!.rss,
      kernelQueuedMax: Math.max(...timeline.map((p) => p.kernelQueued)),
      slowCloses: timeline[timeline.length - 1]!.slowCloses,
      firstCloseS: closesAt[0] ?? null,
      lastCloseS: closesAt[closesAt.length - 1] ?? null,
      serverCpuPercent: round(cpuDeltaUs(first, end) / 1e4 / ((performance.now() - start) / 1000), 1),
      serverWaitPercent: round((runQueueWaitNs(srv.pid) - wait0) / 1e4 / (performance.now() - start), 1),
      ...(commitTimes.length ? { commitMeanMs: round(commitTimes.reduce((a, b) => a + b, 0) / commitTimes.length, 2), commitWorstMs: Math.max(...commitTimes) } : {}),
      frameBytes,
      timeline,
    };
  } finally {
    clearInterval(sender);
    stalledHttp?.close();
    clients?.close();
    await child?.stop();
  }
}

const NAMES: Record<SlowServer, string> = {
  ours: "ours (1013 above 4 MiB behind; SSE and polls destroyed)",
  raw: "raw ws, no policy",
  naive: "naive ws, no policy",
};

/** Ours with stalled clients also had stalled SSE readers and pollers: say how many. */
function stalledHttpNote(r: SlowResults): string {
  const s = r.samples.find((x) => x.stalledSse + x.stalledPollers > 0);
  return s ? ` (ours also with ${s.stalledSse} stalled SSE readers and ${s.stalledPollers} stalled polling connections)` : "";
}

export function slowMarkdown(r: SlowResults): string {
  const s0 = r.samples[0];
  /** Runs of a variant that stopped before their duration (RSS past the limit). */
  const stopped = (s: SlowSummary): string => {
    const early = r.samples.filter((x) => x.server === s.server && x.stalled === s.stalled && x.stoppedBy);
    return early.length ? ` (${early.length} of ${s.runs} runs stopped early, ${early[0]!.stoppedBy} at ${fmt(early[0]!.seconds)} s)` : "";
  };
  const head = s0
    ? `${s0.clients} clients in one room, ${s0.stalledClients || r.samples.find((s) => s.stalled)?.stalledClients || 0} of them stalled where stated` +
      stalledHttpNote(r) +
      "; " +
      `${fmt(s0.sent / Math.max(1, s0.seconds))} messages/s of ${fmt(s0.frameBytes / 1024)} KiB of text each.`
    : "";
  const rows = r.summary.map((s) => [
    `${NAMES[s.server]}, ${s.stalled ? "5% stalled" : "all reading"}`,
    `${fmt(s.p50Ms)} / ${fmtSpan(s.p99Ms, s.p99Span)}`,
    s.p50VsUnstalled === null || !s.stalled ? "" : `${ratio(s.p50VsUnstalled, 1)} / ${ratio(s.p99VsUnstalled!, 1)}`,
    `${fmt(s.deliveredPct, 1)}%`,
    `${fmt(s.rssStartMiB)} → ${fmt(s.rssMaxMiB)} → ${fmt(s.rssEndMiB)}${stopped(s)}`,
    fmtSpan(s.rssSlopeMiBPerMin, s.rssSlopeSpan),
    fmt(s.kernelQueuedMaxMiB),
    s.server === "ours" ? `${fmt(s.slowCloses, 0)}${s.lastCloseS !== null ? ` (last at ${fmt(s.lastCloseS)} s)` : ""}` : "none (no policy)",
    `${fmt(s.serverCpuPercent)} (${fmt(s.serverWaitPercent)})`,
    s.commitMeanMs === null ? "" : `${fmt(s.commitMeanMs)} / ${fmt(s.commitWorstMs ?? NaN)}`,
  ]);
  const parts = [
    head,
    table(
      [
        "server, clients",
        "p50 / p99 ms (clients reading; p99 min–max)",
        "vs all reading",
        "delivered",
        "RSS MiB start → max → end",
        "RSS MiB/min (last third; min–max)",
        "kernel-held MiB (max)",
        "slow-consumer closes",
        "server CPU % (waiting for its core)",
        "commit ms, mean / worst second",
      ],
      rows,
    ),
  ];
  // RSS over time, one column per variant (the first run of each), every ~10 s.
  const firsts = r.summary.map((s) => r.samples.find((x) => x.server === s.server && x.stalled === s.stalled)!);
  const longest = Math.max(...firsts.map((s) => s.timeline[s.timeline.length - 1]?.t ?? 0));
  const step = longest > 40 ? 10 : longest > 8 ? 2 : 1;
  const times: number[] = [];
  for (let t = 0; t <= longest + 0.5; t += step) times.push(t);
  const at = (s: SlowSample, t: number) => {
    const p = s.timeline.reduce<SlowPoint | null>((best, x) => (Math.abs(x.t - t) < Math.abs((best?.t ?? Infinity) - t) ? x : best), null);
    if (!p || Math.abs(p.t - t) > step / 2 + 0.6) return "";
    const closes = s.server === "ours" && s.stalled ? ` (${p.slowCloses} closed)` : "";
    return `${fmt(p.rss / MiB, 0)} / ${fmt(p.kernelQueued / MiB, 0)}${closes}`;
  };
  parts.push(
    "**Server RSS / kernel-held MiB over time** (s since the stall)",
    table(["s", ...firsts.map((s) => `${s.server}, ${s.stalled ? "stalled" : "all reading"}`)], times.map((t) => [String(t), ...firsts.map((s) => at(s, t))])),
  );
  return parts.join("\n\n");
}

benchScript(import.meta.url, {
  name: "slow",
  settings: ({ quick, runs, num, get }) => ({
    variants:
      get("variants")
        ?.split(",")
        .map((x) => {
          const [server, mode] = x.split(":") as [SlowServer, string | undefined];
          return { server, stalled: mode !== "reading" };
        }) ?? SLOW_VARIANTS,
    clients: num("clients", quick ? 100 : 1000),
    stalledPercent: num("stalled", 5),
    sseStalled: get("sse-stalled") === undefined ? undefined : num("sse-stalled", 0),
    pollStalled: get("poll-stalled") === undefined ? undefined : num("poll-stalled", 0),
    rate: num("rate", 15),
    textChars: num("chars", 4000),
    durationMs: num("duration", quick ? 3000 : 60_000),
    warmupMs: num("warmup", quick ? 500 : 3000),
    pingIntervalMs: num("ping-ms", 600_000),
    sampleMs: num("sample", 1000),
    rssLimitBytes: num("rss-limit", 1536) * MiB,
    runs: runs ?? (quick ? 1 : 3),
    people: num("people", 50),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runSlow({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({ ...settings, database: results.database, pinning }),
  markdown: slowMarkdown,
});
