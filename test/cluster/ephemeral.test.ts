// Presence, typing, cursors and read markers across three server processes (Redis pub/sub between them, a
// short PRESENCE_HEARTBEAT_MS), and what happens when an instance crashes or Redis goes away.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startCluster, type Cluster } from "./cluster";
import { allAcked, connected, makePeer, startTraffic, type Peer } from "./peers";
import { verifyRoom } from "./verify";
import { waitFor } from "../helpers/server";

const ROOM = "lobby";

describe("ephemeral state across instances", () => {
  let cluster: Cluster;
  let ada: Peer; // WebSocket, on n1
  let lin: Peer; // WebSocket, on n2
  let grace: Peer; // WebSocket, on n3
  let kay: Peer; // long polling, through nginx
  let everyone: Peer[];

  beforeAll(async () => {
    // A heartbeat of 1 s (TTL 3 s): short enough for the crash test below, long enough that a
    // loaded machine's pauses do not make the instances forget one another between heartbeats.
    cluster = await startCluster({ instances: 3, presenceHeartbeatMs: 1_000 });
    const { cookie } = await cluster.signIn("Admin");
    expect((await cluster.api("/api/rooms", { method: "POST", cookie, body: JSON.stringify({ name: ROOM }) })).status).toBe(201);
    const [n1, n2, n3] = cluster.instances.map((i) => i.url);
    ada = await makePeer(cluster, "Ada", { base: n1, transport: "websocket", rooms: [ROOM] });
    lin = await makePeer(cluster, "Lin", { base: n2, transport: "websocket", rooms: [ROOM] });
    grace = await makePeer(cluster, "Grace", { base: n3, transport: "websocket", rooms: [ROOM] });
    kay = await makePeer(cluster, "Kay", { transport: "longpoll", rooms: [ROOM] });
    everyone = [ada, lin, grace, kay];
    await connected(everyone);
  });
  afterAll(async () => {
    for (const p of everyone ?? []) p.stop();
    await cluster?.stop();
  });

  const names = (p: Peer) => (p.members.get(ROOM) ?? []).map((m) => m.name).sort();
  const sees = async (viewers: Peer[], expected: string[], what: string, ms = 15_000) =>
    waitFor(() => viewers.every((p) => JSON.stringify(names(p)) === JSON.stringify([...expected].sort())), ms, what).catch(
      (err: Error) => {
        throw new Error(`${err.message}: ${viewers.map((p) => `${p.name} sees ${names(p).join(",")}`).join("; ")}`);
      },
    );

  it("shows the union of every instance's members, and typing and cursors from anywhere", async () => {
    await sees(everyone, ["Ada", "Lin", "Grace", "Kay"], "everyone present for everyone");

    ada.client.typing(ROOM);
    await waitFor(
      () => [lin, grace, kay].every((p) => (p.typing.get(ROOM) ?? []).some((u) => u.name === "Ada")),
      10_000,
      "Ada typing, seen on n2, n3 and by the poller",
    );
    ada.client.typing(ROOM, true);
    await waitFor(() => [lin, grace, kay].every((p) => (p.typing.get(ROOM) ?? []).length === 0), 10_000, "Ada stopped typing");

    lin.client.moveCursor(ROOM, { x: 0.25, y: 0.75 });
    await waitFor(
      () => [ada, grace, kay].every((p) => p.cursors.get(ROOM)?.[lin.user.id]?.x === 0.25),
      10_000,
      "Lin's cursor on n1, n3 and at the poller",
    );
    expect(grace.cursors.get(ROOM)?.[lin.user.id]).toMatchObject({ x: 0.25, y: 0.75, name: "Lin" });
  });

  it("drops a crashed instance's members within the TTL, and shows them again when it is back", async () => {
    const n3 = cluster.instances[2]!;
    expect(await n3.stop("SIGKILL")).toBeNull();
    // The TTL is 3 heartbeats (3 s here); the default heartbeat (5 s) would not make it in 10 s.
    await sees([ada, lin, kay], ["Ada", "Lin", "Kay"], "Grace gone after n3 crashed", 10_000);
    await n3.start();
    // Grace's client reconnects to n3 by itself and joins again.
    await sees(everyone, ["Ada", "Lin", "Grace", "Kay"], "Grace back with n3");
  });

  /** Whether every instance says its ephemeral bus is up (`rt_ephemeral_bus_connected`). */
  const busesConnected = async (value: 0 | 1) => {
    const texts = await Promise.all(cluster.instances.map((i) => fetch(`${i.url}/metrics`).then((r) => r.text())));
    return texts.every((t) => new RegExp(`^rt_ephemeral_bus_connected(\\{[^}]*\\})? ${value}$`, "m").test(t));
  };

  it("keeps chat whole while Redis is down, and presence recovers by itself when Redis is back", async () => {
    expect(await busesConnected(1)).toBe(true);
    await cluster.redis.stop();
    await waitFor(() => busesConnected(0), 10_000, "every instance sees the bus down");
    // Without heartbeats the instances forget one another: each sees only its own people.
    await waitFor(() => !names(ada).includes("Grace") && !names(lin).includes("Grace"), 15_000, "remote members expired");

    const writers = [ada, lin, kay];
    const traffic = startTraffic(writers, ROOM, 80);
    await waitFor(() => traffic.queued() >= 60, 30_000, "messages queued while Redis is down");
    traffic.stop();
    await allAcked(writers);
    const result = await verifyRoom(cluster, ROOM, { writers, readers: [grace], feedReaders: [] });
    expect(result.messages).toBeGreaterThanOrEqual(60);

    await cluster.redis.start();
    // Each instance reconnects on its own backoff (at most 2 s); presence is whole one heartbeat after.
    await waitFor(() => busesConnected(1), 15_000, "every instance back on the bus");
    await sees(everyone, ["Ada", "Lin", "Grace", "Kay"], "presence whole again after Redis came back");
    lin.client.typing(ROOM);
    await waitFor(() => (ada.typing.get(ROOM) ?? []).some((u) => u.name === "Lin"), 10_000, "typing across instances again");
    console.info(`redis outage: ${result.messages} messages delivered to ${result.readers} readers; presence recovered`);
  });

  it("tells a person's streams on every instance when they read their mentions on another", async () => {
    const [n1, n2] = cluster.instances.map((i) => i.url);
    // Lin's laptop follows her mentions on n1; her phone reads them through n2.
    const laptop = await makePeer(cluster, "Lin", { base: n1, transport: "websocket", session: { user: lin.user, cookie: lin.cookie }, feedStreams: ["feed", "user:me"] });
    onTestFinished(() => laptop.stop());
    const reads: number[] = [];
    laptop.client.on("read", (r) => reads.push(r.readSeq));
    laptop.client.start();
    await waitFor(() => laptop.client.getStatus().feed.state === "connected", 10_000, "laptop's event stream");
    const { cookie } = await cluster.signIn("Admin");
    expect((await cluster.api("/api/rooms", { method: "POST", cookie, body: JSON.stringify({ name: "reads" }) })).status).toBe(201);
    const res = await cluster.api(`/api/rooms/reads/messages`, { method: "POST", cookie: ada.cookie, base: n1, body: JSON.stringify({ text: "@Lin over here", clientId: "read-x" }) });
    expect(res.status).toBe(201);
    await waitFor(() => laptop.tc.events.some((e) => e.type === "mention"), 10_000, "the mention on the laptop");
    const seq = laptop.tc.events.filter((e) => e.type === "mention").at(-1)!.seq;
    expect((await cluster.api("/api/notifications/read", { method: "POST", cookie: lin.cookie, base: n2, body: JSON.stringify({ seq }) })).status).toBe(204);
    await waitFor(() => reads.includes(seq), 10_000, "the read marker from n2 on n1");
  });
});
