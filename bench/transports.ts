// bench:transports — the same event stream (chat messages in one room, at a fixed rate) to
// 500 subscribers over WebSocket, Server-Sent Events and long polling, one transport at a time
// against a fresh server (createApp in a child process pinned to CPU 0), alternating the order
// across runs. Reports deliveries/s, p50/p99 delivery latency (send → subscriber), bytes on the
// wire per delivered event (down and up, measured at the subscribers' sockets) and HTTP
// requests per delivered event.
import http from "node:http";
import net, { type Socket } from "node:net";
import { startAppServer, usePostgres } from "./lib/app-server";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore, type ServerChild } from "./lib/child";
import { openMany, signInMany } from "./lib/clients";
import { fmt, Latency, median, Progress, ratio, rotation, round, sleep, table, waitForQuiet } from "./lib/common";
import { FastWs } from "./lib/fastws";
import { benchScript } from "./lib/script";

export type TransportKind = "ws" | "sse" | "longpoll";
export const TRANSPORTS: TransportKind[] = ["ws", "sse", "longpoll"];

export interface TransportsOptions {
  subscribers?: number;
  /** Events per second into the room. */
  rate?: number;
  durationMs?: number;
  warmupMs?: number;
  runs?: number;
  transports?: TransportKind[];
  people?: number;
  postgres?: boolean;
  quietWaitMs?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  /** One server for every transport of a run (smoke tests), instead of a fresh one each. */
  sharedServer?: boolean;
  progress?: Progress;
}

export interface TransportSample {
  transport: TransportKind;
  run: number;
  seconds: number;
  events: number;
  deliveries: number;
  /** Deliveries ÷ (events × subscribers) inside the window (late ones arrive after it). */
  completeness: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  bytesDownPerDelivery: number;
  bytesUpPerDelivery: number;
  requestsPerDelivery: number;
  serverCpuPercent: number;
  serverCpuUsPerDelivery: number;
  /** This process (all subscribers and producers), % of one core. */
  loadGenCpuPercent: number;
  background: number;
}

export type TransportSummary = Omit<TransportSample, "run" | "seconds" | "events" | "deliveries" | "background" | "loadGenCpuPercent"> & { runs: number };

export interface TransportsResults {
  samples: TransportSample[];
  summary: TransportSummary[];
  database: string;
}

const MARKER = "~t=";

const PAD = " The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs, and so on.";

export async function runTransports(opts: TransportsOptions = {}): Promise<TransportsResults> {
  const runs = opts.runs ?? 3;
  const transports = opts.transports ?? TRANSPORTS;
  const progress = opts.progress ?? new Progress("transports", false);
  const postgres = await usePostgres(opts.postgres);
  const samples: TransportSample[] = [];
  for (let run = 0; run < runs; run++) {
    const shared = opts.sharedServer ? await startServer(opts, postgres) : undefined;
    try {
      for (const transport of rotation(transports, run)) {
        const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
        const label = `${transport} run ${run + 1}/${runs}`;
        const s = await measure(transport, { ...opts, usePostgres: postgres, label, progress, run, shared });
        samples.push({ ...s, background });
        progress.note(
          `${label}: ${fmt(s.deliveriesPerSec)} deliveries/s, p50/p99 ${fmt(s.p50Ms)}/${fmt(s.p99Ms)} ms, ${fmt(s.bytesDownPerDelivery)} B down and ${fmt(s.requestsPerDelivery, 3)} requests per delivery`,
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
  return TRANSPORTS.flatMap((transport) => {
    const ss = samples.filter((s) => s.transport === transport);
    if (ss.length === 0) return [];
    const m = (f: (s: TransportSample) => number, d = 1) => round(median(ss.map(f)), d);
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
      },
    ];
  });
}

// ---------------------------------------------------------------------------

function startServer(o: TransportsOptions, postgres: boolean): Promise<ServerChild> {
  return startAppServer({ postgres, tuning: { ssePingMs: 60_000 } }, { core: serverCore(o.serverCore) });
}

interface MeasureOptions extends TransportsOptions {
  shared: ServerChild | undefined;
  usePostgres: boolean;
  label: string;
  progress: Progress;
  run: number;
}

/** Bytes through a set of sockets since a mark (HTTP keep-alive sockets come and go). */
class SocketMeter {
  private readonly sockets = new Set<Socket>();
  private mark = new Map<Socket, { r: number; w: number }>();
  add(s: Socket): void {
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
  /** HTTP requests made since `start()`. */
  requests(): number;
  close(): void;
}

async function measure(transport: TransportKind, o: MeasureOptions): Promise<Omit<TransportSample, "background">> {
  const progress = o.progress;
  const n = o.subscribers ?? 500;
  const rate = o.rate ?? 20;
  progress.update(`${o.label}: starting the server`, true);
  let child: ServerChild | null = null;
  let subs: Subscribers | null = null;
  const producers: FastWs[] = [];
  try {
    child = o.shared ?? (await startServer(o, o.usePostgres));
    const port = child.port;
    const base = `http://127.0.0.1:${port}`;
    const cookies = await signInMany(base, o.people ?? 50, "sub");

    let windowFrom = Infinity;
    let windowTo = Infinity;
    let deliveries = 0;
    const latency = new Latency();
    const onText = (text: string, from: number) => {
      for (let at = text.indexOf(MARKER, from); at >= 0; at = text.indexOf(MARKER, at + 1)) {
        const t = Number(text.slice(at + MARKER.length, text.indexOf(";", at)));
        if (t >= windowFrom && t <= windowTo) {
          deliveries++;
          latency.record(performance.now() - t);
        }
      }
    };

    progress.update(`${o.label}: opening ${n} subscribers`, true);
    subs = await openSubscribers(transport, port, n, cookies, onText, progress, o.label);

    // Producers: enough WebSockets to stay under the per-connection send limit (10/s).
    const producerCount = Math.max(1, Math.ceil(rate / 5));
    for (let i = 0; i < producerCount; i++) {
      const ws = await FastWs.connect({ port, path: "/ws", protocols: ["rt.v1"], headers: { Cookie: cookies[i % cookies.length]! } });
      ws.send(`{"type":"join","room":"general"}`);
      producers.push(ws);
    }
    await sleep(300);
    let msgNo = 0;
    const sendOne = () => {
      const text = `${MARKER}${performance.now().toFixed(3)};${PAD}`.slice(0, 100);
      producers[msgNo % producers.length]!.send(`{"type":"send","room":"general","text":"${text}","clientId":"p${msgNo}"}`);
      msgNo++;
    };

    // Warm-up: one event must reach every subscriber.
    windowFrom = performance.now();
    sendOne();
    const until = performance.now() + 30_000;
    while (deliveries < n && performance.now() < until) {
      progress.update(`${o.label}: warm-up, ${deliveries}/${n} delivered`);
      await sleep(20);
    }
    if (deliveries < n) throw new Error(`warm-up: ${deliveries} of ${n} subscribers got the first event within 30 s`);

    // The stream: events at a fixed rate; the window counts events sent inside it.
    const warmupMs = o.warmupMs ?? 1000;
    const durationMs = o.durationMs ?? 5000;
    windowFrom = Infinity;
    const started = performance.now();
    let sent = 0;
    let inWindow = 0;
    let stats0: Awaited<ReturnType<ServerChild["stats"]>> | null = null;
    let requests0 = 0;
    let self0 = process.cpuUsage();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.floor(((now - started) * rate) / 1000);
        if (windowFrom === Infinity && now - started >= warmupMs) {
          windowFrom = now;
          deliveries = 0;
          latency.reset();
          subs!.start();
          requests0 = subs!.requests();
          self0 = process.cpuUsage();
          void child!.stats().then((s) => (stats0 = s));
        }
        while (sent < due) {
          sendOne();
          sent++;
          if (windowFrom !== Infinity) inWindow++;
        }
        if (now - started >= warmupMs + durationMs) {
          clearInterval(timer);
          resolve();
        }
        if (windowFrom !== Infinity) progress.update(`${o.label}: ${fmt((deliveries / Math.max(1, now - windowFrom)) * 1000)} deliveries/s`);
      }, 2);
    });
    windowTo = performance.now();
    const self1 = process.cpuUsage(self0);
    const seconds = (windowTo - windowFrom) / 1000;
    // Late deliveries of events sent in the window still count (and show in the latency).
    const expected = inWindow * n;
    const waitUntil = performance.now() + 3000;
    while (deliveries < expected && performance.now() < waitUntil) await sleep(20);
    const stats1 = await child.stats();
    const bytes = subs.bytes();
    const requests = subs.requests() - requests0;
    const cpuUs = stats0 ? cpuDeltaUs(stats0, stats1) : NaN;
    return {
      transport,
      run: o.run,
      seconds: round(seconds, 2),
      events: inWindow,
      deliveries,
      completeness: round(deliveries / Math.max(1, expected), 4),
      deliveriesPerSec: round(deliveries / seconds, 0),
      p50Ms: round(latency.p(50), 2),
      p99Ms: round(latency.p(99), 2),
      bytesDownPerDelivery: round(bytes.read / Math.max(1, deliveries), 1),
      bytesUpPerDelivery: round(bytes.written / Math.max(1, deliveries), 2),
      requestsPerDelivery: round(requests / Math.max(1, deliveries), 4),
      serverCpuPercent: round(cpuUs / 1e4 / ((performance.now() - windowFrom) / 1000), 1),
      serverCpuUsPerDelivery: round(cpuUs / Math.max(1, deliveries), 2),
      loadGenCpuPercent: round((self1.user + self1.system) / 1e4 / seconds, 1),
    };
  } finally {
    subs?.close();
    for (const p of producers) p.close();
    if (!o.shared) await child?.stop();
  }
}

async function openSubscribers(
  transport: TransportKind,
  port: number,
  n: number,
  cookies: string[],
  onText: (text: string, from: number) => void,
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
            if (p.indexOf(MARKER) >= 0) onText(p.toString("utf8"), 0);
            else if (p.toString("latin1", 0, 16) === '{"type":"joined"') joined[i] = 1;
          },
        }),
      { concurrency: 100, onProgress: report },
    );
    for (const ws of sockets) ws.send(`{"type":"join","room":"general"}`);
    while (joined.some((j) => j === 0)) await sleep(20);
    let mark = sockets.map(() => ({ r: 0, w: 0 }));
    return {
      start() {
        mark = sockets.map((s) => ({ r: s.bytesRead, w: s.bytesWritten }));
      },
      bytes() {
        let read = 0;
        let written = 0;
        sockets.forEach((s, i) => {
          read += s.bytesRead - mark[i]!.r;
          written += s.bytesWritten - mark[i]!.w;
        });
        return { read, written };
      },
      requests: () => 0,
      close: () => sockets.forEach((s) => s.close()),
    };
  }

  const meter = new SocketMeter();
  let requests = 0;
  let closed = false;
  const requestsOpen = new Set<http.ClientRequest>();
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

  if (transport === "sse") {
    // A raw TCP client, as lean as the WebSocket one: one GET, then the chunked body scanned
    // as it arrives (each event is one chunk ending in a blank line).
    const sockets: net.Socket[] = [];
    await openMany(
      n,
      (i) =>
        new Promise<void>((resolve, reject) => {
          const sock = net.connect({ host: "127.0.0.1", port });
          sock.setNoDelay(true);
          sockets.push(sock);
          meter.add(sock);
          requests++;
          let head = "";
          let pending = "";
          sock.on("error", (err) => (closed ? undefined : reject(err)));
          sock.on("connect", () =>
            sock.write(
              `GET /api/stream?streams=room:general HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${cookie(i)}\r\nAccept: text/event-stream\r\n\r\n`,
            ),
          );
          sock.on("data", (chunk: Buffer) => {
            let text = chunk.toString("latin1");
            if (!head.endsWith("\r\n\r\n")) {
              const all = head + text;
              const end = all.indexOf("\r\n\r\n");
              if (end < 0) return void (head = all);
              if (!/^HTTP\/1\.1 200/.test(all)) return reject(new Error(`SSE answered ${all.slice(0, all.indexOf("\r\n"))}`));
              head = all.slice(0, end + 4);
              text = all.slice(end + 4);
              resolve();
            }
            pending += text;
            const end = pending.lastIndexOf("\n\n");
            if (end < 0) return;
            onText(pending.slice(0, end), 0);
            pending = pending.slice(end + 2);
          });
        }),
      { concurrency: 50, onProgress: report },
    );
    return metered(() => {
      for (const sock of sockets) sock.destroy();
    });
  }

  // Long polling: each subscriber polls again as soon as an answer arrives, from its cursor.
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10, maxFreeSockets: n + 10 });
  const get = (i: number, path: string, onEnd: (status: number | undefined, text: string) => void, onError: (err: Error) => void) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent, headers: { Cookie: cookie(i) } });
    requests++;
    req.on("socket", (s) => meter.add(s));
    req.on("error", onError);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => onEnd(res.statusCode, Buffer.concat(chunks).toString("utf8")));
    });
    req.end();
    return req;
  };
  let cursorsReady = 0;
  const poll = (i: number, cursor: string | null) => {
    if (closed) return;
    const path = `/api/poll?streams=room:general&wait=25&client=b${i}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const req = get(
      i,
      path,
      (status, text) => {
        requestsOpen.delete(req);
        if (status !== 200) return void setTimeout(() => poll(i, cursor), 100);
        const body = JSON.parse(text) as { cursor: string; events: unknown[] };
        if (body.events.length > 0) onText(text, 0);
        if (cursor === null) cursorsReady++;
        poll(i, body.cursor);
      },
      () => {
        requestsOpen.delete(req);
        if (!closed) setTimeout(() => poll(i, cursor), 100);
      },
    );
    requestsOpen.add(req);
  };
  // The first poll answers at once with the cursor (wait=0); the rest hold.
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      get(
        i,
        `/api/poll?streams=room:general&wait=0&client=b${i}`,
        (_status, text) => {
          poll(i, (JSON.parse(text) as { cursor: string }).cursor);
          resolve();
        },
        reject,
      );
    });
    report(i + 1);
  }
  void cursorsReady;
  await sleep(500);
  return metered(() => {
    for (const r of requestsOpen) r.destroy();
    agent.destroy();
  });
}

export function transportsMarkdown(r: TransportsResults): string {
  const ws = r.summary.find((s) => s.transport === "ws");
  const rows = r.summary.map((s) => [
    s.transport === "ws" ? "WebSocket" : s.transport === "sse" ? "SSE" : "long polling",
    fmt(s.deliveriesPerSec),
    `${(s.completeness * 100).toFixed(1)}%`,
    `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)}`,
    fmt(s.bytesDownPerDelivery),
    fmt(s.bytesUpPerDelivery),
    fmt(s.requestsPerDelivery, 3),
    fmt(s.serverCpuUsPerDelivery),
    ws ? ratio(s.serverCpuUsPerDelivery, ws.serverCpuUsPerDelivery) : "–",
  ]);
  return table(
    ["transport", "deliveries/s", "delivered", "latency p50 / p99 ms", "bytes down per delivery", "bytes up per delivery", "requests per delivery", "server CPU-µs per delivery", "CPU vs WebSocket"],
    rows,
  );
}

benchScript(import.meta.url, {
  name: "transports",
  settings: ({ quick, runs, num, get }) => ({
    subscribers: num("subscribers", quick ? 50 : 500),
    rate: num("rate", 20),
    runs: runs ?? (quick ? 1 : 3),
    durationMs: num("duration", quick ? 1000 : 5000),
    warmupMs: num("warmup", quick ? 300 : 1000),
    people: num("people", 50),
    transports: (get("transports")?.split(",") as TransportKind[] | undefined) ?? TRANSPORTS,
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runTransports({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({ ...settings, database: results.database, pinning }),
  markdown: transportsMarkdown,
});
