// Three instances as OS processes behind nginx (deploy/nginx.conf), one Postgres log, one Redis:
// chat reaches everyone exactly once and in order across instances and transports, through a
// rolling restart of every instance and the crash of one. Needs Postgres, redis-server, nginx.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster";
import { allAcked, connected, makePeer, startTraffic, type Peer, type PeerOptions } from "./peers";
import { verifyRoom } from "./verify";
import { isType, waitFor, WsClient } from "../helpers/server";

/** deploy/nginx.conf's `fail_timeout` for requests that end at once. */
const NGINX_FAIL_TIMEOUT_MS = 2_000;

describe("several instances behind nginx", () => {
  let cluster: Cluster;
  const peers: Peer[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ instances: 3 });
  });
  afterAll(async () => {
    for (const p of peers) p.stop();
    await cluster?.stop();
  });

  const peer = async (name: string, opts: PeerOptions) => {
    const p = await makePeer(cluster, name, opts);
    peers.push(p);
    return p;
  };
  const createRoom = async (name: string) => {
    const { cookie } = await cluster.signIn("Admin");
    const res = await cluster.api("/api/rooms", { method: "POST", cookie, body: JSON.stringify({ name }) });
    expect(res.status).toBe(201);
  };

  it("delivers every acknowledged message to readers on every instance and transport exactly once, in seq order", async () => {
    const room = "fanout";
    await createRoom(room);
    const bases = [...cluster.instances.map((i) => i.url), cluster.url];
    const label = (b: string) => (b === cluster.url ? "nginx" : cluster.instances.find((i) => i.url === b)!.id);
    const writers: Peer[] = [];
    const readers: Peer[] = [];
    const feedReaders: Peer[] = [];
    for (const base of bases) {
      const at = label(base);
      readers.push(await peer(`ws-reader-${at}`, { base, transport: "websocket", rooms: [room] }));
      readers.push(await peer(`lp-reader-${at}`, { base, transport: "longpoll", rooms: [room] }));
      feedReaders.push(await peer(`sse-reader-${at}`, { base, transport: "websocket", feedStreams: ["feed"] }));
      writers.push(await peer(`ws-writer-${at}`, { base, transport: "websocket", rooms: [room] }));
      writers.push(await peer(`lp-writer-${at}`, { base, transport: "longpoll", rooms: [room] }));
    }
    await connected([...readers, ...writers]);
    await connected(feedReaders, "feed");

    // Everyone writes at once, through every instance and nginx.
    const traffic = startTraffic(writers, room, 60);
    await waitFor(() => traffic.queued() >= 20 * writers.length, 30_000, "messages queued");
    traffic.stop();
    await allAcked(writers);

    const result = await verifyRoom(cluster, room, { writers, readers, feedReaders });
    expect(result.messages).toBeGreaterThanOrEqual(20 * writers.length);
    console.info(`fan-out: ${result.messages} messages from ${writers.length} writers, seen by ${result.readers} readers`);
  });

  it("drains on SIGTERM: /readyz answers 503 before the process exits, WebSockets close 1012 with a reconnect delay", async () => {
    const target = cluster.instances[0]!;
    const { cookie } = await cluster.signIn("Drain", target.url);
    // Enough sockets that closing them takes a few batches: the drain lasts long enough to watch.
    const sockets = await Promise.all(Array.from({ length: 10 }, () => WsClient.open(`${target.url.replace("http", "ws")}/ws`, cookie)));
    for (const s of sockets) s.send({ type: "join", room: "general" });
    for (const s of sockets) await s.next(isType("joined"));

    // /readyz over a new connection each time, until the port stops answering.
    const statuses: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const status = await readyz(target.port);
        if (status === null && statuses.length > 0 && statuses.at(-1) !== 200) break;
        if (status !== null) statuses.push(status);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor(() => statuses.length > 0, 5_000, "readyz answering");

    // A message from every socket, and SIGTERM at once: each sender hears either its ack (and
    // the message is in the log) or a refusal it can retry elsewhere — never silence.
    sockets.forEach((s, i) => s.send({ type: "send", room: "general", text: `last words ${i}`, clientId: `drain-${i}` }));
    const code = await target.stop("SIGTERM");
    polling = false;
    await poller;
    expect(code, "exit code after the drain").toBe(0);
    expect(statuses[0]).toBe(200);
    expect(statuses, "readyz during the drain").toContain(503);

    const inLog = new Set((await cluster.logEvents("room:general")).map((e) => e.clientId));
    for (const [i, s] of sockets.entries()) {
      expect(await s.closed()).toBe(1012);
      const reason = JSON.parse(s.closeReason) as { reconnectAfterMs?: unknown };
      expect(typeof reason.reconnectAfterMs).toBe("number");
      expect(reason.reconnectAfterMs as number).toBeGreaterThanOrEqual(0);
      const acked = s.of("ack").some((f) => f.clientId === `drain-${i}`);
      const refused = s.of("error").some((f) => f.clientId === `drain-${i}` && f.code === "unavailable");
      expect(acked !== refused, `drain-${i}: exactly one of ack or refusal before the close`).toBe(true);
      expect(inLog.has(`drain-${i}`), `drain-${i} in the log as acknowledged`).toBe(acked);
    }
    await target.start();
  });

  it("loses and repeats nothing through a rolling restart of every instance and the crash of one", async () => {
    const room = "rolling";
    await createRoom(room);
    const writers: Peer[] = [];
    const readers: Peer[] = [];
    const feedReaders: Peer[] = [];
    for (let i = 0; i < 3; i++) writers.push(await peer(`ws-writer-${i}`, { transport: "websocket", rooms: [room] }));
    for (let i = 0; i < 2; i++) writers.push(await peer(`lp-writer-${i}`, { transport: "longpoll", rooms: [room] }));
    for (let i = 0; i < 3; i++) readers.push(await peer(`ws-reader-${i}`, { transport: "websocket", rooms: [room] }));
    for (let i = 0; i < 2; i++) readers.push(await peer(`lp-reader-${i}`, { transport: "longpoll", rooms: [room] }));
    for (let i = 0; i < 3; i++) feedReaders.push(await peer(`sse-reader-${i}`, { transport: "websocket", feedStreams: ["feed"] }));
    await connected([...writers, ...readers]);
    await connected(feedReaders, "feed");

    // What happened when, printed once at the end: the deploy's timeline in acks.
    const t0 = Date.now();
    const timeline: string[] = [];
    const step = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what} (${ackedNow()} acked)`);
    const traffic = startTraffic(writers, room, 120);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const ackedNow = () => writers.reduce((s, w) => s + w.acked.size, 0);
    // Traffic flows before anything happens, and goes on flowing after each step.
    const flowing = async () => {
      const before = ackedNow();
      await waitFor(() => ackedNow() >= before + 10, 30_000, "acks flowing again");
    };
    await flowing();

    for (const inst of cluster.instances) {
      step(`SIGTERM ${inst.id}`);
      expect(await inst.stop("SIGTERM"), `${inst.id} exit code`).toBe(0);
      step(`${inst.id} drained and exited`);
      await flowing();
      await inst.start();
      step(`${inst.id} ready again`);
      await flowing();
      // nginx counts an instance it marked failed (refused while down, 503 while draining) as
      // live again only fail_timeout after its last failure (2 s, deploy/nginx.conf): a deploy
      // drains the next instance no sooner (README, "Rolling deploy"), or for a moment every
      // instance may count as failed at once.
      await pause(NGINX_FAIL_TIMEOUT_MS);
    }
    const victim = cluster.instances[1]!;
    step(`SIGKILL ${victim.id}`);
    expect(await victim.stop("SIGKILL")).toBeNull();
    await flowing();
    await pause(1_000);
    await victim.start();
    step(`${victim.id} ready again`);
    await flowing();

    step("stop traffic");
    traffic.stop();
    await allAcked(writers);
    step("every message acknowledged");
    // One instance down at a time always left nginx another to send to: it never marked every
    // instance failed at once and turned everyone away (deploy/nginx.conf's fail_timeout).
    const refusedAll = (await cluster.nginx.errorLog()).split("\n").filter((l) => l.includes("no live upstreams"));
    expect(
      refusedAll.length,
      `nginx had no instance to send to ${refusedAll.length} times:\n${refusedAll.slice(0, 3).join("\n")}\ntimeline (since ${new Date(t0).toISOString()}):\n  ${timeline.join("\n  ")}`,
    ).toBe(0);
    const result = await verifyRoom(cluster, room, { writers, readers, feedReaders });
    const reconnects = [...writers, ...readers, ...feedReaders].reduce((s, p) => s + p.client.getStatus().reconnects, 0);
    expect(reconnects, "connections were moved by the restarts").toBeGreaterThan(0);
    console.info(
      `rolling restart + crash: ${result.messages} messages, ${result.acked} acks, ${result.readers} readers, ` +
        `${reconnects} reconnects; lost 0, duplicated 0\n  ${timeline.join("\n  ")}`,
    );
  });
});

/** GET /readyz on a fresh connection; null when nothing answers. */
function readyz(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/readyz", agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on("error", () => resolve(null));
    req.on("timeout", () => req.destroy());
  });
}
