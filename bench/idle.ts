// bench:idle — what an idle connection costs the server: 10k idle WebSockets (each joined to
// a room) and 10k idle SSE streams (feed + notifications), server RSS and heap per connection
// after a full GC, beside bare `ws` and bare-http SSE servers holding the same connections.
// Each phase gets a fresh server in a child process pinned to CPU 0 with a raised open-file
// limit; the load generator raises its own. If the target count cannot be reached, the phase
// measures what was reached and says so.
import http from "node:http";
import type { Socket } from "node:net";
import { startAppServer, usePostgres } from "./lib/app-server";
import { SERVER_CHILD_PINNING, serverCore, startServerChild, type ChildStats, type ServerChild } from "./lib/child";
import { openMany, signInMany } from "./lib/clients";
import { fmt, fmtSpan, median, Progress, raiseFileLimit, ratio, rotation, round, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { FastWs } from "./lib/fastws";
import { benchScript } from "./lib/script";

export type IdleServer = "ours-ws" | "raw-ws" | "ours-sse" | "raw-sse";
export const IDLE_SERVERS: IdleServer[] = ["ours-ws", "raw-ws", "ours-sse", "raw-sse"];

export interface IdleOptions {
  connections?: number;
  runs?: number;
  servers?: IdleServer[];
  people?: number;
  settleMs?: number;
  quietWaitMs?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  /** Our server on a fresh Postgres database when one answers, else PGlite in memory. */
  postgres?: boolean;
  progress?: Progress;
}

export interface IdleSample {
  server: IdleServer;
  run: number;
  target: number;
  reached: number;
  /** Why fewer than the target were opened, if so. */
  stoppedBy?: string;
  rssBefore: number;
  rssAfter: number;
  /** Growth from half the connections to all of them, per connection added. */
  rssPerConnection: number;
  heapPerConnection: number;
  externalPerConnection: number;
  /** Growth from none to all, per connection (includes a fresh process's slack being reused). */
  rssPerConnectionFromStart: number;
  openSeconds: number;
  background: number;
}

export interface IdleSummary {
  server: IdleServer;
  runs: number;
  reached: number;
  rssPerConnection: number;
  heapPerConnection: number;
  rssPerConnectionFromStart: number;
  /** The lowest and highest run. */
  rssPerConnectionSpan: Span;
  heapPerConnectionSpan: Span;
  /** Ours ÷ the bare server of the same transport. */
  vsBare: number;
}

export interface IdleResults {
  samples: IdleSample[];
  summary: IdleSummary[];
  fileLimit: number;
}

export async function runIdle(opts: IdleOptions = {}): Promise<IdleResults> {
  const target = opts.connections ?? 10_000;
  const runs = opts.runs ?? 2;
  const servers = opts.servers ?? IDLE_SERVERS;
  const progress = opts.progress ?? new Progress("idle", false);
  // Every connection is a file on both ends: this process, and the server (prlimit on spawn).
  const fileLimit = raiseFileLimit(Math.max(65_536, target * 2 + 1000));
  const samples: IdleSample[] = [];
  const postgres = await usePostgres(opts.postgres);
  let phase = 0;
  for (let run = 0; run < runs; run++) {
    for (const server of rotation(servers, run)) {
      const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
      const label = `${server} run ${run + 1}/${runs}`;
      // A different loopback source address per phase: closed connections' ports stay apart.
      const localAddress = `127.0.0.${2 + (phase++ % 250)}`;
      const s = await measure(server, { ...opts, postgres, target, label, progress, run, localAddress, fileLimit });
      samples.push({ ...s, background });
      progress.note(`${label}: ${s.reached} connections, ${fmt(s.rssPerConnection / 1024, 1)} KiB RSS and ${fmt(s.heapPerConnection / 1024, 1)} KiB heap each`);
    }
  }
  progress.done();
  return { samples, summary: summarize(samples), fileLimit };
}

function summarize(samples: IdleSample[]): IdleSummary[] {
  const med = (server: IdleServer, f: (s: IdleSample) => number) => median(samples.filter((s) => s.server === server).map(f));
  return IDLE_SERVERS.flatMap((server) => {
    const ss = samples.filter((s) => s.server === server);
    if (ss.length === 0) return [];
    const rss = med(server, (s) => s.rssPerConnection);
    const bare = server.startsWith("ours") ? med(server.replace("ours", "raw") as IdleServer, (s) => s.rssPerConnection) : rss;
    return [
      {
        server,
        runs: ss.length,
        reached: Math.min(...ss.map((s) => s.reached)),
        rssPerConnection: round(rss, 0),
        heapPerConnection: round(med(server, (s) => s.heapPerConnection), 0),
        rssPerConnectionFromStart: round(med(server, (s) => s.rssPerConnectionFromStart), 0),
        rssPerConnectionSpan: span(ss.map((s) => s.rssPerConnection), 0),
        heapPerConnectionSpan: span(ss.map((s) => s.heapPerConnection), 0),
        vsBare: round(rss / bare, 2),
      },
    ];
  });
}

interface MeasureOptions extends IdleOptions {
  target: number;
  label: string;
  progress: Progress;
  run: number;
  localAddress: string;
  fileLimit: number;
}

async function measure(server: IdleServer, o: MeasureOptions): Promise<Omit<IdleSample, "background">> {
  const progress = o.progress;
  progress.update(`${o.label}: starting the server`, true);
  // Children inherit this process's raised limit; ask for it explicitly all the same.
  const nofile = o.fileLimit > 0 ? o.fileLimit : undefined;
  // A fixed, small young generation: otherwise V8 grows it while connections open and shrinks
  // it later, and RSS swings by tens of MB for reasons that have nothing to do with connections.
  const nodeArgs = ["--min-semi-space-size=1", "--max-semi-space-size=1"];
  const core = serverCore(o.serverCore);
  const child: ServerChild =
    server === "ours-ws" || server === "ours-sse"
      ? await startAppServer({ postgres: o.postgres ?? false }, { core, nofile, nodeArgs })
      : server === "raw-ws"
        ? await startServerChild("ws-broadcast", { mode: "raw" }, { core, nofile, nodeArgs })
        : await startServerChild("sse-raw", {}, { core, nofile, nodeArgs });
  const port = child.port;
  const ours = server.startsWith("ours");
  const cookies = ours ? await signInMany(`http://127.0.0.1:${port}`, o.people ?? 100, "idle") : [];
  const cookie = (i: number): Record<string, string> => (ours ? { Cookie: cookies[i % cookies.length]! } : {});
  const closers: Array<() => void> = [];
  let stoppedBy: string | undefined;
  try {
    await child.gc();
    const before = await child.stats();
    const started = performance.now();
    let reached = 0;
    const report = (d: number) => progress.update(`${o.label}: ${d}/${o.target} open`);
    const joined = new Uint8Array(o.target);
    const joinedCount = () => joined.reduce((a, j) => a + j, 0);

    const openRange = async (from: number, to: number): Promise<void> => {
      if (server.endsWith("ws")) {
        const path = ours ? "/ws" : "/";
        const protocols = ours ? ["rt.v1"] : [];
        await openMany(
          to - from,
          async (k) => {
            const i = from + k;
            if (stoppedBy) return;
            try {
              const ws = await FastWs.connect({
                port,
                path,
                protocols,
                headers: cookie(i),
                localAddress: o.localAddress,
                onFrame: (p) => {
                  if (p.toString("latin1", 0, 16) === '{"type":"joined"') joined[i] = 1;
                },
              });
              closers.push(() => ws.close());
              ws.send(`{"type":"join","room":"general"}`);
              reached++;
            } catch (err) {
              stoppedBy ??= String((err as Error).message ?? err);
            }
          },
          { concurrency: 200, onProgress: (d) => report(from + d) },
        );
        const until = performance.now() + 60_000;
        while (joinedCount() < reached && performance.now() < until) {
          progress.update(`${o.label}: ${joinedCount()}/${reached} joined`);
          await sleep(100);
        }
      } else {
        await openMany(
          to - from,
          (k) =>
            new Promise<void>((resolve) => {
              const i = from + k;
              if (stoppedBy) return resolve();
              const req = http.request({
                host: "127.0.0.1",
                port,
                path: "/api/stream?streams=feed,user:me",
                agent: false,
                localAddress: o.localAddress,
                headers: { ...cookie(i), Accept: "text/event-stream" },
              });
              let socket: Socket | null = null;
              req.on("socket", (s) => (socket = s));
              req.on("error", (err) => {
                stoppedBy ??= err.message;
                resolve();
              });
              req.on("response", (res) => {
                if (res.statusCode !== 200) {
                  stoppedBy ??= `HTTP ${res.statusCode}`;
                  return resolve();
                }
                res.once("data", () => {
                  reached++;
                  resolve();
                });
                res.on("data", () => {});
                res.on("error", () => {});
                closers.push(() => {
                  try {
                    (socket as Socket | null)?.resetAndDestroy();
                  } catch {
                    req.destroy();
                  }
                });
              });
              req.end();
            }),
          { concurrency: 200, onProgress: (d) => report(from + d) },
        );
      }
    };
    const snapshot = async (): Promise<ChildStats> => {
      progress.update(`${o.label}: ${reached} open; settling`, true);
      await sleep(o.settleMs ?? 1000);
      await child.gc();
      return child.stats();
    };

    // Half, then all: the second half's growth is the cost per connection, free of the slack
    // (freed but resident pages) that a fresh process starts with.
    const half = Math.floor(o.target / 2);
    await openRange(0, half);
    const reachedHalf = reached;
    const mid = await snapshot();
    if (!stoppedBy) await openRange(half, o.target);
    const openSeconds = (performance.now() - started) / 1000;
    const after = await snapshot();
    const n = Math.max(1, reached);
    const n2 = Math.max(1, reached - reachedHalf);
    return {
      server,
      run: o.run,
      target: o.target,
      reached,
      ...(stoppedBy ? { stoppedBy } : {}),
      rssBefore: before.rss,
      rssAfter: after.rss,
      rssPerConnection: round((after.rss - mid.rss) / n2, 0),
      heapPerConnection: round((after.heapUsed - mid.heapUsed) / n2, 0),
      externalPerConnection: round((after.external - mid.external) / n2, 0),
      rssPerConnectionFromStart: round((after.rss - before.rss) / n, 0),
      openSeconds: round(openSeconds, 2),
    };
  } finally {
    for (const close of closers) close();
    await child.stop();
  }
}

const kib = (s: Span): Span => [s[0] / 1024, s[1] / 1024];

export function idleMarkdown(r: IdleResults): string {
  const names: Record<IdleServer, string> = {
    "ours-ws": "ours, WebSocket (joined to a room)",
    "raw-ws": "bare ws server (joined to a room)",
    "ours-sse": "ours, SSE (feed + notifications)",
    "raw-sse": "bare http SSE server",
  };
  const rows = r.summary.map((s) => [
    names[s.server],
    fmt(s.reached),
    fmtSpan(s.rssPerConnection / 1024, kib(s.rssPerConnectionSpan), 1),
    fmtSpan(s.heapPerConnection / 1024, kib(s.heapPerConnectionSpan), 1),
    fmt(s.rssPerConnectionFromStart / 1024, 1),
    s.server.startsWith("ours") ? ratio(s.vsBare, 1) : "",
  ]);
  return table(["server", "connections", "RSS KiB per connection (second half; min–max)", "heap KiB per connection (second half; min–max)", "RSS KiB per connection (from none)", "RSS vs bare server"], rows);
}

benchScript(import.meta.url, {
  name: "idle",
  settings: ({ quick, runs, num, get }) => ({
    connections: num("connections", quick ? 500 : 10_000),
    runs: runs ?? (quick ? 1 : 2),
    servers: (get("servers")?.split(",") as IdleServer[] | undefined) ?? IDLE_SERVERS,
    people: num("people", 100),
    settleMs: num("settle", quick ? 500 : 1000),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runIdle({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({
    ...settings,
    fileLimit: results.fileLimit,
    database: "ours: a fresh Postgres database when one answers, else PGlite in memory",
    pinning,
  }),
  markdown: idleMarkdown,
  notes: (results) =>
    results.samples.filter((s) => s.reached < s.target).map((s) => `${s.server} run ${s.run + 1}: reached ${s.reached} of ${s.target} (${s.stoppedBy ?? "unknown"})`),
});
