// bench:restart — how soon, and how spread out, pages come back after their server dies. A
// thousand of the app's own realtime clients (lib/realtime/client.ts over `ws`, each in a room
// and signed in as a person of its own) are connected to one server; it is killed (SIGKILL: no
// drain, no 1012, every socket just drops), kept down `--down` ms more, and started again on the
// same port and database. Each client resumes by itself, on its reconnect backoff. Per client:
// when its room was joined again, against the moment `/readyz` first answered 200 (polled every
// 20 ms from the restart), split into the backoff's share (when the attempt that got through
// began) and the server's (that attempt's handshake, then its join).
// The same trial with the backoff before (1 s doubling to a 30 s cap) and after (to a 4 s cap),
// alternating which goes first, each on the same server and database.
//
// The clients force the WebSocket (`transport: "websocket"`): in "auto" a client that fails
// twice while the server answers HTTP moves to long polling, which would measure the fallback.
import { mkdirSync } from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS } from "../lib/realtime/backoff";
import { RealtimeClient } from "../lib/realtime/client";
import type { WebSocketLike } from "../lib/realtime/types";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore, startServerChild, type ServerChild } from "./lib/child";
import { createRoom, signInMany } from "./lib/clients";
import { fmt, fmtSpan, median, Progress, ratio, raiseFileLimit, rotation, round, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { createPostgresDatabase, dropPostgresDatabase, postgresAvailable } from "./lib/db";
import { benchScript } from "./lib/script";
import type { AppServerOptions } from "./servers/app";

export type RestartBackoff = "before" | "after";
export const RESTART_BACKOFFS: Record<RestartBackoff, { baseMs: number; capMs: number }> = {
  /** The constants the client had before the cap came down: 1 s doubling to 30 s. */
  before: { baseMs: 1_000, capMs: 30_000 },
  /** The client's own defaults. */
  after: { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS },
};

export interface RestartOptions {
  clients?: number;
  /** People the clients are signed in as (default: one each, as browsers sharing one connection across their tabs). */
  people?: number;
  /** Rooms the clients are spread over (one each). */
  rooms?: number;
  runs?: number;
  backoffs?: RestartBackoff[];
  /** How long the server stays down after it is killed, before it is started again, each. */
  downMs?: number[];
  /** The server's port, the same across restarts. */
  port?: number;
  /** A client not back this long after `/readyz` counts as not resumed. */
  resumeTimeoutMs?: number;
  quietWaitMs?: number;
  /** Writes a CPU profile of each restarted server, from `/readyz` until every client is back. */
  profileDir?: string;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  progress?: Progress;
}

export interface RestartSample {
  backoff: RestartBackoff;
  downMs: number;
  run: number;
  clients: number;
  resumed: number;
  /** From the kill to `/readyz` answering 200. */
  outageMs: number;
  /** Each client's room joined again, after `/readyz` answered (ms; below 0: before the poll saw it). */
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** The middle 90% of the resumes: from the 5th to the 95th percentile. */
  spreadMs: number;
  /** The herd: the most resumes within any 1 s, and within any 100 ms (×10, per second). */
  peakPerS: number;
  peak100msPerS: number;
  /** WebSocket attempts from the kill until every client was back, per client. */
  attemptsPerClient: number;
  /**
   * The backoff's share: when each client started the attempt that got through, after `/readyz`
   * answered (ms). The rest of its time to resume is the server's (accept, handshake, join).
   */
  attemptP50Ms: number;
  attemptP95Ms: number;
  /**
   * The server's share: that attempt's handshake (connect to open: accepting it, looking the
   * session up) and then its join (open to joined), p50 and p95 (ms).
   */
  handshakeP50Ms: number;
  handshakeP95Ms: number;
  joinWaitP50Ms: number;
  joinWaitP95Ms: number;
  /**
   * CPU the restarted server spent from `/readyz` answering until every client was back, per
   * client resumed (ms): how many reconnects a second one free core absorbs.
   */
  serverCpuMsPerResume: number;
  /** Attempts begun after `/readyz` answered that did not open, by what the socket said. */
  failedAfterReady: Record<string, number>;
  /** Resumes in each 250 ms from `/readyz` answering (the first bucket takes any before it). */
  timeline: number[];
  background: number;
}

export interface RestartSummary {
  backoff: RestartBackoff;
  downMs: number;
  runs: number;
  clients: number;
  resumed: number;
  outageMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  spreadMs: number;
  peakPerS: number;
  peak100msPerS: number;
  attemptsPerClient: number;
  attemptP95Ms: number;
  handshakeP95Ms: number;
  joinWaitP95Ms: number;
  /** Attempts begun after `/readyz` that never opened, per client (the runs' median). */
  failedAfterReadyPerClient: number;
  serverCpuMsPerResume: number;
  p95Span: Span;
  maxSpan: Span;
  peakSpan: Span;
}

export interface RestartResults {
  samples: RestartSample[];
  summary: RestartSummary[];
  database: "postgres";
}

export async function runRestart(opts: RestartOptions = {}): Promise<RestartResults> {
  const n = opts.clients ?? 1000;
  const people = Math.min(n, opts.people ?? n);
  const roomCount = opts.rooms ?? 10;
  const runs = opts.runs ?? 2;
  const backoffs = opts.backoffs ?? (["before", "after"] as RestartBackoff[]);
  const downs = opts.downMs ?? [0, 10_000];
  const port = opts.port ?? 3420;
  const resumeTimeoutMs = opts.resumeTimeoutMs ?? 90_000;
  const progress = opts.progress ?? new Progress("restart", false);
  // Each client is a socket here and one in the server (which inherits this limit).
  raiseFileLimit(n * 2 + 1000);
  // A restarted server must find the rooms and the sessions where the first one left them.
  if (!(await postgresAvailable())) throw new Error("bench:restart needs Postgres (DATABASE_URL or postgres://postgres@127.0.0.1:5432)");
  const databaseUrl = await createPostgresDatabase();
  const start = () =>
    startServerChild("app", { databaseUrl, port } satisfies AppServerOptions, { core: serverCore(opts.serverCore) });
  let server: ServerChild | null = null;
  const samples: RestartSample[] = [];
  try {
    server = await start();
    const base = `http://127.0.0.1:${port}`;
    const cookies = await signInMany(base, people, "tab");
    const rooms = Array.from({ length: roomCount }, (_, i) => `restart-${i}`);
    for (const room of rooms) await createRoom(base, cookies[0]!, room);

    for (let run = 0; run < runs; run++) {
      for (const downMs of downs) {
        for (const backoff of rotation(backoffs, run)) {
          progress.update(`run ${run + 1}/${runs}, down ${downMs} ms, backoff ${backoff}: connecting ${n} clients`, true);
          const out = await trial({ server, start, base, cookies, rooms, n, backoff, downMs, run, resumeTimeoutMs, quietWaitMs: opts.quietWaitMs ?? 10_000, progress, profileDir: opts.profileDir });
          server = out.server;
          samples.push(out.sample);
          const s = out.sample;
          progress.note(
            `run ${run + 1}, down ${downMs} ms, ${backoff}: ${s.resumed}/${s.clients} back; after /readyz p50 ${fmt(s.p50Ms / 1000)} s, p95 ${fmt(s.p95Ms / 1000)} s, max ${fmt(s.maxMs / 1000)} s; peak ${fmt(s.peakPerS)}/s`,
          );
        }
      }
    }
  } finally {
    await server?.stop();
    await dropPostgresDatabase(databaseUrl).catch(() => {});
  }
  progress.done();
  return { samples, summary: summarize(samples), database: "postgres" };
}

interface TrialInput {
  server: ServerChild;
  start: () => Promise<ServerChild>;
  base: string;
  cookies: string[];
  rooms: string[];
  n: number;
  backoff: RestartBackoff;
  downMs: number;
  run: number;
  resumeTimeoutMs: number;
  quietWaitMs: number;
  /** Writes a CPU profile of the restarted server, from `/readyz` until every client is back. */
  profileDir?: string;
  progress: Progress;
}

async function trial(t: TrialInput): Promise<{ server: ServerChild; sample: RestartSample }> {
  const { baseMs, capMs } = RESTART_BACKOFFS[t.backoff];
  const attempts: number[] = [];
  let killedAt = Infinity;
  let readyAt = Infinity;
  const failedAfterReady: Record<string, number> = {};
  const joinedAt: number[] = new Array<number>(t.n).fill(NaN);
  const resumedAt: number[] = new Array<number>(t.n).fill(NaN);
  /** When each client's first socket after the kill opened, and when that attempt began. */
  const reopenedAt: number[] = new Array<number>(t.n).fill(NaN);
  const reopenAttemptAt: number[] = new Array<number>(t.n).fill(NaN);
  const clients = Array.from({ length: t.n }, (_, i) => {
    const cookie = t.cookies[i % t.cookies.length]!;
    const client = new RealtimeClient({
      baseUrl: t.base,
      transport: "websocket",
      backoffBaseMs: baseMs,
      backoffCapMs: capMs,
      fetch: (input, init = {}) => {
        const headers = new Headers(init.headers);
        headers.set("cookie", cookie);
        return fetch(input, { ...init, headers });
      },
      createWebSocket: (url, protocols) => {
        const ws = new WebSocket(url, protocols, { headers: { cookie }, perMessageDeflate: false });
        const attemptAt = performance.now();
        ws.once("error", (err) => {
          if (attemptAt < readyAt) return;
          const why = err.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, "").trim();
          failedAfterReady[why] = (failedAfterReady[why] ?? 0) + 1;
        });
        if (attemptAt >= killedAt) {
          attempts.push(attemptAt);
          ws.once("open", () => {
            if (!Number.isNaN(reopenedAt[i])) return;
            reopenedAt[i] = performance.now();
            reopenAttemptAt[i] = attemptAt;
          });
        }
        return ws as unknown as WebSocketLike;
      },
    });
    client.on("joined", () => {
      const now = performance.now();
      if (now < killedAt) joinedAt[i] = now;
      else if (Number.isNaN(resumedAt[i])) resumedAt[i] = now;
    });
    return client;
  });
  let server = t.server;
  try {
    // Connect a few at a time, as pages open over a morning, not all in one burst.
    for (let i = 0; i < t.n; i++) {
      clients[i]!.start();
      clients[i]!.join(t.rooms[i % t.rooms.length]!);
      if (i % 50 === 49) await sleep(20);
    }
    await until(() => joinedAt.every((x) => !Number.isNaN(x)), 120_000, "every client joined");
    await server.settled(0.1, 30_000);
    const background = await waitForQuiet({ maxWaitMs: t.quietWaitMs, progress: t.progress });

    t.progress.update(`run ${t.run + 1}, down ${t.downMs} ms, backoff ${t.backoff}: killing the server`, true);
    killedAt = performance.now();
    process.kill(server.pid, "SIGKILL");
    await server.stop();
    await sleep(t.downMs);
    const restarting = t.start();
    readyAt = await readyzAnswers(t.base, 60_000);
    server = await restarting;
    const cpuAtReady = await server.stats();
    const profiling = t.profileDir ? server.profileStart() : null;
    t.progress.update(`run ${t.run + 1}, down ${t.downMs} ms, backoff ${t.backoff}: waiting for every client`, true);
    await until(() => resumedAt.every((x) => !Number.isNaN(x)), t.resumeTimeoutMs, null);
    const serverCpuMs = cpuDeltaUs(cpuAtReady, await server.stats()) / 1000;
    if (profiling) {
      await profiling;
      mkdirSync(t.profileDir!, { recursive: true });
      const file = path.resolve(t.profileDir!, `restart-${t.backoff}-down${t.downMs}-run${t.run + 1}.cpuprofile`);
      await server.profileStop(file);
      t.progress.note(`CPU profile ${file}`);
    }

    const back = resumedAt.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const after = back.map((x) => x - readyAt);
    const attemptAfter = reopenAttemptAt.filter((x) => !Number.isNaN(x)).map((x) => x - readyAt).sort((a, b) => a - b);
    const handshake = reopenedAt.map((x, i) => x - reopenAttemptAt[i]!).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const joinWait = resumedAt.map((x, i) => x - reopenedAt[i]!).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const timeline: number[] = [];
    for (const ms of after) {
      const bucket = Math.max(0, Math.floor(ms / 250));
      while (timeline.length <= bucket) timeline.push(0);
      timeline[bucket]!++;
    }
    return {
      server,
      sample: {
        backoff: t.backoff,
        downMs: t.downMs,
        run: t.run,
        clients: t.n,
        resumed: back.length,
        outageMs: round(readyAt - killedAt, 0),
        p50Ms: round(percentile(after, 50), 0),
        p95Ms: round(percentile(after, 95), 0),
        maxMs: round(percentile(after, 100), 0),
        spreadMs: round(percentile(after, 95) - percentile(after, 5), 0),
        peakPerS: peakWithin(back, 1000),
        peak100msPerS: peakWithin(back, 100) * 10,
        attemptsPerClient: round(attempts.length / t.n, 1),
        attemptP50Ms: round(percentile(attemptAfter, 50), 0),
        attemptP95Ms: round(percentile(attemptAfter, 95), 0),
        handshakeP50Ms: round(percentile(handshake, 50), 0),
        handshakeP95Ms: round(percentile(handshake, 95), 0),
        joinWaitP50Ms: round(percentile(joinWait, 50), 0),
        joinWaitP95Ms: round(percentile(joinWait, 95), 0),
        serverCpuMsPerResume: round(serverCpuMs / Math.max(1, back.length), 2),
        failedAfterReady,
        timeline,
        background,
      },
    };
  } finally {
    for (const c of clients) c.stop();
  }
}

/** Polls `/readyz` every 20 ms until it answers 200; the moment it did. */
async function readyzAnswers(base: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return performance.now();
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms of the restart`);
}

/** Waits until `done()`; past `ms`, throws (with `what`) or, for null, returns. */
async function until(done: () => boolean, ms: number, what: string | null): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) {
      if (what === null) return;
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(25);
  }
}

/** The q-th percentile of sorted `xs` (nearest rank); NaN when empty. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The most of sorted times `ts` within any window of `windowMs`. */
export function peakWithin(ts: number[], windowMs: number): number {
  let best = 0;
  for (let lo = 0, hi = 0; hi < ts.length; hi++) {
    while (ts[hi]! - ts[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

function summarize(samples: RestartSample[]): RestartSummary[] {
  const out: RestartSummary[] = [];
  const keys = [...new Set(samples.map((s) => `${s.downMs}|${s.backoff}`))];
  for (const key of keys) {
    const of = samples.filter((s) => `${s.downMs}|${s.backoff}` === key);
    const med = (f: (s: RestartSample) => number) => round(median(of.map(f)), 1);
    out.push({
      backoff: of[0]!.backoff,
      downMs: of[0]!.downMs,
      runs: of.length,
      clients: of[0]!.clients,
      resumed: Math.min(...of.map((s) => s.resumed)),
      outageMs: med((s) => s.outageMs),
      p50Ms: med((s) => s.p50Ms),
      p95Ms: med((s) => s.p95Ms),
      maxMs: med((s) => s.maxMs),
      spreadMs: med((s) => s.spreadMs),
      peakPerS: med((s) => s.peakPerS),
      peak100msPerS: med((s) => s.peak100msPerS),
      attemptsPerClient: med((s) => s.attemptsPerClient),
      attemptP95Ms: med((s) => s.attemptP95Ms),
      handshakeP95Ms: med((s) => s.handshakeP95Ms),
      joinWaitP95Ms: med((s) => s.joinWaitP95Ms),
      failedAfterReadyPerClient: round(median(of.map((s) => Object.values(s.failedAfterReady).reduce((a, b) => a + b, 0) / s.clients)), 2),
      serverCpuMsPerResume: round(median(of.map((s) => s.serverCpuMsPerResume)), 2),
      p95Span: span(of.map((s) => s.p95Ms), 0),
      maxSpan: span(of.map((s) => s.maxMs), 0),
      peakSpan: span(of.map((s) => s.peakPerS), 0),
    });
  }
  return out;
}

const sec = (ms: number) => fmt(ms / 1000, 1);
const secSpan = (ms: number, s: Span) => fmtSpan(ms / 1000, [s[0] / 1000, s[1] / 1000], 1);

export function restartMarkdown(r: RestartResults): string {
  const rows = r.summary.map((s) => {
    const before = r.summary.find((b) => b.downMs === s.downMs && b.backoff === "before");
    const vs = s.backoff === "after" && before ? `p95 ${ratio(s.p95Ms, before.p95Ms)}, max ${ratio(s.maxMs, before.maxMs)}, peak ${ratio(s.peakPerS, before.peakPerS)}` : "";
    return [
      s.downMs === 0 ? "restarted at once" : `${sec(s.downMs)} s more`,
      s.backoff === "before" ? "before (1 s ×2, cap 30 s)" : `after (${fmt(BACKOFF_BASE_MS / 1000, 0)} s ×2, cap ${fmt(BACKOFF_CAP_MS / 1000, 0)} s)`,
      `${fmt(s.resumed)}/${fmt(s.clients)}`,
      sec(s.outageMs),
      sec(s.p50Ms),
      secSpan(s.p95Ms, s.p95Span),
      secSpan(s.maxMs, s.maxSpan),
      sec(s.spreadMs),
      fmtSpan(s.peakPerS, s.peakSpan, 0),
      fmt(s.peak100msPerS, 0),
      sec(s.attemptP95Ms),
      sec(s.handshakeP95Ms),
      sec(s.joinWaitP95Ms),
      fmt(s.attemptsPerClient, 1),
      fmt(s.failedAfterReadyPerClient, 2),
      fmt(s.serverCpuMsPerResume, 2),
      vs,
    ];
  });
  return table(
    [
      "server down",
      "client backoff",
      "resumed",
      "kill → /readyz (s)",
      "p50 after /readyz (s)",
      "p95 (s; min–max)",
      "max (s; min–max)",
      "spread p5→p95 (s)",
      "peak resumes per 1 s (min–max)",
      "peak per 100 ms, ×10",
      "p95 start of the attempt that got through (s)",
      "p95 its handshake (s)",
      "p95 open → joined (s)",
      "attempts per client",
      "failed after /readyz, per client",
      "server CPU ms per resume",
      "after ÷ before",
    ],
    rows,
  );
}

/** The issue's bar for the new backoff: p95 back within 5 s of /readyz, over at least 1 s. */
export function restartChecks(r: RestartResults): string[] {
  return r.summary
    .filter((s) => s.backoff === "after")
    .map((s) => {
      const fast = s.p95Ms <= 5_000;
      const spread = s.spreadMs >= 1_000;
      return `after, ${s.downMs === 0 ? "restarted at once" : `down ${sec(s.downMs)} s more`}: p95 ${sec(s.p95Ms)} s ${fast ? "≤" : ">"} 5 s; resumes spread over ${sec(s.spreadMs)} s ${spread ? "≥" : "<"} 1 s`;
    });
}

benchScript(import.meta.url, {
  name: "restart",
  settings: ({ quick, runs, num, get }) => ({
    clients: num("clients", quick ? 100 : 1000),
    people: num("people", quick ? 100 : 1000),
    rooms: num("rooms", 10),
    runs: runs ?? (quick ? 1 : 2),
    backoffs: (get("backoffs")?.split(",") as RestartBackoff[] | undefined) ?? (["before", "after"] as RestartBackoff[]),
    downMs: get("down")?.split(",").map(Number) ?? (quick ? [0] : [0, 10_000]),
    port: num("port", 3420),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
    ...(get("profile") ? { profileDir: get("profile") } : {}),
  }),
  run: (settings, progress) => runRestart({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, _results, pinning) => ({
    ...settings,
    backoffs: RESTART_BACKOFFS,
    database: "a fresh Postgres database, kept across the restarts",
    pinning,
  }),
  markdown: restartMarkdown,
  notes: restartChecks,
});
