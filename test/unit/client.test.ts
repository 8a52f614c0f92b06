// The realtime client as the page uses it, over a fake socket, a scripted HTTP server and fake
// time: what goes out on the wire, what the page hears, and what the status shows — the room's
// canvas, a room the person was removed from, the server's frames one by one, long-poll answers,
// the feed's stream, rewinding, the inspector's switches (transport, drop, offline) and signing out.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, RealtimeEvent, ServerFrame } from "../../lib/protocol";
import { RealtimeClient } from "../../lib/realtime/client";
import type { ClientEvents, ClientOptions } from "../../lib/realtime/types";
import { FakeHttp, sse } from "../helpers/client-fake-http";
import { FakeSockets } from "../helpers/fake-socket";
import { pass, settle } from "../helpers/fake-time";

let sockets: FakeSockets;
let http: FakeHttp;
let clients: RealtimeClient[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  sockets = new FakeSockets();
  http = new FakeHttp();
  clients = [];
});
afterEach(() => {
  for (const c of clients) c.stop();
  vi.useRealTimers();
});

function makeClient(opts: ClientOptions = {}): RealtimeClient {
  const client = new RealtimeClient({
    baseUrl: "http://app.test",
    transport: "websocket",
    createWebSocket: sockets.create,
    fetch: http.fetch,
    random: () => 0.5,
    ...opts,
  });
  clients.push(client);
  return client;
}

/** Everything the client emits, by event name, in order. */
function heard(client: RealtimeClient) {
  const all: Array<[keyof ClientEvents, unknown]> = [];
  const names: Array<keyof ClientEvents> = [
    "event", "joined", "reset", "presence", "typing", "cursors", "ack", "read", "roomRead", "removed",
    "canvasJoined", "canvasSnapshot", "canvasLive", "error", "signedOut",
  ];
  for (const n of names) client.on(n, (v) => all.push([n, v]));
  return {
    all,
    of<K extends keyof ClientEvents>(name: K): Array<ClientEvents[K]> {
      return all.filter(([n]) => n === name).map(([, v]) => v as ClientEvents[K]);
    },
  };
}

/** A started client on an open socket that joined `room` (answered). */
function connected(room = "general", opts: ClientOptions = {}) {
  const client = makeClient(opts);
  const h = heard(client);
  client.start();
  client.join(room, 0);
  sockets.last.open();
  sockets.last.receive({ type: "joined", room, head: 0, members: [] });
  h.all.length = 0;
  return { client, h, socket: sockets.last };
}

const actor = { id: "u_lin", name: "Lin" };
const ada = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin = { id: "u_lin", name: "Lin", color: "#2563eb" };

const message = (room: string, seq: number, clientId = `x${seq}`): RealtimeEvent => ({
  stream: `room:${room}`,
  seq,
  type: "message",
  actor,
  at: new Date(0).toISOString(),
  data: { text: `m${seq}`, clientId },
});
const canvasOps = (room: string, seq: number, clientId = `o${seq}`): RealtimeEvent => ({
  stream: `canvas:${room}`,
  seq,
  type: "canvas.ops",
  actor,
  at: new Date(0).toISOString(),
  data: { ops: [{ op: "delete", id: "n1" }], clientId },
});
const feedEvent = (seq: number): RealtimeEvent => ({
  stream: "feed",
  seq,
  type: "room.created",
  actor,
  at: new Date(0).toISOString(),
  data: { roomId: `r${seq}`, name: `r${seq}` },
});

const sent = (types: string[]) => sockets.last.sent.filter((f) => types.includes(f.type));

describe("a room's canvas", () => {
  it("joins the canvas of a joined room, and again from the position reached after each rejoin", async () => {
    const { client, h, socket } = connected("general");
    client.openCanvas("general");
    expect(socket.sentOf("canvas.join")).toEqual([{ type: "canvas.join", room: "general" }]);

    socket.receive({ type: "canvas.snapshot", room: "general", seq: 5, objects: [] });
    expect(h.of("canvasSnapshot")).toEqual([{ room: "general", seq: 5, objects: [] }]);
    expect(client.position("canvas:general")).toBe(5);
    socket.receive({ type: "event", event: canvasOps("general", 6) });
    expect(h.of("event").map((e) => [e.stream, e.seq])).toEqual([["canvas:general", 6]]);

    socket.drop();
    await pass(1_000);
    sockets.last.open();
    expect(sockets.last.sent).toEqual([{ type: "join", room: "general", since: 0 }]);
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [] });
    expect(sockets.last.sentOf("canvas.join")).toEqual([{ type: "canvas.join", room: "general", since: 6 }]);
    sockets.last.receive({ type: "canvas.joined", room: "general", head: 6 });
    expect(h.of("canvasJoined")).toEqual([{ room: "general", head: 6 }]);
  });

  it("waits for the room's join before joining its canvas; opened anew, it asks for a snapshot", () => {
    const client = makeClient();
    client.start();
    client.join("general", 0);
    sockets.last.open();
    client.openCanvas("general");
    client.openCanvas("design");
    expect(sockets.last.sentOf("canvas.join")).toEqual([]);
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [] });
    expect(sockets.last.sentOf("canvas.join")).toEqual([{ type: "canvas.join", room: "general" }]);
    sockets.last.receive({ type: "canvas.snapshot", room: "general", seq: 9, objects: [] });
    // A second board opened for the room (a new tab): from a snapshot, not from 9.
    client.openCanvas("general", true);
    expect(client.position("canvas:general")).toBeUndefined();
    expect(sockets.last.sentOf("canvas.join")).toEqual([
      { type: "canvas.join", room: "general" },
      { type: "canvas.join", room: "general" },
    ]);
    // Not anew: from where it was.
    sockets.last.receive({ type: "canvas.snapshot", room: "general", seq: 9, objects: [] });
    client.openCanvas("general");
    expect(sockets.last.sentOf("canvas.join").at(-1)).toEqual({ type: "canvas.join", room: "general", since: 9 });
  });

  it("sends no canvas join while stopped or offline", () => {
    const { client, socket } = connected("general");
    client.setOffline(true);
    client.openCanvas("general");
    client.stop();
    client.openCanvas("general");
    expect(socket.sentOf("canvas.join")).toEqual([]);
  });

  it("hears the canvas' frames only while it is open", () => {
    const { client, h, socket } = connected("general");
    const by = { id: "u_lin", name: "Lin", color: "#2563eb" };
    const live: ServerFrame = { type: "canvas.live", room: "general", drags: { n1: { x: 1, y: 2, w: 3, h: 4, by } }, selections: { u_lin: { ids: ["n1"], name: "Lin", color: "#2563eb" } } };
    socket.receive({ type: "canvas.joined", room: "general", head: 1 });
    socket.receive({ type: "canvas.snapshot", room: "general", seq: 1, objects: [] });
    socket.receive(live);
    expect(h.of("canvasJoined")).toEqual([]);
    expect(h.of("canvasSnapshot")).toEqual([]);
    expect(h.of("canvasLive")).toEqual([]);
    expect(client.position("canvas:general")).toBeUndefined();

    client.openCanvas("general");
    socket.receive(live);
    socket.receive({ ...live, full: true });
    expect(h.of("canvasLive")).toEqual([
      { room: "general", drags: { n1: { x: 1, y: 2, w: 3, h: 4, by } }, selections: { u_lin: { ids: ["n1"], name: "Lin", color: "#2563eb" } }, full: false },
      { room: "general", drags: { n1: { x: 1, y: 2, w: 3, h: 4, by } }, selections: { u_lin: { ids: ["n1"], name: "Lin", color: "#2563eb" } }, full: true },
    ]);
  });

  it("closes: `canvas.leave` once, its position forgotten, its frames no longer heard", () => {
    const { client, h, socket } = connected("general");
    client.openCanvas("general");
    socket.receive({ type: "canvas.snapshot", room: "general", seq: 3, objects: [] });
    client.closeCanvas("general");
    client.closeCanvas("general");
    expect(socket.sentOf("canvas.leave")).toEqual([{ type: "canvas.leave", room: "general" }]);
    expect(client.position("canvas:general")).toBeUndefined();
    socket.receive({ type: "canvas.joined", room: "general", head: 4 });
    expect(h.of("canvasJoined")).toEqual([]);
    // Rejoined later: the canvas is not joined again.
    socket.receive({ type: "joined", room: "general", head: 0, members: [] });
    expect(socket.sentOf("canvas.join")).toHaveLength(1);
  });

  it("leaving the room leaves its canvas first; offline, nothing is said", () => {
    const { client, socket } = connected("general");
    client.join("design", 0);
    socket.receive({ type: "joined", room: "design", head: 0, members: [] });
    client.openCanvas("general");
    client.openCanvas("design");
    client.leave("general");
    expect(sent(["canvas.leave", "leave"])).toEqual([
      { type: "canvas.leave", room: "general" },
      { type: "leave", room: "general" },
    ]);
    client.setOffline(true);
    client.closeCanvas("design");
    expect(socket.sentOf("canvas.leave")).toHaveLength(1);
  });

  it("sends live drags and selections of an open canvas in a joined room, only what is given", () => {
    const { client, socket } = connected("general");
    const drags = { n1: { x: 1, y: 2, w: 3, h: 4 } };
    client.moveOnCanvas("general", drags);
    client.openCanvas("general");
    client.moveOnCanvas("general", drags);
    client.moveOnCanvas("general", undefined, ["n1"]);
    client.moveOnCanvas("general", { n1: null }, []);
    client.openCanvas("design");
    client.moveOnCanvas("design", drags);
    expect(socket.sentOf("canvas.live")).toEqual([
      { type: "canvas.live", room: "general", drags },
      { type: "canvas.live", room: "general", selection: ["n1"] },
      { type: "canvas.live", room: "general", drags: { n1: null }, selection: [] },
    ]);
    client.setOffline(true);
    client.moveOnCanvas("general", drags);
    client.setOffline(false);
    client.stop();
    client.moveOnCanvas("general", drags);
    expect(socket.sentOf("canvas.live")).toHaveLength(3);
  });

  it("counts our own canvas change as sent when it comes back before its ack", () => {
    const { client, h, socket } = connected("general");
    client.openCanvas("general");
    socket.receive({ type: "canvas.snapshot", room: "general", seq: 1, objects: [] });
    const entry = client.enqueue({ type: "canvas.ops", room: "general", ops: [{ op: "delete", id: "n1" }], clientId: "ops-1" })!;
    expect(socket.sentOf("canvas.ops")).toHaveLength(1);
    socket.receive({ type: "event", event: canvasOps("general", 2, entry.clientId) });
    expect(client.getOutbox()).toEqual([]);
    expect(h.of("ack")).toEqual([{ clientId: "ops-1", room: "general", seq: 2 }]);
  });
});

describe("what the server's frames tell the page", () => {
  it("a join's answer: the room's head and members, and its presence", () => {
    const client = makeClient();
    const h = heard(client);
    client.start();
    client.join("general");
    sockets.last.open();
    sockets.last.receive({ type: "joined", room: "general", head: 4, members: [ada] });
    expect(h.all).toEqual([
      ["joined", { room: "general", head: 4, members: [ada] }],
      ["presence", { room: "general", members: [ada] }],
    ]);
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
  });

  it("typing, cursors (a full set marked as a snapshot) and read positions", () => {
    const { h, socket } = connected("general");
    const cursor = { x: 0.5, y: 0.5, name: "Lin", color: "#2563eb" };
    socket.receive({ type: "typing", room: "general", users: [actor] });
    socket.receive({ type: "cursors", room: "general", cursors: { u_lin: cursor } });
    socket.receive({ type: "cursors", room: "general", cursors: { u_lin: null }, full: true });
    socket.receive({ type: "read", room: "general", seq: 3 });
    expect(h.all).toEqual([
      ["typing", { room: "general", users: [actor] }],
      ["cursors", { room: "general", cursors: { u_lin: cursor }, snapshot: false }],
      ["cursors", { room: "general", cursors: { u_lin: null }, snapshot: true }],
      ["roomRead", { room: "general", readSeq: 3 }],
    ]);
  });

  it("a late presence for a room left meanwhile is passed on, and does not bring its list back", () => {
    const { client, h, socket } = connected("general");
    socket.receive({ type: "presence", room: "general", members: [ada] });
    client.leave("general");
    socket.receive({ type: "presence", room: "general", members: [ada, lin] });
    // A diff for a room no longer followed applies to nothing kept: its joins alone.
    socket.receive({ type: "presence_diff", room: "general", joins: [lin], leaves: [] });
    expect(h.of("presence")).toEqual([
      { room: "general", members: [ada] },
      { room: "general", members: [ada, lin] },
      { room: "general", members: [lin] },
    ]);
  });

  it("an error is shown to the page; a refusal of a message for good marks it failed", () => {
    const { client, h, socket } = connected("general");
    const entry = client.send("general", "hi")!;
    socket.receive({ type: "error", code: "forbidden", message: "Not yours", clientId: entry.clientId, room: "general" });
    expect(h.of("error")).toEqual([{ code: "forbidden", message: "Not yours" }]);
    expect(client.getOutbox()).toMatchObject([{ status: "failed", error: { code: "forbidden", message: "Not yours" } }]);
    // Not a room the server lost: no join again.
    expect(socket.sentOf("join")).toHaveLength(1);
  });

  it("a message refused for now goes again after a while, without a join; a room's error with no clientId that is no `try later` changes nothing", async () => {
    const { client, socket } = connected("general");
    const entry = client.send("general", "hi")!;
    socket.receive({ type: "error", code: "rate_limited", message: "Slow down", clientId: entry.clientId, room: "general" });
    expect(client.getOutbox()[0]!.status).toBe("pending");
    socket.receive({ type: "error", code: "forbidden", message: "No", room: "general" });
    await pass(5_000);
    expect(socket.sentOf("join")).toHaveLength(1);
    expect(socket.sentOf("send").map((f) => f.clientId)).toEqual([entry.clientId, entry.clientId]);
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
  });

  it("a `try later` about a room that is not followed joins nothing", async () => {
    const { socket } = connected("general");
    socket.receive({ type: "error", code: "overloaded", message: "busy", room: "design" });
    socket.receive({ type: "error", code: "not_joined", message: "no", room: "design" });
    await pass(10_000);
    expect(socket.sentOf("join").map((f) => f.room)).toEqual(["general"]);
  });

  it("`removed`: the room is gone for this person — no leave, no rejoin, its canvas and cursor dropped", async () => {
    const { client, h, socket } = connected("general");
    client.join("design", 0);
    socket.receive({ type: "joined", room: "design", head: 0, members: [] });
    client.openCanvas("general");
    client.moveCursor("general", { x: 0.5, y: 0.5 });
    socket.receive({ type: "removed", room: "general" });
    expect(h.of("removed")).toEqual([{ room: "general" }]);
    expect(client.getStatus().subscriptions).toEqual({ design: "joined" });
    expect(client.position("room:general")).toBeUndefined();
    await pass(1_000);
    // The cursor waiting to go is dropped; the canvas' frames are not heard; the pointer is ignored.
    client.moveCursor("general", { x: 0.6, y: 0.6 });
    socket.receive({ type: "canvas.joined", room: "general", head: 1 });
    await pass(1_000);
    expect(h.of("canvasJoined")).toEqual([]);
    expect(sent(["leave", "cursor", "canvas.leave"])).toEqual([]);
    socket.drop();
    await pass(1_000);
    sockets.last.open();
    expect(sockets.last.sentOf("join").map((f) => f.room)).toEqual(["design"]);
  });

  it("`removed` for a room not followed is passed on", () => {
    const { h, socket } = connected("general");
    socket.receive({ type: "removed", room: "design" });
    expect(h.of("removed")).toEqual([{ room: "design" }]);
  });
});

describe("long polling", () => {
  /** A long-polling client following `feed` and the person's stream, its first poll made. */
  async function polling(opts: ClientOptions = {}) {
    const client = makeClient({ transport: "longpoll", feedStreams: ["feed", "user:me"], ...opts });
    const h = heard(client);
    const statuses: Array<ReturnType<RealtimeClient["getStatus"]>> = [];
    client.on("status", (s) => statuses.push(s));
    client.start();
    await settle();
    return { client, h, statuses };
  }

  it("polls the rooms, the canvases it has a position in and the feed streams, from their positions", async () => {
    const { client } = await polling();
    expect(http.lastPoll.streams).toEqual(["feed", "user:me"]);
    http.onBatch = (frames) =>
      frames.flatMap((f): ServerFrame[] => {
        if (f.type === "join") return [{ type: "joined", room: f.room, head: 3, members: [] }];
        if (f.type === "canvas.join") return [{ type: "canvas.snapshot", room: f.room, seq: 7, objects: [] }];
        return [];
      });
    client.openCanvas("general");
    client.openCanvas("design");
    client.join("general", 3);
    await settle();
    // A canvas joins the poll once a snapshot (or a join) gave it a position.
    expect(http.posted.map((f) => f.type)).toEqual(["join", "canvas.join"]);
    expect(http.held.map((p) => [p.streams, p.cursor])).toEqual([[["room:general", "canvas:general", "feed", "user:me"], "room:general=3,canvas:general=7"]]);
    client.closeCanvas("general");
    await settle();
    expect(http.held.map((p) => p.streams)).toEqual([["room:general", "feed", "user:me"]]);
    // Leaving the room (and its canvas): polled no more.
    client.leave("general");
    await settle();
    expect(http.held.map((p) => p.streams)).toEqual([["feed", "user:me"]]);
  });

  it("hands the page a poll's resets, then its events, then each followed room's state", async () => {
    const { client, h } = await polling();
    client.join("general", 0);
    await settle();
    h.all.length = 0;
    const frames: string[] = [];
    client.on("frame", (f) => f.direction === "in" && frames.push(`${f.transport} ${f.type}`));
    const cursor = { x: 0.5, y: 0.5, name: "Lin", color: "#2563eb" };
    http.lastPoll.answer({
      events: [message("general", 1), feedEvent(2)],
      cursor: "room:general=1,feed=2,user:me=40",
      resets: { "user:u_ada": 40 },
      rooms: {
        general: { members: [ada], typing: [actor], cursors: { u_lin: cursor } },
        design: { members: [lin], typing: [], cursors: {} },
      },
    });
    await settle();
    expect(h.all).toEqual([
      ["reset", { stream: "user:me", head: 40 }],
      ["event", message("general", 1)],
      ["event", feedEvent(2)],
      ["presence", { room: "general", members: [ada] }],
      ["typing", { room: "general", users: [actor] }],
      ["cursors", { room: "general", cursors: { u_lin: cursor }, snapshot: true }],
    ]);
    expect(frames).toEqual(["longpoll poll(2)"]);
    expect([client.position("room:general"), client.position("feed"), client.position("user:me")]).toEqual([1, 2, 40]);
    expect(http.lastPoll.cursor).toBe("room:general=1,feed=2,user:me=40");
    // A room carried by the poll is joined, answer to its join frame or not.
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
  });

  it("takes an empty answer's round trip as the RTT, not one that carried events or was held a second", async () => {
    const { client } = await polling();
    await pass(300);
    http.lastPoll.answer({ events: [], cursor: "feed=0" });
    await settle();
    expect(client.getStatus().rttMs).toBe(300);
    await pass(200);
    http.lastPoll.answer({ events: [feedEvent(1)], cursor: "feed=1" });
    await settle();
    expect(client.getStatus().rttMs).toBe(300);
    await pass(1_000);
    http.lastPoll.answer({ events: [], cursor: "feed=1" });
    await settle();
    expect(client.getStatus().rttMs).toBe(300);
    await pass(999);
    http.lastPoll.answer({ events: [], cursor: "feed=1" });
    await settle();
    expect(client.getStatus().rttMs).toBe(999);
  });

  it("shows the feed connected once a poll answers, reconnecting when one fails, with the server's code or `network`", async () => {
    const { client, h, statuses } = await polling();
    expect(client.getStatus().feed).toEqual({ transport: "longpoll", state: "connecting" });
    http.lastPoll.answer({ events: [], cursor: "feed=0" });
    await settle();
    expect(client.getStatus().feed).toEqual({ transport: "longpoll", state: "connected" });
    expect(statuses.at(-1)!.feed.state).toBe("connected");
    http.lastPoll.answer(JSON.stringify({ error: { code: "internal", message: "boom" } }), 500);
    await settle();
    expect(client.getStatus().feed.state).toBe("reconnecting");
    expect(client.getStatus().rooms.state).toBe("reconnecting");
    await pass(10_000);
    http.lastPoll.fail();
    await settle();
    expect(h.of("error")).toEqual([
      { code: "internal", message: "HTTP 500" },
      { code: "network", message: "fetch failed" },
    ]);
  });

  it("a poll answered 401 signs the page out: no more polls, the feed and the rooms say signed out", async () => {
    const { client, h } = await polling();
    client.join("general", 0);
    await settle();
    http.lastPoll.answer(JSON.stringify({ error: { code: "unauthorized", message: "Sign in" } }), 401);
    await settle();
    expect(h.of("signedOut")).toHaveLength(1);
    expect(h.of("error")).toEqual([]);
    expect(client.getStatus()).toMatchObject({ link: "signed-out", feed: { state: "signed-out" }, rooms: { state: "signed-out" } });
    const polls = http.polls.length;
    await pass(120_000);
    client.wake();
    client.rewind("feed", 0);
    await pass(120_000);
    expect(http.polls.length).toBe(polls);
  });

  it("asks again at once when woken, instead of waiting out the held poll", async () => {
    const { client } = await polling();
    http.lastPoll.answer({ events: [], cursor: "feed=0" });
    await settle();
    const held = http.lastPoll;
    client.wake();
    await settle();
    expect(held.aborted).toBe(true);
    expect(http.held).toHaveLength(1);
    expect(http.lastPoll.wait).toBe("0");
  });
});

describe("the feed's event stream", () => {
  async function streaming(opts: ClientOptions = {}) {
    const client = makeClient({ feedStreams: ["feed", "user:me"], ...opts });
    const h = heard(client);
    const frames: string[] = [];
    client.on("frame", (f) => f.direction === "in" && frames.push(`${f.transport} ${f.type} ${f.bytes}${f.invalid ? " invalid" : ""}`));
    client.start();
    await settle();
    return { client, h, frames };
  }

  it("asks for the feed streams by name, and resumes from their positions", async () => {
    const { client } = await streaming();
    expect(http.streams.map((s) => [s.url, s.lastEventId])).toEqual([["http://app.test/api/stream?streams=feed%2Cuser%3Ame", null]]);
    http.streams[0]!.write(sse("feed=4,user:me=2", "room.created", feedEvent(4)));
    await settle();
    client.dropConnection();
    await pass(500);
    expect(http.streams.map((s) => s.lastEventId)).toEqual([null, "feed=4,user:me=2"]);
  });

  it("hears events, reset positions and read markers; only events and resets move the position", async () => {
    const { client, h, frames } = await streaming();
    const s = http.streams[0]!;
    s.write(sse("feed=1", "room.created", feedEvent(1)));
    s.write(sse("user:u_ada=40", "reset", { stream: "user:u_ada", head: 40 }));
    s.write(sse("feed=9", "read", { readSeq: 5 }));
    s.write(sse("feed=9", "room.read", { room: "general", readSeq: 6 }));
    await settle();
    expect(h.all).toEqual([
      ["event", feedEvent(1)],
      ["reset", { stream: "user:me", head: 40 }],
      ["read", { readSeq: 5 }],
      ["roomRead", { room: "general", readSeq: 6 }],
    ]);
    expect(frames).toEqual([
      `sse room.created ${JSON.stringify(feedEvent(1)).length}`,
      `sse reset ${JSON.stringify({ stream: "user:u_ada", head: 40 }).length}`,
      `sse read ${JSON.stringify({ readSeq: 5 }).length}`,
      `sse room.read ${JSON.stringify({ room: "general", readSeq: 6 }).length}`,
    ]);
    expect([client.position("feed"), client.position("user:me")]).toEqual([1, 40]);
  });

  it("drops a repeated event", async () => {
    const { h } = await streaming();
    const s = http.streams[0]!;
    s.write(sse("feed=2", "room.created", feedEvent(2)));
    s.write(sse("feed=2", "room.created", feedEvent(2)));
    s.write(sse("feed=1", "room.created", feedEvent(1)));
    await settle();
    expect(h.of("event").map((e) => e.seq)).toEqual([2]);
  });

  it("counts a stream opened again as a reconnect", async () => {
    const { client } = await streaming();
    http.streams[0]!.write(": hi\n\n");
    await settle();
    expect(client.getStatus().reconnects).toBe(0);
    http.streams[0]!.close();
    await settle();
    await pass(2_000);
    http.streams[1]!.write(": hi\n\n");
    await settle();
    expect(client.getStatus().reconnects).toBe(1);
  });

  it("a stream refused 401 signs the page out", async () => {
    http.stream = 401;
    const { client, h } = await streaming();
    sockets.last.open();
    expect(h.of("signedOut")).toHaveLength(1);
    expect(client.getStatus()).toMatchObject({ link: "signed-out", feed: { state: "signed-out" } });
  });

  it("moves to long polling when a proxy refuses the stream while the server answers, asking /readyz", async () => {
    http.stream = 403;
    http.ready = true;
    const { client } = await streaming({ transport: "auto" });
    await pass(1_000);
    expect(http.readyzCalls).toBe(1);
    expect(http.readyzInits[0]).toEqual({ cache: "no-store" });
    expect(client.getStatus().feed).toEqual({ transport: "longpoll", state: "connecting" });
    expect(http.held.map((p) => p.streams)).toEqual([["feed", "user:me"]]);
  });

  it("keeps trying the stream when /readyz fails too (the server is down, not blocked)", async () => {
    http.stream = 403;
    const { client } = await streaming({ transport: "auto" });
    await pass(1_000);
    expect(http.readyzCalls).toBe(1);
    expect(client.getStatus().feed.transport).toBe("sse");
    expect(http.polls).toEqual([]);
  });

  it("follows the rooms onto long polling when WebSockets are blocked before the stream opened", async () => {
    http.ready = true;
    const { client } = await streaming({ transport: "auto" });
    sockets.last.drop();
    await pass(1_000);
    sockets.last.drop();
    await pass(1_000);
    expect(client.getStatus().rooms.transport).toBe("longpoll");
    expect(client.getStatus().feed.transport).toBe("longpoll");
    expect(http.held.map((p) => p.streams)).toEqual([["feed", "user:me"]]);
  });

  it("a room's state in a poll answer is ignored while the rooms ride the WebSocket", async () => {
    // The stream is silent (a buffering proxy): the feed alone moves to long polling.
    const { client, h } = await streaming({ transport: "auto", sseFirstByteTimeoutMs: 100 });
    client.join("general", 0);
    sockets.last.open();
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [ada] });
    await pass(100);
    await pass(1_000);
    await pass(100);
    expect(client.getStatus().feed.transport).toBe("longpoll");
    expect(client.getStatus().rooms.transport).toBe("websocket");
    expect(http.held.map((p) => p.streams)).toEqual([["feed", "user:me"]]);
    h.all.length = 0;
    http.lastPoll.answer({ events: [], cursor: "feed=0", rooms: { general: { members: [lin], typing: [], cursors: {} } } });
    await settle();
    expect(h.all).toEqual([]);
    expect(client.getStatus().feed.state).toBe("connected");
  });
});

describe("rewinding a feed stream (a tab that shares the connection holds less)", () => {
  async function streamingAt(seq: number, opts: ClientOptions = {}) {
    const client = makeClient({ feedStreams: ["feed", "user:me"], ...opts });
    client.start();
    await settle();
    if (http.streams[0]) {
      http.streams[0].write(sse(`feed=${seq},user:me=${seq}`, "room.created", feedEvent(seq)));
      await settle();
    }
    return client;
  }

  it("moves the position back only, and reopens the stream from there", async () => {
    const client = await streamingAt(8);
    client.rewind("feed", 9);
    client.rewind("feed", 8);
    await settle();
    expect(http.streams).toHaveLength(1);
    client.rewind("feed", 5);
    await settle();
    expect(client.position("feed")).toBe(5);
    expect(http.streams[0]!.aborted).toBe(true);
    expect(http.streams.map((s) => s.lastEventId)).toEqual([null, "feed=5,user:me=8"]);
    // The person's own stream, named as the server names it.
    client.rewind("user:u_ada", 2);
    await settle();
    expect(http.streams.map((s) => s.lastEventId).at(-1)).toBe("feed=5,user:me=2");
  });

  it("gives a stream with no position one", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.rewind("feed", 3);
    expect(client.position("feed")).toBe(3);
    client.start();
    await settle();
    expect(http.streams.map((s) => s.lastEventId)).toEqual(["feed=3"]);
  });

  it("reopens nothing for a stream it does not stream, nor while stopped or offline", async () => {
    const client = await streamingAt(8);
    client.rewind("room:general", 1);
    client.setOffline(true);
    client.rewind("feed", 6);
    client.setOffline(false);
    await settle();
    expect(http.streams).toHaveLength(2);
    client.stop();
    client.rewind("feed", 4);
    await settle();
    expect(http.streams).toHaveLength(2);
    expect(client.position("feed")).toBe(4);
  });

  it("asks the long poll again from the rewound position", async () => {
    const client = makeClient({ transport: "longpoll", feedStreams: ["feed"] });
    client.start();
    await settle();
    http.lastPoll.answer({ events: [feedEvent(8)], cursor: "feed=8" });
    await settle();
    const held = http.lastPoll;
    expect(client.getStatus().feed.state).toBe("connected");
    client.rewind("feed", 5);
    await settle();
    expect(held.aborted).toBe(true);
    expect(http.held.map((p) => p.cursor)).toEqual(["feed=5"]);
    expect(http.streams).toEqual([]);
    expect(client.getStatus().feed.state).toBe("connected");
  });
});

describe("the inspector's switches", () => {
  it("a forced transport moves the rooms and the feed at once, and says so", async () => {
    const client = makeClient({ transport: "auto", feedStreams: ["feed"] });
    const statuses: string[] = [];
    client.on("status", (s) => statuses.push(`${s.rooms.transport}/${s.feed.transport}`));
    client.start();
    client.join("general", 0);
    sockets.last.open();
    await settle();
    expect(client.transportMode).toBe("auto");
    statuses.length = 0;
    client.setTransport("longpoll");
    await settle();
    expect(client.transportMode).toBe("longpoll");
    expect(sockets.last.closedByClient).toBe(true);
    expect(http.streams[0]!.aborted).toBe(true);
    expect(http.held.map((p) => p.streams)).toEqual([["room:general", "feed"]]);
    expect(client.getStatus().feed.transport).toBe("longpoll");
    expect(statuses.at(-1)).toBe("longpoll/longpoll");
    // And back: a socket and a stream again, no poll.
    client.setTransport("websocket");
    await settle();
    expect(sockets.count).toBe(2);
    expect(http.streams).toHaveLength(2);
    expect(http.held).toEqual([]);
  });

  it("a transport forced while stopped or offline is taken when the client connects", async () => {
    const client = makeClient({ transport: "auto", feedStreams: ["feed"] });
    const statuses: string[] = [];
    client.on("status", (s) => statuses.push(`${s.rooms.transport}/${s.feed.transport}`));
    client.setTransport("longpoll");
    await settle();
    expect(statuses.at(-1)).toBe("longpoll/longpoll");
    expect(http.urls).toEqual([]);
    client.start();
    await settle();
    expect(sockets.count).toBe(0);
    expect(http.held.map((p) => p.streams)).toEqual([["feed"]]);
    client.setOffline(true);
    client.setTransport("websocket");
    await settle();
    expect(sockets.count).toBe(0);
    expect(http.streams).toEqual([]);
    expect(http.held).toEqual([]);
    client.setOffline(false);
    await settle();
    expect(sockets.count).toBe(1);
    expect(http.streams).toHaveLength(1);
  });

  it("dropping the connection drops the socket and the stream; both come back", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.start();
    sockets.last.open();
    await settle();
    client.dropConnection();
    expect(sockets.last.closedByClient).toBe(true);
    expect(http.streams[0]!.aborted).toBe(true);
    expect(client.getStatus().feed.state).toBe("reconnecting");
    await pass(499);
    expect(http.streams).toHaveLength(1);
    await pass(1);
    expect(http.streams).toHaveLength(2);
    await pass(1_000);
    expect(sockets.count).toBe(2);
  });

  it("a stream dropped is not reopened if the client stopped or went offline meanwhile", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.start();
    sockets.last.open();
    await settle();
    client.dropConnection();
    client.setOffline(true);
    await pass(600);
    expect(http.streams).toHaveLength(1);
    client.setOffline(false);
    await settle();
    expect(http.streams).toHaveLength(2);
    client.dropConnection();
    client.stop();
    await pass(600);
    expect(http.streams).toHaveLength(2);
  });

  it("dropping does nothing while stopped or offline", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    const statuses: string[] = [];
    client.on("status", (s) => statuses.push(s.feed.state));
    client.dropConnection();
    await pass(600);
    expect(statuses).toEqual([]);
    client.start();
    await settle();
    client.setOffline(true);
    statuses.length = 0;
    client.dropConnection();
    await pass(600);
    expect(statuses).toEqual([]);
    expect(http.streams).toHaveLength(1);
  });

  it("offline: no stream, no poll, shown offline; back online: both again", async () => {
    const client = makeClient({ transport: "longpoll", feedStreams: ["feed"] });
    const statuses: string[] = [];
    client.on("status", (s) => statuses.push(s.feed.state));
    client.start();
    await settle();
    const held = http.lastPoll;
    client.setOffline(true);
    const polls = http.polls.length;
    expect(held.aborted).toBe(true);
    expect(http.held).toEqual([]);
    expect(client.getStatus().feed.state).toBe("offline");
    expect(client.isOffline).toBe(true);
    statuses.length = 0;
    client.setOffline(true);
    expect(statuses).toEqual([]);
    await pass(120_000);
    expect(http.polls).toHaveLength(polls);
    client.setOffline(false);
    await settle();
    expect(http.held).toHaveLength(1);
    expect(client.getStatus().feed.state).toBe("connecting");
  });

  it("offline and back while stopped: idle, nothing opened", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.setOffline(true);
    expect(client.getStatus().feed.state).toBe("offline");
    client.setOffline(false);
    await settle();
    expect(client.getStatus().feed.state).toBe("idle");
    expect(http.urls).toEqual([]);
    expect(sockets.count).toBe(0);
  });

  it("back online, the stream is tried at once, not after the backoff its failures had grown", async () => {
    http.stream = "down";
    const client = makeClient({ feedStreams: ["feed"], random: () => 0.9999 });
    client.start();
    await settle();
    for (let i = 0; i < 4; i++) await pass(4_000);
    const tries = http.urls.length;
    client.setOffline(true);
    client.setOffline(false);
    await settle();
    expect(http.urls.length).toBe(tries + 1);
    // And the next failure waits the first ceiling again (1 s), not the cap.
    await pass(999);
    expect(http.urls.length).toBe(tries + 2);
  });

  it("started while offline: nothing goes out until back online", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.setOffline(true);
    client.start();
    client.join("general", 0);
    client.send("general", "hi");
    await settle();
    expect(sockets.count).toBe(0);
    expect(http.urls).toEqual([]);
    client.setOffline(false);
    await settle();
    expect(http.streams).toHaveLength(1);
    sockets.last.open();
    expect(sockets.last.sent.map((f) => f.type)).toEqual(["join", "send"]);
  });
});

describe("signing out", () => {
  it("a socket closed for an invalid session stops everything and tells the page once", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    const h = heard(client);
    client.start();
    client.join("general", 0);
    sockets.last.open();
    await settle();
    sockets.last.drop(4401, "session");
    expect(h.of("signedOut")).toEqual([undefined]);
    expect(http.streams[0]!.aborted).toBe(true);
    expect(client.getStatus()).toMatchObject({ link: "signed-out", rooms: { state: "signed-out" }, feed: { state: "signed-out" } });
    client.wake();
    client.rewind("feed", 0);
    await pass(60_000);
    expect(sockets.count).toBe(1);
    expect(http.streams).toHaveLength(1);
    expect(h.of("signedOut")).toHaveLength(1);
  });

  it("signed out, neither the network coming back nor the inspector's drop or toggle opens anything", async () => {
    const client = makeClient({ transport: "longpoll", feedStreams: ["feed"] });
    client.start();
    client.join("general", 0);
    await settle();
    http.lastPoll.answer("{}", 401);
    await settle();
    const polls = http.polls.length;
    client.setOffline(true);
    client.setOffline(false);
    await pass(60_000);
    client.dropConnection();
    client.setTransport("auto");
    await pass(60_000);
    expect(http.polls.length).toBe(polls);
    expect(sockets.count).toBe(0);
    expect(http.streams).toEqual([]);
    expect(client.getStatus()).toMatchObject({ link: "signed-out", feed: { state: "signed-out" } });
  });

  it("signed out while stopped (a batch answered 401 after the stop), it stays quiet when started again", async () => {
    let answer!: (r: Response) => void;
    const held = new Promise<Response>((resolve) => (answer = resolve));
    const client = makeClient({ transport: "longpoll", feedStreams: ["feed"], fetch: (input, init) => (String(input).includes("/api/poll/frames") ? held : http.fetch(input, init)) });
    const h = heard(client);
    client.start();
    client.join("general", 0);
    await settle();
    client.stop();
    answer(new Response("{}", { status: 401 }));
    await settle();
    expect(h.of("signedOut")).toHaveLength(1);
    const requests = http.urls.length;
    client.start();
    await pass(60_000);
    expect(http.urls.length).toBe(requests);
    expect(client.getStatus().link).toBe("signed-out");
  });

});

describe("the status the inspector shows", () => {
  it("starts idle, alone, with nothing counted", () => {
    const client = makeClient({ feedStreams: ["feed"] });
    expect(client.getStatus()).toEqual({
      rooms: { transport: "websocket", state: "idle" },
      feed: { transport: "sse", state: "idle" },
      reconnects: 0,
      rttMs: null,
      invalidFrames: 0,
      link: "idle",
      subscriptions: {},
      sharing: { role: "alone", tabs: 1 },
    });
  });

  it("counts reconnects of the socket, and takes a message's ack time as the RTT", async () => {
    const { client, socket } = connected("general");
    const statuses: Array<number | null> = [];
    client.on("status", (s) => statuses.push(s.rttMs));
    const entry = client.send("general", "hi")!;
    await pass(120);
    socket.receive({ type: "ack", clientId: entry.clientId, seq: 1 });
    expect(client.getStatus().rttMs).toBe(120);
    expect(statuses.at(-1)).toBe(120);
    // Our own message back before its ack counts as the ack; the ack after it changes nothing.
    const acks: number[] = [];
    client.on("ack", (a) => acks.push(a.seq));
    const again = client.send("general", "again")!;
    await pass(50);
    socket.receive({ type: "event", event: message("general", 2, again.clientId) });
    await pass(50);
    socket.receive({ type: "ack", clientId: again.clientId, seq: 2 });
    expect(client.getStatus().rttMs).toBe(50);
    expect(acks).toEqual([2]);
    socket.drop();
    await pass(1_000);
    sockets.last.open();
    expect(client.getStatus().reconnects).toBe(1);
    expect(client.getStatus().subscriptions).toEqual({ general: "joining" });
  });

  it("announces each invalid payload: in the frames, as an error, and in the status", async () => {
    const { client, h } = connected("general");
    const frames: unknown[] = [];
    const statuses: number[] = [];
    client.on("frame", (f) => f.invalid && frames.push(f));
    client.on("status", (s) => statuses.push(s.invalidFrames));
    sockets.last.receiveRaw(JSON.stringify({ type: "typing", room: "general" }));
    expect(frames).toEqual([{ direction: "in", transport: "websocket", type: "typing", bytes: 34, at: Date.now(), invalid: expect.stringMatching(/^users: /) }]);
    expect(h.of("error")).toEqual([{ code: "invalid_frame", message: expect.stringMatching(/^Invalid typing from the server, dropped: users: /) }]);
    expect(statuses).toEqual([1]);
  });
});

describe("what the page sends", () => {
  it("typing: shown on a keystroke, cleared on stop, shown again on the first keystroke after a message", () => {
    const { client, socket } = connected("general");
    client.typing("general");
    client.typing("general");
    client.typing("general", true);
    client.typing("general");
    client.send("general", "hi");
    client.typing("general");
    expect(sent(["typing", "send"]).map((f) => (f.type === "typing" ? `typing${f.stop ? " stop" : ""}` : f.type))).toEqual([
      "typing",
      "typing stop",
      "typing",
      "send",
      "typing",
    ]);
    expect(socket.sentOf("typing")[1]).toEqual({ type: "typing", room: "general", stop: true });
    expect(socket.sentOf("typing")[0]).toEqual({ type: "typing", room: "general" });
  });

  it("a cursor now, unthrottled, for a joined room only; null hides it", () => {
    const { client, socket } = connected("general");
    client.cursorNow("general", { x: 0.1, y: 0.2 });
    client.cursorNow("general", { x: 0.3, y: 0.4 });
    client.cursorNow("general", null);
    client.cursorNow("design", { x: 0.1, y: 0.2 });
    expect(socket.sentOf("cursor")).toEqual([
      { type: "cursor", room: "general", x: 0.1, y: 0.2 },
      { type: "cursor", room: "general", x: 0.3, y: 0.4 },
      { type: "cursor", room: "general", x: null, y: null },
    ]);
  });

  it("messages written just before leaving the room still go, in order, and the room is left once they are taken", () => {
    const { client, socket } = connected("general");
    const a = client.send("general", "first")!;
    const b = client.send("general", "second")!;
    const c = client.send("general", "third")!;
    client.leave("general");
    // One of a room's messages is on its way at a time: the room stays joined for the others.
    expect(sent(["send", "leave"]).map((f) => (f.type === "send" ? f.text : f.type))).toEqual(["first"]);
    socket.receive({ type: "ack", clientId: a.clientId, seq: 1 });
    socket.receive({ type: "ack", clientId: b.clientId, seq: 2 });
    expect(sent(["leave"])).toEqual([]);
    socket.receive({ type: "ack", clientId: c.clientId, seq: 3 });
    expect(sent(["send", "leave"]).map((f) => (f.type === "send" ? f.text : f.type))).toEqual(["first", "second", "third", "leave"]);
    expect(client.getStatus().subscriptions).toEqual({});
  });

  it("a room left with a message unsent and opened again before it went is followed still, never left", () => {
    const { client, socket } = connected("general");
    client.setOffline(true);
    const a = client.send("general", "offline")!;
    client.leave("general");
    client.join("general", 0);
    client.setOffline(false);
    sockets.last.open();
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [] });
    expect(sockets.last.sentOf("send").map((f) => f.text)).toEqual(["offline"]);
    sockets.last.receive({ type: "ack", clientId: a.clientId, seq: 1 });
    expect([...socket.sentOf("leave"), ...sockets.last.sentOf("leave")]).toEqual([]);
    expect(Object.keys(client.getStatus().subscriptions)).toEqual(["general"]);
  });

  it("a failed message does not keep a room it was written in", () => {
    const { client, socket } = connected("general");
    const a = client.send("general", "hi")!;
    socket.receive({ type: "error", code: "forbidden", message: "no", clientId: a.clientId });
    client.leave("general");
    expect(socket.sentOf("leave")).toEqual([{ type: "leave", room: "general" }]);
  });

  it("a full outbox refuses the next message and says why", () => {
    const { client, h } = connected("general");
    client.setOffline(true);
    for (let i = 0; i < 100; i++) expect(client.send("general", `m${i}`)).not.toBeNull();
    expect(client.send("general", "one too many")).toBeNull();
    expect(h.of("error")).toEqual([{ code: "outbox_full", message: "At most 100 messages can wait to be sent" }]);
  });

  it("a message carries its reply and mentions, under a fresh clientId each time", () => {
    const { client, socket } = connected("general");
    const a = client.send("general", "hi", { replyTo: 3, mentions: ["u_ada"] })!;
    socket.receive({ type: "ack", clientId: a.clientId, seq: 4 });
    const b = client.send("general", "hi")!;
    expect(a.clientId).toMatch(/^c-[0-9a-z]{14}$/);
    expect(b.clientId).not.toBe(a.clientId);
    expect(socket.sentOf("send")).toEqual([
      { type: "send", room: "general", text: "hi", clientId: a.clientId, replyTo: 3, mentions: ["u_ada"] },
      { type: "send", room: "general", text: "hi", clientId: b.clientId },
    ]);
  });

  it("a failed message discarded is gone and never sent", async () => {
    const { client, socket } = connected("general");
    const outboxes: number[] = [];
    client.on("outbox", (o) => outboxes.push(o.length));
    const a = client.send("general", "hi")!;
    socket.receive({ type: "error", code: "forbidden", message: "no", clientId: a.clientId });
    client.discard(a.clientId);
    client.retry(a.clientId);
    expect(client.getOutbox()).toEqual([]);
    expect(outboxes.at(-1)).toBe(0);
    expect(socket.sentOf("send")).toHaveLength(1);
  });

  it("a message for a room not followed joins the room before it, and waits for a refused join's retry", async () => {
    const client = makeClient();
    client.start();
    sockets.last.open();
    // Not joined: the room is joined for it, and it goes behind the join.
    const a = client.send("general", "a")!;
    expect(sockets.last.sent.map((f) => f.type)).toEqual(["join", "send"]);
    sockets.last.receive({ type: "error", code: "overloaded", message: "busy", room: "general" });
    sockets.last.receive({ type: "error", code: "overloaded", message: "busy", clientId: a.clientId });
    const b = client.send("general", "b")!;
    await pass(999);
    expect(sockets.last.sentOf("send").map((f) => f.clientId)).toEqual([a.clientId]);
    await pass(1);
    // The join first, then the message it had held back.
    expect(sockets.last.sent.map((f) => f.type)).toEqual(["join", "send", "join", "send"]);
    sockets.last.receive({ type: "ack", clientId: a.clientId, seq: 1 });
    expect(sockets.last.sentOf("send").map((f) => f.clientId)).toEqual([a.clientId, a.clientId, b.clientId]);
  });

  it("sends up to ten messages of different rooms at once on a socket, one at a time over HTTP", async () => {
    const client = makeClient();
    client.start();
    sockets.last.open();
    const rooms = Array.from({ length: 12 }, (_, i) => `r${i}`);
    for (const r of rooms) client.join(r, 0);
    for (const r of rooms) client.send(r, "hi");
    expect(sockets.last.sentOf("send")).toHaveLength(10);

    const polling = makeClient({ transport: "longpoll" });
    polling.start();
    for (const r of rooms) polling.join(r, 0);
    for (const r of rooms) polling.send(r, "hi");
    await settle();
    expect(http.posted.filter((f) => f.type === "send")).toHaveLength(1);
  });

  it("sends nothing once stopped", () => {
    const { client, socket } = connected("general");
    client.stop();
    expect(client.send("general", "hi")).not.toBeNull();
    expect(socket.sentOf("send")).toEqual([]);
  });

  it("a read position that could not go is sent when the next link comes up, the first refusal keeping the rest", async () => {
    const { client, socket } = connected("general");
    client.setOffline(true);
    client.markRead("general", 4);
    client.markRead("design", 2);
    client.setOffline(false);
    // The new socket dies while the joins go out: the reads stay for the next one.
    const next = sockets.last;
    const send = next.send.bind(next);
    next.send = (data: string) => {
      send(data);
      next.readyState = 3;
    };
    next.open();
    expect(next.sentOf("read")).toEqual([]);
    next.drop();
    await pass(1_000);
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([
      { type: "read", room: "general", seq: 4 },
      { type: "read", room: "design", seq: 2 },
    ]);
    // Sent: not again on the next link.
    sockets.last.drop();
    await pass(1_000);
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([]);
    expect(socket.sentOf("read")).toEqual([]);
  });

  it("a read position no newer than one waiting is not kept", () => {
    const client = makeClient();
    client.start();
    client.markRead("general", 5);
    client.markRead("general", 5);
    client.markRead("general", 3);
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([{ type: "read", room: "general", seq: 5 }]);
  });

  it("a room marked unread (1.11) while no link is up is marked when one comes up, behind a read waiting; a read after the mark goes as a mark", () => {
    const client = makeClient();
    client.start();
    client.markRead("general", 9);
    client.markRead("general", 4, true);
    client.markRead("design", 7);
    client.markRead("design", 2, true);
    // Read on after the mark: from the mark's position, so it must set the position too.
    client.markRead("design", 5);
    // A read behind the mark waiting changes nothing.
    client.markRead("general", 3);
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([
      { type: "read", room: "general", seq: 4, unread: true },
      { type: "read", room: "design", seq: 5, unread: true },
    ]);
    // With the link up, a mark goes at once.
    client.markRead("general", 1, true);
    expect(sockets.last.sentOf("read").at(-1)).toEqual({ type: "read", room: "general", seq: 1, unread: true });
  });

  it("a read marked while stopped waits for the start", () => {
    const client = makeClient();
    client.markRead("general", 5);
    client.start();
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([{ type: "read", room: "general", seq: 5 }]);
  });
});

describe("where it connects", () => {
  it("the socket at the server's /ws, over TLS when the page is", () => {
    makeClient({ baseUrl: "https://chat.example" }).start();
    makeClient({ baseUrl: "http://app.test" }).start();
    expect(sockets.all.map((s) => s.url)).toEqual(["wss://chat.example/ws", "ws://app.test/ws"]);
  });

  it("with no base URL, the page's own host", () => {
    makeClient({ baseUrl: "" }).start();
    vi.stubGlobal("location", { protocol: "https:", host: "chat.example:8443" });
    makeClient({ baseUrl: "" }).start();
    vi.stubGlobal("location", { protocol: "http:", host: "chat.example" });
    makeClient({ baseUrl: "" }).start();
    vi.unstubAllGlobals();
    expect(sockets.all.map((s) => s.url)).toEqual(["ws://localhost:3000/ws", "wss://chat.example:8443/ws", "ws://chat.example/ws"]);
  });

  it("names its page with a fresh id on every poll unless given one", async () => {
    const a = makeClient({ transport: "longpoll" });
    const b = makeClient({ transport: "longpoll" });
    a.start();
    b.start();
    a.join("general");
    b.join("general");
    await settle();
    const ids = http.polls.map((p) => p.url.searchParams.get("conn"));
    expect(ids.every((id) => /^t-[0-9a-z]{14}$/.test(id!))).toBe(true);
    expect(new Set(ids).size).toBe(2);
  });
});

describe("the rooms on a socket while the feed rides long polling", () => {
  /** Rooms joined on an open socket; the feed's stream silent (a buffering proxy), so polled. */
  async function feedPolled() {
    const client = makeClient({ transport: "auto", feedStreams: ["feed"], sseFirstByteTimeoutMs: 100 });
    const h = heard(client);
    client.start();
    client.join("general", 0);
    sockets.last.open();
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [ada] });
    await settle();
    await pass(100);
    await pass(1_000);
    await pass(100);
    expect(client.getStatus().feed.transport).toBe("longpoll");
    http.lastPoll.answer({ events: [], cursor: "feed=0" });
    await settle();
    expect(http.held).toHaveLength(1);
    return { client, h, poll: http.held[0]! };
  }

  it("joining, leaving and a canvas leave the feed's held poll alone", async () => {
    const { client, poll } = await feedPolled();
    client.join("design", 0);
    client.openCanvas("general");
    sockets.last.receive({ type: "canvas.snapshot", room: "general", seq: 3, objects: [] });
    client.closeCanvas("general");
    client.leave("design");
    await settle();
    expect(poll.aborted).toBe(false);
    expect(http.held).toEqual([poll]);
    expect(poll.streams).toEqual(["feed"]);
  });

  it("a room's cursor in a poll answer moves nothing for the rooms", async () => {
    const { client } = await feedPolled();
    sockets.last.receive({ type: "event", event: message("general", 2) });
    http.lastPoll.answer({ events: [], cursor: "feed=0,room:general=9" });
    await settle();
    expect(client.position("room:general")).toBe(9);
  });
});

describe("more of the page's calls", () => {
  it("a long-polling client posts nothing before it starts or after it stops", async () => {
    const client = makeClient({ transport: "longpoll" });
    client.join("general", 0);
    client.send("general", "hi");
    client.markRead("general", 3);
    client.openCanvas("general");
    client.closeCanvas("general");
    await settle();
    expect(http.batches).toEqual([]);
    client.start();
    await settle();
    expect(http.posted.map((f) => f.type)).toEqual(["join", "send", "read"]);
    // Stopping says goodbye (1.20), and then nothing more goes: no poll either, which would
    // make the page present again in its rooms.
    const polls = http.polls.length;
    client.stop();
    client.send("general", "after");
    client.markRead("general", 4);
    client.openCanvas("general");
    client.moveOnCanvas("general", { n1: null });
    client.closeCanvas("general");
    await settle();
    expect(http.posted.map((f) => f.type)).toEqual(["join", "send", "read", "bye"]);
    expect(http.polls).toHaveLength(polls);
    // Started again: what waited goes.
    client.start();
    await settle();
    expect(http.posted.map((f) => f.type)).toEqual(["join", "send", "read", "bye", "join", "send", "read"]);
  });

  it("starting twice opens one stream and one socket; stopping closes them all", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.start();
    client.start();
    await settle();
    expect(sockets.count).toBe(1);
    expect(http.streams).toHaveLength(1);
    client.stop();
    expect(sockets.last.closedByClient).toBe(true);
    expect(http.streams[0]!.aborted).toBe(true);
    client.start();
    await settle();
    expect(sockets.count).toBe(2);
    expect(http.streams).toHaveLength(2);
  });

  it("stopping a long-polling client lets go of its poll", async () => {
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    const held = http.lastPoll;
    client.stop();
    await pass(120_000);
    expect(held.aborted).toBe(true);
    expect(http.held).toEqual([]);
  });

  it("joining a followed room again keeps its position and members", () => {
    const { client, h, socket } = connected("general");
    socket.receive({ type: "presence", room: "general", members: [ada, lin] });
    socket.receive({ type: "event", event: message("general", 5) });
    client.join("general");
    expect(socket.sentOf("join").at(-1)).toEqual({ type: "join", room: "general", since: 5 });
    const kay = { id: "u_kay", name: "Kay", color: "#0d9488" };
    socket.receive({ type: "presence_diff", room: "general", joins: [kay], leaves: [] });
    expect(h.of("presence").at(-1)).toEqual({ room: "general", members: [ada, lin, kay] });
  });

  it("leaving a room not followed does nothing", () => {
    const { client, socket } = connected("general");
    expect(() => client.leave("design")).not.toThrow();
    expect(socket.sent.map((f) => f.type)).toEqual(["join"]);
  });

  it("a join's answer for a room not followed is passed on", () => {
    const { client, h, socket } = connected("general");
    socket.receive({ type: "joined", room: "design", head: 2, members: [] });
    expect(h.of("joined")).toEqual([{ room: "design", head: 2, members: [] }]);
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
  });

  it("waking with no room on an open socket sends nothing", () => {
    const client = makeClient();
    client.start();
    sockets.last.open();
    expect(() => client.wake()).not.toThrow();
    expect(sockets.last.sent).toEqual([]);
  });

  it("a message refused not_joined in a room left before it was taken: joined again, sent again, then left", async () => {
    const { client, socket } = connected("general");
    const a = client.send("general", "hi")!;
    client.leave("general");
    socket.receive({ type: "error", code: "not_joined", message: "Join first", clientId: a.clientId, room: "general" });
    await pass(30_000);
    // The room is joined again, and the message goes again behind the join.
    const order = sent(["join", "send", "leave"]).map((f) => f.type);
    expect(order.slice(0, 3)).toEqual(["join", "send", "join"]);
    expect(order.slice(3)).toContain("send");
    expect(order).not.toContain("leave");
    socket.receive({ type: "joined", room: "general", head: 0, members: [] });
    socket.receive({ type: "ack", clientId: a.clientId, seq: 1 });
    expect(client.getOutbox()).toEqual([]);
    expect(socket.sentOf("leave")).toEqual([{ type: "leave", room: "general" }]);
  });

  it("a message written in a room already left joins it again, goes, and the room is left once it is taken", () => {
    const { client, socket } = connected("general");
    client.leave("general");
    const a = client.send("general", "hi")!;
    expect(socket.sent.map((f) => f.type)).toEqual(["join", "leave", "join", "send"]);
    socket.receive({ type: "joined", room: "general", head: 0, members: [] });
    socket.receive({ type: "ack", clientId: a.clientId, seq: 1 });
    expect(socket.sent.map((f) => f.type)).toEqual(["join", "leave", "join", "send", "leave"]);
    expect(client.getStatus().subscriptions).toEqual({});
  });

  it("messages kept from before a reload go to their room though the page opens another; that room is left once they are taken", () => {
    const stored = [
      { clientId: "c-1", room: "design", text: "from before", status: "pending" as const, createdAt: new Date(0).toISOString() },
      { clientId: "c-2", room: "design", text: "and more", status: "pending" as const, createdAt: new Date(0).toISOString() },
      { clientId: "c-3", room: "ops", text: "refused before", status: "failed" as const, createdAt: new Date(0).toISOString(), error: { code: "forbidden" as const, message: "no" } },
    ];
    const client = makeClient({ storage: { load: () => stored, save: () => undefined } });
    client.start();
    client.join("general", 0);
    sockets.last.open();
    const socket = sockets.last;
    // The failed one waits for the person's Retry: its room is not joined for it.
    expect(socket.sent).toEqual([
      { type: "join", room: "design" },
      { type: "join", room: "general", since: 0 },
      { type: "send", room: "design", text: "from before", clientId: "c-1" },
    ]);
    socket.receive({ type: "joined", room: "general", head: 0, members: [] });
    socket.receive({ type: "joined", room: "design", head: 4, members: [] });
    socket.receive({ type: "ack", clientId: "c-1", seq: 5 });
    socket.receive({ type: "ack", clientId: "c-2", seq: 6 });
    expect(socket.sent.slice(3)).toEqual([
      { type: "send", room: "design", text: "and more", clientId: "c-2" },
      { type: "leave", room: "design" },
    ]);
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
    expect(client.getOutbox().map((e) => e.clientId)).toEqual(["c-3"]);
  });

  it("a room refused for messages kept for it because too many rooms are open is asked again later; they wait, and go", async () => {
    const stored = [{ clientId: "c-1", room: "design", text: "from before", status: "pending" as const, createdAt: new Date(0).toISOString() }];
    const client = makeClient({ storage: { load: () => stored, save: () => undefined } });
    client.start();
    sockets.last.open();
    const socket = sockets.last;
    socket.receive({ type: "error", code: "too_many_rooms", message: "A connection can be in at most 50 rooms", room: "design" });
    socket.receive({ type: "error", code: "not_joined", message: "Join first", clientId: "c-1", room: "design" });
    expect(client.getOutbox()).toMatchObject([{ clientId: "c-1", status: "pending" }]);
    await pass(30_000);
    expect(socket.sent.map((f) => f.type).slice(0, 3)).toEqual(["join", "send", "join"]);
    socket.receive({ type: "joined", room: "design", head: 0, members: [] });
    socket.receive({ type: "ack", clientId: "c-1", seq: 1 });
    expect(client.getOutbox()).toEqual([]);
    expect(socket.sentOf("leave")).toEqual([{ type: "leave", room: "design" }]);
  });

  it("a room that cannot be joined for the messages kept for it fails them with its reason, and is let go without a leave", () => {
    const stored = [{ clientId: "c-1", room: "secret", text: "from before", status: "pending" as const, createdAt: new Date(0).toISOString() }];
    const client = makeClient({ storage: { load: () => stored, save: () => undefined } });
    client.start();
    sockets.last.open();
    const socket = sockets.last;
    expect(socket.sent.map((f) => f.type)).toEqual(["join", "send"]);
    socket.receive({ type: "error", code: "unknown_room", message: 'There is no room "secret"', room: "secret" });
    socket.receive({ type: "error", code: "not_joined", message: "Join first", clientId: "c-1", room: "secret" });
    expect(client.getOutbox()).toMatchObject([{ clientId: "c-1", status: "failed", error: { code: "unknown_room" } }]);
    expect(client.getStatus().subscriptions).toEqual({});
    expect(socket.sent.map((f) => f.type)).toEqual(["join", "send"]);
  });

  it("an edit is done when its ack comes, not when its event does", () => {
    const { client, h, socket } = connected("general");
    const entry = client.enqueue({ type: "edit", room: "general", seq: 1, text: "fixed", clientId: "e-1" })!;
    socket.receive({
      type: "event",
      event: { stream: "room:general", seq: 2, type: "message.edited", actor, at: new Date(0).toISOString(), data: { seq: 1, text: "fixed", clientId: entry.clientId } },
    });
    expect(client.getOutbox().map((e) => e.clientId)).toEqual(["e-1"]);
    socket.receive({ type: "ack", clientId: "e-1", seq: 2 });
    expect(client.getOutbox()).toEqual([]);
    expect(h.of("ack")).toEqual([{ clientId: "e-1", room: "general", seq: 2 }]);
  });

  it("a read sent on the link is not sent again on the next one", async () => {
    const { client, socket } = connected("general");
    client.markRead("general", 3);
    expect(socket.sentOf("read")).toEqual([{ type: "read", room: "general", seq: 3 }]);
    socket.drop();
    await pass(1_000);
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([]);
  });

  it("logs each frame in and out for the inspector", () => {
    const client = makeClient();
    const frames: string[] = [];
    client.on("frame", (f) => frames.push(`${f.direction} ${f.transport} ${f.type}`));
    client.start();
    client.join("general", 0);
    sockets.last.open();
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [] });
    expect(frames).toEqual(["out websocket join", "in websocket joined"]);
  });

  it("uses the backoff it is given for reconnects", async () => {
    makeClient({ backoffBaseMs: 100, backoffCapMs: 200 }).start();
    sockets.last.open();
    sockets.last.drop();
    await pass(49);
    expect(sockets.count).toBe(1);
    await pass(1);
    expect(sockets.count).toBe(2);
    for (let i = 0; i < 3; i++) {
      sockets.last.drop();
      await pass(100);
    }
    expect(sockets.count).toBe(5);
  });

  it("a refused join is asked again on the rejoin floor, within the cap it is given", async () => {
    const client = makeClient({ random: () => 0.9999, backoffCapMs: 1_500 });
    client.start();
    client.join("general", 0);
    sockets.last.open();
    // ⌊0.9999 × 1 s⌋ is under the floor; then ⌊0.9999 × 1.5 s⌋, the cap, however many refusals.
    for (const [i, delay] of [1_000, 1_499, 1_499, 1_499].entries()) {
      sockets.last.receive({ type: "error", code: "overloaded", message: "busy", room: "general" });
      await pass(delay - 1);
      expect(sockets.last.sentOf("join")).toHaveLength(1 + i);
      await pass(1);
      expect(sockets.last.sentOf("join")).toHaveLength(2 + i);
    }
  });

  it("a join frame cut off unanswered is asked again after the rejoin floor", async () => {
    http.onBatch = () => "hold";
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    http.onBatch = (frames) => frames.flatMap((f): ServerFrame[] => (f.type === "join" ? [{ type: "joined", room: f.room, head: 0, members: [] }] : []));
    client.wake();
    await settle();
    expect(client.getStatus().subscriptions).toEqual({ general: "errored" });
    await pass(999);
    expect(http.posted.filter((f) => f.type === "join")).toHaveLength(1);
    await pass(1);
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
    expect(http.posted.filter((f) => f.type === "join")).toEqual([
      { type: "join", room: "general", since: 0 },
      { type: "join", room: "general", since: 0 },
    ]);
  });

  it("a frame left hanging is not cut off by a wake while stopped or offline", async () => {
    http.onBatch = () => "hold";
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    client.setOffline(true);
    client.wake();
    await settle();
    expect(client.getStatus().subscriptions).toEqual({ general: "joining" });
    client.setOffline(false);
    await settle();
    client.stop();
    client.wake();
    await settle();
    expect(client.getStatus().subscriptions).toEqual({ general: "joining" });
  });

  it("a frame left hanging is not cut off by a wake once signed out", async () => {
    http.onBatch = () => "hold";
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    http.lastPoll.answer("{}", 401);
    await settle();
    client.wake();
    await settle();
    expect(client.getStatus().subscriptions).toEqual({ general: "joining" });
  });

  it("a message's post cut off unanswered goes again, and its room is not joined again for it", async () => {
    http.onBatch = (frames) => (frames.some((f) => f.type === "send") ? "hold" : frames.flatMap((f): ServerFrame[] => (f.type === "join" ? [{ type: "joined", room: f.room, head: 0, members: [] }] : [])));
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    client.send("general", "hi");
    await settle();
    client.wake();
    await settle();
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });
    await pass(5_000);
    expect(http.posted.map((f) => f.type)).toEqual(["join", "send", "send"]);
  });

  it("a join cut off unanswered for a room left meanwhile is forgotten", async () => {
    http.onBatch = () => "hold";
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("design", 0);
    await settle();
    client.leave("design");
    http.onBatch = () => [];
    client.wake();
    await settle();
    await pass(5_000);
    expect(client.getStatus().subscriptions).toEqual({});
    expect(http.posted.map((f) => `${f.type} ${f.room}`)).toEqual(["join design", "leave design"]);
  });

  it("the default transport negotiates", () => {
    const client = new RealtimeClient({ baseUrl: "http://app.test", createWebSocket: sockets.create, fetch: http.fetch });
    expect(client.transportMode).toBe("auto");
  });

  it("uses the browser's WebSocket and fetch, and the page's own origin, when given none", async () => {
    const made: Array<[string, string[]]> = [];
    class BrowserSocket {
      readyState = 0;
      bufferedAmount = 0;
      onopen = null;
      onclose = null;
      onerror = null;
      onmessage = null;
      constructor(url: string, protocols: string[]) {
        made.push([url, protocols]);
      }
      send() {}
      close() {}
    }
    const fetched: string[] = [];
    vi.stubGlobal("WebSocket", BrowserSocket);
    vi.stubGlobal("fetch", (input: string, init?: RequestInit) => (fetched.push(String(input)), http.fetch(`http://app.test${input}`, init)));
    try {
      const client = new RealtimeClient({ feedStreams: ["feed"] });
      clients.push(client);
      client.start();
      await settle();
      expect(made).toEqual([["ws://localhost:3000/ws", ["rt.v1.2", "rt.v1.1", "rt.v1"]]]);
      expect(fetched).toEqual(["/api/stream?streams=feed"]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

describe("the feed's badge while the rooms are polled", () => {
  it("stays idle with no feed to follow, whatever the polls do", async () => {
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    http.lastPoll.answer({ events: [], cursor: "room:general=0" });
    await settle();
    expect(client.getStatus().feed.state).toBe("idle");
    http.lastPoll.fail();
    await settle();
    expect(client.getStatus().feed.state).toBe("idle");
  });

  it("follows the event stream, not the rooms' polls, while the stream gets through the proxy", async () => {
    http.ready = true;
    const client = makeClient({ transport: "auto", feedStreams: ["feed"] });
    client.start();
    client.join("general", 0);
    await settle();
    http.streams[0]!.write(": hi\n\n");
    await settle();
    sockets.last.drop();
    await pass(1_000);
    sockets.last.drop();
    await pass(1_000);
    expect(client.getStatus().rooms.transport).toBe("longpoll");
    expect(client.getStatus().feed).toEqual({ transport: "sse", state: "connected" });
    expect(http.held.map((p) => p.streams)).toEqual([["room:general"]]);
    // The rooms' poll fails: the stream is still up, and the feed's badge says so.
    http.lastPoll.fail();
    await settle();
    expect(client.getStatus().feed.state).toBe("connected");
    expect(client.getStatus().rooms.state).toBe("reconnecting");
  });

  it("reports an invalid read marker from the stream as the stream's", async () => {
    const client = makeClient({ feedStreams: ["user:me"] });
    const frames: string[] = [];
    client.on("frame", (f) => f.invalid && frames.push(`${f.transport} ${f.type}`));
    client.start();
    await settle();
    http.streams[0]!.write(sse(null, "room.read", { room: "general" }));
    http.streams[0]!.write(sse(null, "read", { room: "general" }));
    await settle();
    expect(frames).toEqual(["sse room.read", "sse read"]);
  });
});

describe("two slips the tests found", () => {
  it("stopped and started again while offline, it still waits for the network", async () => {
    const client = makeClient({ feedStreams: ["feed"] });
    client.start();
    await settle();
    client.setOffline(true);
    client.stop();
    client.start();
    await pass(60_000);
    expect(sockets.count).toBe(1);
    expect(http.streams).toHaveLength(1);
    expect(client.getStatus()).toMatchObject({ link: "offline", rooms: { state: "offline" } });
    client.setOffline(false);
    await settle();
    expect(sockets.count).toBe(2);
    expect(http.streams).toHaveLength(2);
  });

  it("a client with no feed to follow opens no event stream when the transport is switched", async () => {
    const client = makeClient();
    client.start();
    client.setTransport("auto");
    client.setTransport("websocket");
    await settle();
    expect(http.streams).toEqual([]);
    expect(client.getStatus().feed.state).toBe("idle");
  });
});

describe("a few more edges", () => {
  it("an edit, a reaction or a canvas change whose post is cut off unanswered goes again, and the outbox moves on", async () => {
    http.onBatch = (frames) => (frames.some((f) => "clientId" in f) ? "hold" : frames.flatMap((f): ServerFrame[] => (f.type === "join" ? [{ type: "joined", room: f.room, head: 0, members: [] }] : [])));
    const client = makeClient({ transport: "longpoll" });
    client.start();
    client.join("general", 0);
    await settle();
    client.enqueue({ type: "react", room: "general", seq: 1, emoji: "👍", on: true, clientId: "r-1" });
    await settle();
    client.wake();
    await settle();
    expect(client.getOutbox().map((e) => e.status)).toEqual(["pending"]);
    http.onBatch = (frames) => frames.flatMap((f): ServerFrame[] => ("clientId" in f ? [{ type: "ack", clientId: f.clientId, seq: 2 }] : []));
    await pass(5_000);
    expect(http.posted.filter((f) => f.type === "react").map((f) => f.clientId)).toEqual(["r-1", "r-1"]);
    expect(client.getOutbox()).toEqual([]);
    // The outbox was not left blocked behind it.
    client.send("general", "next");
    await settle();
    expect(client.getOutbox()).toEqual([]);
  });

  it("the feed keeps its own stream while the rooms' socket is up, however early the socket opened", async () => {
    const client = makeClient({ transport: "auto", feedStreams: ["feed"] });
    client.start();
    sockets.last.open();
    client.join("general", 0);
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [] });
    await settle();
    http.streams[0]!.write(": hi\n\n");
    await settle();
    expect(client.getStatus().feed).toEqual({ transport: "sse", state: "connected" });
    expect(http.polls).toEqual([]);
  });

  it("a message sent by an earlier page (no send time here) acknowledged leaves the RTT as it was", async () => {
    const stored = [{ clientId: "c-old", room: "design", text: "from before", status: "pending" as const, createdAt: new Date(0).toISOString() }];
    const client = makeClient({ storage: { load: () => stored, save: () => undefined } });
    const acks: string[] = [];
    client.on("ack", (a) => acks.push(a.clientId));
    client.start();
    client.join("general", 0);
    sockets.last.open();
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [] });
    const entry = client.send("general", "hi")!;
    await pass(80);
    sockets.last.receive({ type: "ack", clientId: entry.clientId, seq: 1 });
    expect(client.getStatus().rttMs).toBe(80);
    // Not sent here (its room is not followed yet), it came back through the room's stream.
    sockets.last.receive({ type: "event", event: message("design", 3, "c-old") });
    expect(acks).toEqual([entry.clientId, "c-old"]);
    expect(client.getStatus().rttMs).toBe(80);
  });

  it("a message written while its room waits to be joined again goes right after that join", async () => {
    const { client, socket } = connected("general");
    socket.receive({ type: "error", code: "overloaded", message: "busy", room: "general" });
    const a = client.send("general", "a")!;
    expect(socket.sentOf("send")).toEqual([]);
    await pass(1_000);
    expect(socket.sent.map((f) => f.type)).toEqual(["join", "join", "send"]);
    expect(socket.sentOf("send")[0]!.clientId).toBe(a.clientId);
  });

  it("a join answered after the client stopped joins no canvas", async () => {
    const answers: Array<(r: Response) => void> = [];
    const client = makeClient({
      transport: "longpoll",
      fetch: (input, init) => {
        if (!String(input).includes("/api/poll/frames")) return http.fetch(input, init);
        http.batches.push((JSON.parse(String(init?.body)) as { frames: ClientFrame[] }).frames);
        return new Promise<Response>((resolve) => answers.push(resolve));
      },
    });
    client.openCanvas("general");
    client.start();
    client.join("general", 0);
    await settle();
    client.stop();
    answers[0]!(new Response(JSON.stringify({ frames: [{ type: "joined", room: "general", head: 0, members: [] }] }), { status: 200 }));
    await settle();
    expect(http.posted.map((f) => f.type)).toEqual(["join", "bye"]);
  });

  it("a clientId is 14 base-36 characters, however small the random bytes", () => {
    const spy = vi.spyOn(crypto, "getRandomValues").mockImplementation((<T extends ArrayBufferView>(a: T): T => {
      (a as unknown as Uint8Array).fill(1);
      return a;
    }) as typeof crypto.getRandomValues);
    try {
      const { client } = connected("general");
      expect(client.send("general", "hi")!.clientId).toBe("c-01010101010101");
    } finally {
      spy.mockRestore();
    }
  });
});
