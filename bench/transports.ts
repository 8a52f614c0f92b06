// bench:transports — the same event stream (chat messages in one room) to 500 subscribers over
// WebSocket, Server-Sent Events and long polling, and over a bare http SSE server (the
// baseline: what SSE costs with nothing else in the way), one transport at a time against a
// fresh server in a child process pinned to CPU 0, alternating the order across runs.
//
// The stream is a room's (`room:general`) because it is the one stream all three transports
// carry: WebSockets carry room streams only (PROTOCOL.md), the activity feed goes over SSE or
// long polling. Producers post over HTTP (`POST /api/rooms/general/messages`, a session per
// 5 events/s, under the 10/s limit), so no producer is itself a subscriber of the stream.
//
// Two measurements per transport and run, on the same server and subscribers:
//   fixed rate  20 events/s (10,000 deliveries/s) for 5 s: deliveries/s, p50/p99 delivery
//               latency (send → subscriber), bytes on the wire per delivered event (down and
//               up, at the subscribers' sockets), HTTP requests per delivered event, server CPU
//   max rate    open-loop rates stepping up ×1.5 from 20 events/s until the p99 passes 100 ms
//               or fewer than 99% of deliveries arrive, then bisection (bench/lib/search.ts):
//               the highest deliveries/s each transport sustains
// With `--before DIR` (another checkout of this repository), the fallbacks run a second time
// against that checkout's server (`sse-before`, `longpoll-before`), in the same run: the
// earlier version side by side with this one.
import http from "node:http";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { startAppServer, usePostgres } from "./lib/app-server";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore, startServerChild, type ChildStats, type ServerChild } from "./lib/child";
import { openMany, signInMany } from "./lib/clients";
import { fmt, fmtSpan, Latency, median, Progress, ratio, rotation, round, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { FastWs } from "./lib/fastws";
import { forEachSendTime, sendTimeIn, timedText } from "./lib/rooms";
import { benchScript } from "./lib/script";
import { findMaxRate } from "./lib/search";
import { LeanPoller, positionAfter, type PollPosition } from "./lib/poller";
import { openRawSse } from "./lib/sse";

export type TransportKind = "ws" | "sse" | "sse-raw" | "longpoll" | "longpoll-raw" | "sse-before" | "longpoll-before";
export const TRANSPORTS: TransportKind[] = ["ws", "sse", "sse-raw", "longpoll", "longpoll-raw"];
/** Every kind, in the order tables list them. */
const ALL_KINDS: TransportKind[] = ["ws", "sse", "sse-before", "sse-raw", "longpoll", "longpoll-before", "longpoll-raw"];
/** The baselines: bare servers of their own, without sessions. */
const BARE: ReadonlySet<TransportKind> = new Set(["sse-raw", "longpoll-raw"]);

/** The wire a kind speaks: an earlier server's SSE is still SSE, a bare server's long poll a long poll. */
function wireOf(kind: TransportKind): "ws" | "sse" | "sse-raw" | "longpoll" {
  return kind === "sse-before" ? "sse" : kind === "longpoll-before" || kind === "longpoll-raw" ? "longpoll" : kind;
}

export interface TransportsOptions {
  subscribers?: number;
  /** Events per second into the room in the fixed-rate window; also the step-up's first rate. */
  rate?: number;
  durationMs?: number;
  warmupMs?: number;
  runs?: number;
  transports?: TransportKind[];
  people?: number;
  postgres?: boolean;
  /** The step-up to each transport's highest rate (false: the fixed-rate window only). */
  search?: boolean;
  /** Sending time of each step. */
  stepMs?: number;
  /** Longest wait for a step's last deliveries. */
  graceMs?: number;
  factor?: number;
  bisect?: number;
  maxSteps?: number;
  p99LimitMs?: number;
  /** Later runs of a transport resume their ascent near its earlier runs' best. */
  resume?: boolean;
  quietWaitMs?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  /** Another checkout of this repository: its server runs the `*-before` kinds. */
  before?: string;
  /** Writes a CPU profile of the server over each fixed-rate window to this directory. */
  profileDir?: string;
  /** With `profileDir`: a sampling heap profile of the same window beside it (`--heap`). */
  heapProfile?: boolean;
  /** One app server for every transport of a run (smoke tests), instead of a fresh one each. */
  sharedServer?: boolean;
  progress?: Progress;
}

/** One open-loop window at one rate. */
export interface TransportWindow {
  /** Events per second sent. */
  rate: number;
  seconds: number;
  events: number;
  deliveries: number;
  /** Deliveries ÷ (events × subscribers), late ones (within the grace) included. */
  completeness: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  bytesDownPerDelivery: number;
  bytesUpPerDelivery: number;
  requestsPerDelivery: number;
  serverCpuPercent: number;
  serverCpuUsPerDelivery: number;
  /** This process (subscribers and producers), % of one core. */
  loadGenCpuPercent: number;
  /** p99 within the bound and ≥ 99% delivered. */
  pass: boolean;
}

export interface TransportSample extends Omit<TransportWindow, "pass"> {
  transport: TransportKind;
  run: number;
  /** The step-up's windows (empty without it). */
  steps: TransportWindow[];
  /** Its highest passing window (null: none passed, or no step-up). */
  best: TransportWindow | null;
  background: number;
}

export type TransportSummary = Omit<TransportWindow, "rate" | "seconds" | "events" | "deliveries" | "loadGenCpuPercent" | "pass"> & {
  transport: TransportKind;
  runs: number;
  /** The lowest and highest p99 of the fixed-rate window over the runs. */
  p99Span: Span;
  /** The step-up's medians (null: not run, or nothing passed), with the spread of its runs. */
  max: {
    eventsPerSec: number;
    deliveriesPerSec: number;
    deliveriesPerSecSpan: Span;
    p50Ms: number;
    p99Ms: number;
    requestsPerDelivery: number;
    serverCpuUsPerDelivery: number;
    loadGenCpuPercent: number;
  } | null;
};

export interface TransportsResults {
  samples: TransportSample[];
  summary: TransportSummary[];
  database: string;
}

export async function runTransports(opts: TransportsOptions = {}): Promise<TransportsResults> {
  const runs = opts.runs ?? 3;
  const transports = opts.transports ?? TRANSPORTS;
  const progress = opts.progress ?? new Progress("transports", false);
  if (transports.some((t) => t.endsWith("-before")) && !opts.before) throw new Error("the `*-before` transports need --before DIR (a checkout of this repository)");
  const postgres = await usePostgres((opts.postgres ?? true) && transports.some((t) => !BARE.has(t)));
  const samples: TransportSample[] = [];
  for (let run = 0; run < runs; run++) {
    const shared = opts.sharedServer && transports.some((t) => !BARE.has(t)) ? await startServer("ours", opts, postgres) : undefined;
    try {
      for (const transport of rotation(transports, run)) {
        const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
        const label = `${transport} run ${run + 1}/${runs}`;
        const earlier = samples.filter((s) => s.transport === transport && s.best).map((s) => s.best!.rate);
        const near = (opts.resume ?? true) && earlier.length ? median(earlier) : undefined;
        const own = !BARE.has(transport) && !transport.endsWith("-before");
        const s = await measure(transport, { ...opts, usePostgres: postgres, label, progress, run, near, shared: own ? shared : undefined });
        samples.push({ ...s, background });
        progress.note(
          `${label}: ${fmt(s.deliveriesPerSec)} deliveries/s, p50/p99 ${fmt(s.p50Ms)}/${fmt(s.p99Ms)} ms, ${fmt(s.bytesDownPerDelivery)} B down and ${fmt(s.requestsPerDelivery, 3)} requests per delivery` +
            (s.best ? `; at most ${fmt(s.best.deliveriesPerSec)} deliveries/s (${fmt(s.best.rate)} events/s, p99 ${fmt(s.best.p99Ms)} ms)` : opts.search === false ? "" : "; no rate passed"),
        );
      }
    } finally {
      await shared?.stop();
    }
  }
  progress.done();
  return { samples, summary: summarize(samples), database: postgres ? "postgres" : "pglite-memory" };
}

function summarize(samples: TransportSample[]): TransportSummary[] {
  return ALL_KINDS.flatMap((transport) => {
    const ss = samples.filter((s) => s.transport === transport);
    if (ss.length === 0) return [];
    const m = (f: (s: TransportSample) => number, d = 1) => round(median(ss.map(f)), d);
    const bests = ss.map((s) => s.best).filter((b): b is TransportWindow => b !== null);
    const mb = (f: (s: TransportWindow) => number, d = 1) => round(median(bests.map(f)), d);
    return [
      {
        transport,
        runs: ss.length,
        completeness: m((s) => s.completeness, 4),
        deliveriesPerSec: m((s) => s.deliveriesPerSec, 0),
        p50Ms: m((s) => s.p50Ms, 2),
        p99Ms: m((s) => s.p99Ms, 2),
        bytesDownPerDelivery: m((s) => s.bytesDownPerDelivery, 0),
        bytesUpPerDelivery: m((s) => s.bytesUpPerDelivery, 1),
        requestsPerDelivery: m((s) => s.requestsPerDelivery, 4),
        serverCpuPercent: m((s) => s.serverCpuPercent),
        serverCpuUsPerDelivery: m((s) => s.serverCpuUsPerDelivery, 2),
        p99Span: span(ss.map((s) => s.p99Ms)),
        max: bests.length
          ? {
              // A run where nothing passed counts as 0, as in fan-out.
              eventsPerSec: round(median(ss.map((s) => s.best?.rate ?? 0)), 1),
              deliveriesPerSec: round(median(ss.map((s) => s.best?.deliveriesPerSec ?? 0)), 0),
              deliveriesPerSecSpan: span(ss.map((s) => s.best?.deliveriesPerSec ?? 0), 0),
              p50Ms: mb((b) => b.p50Ms, 2),
              p99Ms: mb((b) => b.p99Ms, 2),
              requestsPerDelivery: mb((b) => b.requestsPerDelivery, 4),
              serverCpuUsPerDelivery: mb((b) => b.serverCpuUsPerDelivery, 2),
              loadGenCpuPercent: mb((b) => b.loadGenCpuPercent),
            }
          : null,
      },
    ];
  });
}

// ---------------------------------------------------------------------------

function startServer(kind: "ours" | "sse-raw" | "longpoll-raw" | "before", o: TransportsOptions, postgres: boolean): Promise<ServerChild> {
  // Pings once a minute: none inside a window, on both servers.
  if (kind === "sse-raw") return startServerChild("sse-raw", { pingMs: 60_000 }, { core: serverCore(o.serverCore) });
  if (kind === "longpoll-raw") return startServerChild("longpoll-raw", {}, { core: serverCore(o.serverCore) });
  return startAppServer({ postgres, tuning: { ssePingMs: 60_000 } }, { core: serverCore(o.serverCore), root: kind === "before" ? o.before : undefined });
}

interface MeasureOptions extends TransportsOptions {
  shared: ServerChild | undefined;
  usePostgres: boolean;
  label: string;
  progress: Progress;
  run: number;
  near?: number;
}

/** Bytes through a set of sockets since a mark (HTTP keep-alive sockets come and go). */
class SocketMeter {
  private readonly sockets = new Set<{ bytesRead: number; bytesWritten: number }>();
  private mark = new Map<{ bytesRead: number; bytesWritten: number }, { r: number; w: number }>();
  add(s: { bytesRead: number; bytesWritten: number }): void {
    this.sockets.add(s);
  }
  start(): void {
    this.mark = new Map([...this.sockets].map((s) => [s, { r: s.bytesRead, w: s.bytesWritten }]));
  }
  totals(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const s of this.sockets) {
      const m = this.mark.get(s) ?? { r: 0, w: 0 };
      read += s.bytesRead - m.r;
      written += s.bytesWritten - m.w;
    }
    return { read, written };
  }
}

interface Subscribers {
  /** Wire bytes since `start()`. */
  bytes(): { read: number; written: number };
  start(): void;
  /** HTTP requests made since the subscribers opened. */
  requests(): number;
  close(): void;
}

/**
 * The stream's source: messages posted over HTTP with keep-alive, each stamped with its send
 * time, from enough sessions to stay under the per-session limit (10/s) at any rate.
 */
class Producers {
  private readonly cookies: string[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private n = 0;
  failures = 0;
  constructor(
    private readonly port: number,
    /** Ours needs sessions; the bare SSE server takes anyone. */
    private readonly signIn: boolean,
  ) {}

  /** Signs in the sessions `eventsPerSec` needs (5/s each), before the sending starts. */
  async ready(eventsPerSec: number): Promise<void> {
    if (!this.signIn) return;
    const want = Math.ceil(eventsPerSec / 5);
    if (want > this.cookies.length) this.cookies.push(...(await signInMany(`http://127.0.0.1:${this.port}`, want - this.cookies.length, `pub${this.cookies.length}-`)));
  }

  send(): void {
    const i = this.n++;
    const body = JSON.stringify({ text: timedText(), clientId: `p${i}` });
    const req = http.request({
      host: "127.0.0.1",
      port: this.port,
      method: "POST",
      path: "/api/rooms/general/messages",
      agent: this.agent,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...(this.signIn ? { Cookie: this.cookies[i % this.cookies.length]! } : {}) },
    });
    req.on("response", (res) => {
      if (res.statusCode !== 201) this.failures++;
      res.resume();
    });
    req.on("error", () => this.failures++);
    req.end(body);
  }

  get sent(): number {
    return this.n;
  }

  close(): void {
    this.agent.destroy();
  }
}

async function measure(transport: TransportKind, o: MeasureOptions): Promise<Omit<TransportSample, "background">> {
  const progress = o.progress;
  const n = o.subscribers ?? 500;
  const rate = o.rate ?? 20;
  const limit = o.p99LimitMs ?? 100;
  progress.update(`${o.label}: starting the server`, true);
  let child: ServerChild | null = null;
  let subs: Subscribers | null = null;
  let producers: Producers | null = null;
  try {
    const kind = transport === "sse-raw" || transport === "longpoll-raw" ? transport : transport.endsWith("-before") ? "before" : "ours";
    child = o.shared ?? (await startServer(kind, o, o.usePostgres));
    const srv = child;
    const port = child.port;
    const ours = !BARE.has(transport);
    const cookies = ours ? await signInMany(`http://127.0.0.1:${port}`, o.people ?? 50, "sub") : [""];

    // Per-window accounting: deliveries of events sent inside the window.
    let windowFrom = Infinity;
    let windowTo = Infinity;
    let deliveries = 0;
    // Every arrival, to know when the queues are empty again.
    let arrived = 0;
    const latency = new Latency();
    const onSent = (t: number) => {
      arrived++;
      if (t >= windowFrom && t <= windowTo) {
        deliveries++;
        latency.record(performance.now() - t);
      }
    };

    progress.update(`${o.label}: opening ${n} subscribers`, true);
    subs = await openSubscribers(wireOf(transport), port, n, cookies, onSent, progress, o.label);
    producers = new Producers(port, ours);
    const prod = producers;

    // Warm-up: one event must reach every subscriber.
    await prod.ready(rate);
    windowFrom = -Infinity;
    prod.send();
    const until = performance.now() + 30_000;
    while (deliveries < n && performance.now() < until) {
      progress.update(`${o.label}: warm-up, ${deliveries}/${n} delivered`);
      await sleep(20);
    }
    if (deliveries < n) throw new Error(`warm-up: ${deliveries} of ${n} subscribers got the first event within 30 s`);
    windowFrom = Infinity;

    /**
     * Sends open-loop at `eventsPerSec` for `warmupMs + ms`, counting the events sent after
     * `warmupMs`; waits up to `graceMs` for their last deliveries (late ones count, and show
     * in the latency), then for the queues to drain before the next window.
     */
    const window = async (eventsPerSec: number, ms: number, warmupMs: number, graceMs: number): Promise<TransportWindow> => {
      await prod.ready(eventsPerSec);
      latency.reset();
      deliveries = 0;
      windowFrom = Infinity;
      windowTo = Infinity;
      const started = performance.now();
      let sent = 0;
      let inWindow = 0;
      let stats0: ChildStats | null = null;
      let requests0 = 0;
      let self0 = process.cpuUsage();
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const now = performance.now();
          const due = Math.floor(((now - started) * eventsPerSec) / 1000);
          if (windowFrom === Infinity && now - started >= warmupMs) {
            windowFrom = now;
            deliveries = 0;
            latency.reset();
            subs!.start();
            requests0 = subs!.requests();
            self0 = process.cpuUsage();
            void srv.stats().then((s) => (stats0 = s));
          }
          while (sent < due) {
            prod.send();
            sent++;
            if (windowFrom !== Infinity) inWindow++;
          }
          if (now - started >= warmupMs + ms) {
            clearInterval(timer);
            resolve();
          }
          if (windowFrom !== Infinity) progress.update(`${o.label}: ${fmt(eventsPerSec)} events/s, ${fmt((deliveries / Math.max(1, now - windowFrom)) * 1000)} deliveries/s`);
        }, 1);
      });
      windowTo = performance.now();
      const self1 = process.cpuUsage(self0);
      const seconds = (windowTo - windowFrom) / 1000;
      const expected = inWindow * n;
      const waitUntil = performance.now() + graceMs;
      while (deliveries < expected && performance.now() < waitUntil) await sleep(20);
      const stats1 = await srv.stats();
      const bytes = subs!.bytes();
      const requests = subs!.requests() - requests0;
      const cpuUs = stats0 ? cpuDeltaUs(stats0, stats1) : NaN;
      const p99 = latency.p(99);
      const counted = deliveries;
      windowFrom = Infinity;
      // The next window starts with empty queues (at most a few seconds' wait).
      const drainUntil = performance.now() + 5000;
      while (arrived < (prod.sent - prod.failures) * n && performance.now() < drainUntil) await sleep(20);
      await sleep(200);
      return {
        rate: round(eventsPerSec, 1),
        seconds: round(seconds, 2),
        events: inWindow,
        deliveries: counted,
        completeness: round(counted / Math.max(1, expected), 4),
        deliveriesPerSec: round(counted / seconds, 0),
        p50Ms: round(latency.p(50), 2),
        p99Ms: round(p99, 2),
        bytesDownPerDelivery: round(bytes.read / Math.max(1, counted), 1),
        bytesUpPerDelivery: round(bytes.written / Math.max(1, counted), 2),
        requestsPerDelivery: round(requests / Math.max(1, counted), 4),
        serverCpuPercent: round(cpuUs / 1e4 / seconds, 1),
        serverCpuUsPerDelivery: round(cpuUs / Math.max(1, counted), 2),
        loadGenCpuPercent: round((self1.user + self1.system) / 1e4 / seconds, 1),
        pass: counted >= expected * 0.99 && p99 <= limit,
      };
    };

    await srv.settled();
    if (o.profileDir) await srv.profileStart(undefined, { heap: o.heapProfile });
    const { pass: _pass, ...fixed } = await window(rate, o.durationMs ?? 5000, o.warmupMs ?? 1000, 3000);
    if (o.profileDir) {
      mkdirSync(o.profileDir, { recursive: true });
      const file = path.resolve(o.profileDir, `transports-${transport}-run${o.run + 1}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
      await srv.profileStop(file);
      progress.note(`${o.label}: profile ${file}`);
    }
    const search =
      o.search === false
        ? { steps: [], best: null }
        : await findMaxRate({ start: rate, factor: o.factor ?? 1.5, bisect: o.bisect ?? 3, maxSteps: o.maxSteps ?? 16, near: o.near }, (r) =>
            window(r, o.stepMs ?? 1000, 0, o.graceMs ?? 1000),
          );
    return { transport, run: o.run, ...fixed, steps: search.steps, best: search.best };
  } finally {
    subs?.close();
    producers?.close();
    if (!o.shared) await child?.stop();
  }
}

async function openSubscribers(
  transport: "ws" | "sse" | "sse-raw" | "longpoll",
  port: number,
  n: number,
  cookies: string[],
  onSent: (sentAt: number) => void,
  progress: Progress,
  label: string,
): Promise<Subscribers> {
  const cookie = (i: number) => cookies[i % cookies.length]!;
  const report = (d: number) => progress.update(`${label}: opened ${d}/${n}`);

  if (transport === "ws") {
    const joined = new Uint8Array(n);
    const sockets = await openMany(
      n,
      (i) =>
        FastWs.connect({
          port,
          path: "/ws",
          protocols: ["rt.v1"],
          headers: { Cookie: cookie(i) },
          onFrame: (p) => {
            // One event per frame: its marker, without decoding the frame.
            const t = sendTimeIn(p);
            if (!Number.isNaN(t)) onSent(t);
            else if (p.toString("latin1", 0, 16) === '{"type":"joined"') joined[i] = 1;
          },
        }),
      { concurrency: 100, onProgress: report },
    );
    for (const ws of sockets) ws.send(`{"type":"join","room":"general"}`);
    while (joined.some((j) => j === 0)) await sleep(20);
    const meter = new SocketMeter();
    for (const ws of sockets) meter.add(ws);
    return {
      start: () => meter.start(),
      bytes: () => meter.totals(),
      requests: () => 0,
      close: () => sockets.forEach((s) => s.close()),
    };
  }

  const meter = new SocketMeter();
  let requests = 0;
  let closed = false;
  // SSE and long polling: bytes through the meter's sockets, requests as counted here.
  const metered = (destroy: () => void): Subscribers => ({
    start: () => meter.start(),
    bytes: () => meter.totals(),
    requests: () => requests,
    close() {
      closed = true;
      destroy();
    },
  });

  if (transport === "sse" || transport === "sse-raw") {
    // The lean SSE client (bench/lib/sse.ts): one GET, the chunked body scanned for markers.
    const sockets = await openMany(
      n,
      async (i) => {
        const sock = await openRawSse({
          port,
          path: "/api/stream?streams=room:general",
          headers: transport === "sse" ? { Cookie: cookie(i) } : {},
          onEvents: (buf, end) => forEachSendTime(buf, end, onSent),
        });
        requests++;
        meter.add(sock);
        return sock;
      },
      { concurrency: 50, onProgress: report },
    );
    return metered(() => {
      for (const sock of sockets) sock.destroy();
    });
  }

  // Long polling: each subscriber polls again as soon as an answer arrives, from its cursor,
  // sending back the answer's `state` and naming its `Poll-Next` ticket as the app's client does
  // (protocols 1.3 and 1.17; an earlier server ignores both: it answers with the rooms' state
  // every time, and reads every poll afresh). The lean poller (bench/lib/poller.ts):
  // one keep-alive connection each, answers scanned as bytes.
  const pollers: LeanPoller[] = [];
  const pathFrom = (i: number, at: PollPosition | null) =>
    at === null
      ? `/api/poll?streams=room:general&wait=0&client=b${i}`
      : `/api/poll?streams=room:general&wait=25&client=b${i}&cursor=${encodeURIComponent(at.cursor)}` +
        (at.state ? `&state=${encodeURIComponent(at.state)}` : "") +
        (at.next ? `&next=${encodeURIComponent(at.next)}` : "");
  const openPoller = async (i: number, first: (() => void) | null): Promise<void> => {
    let at: PollPosition | null = null;
    let onFirst = first;
    const next = () => {
      requests++;
      poller.get(pathFrom(i, at));
    };
    const poller: LeanPoller = await LeanPoller.connect({
      port,
      headers: cookie(i) ? { Cookie: cookie(i) } : {},
      onAnswer(status, body, ticket) {
        if (status !== 200) return void setTimeout(() => !closed && next(), 100);
        forEachSendTime(body, body.length, onSent);
        at = { ...positionAfter(body), next: ticket };
        // The first poll answers at once with the cursor (wait=0); the rest hold.
        onFirst?.();
        onFirst = null;
        next();
      },
      onClose() {
        // The server closed the connection (a refusal, a restart): a new one, from the same position.
        if (!closed) setTimeout(() => void openPoller(i, null).catch(() => {}), 100);
      },
    });
    pollers[i] = poller;
    meter.add(poller.socket);
    next();
  };
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => void openPoller(i, resolve).catch(reject));
    report(i + 1);
  }
  await sleep(500);
  return metered(() => {
    for (const p of pollers) p.close();
  });
}

const NAMES: Record<TransportKind, string> = {
  ws: "WebSocket",
  sse: "SSE",
  "sse-raw": "bare http SSE server (baseline)",
  longpoll: "long polling",
  "longpoll-raw": "bare http long-poll server (baseline)",
  "sse-before": "SSE, before (--before)",
  "longpoll-before": "long polling, before (--before)",
};

export function transportsMarkdown(r: TransportsResults): string {
  const ws = r.summary.find((s) => s.transport === "ws");
  const sse = r.summary.find((s) => s.transport === "sse");
  const bare = r.summary.find((s) => s.transport === "sse-raw");
  const rate = r.samples[0]?.rate ?? NaN;
  const fixed = table(
    ["transport", "deliveries/s", "delivered", "latency p50 / p99 ms (min–max)", "bytes down per delivery", "bytes up per delivery", "requests per delivery", "server CPU-µs per delivery", "CPU vs WebSocket"],
    r.summary.map((s) => [
      NAMES[s.transport],
      fmt(s.deliveriesPerSec),
      `${(s.completeness * 100).toFixed(1)}%`,
      `${fmt(s.p50Ms)} / ${fmtSpan(s.p99Ms, s.p99Span)}`,
      fmt(s.bytesDownPerDelivery),
      fmt(s.bytesUpPerDelivery),
      fmt(s.requestsPerDelivery, 3),
      fmt(s.serverCpuUsPerDelivery),
      ws ? ratio(s.serverCpuUsPerDelivery, ws.serverCpuUsPerDelivery) : "–",
    ]),
  );
  const parts = [`**At a fixed ${fmt(rate)} events/s** (to every subscriber; medians over the runs)`, fixed];
  const searched = r.summary.filter((s) => s.max);
  if (searched.length > 0) {
    parts.push(
      "**Highest rate with p99 ≤ 100 ms and ≥ 99% delivered** (rates step up ×1.5, then bisection)",
      table(
        ["transport", "events/s", "deliveries/s (min–max over the runs)", "p50 / p99 ms", "requests per delivery", "server CPU-µs per delivery", "load generator CPU %", "vs WebSocket"],
        searched.map((s) => [
          NAMES[s.transport],
          fmt(s.max!.eventsPerSec),
          fmtSpan(s.max!.deliveriesPerSec, s.max!.deliveriesPerSecSpan),
          `${fmt(s.max!.p50Ms)} / ${fmt(s.max!.p99Ms)}`,
          fmt(s.max!.requestsPerDelivery ?? NaN, 3),
          fmt(s.max!.serverCpuUsPerDelivery),
          fmt(s.max!.loadGenCpuPercent),
          ws?.max ? ratio(s.max!.deliveriesPerSec, ws.max.deliveriesPerSec) : "–",
        ]),
      ),
    );
  }
  if (sse && bare) {
    parts.push(
      `ours' SSE ÷ the bare SSE server: server CPU-µs per delivery at ${fmt(rate)} events/s ${ratio(sse.serverCpuUsPerDelivery, bare.serverCpuUsPerDelivery)}, ` +
        `bytes down per delivery ${ratio(sse.bytesDownPerDelivery, bare.bytesDownPerDelivery)}` +
        (sse.max && bare.max ? `, highest deliveries/s ${ratio(sse.max.deliveriesPerSec, bare.max.deliveriesPerSec)}` : ""),
    );
  }
  const lp = r.summary.find((s) => s.transport === "longpoll");
  const bareLp = r.summary.find((s) => s.transport === "longpoll-raw");
  if (lp && bareLp) {
    parts.push(
      `ours' long polling ÷ the bare long-poll server: server CPU-µs per delivery at ${fmt(rate)} events/s ${ratio(lp.serverCpuUsPerDelivery, bareLp.serverCpuUsPerDelivery)}` +
        (lp.max && bareLp.max ? `, highest deliveries/s ${ratio(lp.max.deliveriesPerSec, bareLp.max.deliveriesPerSec)}` : ""),
    );
  }
  for (const [now, before, name] of [
    [sse, r.summary.find((s) => s.transport === "sse-before"), "SSE"],
    [r.summary.find((s) => s.transport === "longpoll"), r.summary.find((s) => s.transport === "longpoll-before"), "long polling"],
  ] as const) {
    if (!now || !before) continue;
    parts.push(
      `${name}, this server ÷ before: server CPU-µs per delivery at ${fmt(rate)} events/s ${ratio(now.serverCpuUsPerDelivery, before.serverCpuUsPerDelivery)}, ` +
        `p50 ${fmt(now.p50Ms)} vs ${fmt(before.p50Ms)} ms, requests per delivery ${fmt(now.requestsPerDelivery, 3)} vs ${fmt(before.requestsPerDelivery, 3)}` +
        (now.max && before.max ? `, highest deliveries/s ${ratio(now.max.deliveriesPerSec, before.max.deliveriesPerSec)}` : ""),
    );
  }
  return parts.join("\n\n");
}

benchScript(import.meta.url, {
  name: "transports",
  settings: ({ quick, runs, num, get, has }) => ({
    subscribers: num("subscribers", quick ? 50 : 500),
    rate: num("rate", 20),
    runs: runs ?? (quick ? 1 : 3),
    durationMs: num("duration", quick ? 1000 : 5000),
    warmupMs: num("warmup", quick ? 300 : 1000),
    people: num("people", 50),
    transports: (get("transports")?.split(",") as TransportKind[] | undefined) ?? (get("before") ? [...TRANSPORTS, "sse-before", "longpoll-before"] : TRANSPORTS),
    before: get("before"),
    profileDir: get("profile"),
    heapProfile: has("heap"),
    search: !has("no-search"),
    stepMs: num("step", quick ? 500 : 1000),
    graceMs: num("grace", quick ? 500 : 1000),
    factor: num("factor", 1.5),
    bisect: num("bisect", 3),
    maxSteps: num("max-steps", quick ? 2 : 16),
    p99LimitMs: num("p99", 100),
    resume: !has("no-resume"),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runTransports({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({ ...settings, database: results.database, pinning }),
  markdown: transportsMarkdown,
});
