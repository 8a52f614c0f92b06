// bench:fanout — chat fan-out: how many deliveries per second each server sustains with p99
// delivery latency ≤ 100 ms, and its CPU per delivery. Two shapes: 1 room × 1000 clients and
// 50 rooms × 20 clients, ~100-byte messages at open-loop arrival rates that step up until the
// latency bound or completeness breaks. Side by side, each in a child process pinned to CPU 0:
//   ours      the app (createApp): authenticated WebSockets, every message appended to the
//             durable log (ack after commit) and fanned out by the hub
//   raw       a bare `ws` server that serializes once and sends the same bytes to all (the limit)
//   naive     a bare `ws` server that JSON.stringifies per client
//   socketio  Socket.IO 4.8, io.to(room).emit
// The load generator (this process, CPU 1) speaks each wire protocol with a lean client.
import { startAppServer, usePostgres } from "./lib/app-server";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore, startServerChild, type ServerChild } from "./lib/child";
import { createRoom, openMany, signInMany } from "./lib/clients";
import { fmt, Latency, median, Progress, ratio, rotation, round, sleep, table, waitForQuiet } from "./lib/common";
import { FastWs } from "./lib/fastws";
import { benchScript } from "./lib/script";

export type FanoutServer = "ours" | "raw" | "naive" | "socketio";
export const FANOUT_SERVERS: FanoutServer[] = ["ours", "raw", "naive", "socketio"];

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
  maxSteps?: number;
  p99LimitMs?: number;
  /** Distinct people signed in to our server (clients share their sessions). */
  people?: number;
  /** Use the local Postgres for our server's log when it answers (else PGlite in memory). */
  postgres?: boolean;
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
  serverCpuUsPerDelivery: number;
  loadGenCpuPercent: number;
  pass: boolean;
}

export interface FanoutSample {
  server: FanoutServer;
  shape: string;
  run: number;
  steps: StepResult[];
  /** The highest passing step (null: not even the first rate passed). */
  best: StepResult | null;
  background: number;
}

export interface FanoutSummary {
  server: FanoutServer;
  shape: string;
  runs: number;
  maxMessagesPerSec: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDelivery: number;
  /** CPU µs per delivery at the shape's first rate, the same load for every server. */
  cpuUsPerDeliveryAtStartRate: number;
  vsRaw: number;
  vsSocketIo: number;
}

export interface FanoutResults {
  samples: FanoutSample[];
  summary: FanoutSummary[];
  database: string;
}

const MARKER = Buffer.from("~t=");
const PAD = " The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs, and so on.";

export async function runFanout(opts: FanoutOptions = {}): Promise<FanoutResults> {
  const servers = opts.servers ?? FANOUT_SERVERS;
  const shapes = opts.shapes ?? SHAPES;
  const runs = opts.runs ?? 1;
  const progress = opts.progress ?? new Progress("fanout", false);
  const postgres = await usePostgres((opts.postgres ?? true) && servers.includes("ours"));
  const samples: FanoutSample[] = [];
  for (const shape of shapes) {
    for (let run = 0; run < runs; run++) {
      for (const server of rotation(servers, run)) {
        const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
        const label = `${shape.name} ${server} run ${run + 1}/${runs}`;
        const sample = await searchRate(server, shape, { ...opts, usePostgres: postgres, label, progress, run });
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
  return { samples, summary: summarize(samples), database: postgres ? "postgres" : "pglite-memory" };
}

function summarize(samples: FanoutSample[]): FanoutSummary[] {
  const out: FanoutSummary[] = [];
  for (const shape of [...new Set(samples.map((s) => s.shape))]) {
    const of = (server: FanoutServer) => samples.filter((s) => s.shape === shape && s.server === server);
    const dps = (server: FanoutServer) => median(of(server).map((s) => s.best?.deliveriesPerSec ?? 0));
    for (const server of FANOUT_SERVERS) {
      const ss = of(server);
      if (ss.length === 0) continue;
      const bests = ss.map((s) => s.best).filter((b): b is StepResult => b !== null);
      const m = (f: (b: StepResult) => number, d = 1) => (bests.length ? round(median(bests.map(f)), d) : NaN);
      const d = dps(server);
      out.push({
        server,
        shape,
        runs: ss.length,
        maxMessagesPerSec: m((b) => b.rate, 0),
        deliveriesPerSec: round(d, 0),
        p50Ms: m((b) => b.p50Ms),
        p99Ms: m((b) => b.p99Ms),
        serverCpuUsPerDelivery: m((b) => b.serverCpuUsPerDelivery, 2),
        cpuUsPerDeliveryAtStartRate: round(median(ss.map((s) => s.steps[0]?.serverCpuUsPerDelivery ?? NaN)), 2),
        vsRaw: round(d / dps("raw"), 3),
        vsSocketIo: round(d / dps("socketio"), 3),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// One server, one shape: connect everyone, then step the rate up.

interface SearchOptions extends FanoutOptions {
  usePostgres: boolean;
  label: string;
  progress: Progress;
  run: number;
}

interface Wire {
  path: string;
  headers(i: number): Record<string, string>;
  protocols: string[];
  /** Handles protocol chatter; true when the frame means "joined". */
  control(ws: FastWs, payload: Buffer): boolean;
  join(ws: FastWs, room: string): void;
  send(ws: FastWs, room: string, text: string, n: number): void;
}

async function searchRate(server: FanoutServer, shape: Shape, o: SearchOptions): Promise<Omit<FanoutSample, "background">> {
  const progress = o.progress;
  progress.update(`${o.label}: starting the server`, true);
  let child: ServerChild | null = null;
  const sockets: FastWs[] = [];
  try {
    const core = serverCore(o.serverCore);
    child =
      server === "ours"
        ? await startAppServer({ postgres: o.usePostgres }, { core })
        : server === "socketio"
          ? await startServerChild("socketio", {}, { core })
          : await startServerChild("ws-broadcast", { mode: server }, { core });
    const port = child.port;
    const roomNames = Array.from({ length: shape.rooms }, (_, r) => (server === "ours" && shape.rooms === 1 ? "general" : `fan${r}`));
    const wire = await wireFor(server, port, shape, roomNames, o.people ?? 50);
    const total = shape.rooms * shape.perRoom;

    // Per-step accounting: deliveries whose send time falls in the step's sending window.
    let stepFrom = Infinity;
    let stepTo = -Infinity;
    let delivered = 0;
    const latency = new Latency();
    const joined = new Uint8Array(total);
    const onPayload = (i: number, ws: FastWs, payload: Buffer) => {
      const at = payload.indexOf(MARKER);
      if (at >= 0) {
        const end = payload.indexOf(0x3b /* ; */, at);
        const t = Number(payload.toString("latin1", at + MARKER.length, end));
        if (t >= stepFrom && t <= stepTo) {
          delivered++;
          latency.record(performance.now() - t);
        }
        return;
      }
      if (wire.control(ws, payload)) joined[i] = 1;
    };
    progress.update(`${o.label}: connecting ${total} clients`, true);
    const opened = await openMany(
      total,
      (i) =>
        FastWs.connect({
          port,
          path: wire.path,
          headers: wire.headers(i),
          protocols: wire.protocols,
          onFrame: (payload, _op, ws) => onPayload(i, ws, payload),
        }),
      { concurrency: 100, onProgress: (d) => progress.update(`${o.label}: connected ${d}/${total}`) },
    );
    sockets.push(...opened);
    // Client i is member i % perRoom of room floor(i / perRoom).
    sockets.forEach((ws, i) => wire.join(ws, roomNames[Math.floor(i / shape.perRoom)]!));
    const deadline = performance.now() + 30_000;
    while (joined.some((j) => j === 0)) {
      if (performance.now() > deadline) throw new Error(`${joined.filter((j) => j === 0).length} clients did not join within 30 s`);
      progress.update(`${o.label}: joined ${joined.filter((j) => j === 1).length}/${total}`);
      await sleep(50);
    }
    // Warm-up: one message per room must reach everyone before any step starts (the server
    // may still be busy with the joins: sessions, presence, first-join feed events).
    let msgNo = 0;
    {
      stepFrom = performance.now();
      stepTo = Infinity;
      delivered = 0;
      for (let room = 0; room < shape.rooms; room++) {
        wire.send(sockets[room * shape.perRoom]!, roomNames[room]!, `~t=${performance.now().toFixed(3)};${PAD}`.slice(0, 100), msgNo++);
      }
      const until = performance.now() + 30_000;
      while (delivered < total && performance.now() < until) {
        progress.update(`${o.label}: warm-up, ${delivered}/${total} delivered`);
        await sleep(20);
      }
      if (delivered < total) throw new Error(`warm-up: only ${delivered} of ${total} deliveries within 30 s`);
      stepFrom = Infinity;
      await sleep(300);
    }

    const steps: StepResult[] = [];
    let best: StepResult | null = null;
    let rate = shape.startRate;
    let failedAt: number | null = null;
    const stepMs = o.stepMs ?? 2000;
    const graceMs = o.graceMs ?? 1500;
    const limit = o.p99LimitMs ?? 100;
    for (let step = 0; step < (o.maxSteps ?? 12); step++) {
      latency.reset();
      delivered = 0;
      const stats0 = await child.stats();
      const self0 = process.cpuUsage();
      const from = performance.now();
      stepFrom = from;
      stepTo = Infinity;
      let sent = 0;
      // Open loop: messages are due at fixed times whatever the server's answers.
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const now = performance.now();
          const due = Math.min(Math.floor(((now - from) * rate) / 1000), Math.floor((stepMs * rate) / 1000));
          while (sent < due) {
            const n = msgNo++;
            const room = n % shape.rooms;
            const member = Math.floor(n / shape.rooms) % shape.perRoom;
            const t = performance.now();
            const text = `~t=${t.toFixed(3)};${PAD}`.slice(0, 100);
            wire.send(sockets[room * shape.perRoom + member]!, roomNames[room]!, text, n);
            sent++;
          }
          if (now - from >= stepMs) {
            clearInterval(timer);
            resolve();
          }
          progress.update(`${o.label}: ${fmt(rate)} msg/s, ${fmt((delivered / Math.max(1, now - from)) * 1000)} deliveries/s`);
        }, 1);
      });
      stepTo = performance.now();
      const expected = sent * shape.perRoom;
      const waitUntil = performance.now() + graceMs;
      while (delivered < expected && performance.now() < waitUntil) await sleep(10);
      const stats1 = await child.stats();
      const self1 = process.cpuUsage(self0);
      const seconds = (performance.now() - from) / 1000;
      const cpuUs = cpuDeltaUs(stats0, stats1);
      const p99 = latency.p(99);
      const pass = delivered >= expected * 0.99 && p99 <= limit;
      const r: StepResult = {
        rate: round(rate, 1),
        sent,
        expected,
        delivered,
        deliveriesPerSec: round(delivered / (stepMs / 1000), 0),
        p50Ms: round(latency.p(50), 2),
        p99Ms: round(p99, 2),
        serverCpuPercent: round(cpuUs / 1e4 / seconds, 1),
        serverCpuUsPerDelivery: round(cpuUs / Math.max(1, delivered), 3),
        loadGenCpuPercent: round((self1.user + self1.system) / 1e4 / seconds, 1),
        pass,
      };
      steps.push(r);
      stepFrom = Infinity;
      // Let queues drain before the next step.
      await sleep(300);
      if (pass) {
        best = r;
        if (failedAt !== null) break; // the try between a pass and a failure passed
        rate *= o.factor ?? 1.5;
        continue;
      }
      if (!best) {
        // Not even this rate: step down (at most to 1/8 of the first rate).
        if (rate <= shape.startRate / 8) break;
        rate /= 2;
        continue;
      }
      if (failedAt !== null) break;
      failedAt = rate;
      // One more try halfway (geometrically) between the last pass and the failure.
      const mid = Math.sqrt(best.rate * failedAt);
      if (mid / best.rate < 1.1) break;
      rate = mid;
    }
    return { server, shape: shape.name, run: o.run, steps, best };
  } finally {
    for (const ws of sockets) ws.close();
    await child?.stop();
  }
}

const startsWith = (b: Buffer, s: string) => b.length >= s.length && b.toString("latin1", 0, s.length) === s;

async function wireFor(server: FanoutServer, port: number, shape: Shape, rooms: string[], people: number): Promise<Wire> {
  if (server === "ours") {
    const base = `http://127.0.0.1:${port}`;
    const cookies = await signInMany(base, Math.min(people, Math.max(shape.perRoom, 1)), "fan");
    for (const room of rooms) if (room !== "general") await createRoom(base, cookies[0]!, room);
    return {
      path: "/ws",
      protocols: ["rt.v1"],
      // Distinct people within a room (presence counts people), sessions shared across rooms.
      headers: (i) => ({ Cookie: cookies[(i % shape.perRoom) % cookies.length]! }),
      control: (_ws, p) => startsWith(p, '{"type":"joined"'),
      join: (ws, room) => ws.send(`{"type":"join","room":"${room}"}`),
      send: (ws, room, text, n) => ws.send(`{"type":"send","room":"${room}","text":"${text}","clientId":"m${n}"}`),
    };
  }
  if (server === "socketio") {
    // Join once the namespace connect ("40{…}") is answered: earlier events would be dropped.
    const pendingRoom = new WeakMap<FastWs, string>();
    const connected = new WeakSet<FastWs>();
    const join = (ws: FastWs, room: string) => ws.send(`42["join","${room}"]`);
    return {
      path: "/socket.io/?EIO=4&transport=websocket",
      protocols: [],
      headers: () => ({}),
      control: (ws, p) => {
        if (p.length === 1 && p[0] === 0x32) ws.send("3"); // engine.io ping → pong
        else if (startsWith(p, "0{")) ws.send("40"); // engine.io open → connect to "/"
        else if (startsWith(p, "40{")) {
          connected.add(ws);
          const room = pendingRoom.get(ws);
          if (room) join(ws, room);
        }
        return startsWith(p, '42["joined"');
      },
      join: (ws, room) => {
        if (connected.has(ws)) join(ws, room);
        else pendingRoom.set(ws, room);
      },
      send: (ws, room, text) => ws.send(`42["send","${room}","${text}"]`),
    };
  }
  return {
    path: "/",
    protocols: [],
    headers: () => ({}),
    control: (_ws, p) => startsWith(p, '{"type":"joined"'),
    join: (ws, room) => ws.send(`{"type":"join","room":"${room}"}`),
    send: (ws, room, text) => ws.send(`{"type":"send","room":"${room}","text":"${text}"}`),
  };
}

export function fanoutMarkdown(r: FanoutResults): string {
  const names: Record<FanoutServer, string> = {
    ours: "ours (app, durable log)",
    raw: "raw ws, serialize once",
    naive: "naive ws, stringify per client",
    socketio: "Socket.IO 4.8",
  };
  const parts: string[] = [];
  for (const shape of [...new Set(r.summary.map((s) => s.shape))]) {
    const rows = r.summary
      .filter((s) => s.shape === shape)
      .map((s) => [
        names[s.server],
        fmt(s.maxMessagesPerSec),
        fmt(s.deliveriesPerSec),
        `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)}`,
        fmt(s.serverCpuUsPerDelivery),
        fmt(s.cpuUsPerDeliveryAtStartRate),
        ratio(s.vsRaw, 1),
        ratio(s.vsSocketIo, 1),
      ]);
    parts.push(
      `**${shape}**\n\n` +
        table(
          ["server", "msgs/s", "deliveries/s at p99 ≤ 100 ms", "p50 / p99 ms", "CPU-µs per delivery", "CPU-µs per delivery at the first rate", "vs raw", "vs Socket.IO"],
          rows,
        ),
    );
  }
  return parts.join("\n\n");
}

benchScript(import.meta.url, {
  name: "fanout",
  settings: ({ quick, runs, num, get, has }) => ({
    servers: (get("servers")?.split(",") as FanoutServer[] | undefined) ?? FANOUT_SERVERS,
    shapes: has("shape") ? SHAPES.filter((s) => s.name.startsWith(get("shape")!)) : SHAPES,
    runs: runs ?? 1,
    stepMs: num("step", quick ? 500 : 1500),
    graceMs: num("grace", quick ? 500 : 1000),
    factor: num("factor", 1.5),
    maxSteps: num("max-steps", quick ? 2 : 12),
    p99LimitMs: num("p99", 100),
    people: num("people", 50),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runFanout({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({ ...settings, shapes: settings.shapes.map((s) => s.name), database: results.database, pinning }),
  markdown: fanoutMarkdown,
});
