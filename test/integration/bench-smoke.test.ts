// The benchmarks still run: each bench's core function in a tiny configuration, asserting only
// that its results are well formed and that RESULTS.md's table renders from them (as
// bench/report.ts renders the kept JSON). Never a duration or a rate: those belong in
// bench/RESULTS.md. Also: a server child really runs on its own core once the load generator
// has pinned itself to the other. The benchmarks of failure and abuse are in
// bench-smoke-resilience.test.ts, so the two files run side by side.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { EventSource } from "eventsource";
import { io as socketIo, type Socket as SocketIoClient } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { runAppend } from "../../bench/append";
import { runCanvas } from "../../bench/canvas";
import { runCursors } from "../../bench/cursors";
import { runFanout } from "../../bench/fanout";
import { runTransports } from "../../bench/transports";
import { startAppServer } from "../../bench/lib/app-server";
import { serverCore, startServerChild, type ServerChild } from "../../bench/lib/child";
import { openWs, signIn } from "../../bench/lib/clients";
import { hasTaskset, pinSelf, Progress } from "../../bench/lib/common";
import { forEachSendTime, openRoomClients, sendTimeIn, startRoomServer, timedText, type RoomClients } from "../../bench/lib/rooms";
import { findMaxRate } from "../../bench/lib/search";
import { LeanPoller, positionAfter, type PollPosition } from "../../bench/lib/poller";
import { openRawSse } from "../../bench/lib/sse";
import { expectRendered, finiteNonNegative, withPostgres } from "../helpers/bench-smoke";

/** The CPUs a process may run on, as the kernel has it ("0", "1", "0-1"). */
function cpusAllowed(pid: number): string {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
}

describe("pinning", () => {
  const canPin = process.platform === "linux" && os.cpus().length >= 2 && hasTaskset();
  // The bench's order: the load generator pins itself to CPU 1 first, then starts a server
  // child for CPU 0. Asking this process how many cores it may use, once pinned, says 1, and a
  // child left unpinned would share the load generator's core: every server figure skewed.
  it.skipIf(!canPin)("a server child started for CPU 0 runs on CPU 0 after the load generator pinned itself to CPU 1", { timeout: 120_000 }, async () => {
    const before = cpusAllowed(process.pid);
    try {
      expect(pinSelf(1)).toBe(true);
      expect(cpusAllowed(process.pid)).toBe("1");
      const child = await startServerChild("ws-broadcast", { mode: "raw" }, { core: serverCore(undefined) });
      try {
        expect(child.pinned).toBe(true);
        expect(cpusAllowed(child.pid)).toBe("0");
      } finally {
        await child.stop();
      }
    } finally {
      execFileSync("taskset", ["-a", "-p", "-c", before, String(process.pid)], { stdio: "ignore" });
    }
  });
});

describe("rate search", () => {
  // A server that carries anything up to `limit` and nothing above it.
  const search = (limit: number, o: { bisect?: number; near?: number } = {}) =>
    findMaxRate({ start: 10, factor: 1.5, bisect: o.bisect ?? 3, maxSteps: 30, near: o.near }, async (rate) => ({ rate, pass: rate <= limit }));

  it("bisects after the first failure: the best rate passes and lies within 5% of the limit", async () => {
    for (const limit of [155, 865, 7421]) {
      const r = await search(limit);
      expect(r.best!.rate).toBeLessThanOrEqual(limit);
      expect(r.best!.rate).toBeGreaterThan(limit * 0.95);
      expect(r.failedAt! / r.best!.rate).toBeLessThan(1.06);
    }
    // One midpoint only (the search before bisection) leaves a gap of ~22%.
    const coarse = await search(1000, { bisect: 1 });
    expect(coarse.failedAt! / coarse.best!.rate).toBeGreaterThan(1.2);
  });

  it("a resumed search starts near an earlier best and finds as close an answer in fewer windows", async () => {
    const fresh = await search(865);
    for (const near of [700, 865, 1500]) {
      const resumed = await search(865, { near });
      expect(resumed.steps[0]!.rate).toBe(10);
      expect(resumed.steps.length).toBeLessThan(fresh.steps.length);
      expect(resumed.best!.rate).toBeGreaterThan(865 * 0.95);
      expect(resumed.best!.rate).toBeLessThanOrEqual(865);
    }
  });

  it("steps down from a first rate that fails twice, then bisects", async () => {
    const r = await search(3);
    expect(r.steps.map((s) => s.rate).slice(0, 4)).toEqual([10, 10, 5, 2.5]);
    expect(r.best!.rate).toBeGreaterThan(3 * 0.9);
    expect((await search(0.5)).best).toBeNull();
  });

  it("measures a failing first rate again before believing it: a start-up transient does not cap the search", async () => {
    let windows = 0;
    // The first window fails whatever its rate (a server still busy from connecting); the limit is 865.
    const r = await findMaxRate({ start: 10, factor: 1.5, bisect: 3, maxSteps: 30 }, async (rate) => ({ rate, pass: windows++ > 0 && rate <= 865 }));
    expect(r.steps.map((s) => s.rate).slice(0, 3)).toEqual([10, 10, 15]);
    expect(r.best!.rate).toBeGreaterThan(865 * 0.95);
  });
});

// The load generator's lean clients count deliveries by scanning bytes for send-time markers
// and speak Socket.IO's wire by hand. Against the same server and the same messages, each must
// count exactly what the real client library delivers to an application.
describe("lean load-generator clients count what the real client libraries deliver", { timeout: 120_000 }, () => {
  const K = 8; // messages
  const N = 3; // clients of each kind
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  /** Waits (bounded) until every count reaches `want`; returns the counts. */
  const settle = async (counts: () => number[], want: number) => {
    const until = performance.now() + 20_000;
    while (counts().some((c) => c < want) && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300)); // anything extra would show up now
    return counts();
  };
  const hasMarker = (text: unknown) => typeof text === "string" && text.startsWith("~t=");

  it("FastWs (frames scanned for markers) and the ws client (JSON parsed), in one of our rooms", async () => {
    const child: ServerChild = await startRoomServer("ours", { postgres: withPostgres });
    cleanup.push(() => child.stop());
    let lean = 0;
    const clients: RoomClients = await openRoomClients({ server: "ours", port: child.port, rooms: 1, perRoom: N, people: N, onTimed: () => lean++, label: "lean ws", progress: new Progress("smoke", false) });
    cleanup.push(() => clients.close());
    let real = 0;
    const joined: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const cookie = await signIn(`http://127.0.0.1:${child.port}`, `real${i}`);
      const ws: WebSocket = await openWs(`ws://127.0.0.1:${child.port}/ws`, { cookie, protocols: ["rt.v1"] });
      cleanup.push(() => ws.terminate());
      joined.push(
        new Promise((resolve) =>
          ws.on("message", (data) => {
            const msg = JSON.parse(String(data)) as { type: string; event?: { type: string; data: { text?: unknown } } };
            if (msg.type === "joined") resolve();
            if (msg.type === "event" && msg.event?.type === "message" && hasMarker(msg.event.data.text)) real++;
          }),
        ),
      );
      ws.send(JSON.stringify({ type: "join", room: "general" }));
    }
    await Promise.all(joined);
    for (let k = 0; k < K; k++) {
      clients.send(k % N, timedText());
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(await settle(() => [lean, real], K * N)).toEqual([K * N, K * N]);
  });

  it("the hand-coded Socket.IO wire and socket.io-client, against Socket.IO 4.8", async () => {
    const child = await startRoomServer("socketio", { postgres: false });
    cleanup.push(() => child.stop());
    let lean = 0;
    const clients = await openRoomClients({ server: "socketio", port: child.port, rooms: 1, perRoom: N, people: N, onTimed: () => lean++, label: "lean socket.io", progress: new Progress("smoke", false) });
    cleanup.push(() => clients.close());
    let real = 0;
    const sockets: SocketIoClient[] = [];
    await Promise.all(
      Array.from({ length: N }, () => {
        const socket = socketIo(`http://127.0.0.1:${child.port}`, { transports: ["websocket"], reconnection: false });
        sockets.push(socket);
        socket.on("message", (m: { text?: unknown }) => {
          if (hasMarker(m.text)) real++;
        });
        return new Promise<void>((resolve) => {
          socket.once("joined", () => resolve());
          socket.emit("join", clients.roomNames[0]);
        });
      }),
    );
    cleanup.push(() => sockets.forEach((s) => s.disconnect()));
    for (let k = 0; k < K; k++) {
      clients.send(k % N, timedText());
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(await settle(() => [lean, real], K * N)).toEqual([K * N, K * N]);
  });

  it("the raw-TCP SSE client (chunks scanned for markers) and the eventsource client, on our SSE stream", async () => {
    const child = await startAppServer({ postgres: withPostgres });
    cleanup.push(() => child.stop());
    const base = `http://127.0.0.1:${child.port}`;
    const path = "/api/stream?streams=room:general";
    let lean = 0;
    let real = 0;
    for (let i = 0; i < N; i++) {
      const cookie = await signIn(base, `sse${i}`);
      const sock = await openRawSse({ port: child.port, path, headers: { Cookie: cookie }, onEvents: (buf, end) => forEachSendTime(buf, end, () => lean++) });
      cleanup.push(() => sock.destroy());
      const es = new EventSource(`${base}${path}`, { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, Cookie: cookie } }) });
      cleanup.push(() => es.close());
      es.addEventListener("message", (e) => {
        const event = JSON.parse(e.data) as { data: { text?: unknown } };
        if (hasMarker(event.data.text)) real++;
      });
      await new Promise<void>((resolve, reject) => {
        es.onopen = () => resolve();
        es.onerror = (e) => reject(new Error(`EventSource: ${e.message ?? "error"}`));
      });
    }
    const poster = await signIn(base, "poster");
    for (let k = 0; k < K; k++) {
      const res = await fetch(`${base}/api/rooms/general/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: poster },
        body: JSON.stringify({ text: timedText(), clientId: `c${k}` }),
      });
      expect(res.status).toBe(201);
    }
    expect(await settle(() => [lean, real], K * N)).toEqual([K * N, K * N]);
  });

  it("the lean poller (answers cut by Content-Length, scanned for markers) and fetch with JSON.parse, on our long polls", async () => {
    const child = await startAppServer({ postgres: withPostgres });
    cleanup.push(() => child.stop());
    const base = `http://127.0.0.1:${child.port}`;
    const pathFrom = (i: number, at: PollPosition | null) =>
      at === null ? `/api/poll?streams=room:general&wait=0&client=p${i}` : `/api/poll?streams=room:general&wait=25&client=p${i}&cursor=${encodeURIComponent(at.cursor)}` + (at.state ? `&state=${encodeURIComponent(at.state)}` : "");
    let lean = 0;
    let real = 0;
    // Where the lean poller goes on from, against the whole answer parsed: always the same.
    const positions: Array<[PollPosition, PollPosition]> = [];
    let stopped = false;
    for (let i = 0; i < N; i++) {
      const cookie = await signIn(base, `poll${i}`);
      let at: PollPosition | null = null;
      let first!: () => void;
      const started = new Promise<void>((resolve) => (first = resolve));
      const poller = await LeanPoller.connect({
        port: child.port,
        headers: { Cookie: cookie },
        onAnswer(status, body) {
          expect(status).toBe(200);
          forEachSendTime(body, body.length, () => lean++);
          at = positionAfter(body);
          const whole = JSON.parse(body.toString("utf8")) as PollPosition;
          positions.push([{ cursor: at.cursor, state: at.state }, { cursor: whole.cursor, state: whole.state }]);
          first();
          poller.get(pathFrom(i, at));
        },
      });
      cleanup.push(() => poller.close());
      poller.get(pathFrom(i, null));
      await started;
      // The same person polling with fetch, as a client library would.
      void (async () => {
        let from: PollPosition | null = null;
        while (!stopped) {
          const res = await fetch(`${base}${pathFrom(N + i, from)}`, { headers: { cookie } }).catch(() => null);
          if (!res || res.status !== 200) break;
          const answer = (await res.json()) as PollPosition & { events: Array<{ data: { text?: unknown } }> };
          if (from !== null) real += answer.events.filter((e) => hasMarker(e.data.text)).length;
          from = answer;
        }
      })();
    }
    cleanup.push(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 300));
    const poster = await signIn(base, "poll-poster");
    for (let k = 0; k < K; k++) {
      const res = await fetch(`${base}/api/rooms/general/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: poster },
        body: JSON.stringify({ text: timedText(), clientId: `p${k}` }),
      });
      expect(res.status).toBe(201);
      await new Promise((r) => setTimeout(r, 30));
    }
    expect(await settle(() => [lean, real], K * N)).toEqual([K * N, K * N]);
    expect(positions.length).toBeGreaterThan(N);
    for (const [leanAt, wholeAt] of positions) expect(leanAt).toEqual(wholeAt);
  });

  it("the markers the lean clients scan for are where timedText puts them", () => {
    const text = timedText(1234.5);
    expect(sendTimeIn(Buffer.from(`{"text":"${text}"}`))).toBe(1234.5);
    const seen: number[] = [];
    const two = Buffer.from(`data: {"text":"${timedText(1)}"}\n\ndata: {"text":"${timedText(2)}"}\n\n`);
    forEachSendTime(two, two.length, (t) => seen.push(t));
    expect(seen).toEqual([1, 2]);
  });
});

// Each starts server processes; on a busy machine that takes a while, so allow two minutes.
// One at a time: on two shared cores, several benches starting servers at once starve each
// other until a server child misses its start-up deadline.
describe("benchmarks (smoke)", { timeout: 120_000 }, () => {
  it("append: every method on every database yields a sample and a ratio to single-row", async () => {
    const r = await runAppend({
      targets: withPostgres ? ["postgres"] : ["pglite-memory"],
      durationMs: 400,
      warmupMs: 100,
      runs: 1,
      inFlight: 100,
      streams: 3,
      quietWaitMs: 0,
    });
    expect(r.skipped).toEqual([]);
    expect(r.summary.map((s) => `${s.target}/${s.method}`).sort()).toEqual(
      (withPostgres ? ["postgres"] : ["pglite-memory"]).flatMap((t) => [`${t}/group`, `${t}/group-open`, `${t}/prisma`, `${t}/single`]).sort(),
    );
    // Open loop: offered at 80% of the same run's closed-loop group rate; acks timed from when due.
    const closed = r.samples.find((s) => s.method === "group")!;
    const open = r.samples.find((s) => s.method === "group-open")!;
    expect(open.offeredPerSec).toBeCloseTo(closed.eventsPerSec * 0.8, -1);
    expect(open.events).toBeGreaterThan(0);
    expect(finiteNonNegative(open.ackP99Ms)).toBe(true);
    expect(open.ackP99Ms).toBeGreaterThanOrEqual(open.ackP50Ms);
    for (const s of r.samples) {
      expect(finiteNonNegative(s.eventsPerSec)).toBe(true);
      if (s.events > 0) expect(finiteNonNegative(s.ackP99Ms)).toBe(true);
    }
    for (const s of r.samples.filter((x) => x.method !== "prisma")) expect(s.events).toBeGreaterThan(0);
    expect(r.summary.find((s) => s.method === "group")?.meanBatch).toBeGreaterThan(0);
    const t = withPostgres ? "postgres" : "pglite-memory";
    expectRendered("append", r, [`${t} | group commit (EventLog.append)`, `${t} | single-row INSERT per transaction`, `${t} | Prisma createMany ×100`]);
  });

  it("canvas: both drag modes deliver canvas.live frames; with Postgres, the late joiner's three cases", async () => {
    const r = await runCanvas({ users: 3, hz: 30, durationMs: 400, objects: 50, ops: 600, joins: 1, postgres: withPostgres, serverCore: null });
    expect(r.samples.map((s) => s.mode).sort()).toEqual(["coalesced", "every event"]);
    for (const s of r.samples) {
      expect(s.framesPerClientPerSec).toBeGreaterThan(0);
      expect(s.bytesPerClientPerSec).toBeGreaterThan(0);
    }
    expect(r.bytesRatio).not.toBeNull();
    expect(r.commits.map((c) => c.boards)).toEqual([3, 1]);
    for (const c of r.commits) expect(c.opsPerSec).toBeGreaterThan(0);
    if (withPostgres) expect(r.joins.map((j) => j.opsFolded)).toEqual([600, 250, 0]);
    expectRendered("canvas", r, ["coalesced", "every event"]);
  });

  it("cursors: both modes deliver cursor frames and report server CPU", async () => {
    const r = await runCursors({ users: 3, hz: 30, durationMs: 400, warmupMs: 150, runs: 1, latencyReceivers: 1, postgres: withPostgres, quietWaitMs: 0, serverCore: null });
    expect(r.samples.map((s) => s.mode).sort()).toEqual(["coalesced", "uncoalesced"]);
    for (const s of r.samples) {
      expect(s.framesPerClientPerSec).toBeGreaterThan(0);
      expect(s.payloadBytesPerClientPerSec).toBeGreaterThan(0);
      expect(s.wireBytesPerClientPerSec).toBeGreaterThanOrEqual(s.payloadBytesPerClientPerSec);
      expect(finiteNonNegative(s.serverCpuPercent)).toBe(true);
    }
    expect(r.ratios).not.toBeNull();
    expect(typeof r.targets.framesMet).toBe("boolean");
    expectRendered("cursors", r, ["coalesced (50 ms tick, latest wins)", "uncoalesced (a frame per input)"]);
  });

  it("fanout: ours and every baseline deliver every message at the first rate", async () => {
    const r = await runFanout({
      shapes: [{ name: "2 rooms × 3 clients", rooms: 2, perRoom: 3, startRate: 10 }],
      stepMs: 200,
      graceMs: 2000,
      maxSteps: 1,
      p99LimitMs: 60_000,
      e2eMs: 0,
      runs: 1,
      people: 3,
      postgres: withPostgres,
      quietWaitMs: 0,
      serverCore: null,
    });
    expect(r.samples.map((s) => s.server).sort()).toEqual(["embedded", "naive", "ours", "raw", "send", "socketio"]);
    for (const s of r.samples) {
      const step = s.steps[0]!;
      expect(step.sent).toBeGreaterThan(0);
      expect(step.delivered).toBe(step.expected);
      expect(finiteNonNegative(step.p99Ms)).toBe(true);
      expect(finiteNonNegative(step.serverCpuUsPerDelivery)).toBe(true);
    }
    expect(r.summary.find((s) => s.server === "raw")?.vsRaw).toBe(1);
    expectRendered("fanout", r, ["ours (app, durable log)", "ours on the embedded default (PGlite on disk, fsync on)", "raw ws, frame once", "ws.send, serialize once", "naive ws, stringify per client", "Socket.IO 4.8"]);
  });

  it("fanout: end to end at each fixed rate for every server, and ours at half its own best", async () => {
    const r = await runFanout({
      servers: ["ours", "raw"],
      shapes: [{ name: "1 room × 4 clients", rooms: 1, perRoom: 4, startRate: 10 }],
      stepMs: 200,
      graceMs: 2000,
      maxSteps: 2,
      p99LimitMs: 60_000,
      e2eRates: [5, 20],
      e2eMs: 600,
      e2eOfBest: 0.5,
      runs: 1,
      people: 2,
      postgres: withPostgres,
      quietWaitMs: 0,
      serverCore: null,
    });
    const ours = r.samples.find((s) => s.server === "ours")!;
    const raw = r.samples.find((s) => s.server === "raw")!;
    expect(ours.fixed.map((f) => f.kind)).toEqual(["rate", "rate", "of-best"]);
    expect(ours.fixed[2]!.rate).toBeCloseTo(ours.best!.rate / 2, 0);
    expect(raw.fixed.map((f) => [f.kind, f.rate])).toEqual([
      ["rate", 5],
      ["rate", 20],
    ]);
    for (const f of [...ours.fixed, ...raw.fixed]) {
      expect(f.sent).toBeGreaterThan(0);
      expect(f.delivered).toBe(f.expected);
      expect(finiteNonNegative(f.p99Ms)).toBe(true);
    }
    expect(r.summary.find((s) => s.server === "ours")!.fixed.map((f) => f.kind)).toEqual(["rate", "rate", "of-best"]);
    expectRendered("fanout", r, ["ours (app, durable log) | 5.00", "ours (app, durable log) | 20.0", "raw ws, frame once | 5.00", "raw ws, frame once | 20.0"]);
  });

  it("transports: WebSocket, SSE, long polling and the bare SSE and long-poll servers deliver the stream, and each steps up to a highest rate", async () => {
    const r = await runTransports({
      subscribers: 4,
      rate: 10,
      durationMs: 400,
      warmupMs: 150,
      runs: 1,
      people: 2,
      postgres: withPostgres,
      sharedServer: true,
      stepMs: 300,
      graceMs: 1000,
      maxSteps: 3,
      p99LimitMs: 60_000,
      quietWaitMs: 0,
      serverCore: null,
    });
    expect(r.samples.map((s) => s.transport).sort()).toEqual(["longpoll", "longpoll-raw", "sse", "sse-raw", "ws"]);
    for (const s of r.samples) {
      expect(s.deliveries).toBeGreaterThan(0);
      expect(s.completeness).toBeGreaterThan(0);
      expect(s.bytesDownPerDelivery).toBeGreaterThan(0);
      expect(finiteNonNegative(s.p99Ms)).toBe(true);
      // The step-up: the first rate, then higher ones while they pass (the bound is loose here).
      expect(s.steps.map((w) => w.rate)).toEqual([10, 15, 22.5]);
      expect(s.best?.rate).toBe(22.5);
      for (const w of s.steps) expect(w.deliveries).toBe(w.events * 4);
    }
    expect(r.samples.find((s) => s.transport === "longpoll")!.requestsPerDelivery).toBeGreaterThan(0);
    expect(r.samples.find((s) => s.transport === "ws")!.requestsPerDelivery).toBe(0);
    expect(r.samples.find((s) => s.transport === "longpoll-raw")!.requestsPerDelivery).toBeGreaterThan(0);
    expect(r.summary.find((s) => s.transport === "sse-raw")!.max!.deliveriesPerSec).toBeGreaterThan(0);
    expectRendered("transports", r, ["WebSocket", "SSE", "bare http SSE server (baseline)", "long polling", "bare http long-poll server (baseline)"]);
  });

});
