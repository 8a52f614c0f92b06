// The WebSocket protocol of PROTOCOL.md, frame by frame, over an in-memory socket pair: every
// client frame, every error code, and the close codes a connection decides on its own. The
// connection is the production one (`WsConnection`) on a real hub and event log (PGlite); frames
// move only when the test flushes, and time moves only when the test advances the clock.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Sessions, type Session } from "../../server/auth";
import type { Database } from "../../server/db/database";
import { EventLog } from "../../server/eventlog";
import { Hub } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { createMetrics, type Metrics } from "../../server/metrics";
import { PersonRates, SEND_LIMITS } from "../../server/ratelimit";
import { ManualClock } from "../../server/state/clock";
import { FRAME_RATE, INBOX_MAX_FRAMES, MAX_ROOMS_PER_CONNECTION, WsConnection, type WsConnectionOptions } from "../../server/transports/ws";
import { Workspace } from "../../server/workspace";
import { PRESENCE_GRACE_MS, type ErrorCode, type RealtimeEvent, type ServerFrame } from "../../lib/protocol";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { TestNetwork, type TestSocketPair } from "../helpers/socket-pair";

let testDb: TestDatabase;
let ada: Session;
let lin: Session;

beforeAll(async () => {
  testDb = await createTestDatabase("pglite");
  const sessions = new Sessions(testDb.db, "test-secret-test-secret-test-secret-0123");
  ada = (await sessions.create("Ada", false)).session;
  lin = (await sessions.create("Lin", false)).session;
});
afterAll(async () => {
  await testDb?.drop();
});

let clock: ManualClock;
let metrics: Metrics;
let log: EventLog;
let hub: Hub;
let workspace: Workspace;
let connections: WsConnection[];
let network: TestNetwork;

/** A fresh hub, log and clock for each test, over the file's database. */
function world(opts: { maxQueue?: number; db?: Database } = {}) {
  const db = opts.db ?? testDb.db;
  clock = new ManualClock();
  metrics = createMetrics({ defaultMetrics: false });
  log = new EventLog(db, { metrics, maxQueue: opts.maxQueue });
  hub = new Hub({ log, clock, logger: silentLogger, metrics });
  workspace = new Workspace(db.prisma, log);
  connections = [];
  network = new TestNetwork();
}

beforeEach(() => world());
afterEach(async () => {
  for (const c of connections) c.close(1000, "test over");
  hub.stop();
  await log.idle();
});
/** Rates of the person's own, with their frame rate (FRAME_RATE) set as a test needs it. */
function framesAt(perSecond: number, burst: number): PersonRates {
  return new PersonRates({ now: () => clock.now(), limits: { ...SEND_LIMITS, frame: { rate: perSecond, burst } } });
}

/** A connection of `session` over a new in-memory pair. */
function connect(session: Session, opts: Partial<WsConnectionOptions> = {}): TestSocketPair {
  const pair = network.pair();
  const conn = new WsConnection(pair.server, session, { hub, workspace, logger: silentLogger, metrics, clock, ...opts }, () => {});
  pair.attach(conn);
  connections.push(conn);
  return pair;
}

async function newRoom(): Promise<string> {
  const room = `r-${randomBytes(4).toString("hex")}`;
  await workspace.createRoom(room, ada.user);
  return room;
}

const isType =
  <T extends ServerFrame["type"]>(type: T, extra: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: T }> =>
    f.type === type && extra(f as Extract<ServerFrame, { type: T }>);

/** Sends a join and flushes until it is answered (joined or reset). */
async function join(pair: TestSocketPair, room: string, since?: number) {
  const from = pair.frames.length;
  pair.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
  return pair.next(
    (f): f is Extract<ServerFrame, { type: "joined" | "reset" }> => (f.type === "joined" || f.type === "reset") && f.room === room,
    from,
  );
}

/** A new room with Ada connected and joined. */
async function adaInNewRoom(opts: Partial<WsConnectionOptions> = {}): Promise<{ room: string; a: TestSocketPair }> {
  const room = await newRoom();
  const a = connect(ada, opts);
  await join(a, room);
  return { room, a };
}

/** A new room, Ada and Lin connected to it and joined (Ada first). */
async function adaAndLinInNewRoom(): Promise<{ room: string; a: TestSocketPair; l: TestSocketPair }> {
  const room = await newRoom();
  const a = connect(ada);
  const l = connect(lin);
  await join(a, room);
  await join(l, room);
  return { room, a, l };
}

/** Sends a frame and flushes until the error it provokes arrives. */
async function errorFor(pair: TestSocketPair, frame: unknown): Promise<Extract<ServerFrame, { type: "error" }>> {
  const from = pair.frames.length;
  pair.send(frame);
  return pair.next(isType("error"), from);
}

/**
 * Everything the connection received before now has taken effect: frames take effect in order,
 * so once a `leave` of a room never joined is answered, every frame before it was handled.
 */
async function barrier(pair: TestSocketPair): Promise<void> {
  const err = await errorFor(pair, { type: "leave", room: "barrier" });
  expect(err.code).toBe("not_joined");
  pair.frames.splice(pair.frames.indexOf(err), 1);
}

/** Appends messages straight to the log (no rate limit): history for replay tests. */
async function preload(room: string, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      log.append({
        stream: `room:${room}`,
        type: "message",
        actor: { id: ada.user.id, name: ada.user.name },
        data: { text: `old ${i + 1}`, clientId: `pre-${i}` },
        clientId: `pre-${i}`,
      }),
    ),
  );
}

const messages = (pair: TestSocketPair, room: string) =>
  pair
    .of("event")
    .map((f) => f.event)
    .filter((e): e is Extract<RealtimeEvent, { type: "message" }> => e.stream === `room:${room}` && e.type === "message");

/** The sum of a counter's values whose labels include `labels`. */
/** Delivers every queued frame, and lets the connections handle them (no database work). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    network.flush();
    await new Promise((r) => setTimeout(r, 0));
  }
}

async function counted(counter: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }, labels: Record<string, string> = {}) {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

describe("join", () => {
  it("without since: joined {room, head, members} first, then live events only", async () => {
    const room = await newRoom();
    await preload(room, 3);
    const a = connect(ada);
    const joined = await join(a, room);
    expect(joined).toEqual({ type: "joined", room, head: 3, members: [ada.user] });
    expect(a.frames[0]).toEqual(joined);
    await preload(room, 4); // pre-0..2 repeat (nothing appended), pre-3 is new
    await a.flushUntil(() => messages(a, room).length > 0, "the live event");
    expect(messages(a, room).map((e) => e.seq)).toEqual([4]);
  });

  it("with since: every event after it in order, then live ones, each once", async () => {
    const room = await newRoom();
    await preload(room, 5);
    const a = connect(ada);
    expect(await join(a, room, 2)).toMatchObject({ type: "joined", head: 5 });
    await a.flushUntil(() => messages(a, room).length === 3, "the replay");
    await preload(room, 7);
    await a.flushUntil(() => messages(a, room).length === 5, "live events");
    await barrier(a);
    expect(messages(a, room).map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(messages(a, room).map((e) => e.data.text)).toEqual(["old 3", "old 4", "old 5", "old 6", "old 7"]);
  });

  it("answers reset when since is beyond the head, or more than 1000 events were missed", async () => {
    const room = await newRoom();
    await preload(room, 1002);
    const a = connect(ada);
    expect(await join(a, room, 1)).toEqual({ type: "reset", room, head: 1002 });
    expect(await join(a, room, 2000)).toEqual({ type: "reset", room, head: 1002 });
    expect(await join(a, room, 2)).toEqual({ type: "joined", room, head: 1002, members: [ada.user] });
    await a.flushUntil(() => messages(a, room).length === 1000, "the 1000 missed events");
    expect(messages(a, room)[0]!.seq).toBe(3);
  });

  it("tells the others in the room who arrived", async () => {
    const room = await newRoom();
    const a = connect(ada);
    const l = connect(lin);
    await join(a, room);
    expect(await join(l, room)).toMatchObject({ members: [ada.user, lin.user] });
    await a.next(isType("presence", (f) => f.members.length === 2));
  });
});

describe("leave", () => {
  it("stops delivering the room, and the others see the leaver go at once", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "leave", room });
    await l.next(isType("presence", (f) => f.members.length === 1 && f.members[0]!.id === lin.user.id));
    await preload(room, 1);
    await l.flushUntil(() => messages(l, room).length === 1, "the event");
    await barrier(a);
    expect(messages(a, room)).toEqual([]);
  });
});

describe("send", () => {
  it("is acked with its seq once committed, reaches everyone in the room, and a repeat appends nothing", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "send", room, text: "  hello  ", clientId: "c-1" });
    const ack = await a.next(isType("ack"));
    expect(ack).toEqual({ type: "ack", clientId: "c-1", seq: 1 });
    expect(await log.head(`room:${room}`)).toBe(1);
    await l.flushUntil(() => messages(l, room).length === 1, "the event");
    expect(messages(l, room)[0]).toMatchObject({ seq: 1, actor: { id: ada.user.id }, data: { text: "hello", clientId: "c-1" } });
    // The sender sees its own event too, before its ack.
    expect(a.frames.findIndex(isType("event"))).toBeLessThan(a.frames.indexOf(ack));

    const from = a.frames.length;
    a.send({ type: "send", room, text: "hello again", clientId: "c-1" });
    expect(await a.next(isType("ack"), from)).toEqual({ type: "ack", clientId: "c-1", seq: 1 });
    expect(await log.head(`room:${room}`)).toBe(1);
  });
});

describe("typing", () => {
  it("start tells everyone in the room, stop clears it at once", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "typing", room });
    await l.next(isType("typing", (f) => f.users.length === 1));
    expect(l.of("typing").at(-1)!.users).toEqual([{ id: ada.user.id, name: "Ada" }]);
    a.send({ type: "typing", room, stop: true });
    await l.next(isType("typing", (f) => f.users.length === 0));
  });

  it("expires 5 s after the last start", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "typing", room });
    await l.next(isType("typing", (f) => f.users.length === 1));
    clock.advance(4_999);
    l.flush();
    expect(l.of("typing").at(-1)!.users).toHaveLength(1);
    clock.advance(1);
    l.flush();
    expect(l.of("typing").at(-1)!.users).toEqual([]);
  });

  it("is cleared by sending a message, before the message arrives", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "typing", room });
    await l.next(isType("typing", (f) => f.users.length === 1));
    a.send({ type: "send", room, text: "done", clientId: "c-t" });
    await l.flushUntil(() => messages(l, room).length === 1, "the message");
    const cleared = l.frames.findIndex(isType("typing", (f) => f.users.length === 0));
    expect(cleared).toBeGreaterThanOrEqual(0);
    expect(cleared).toBeLessThan(l.frames.findIndex(isType("event")));
  });

  it("is cleared by a send that is refused: rate_limited, not_joined (from another tab) or invalid_text", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    const otherTab = connect(ada); // Ada's other tab, not in the room
    for (let i = 0; i < 20; i++) a.send({ type: "send", room, text: `m${i}`, clientId: `b-${i}` });
    await a.flushUntil(() => a.of("ack").length === 20, "the burst's acks");
    const refusals: Array<[TestSocketPair, unknown, ErrorCode]> = [
      [a, { type: "send", room, text: "one too many", clientId: "rl" }, "rate_limited"],
      [otherTab, { type: "send", room, text: "from a tab not in the room", clientId: "nj" }, "not_joined"],
      [a, { type: "send", room, text: "   ", clientId: "it" }, "invalid_text"],
    ];
    for (const [tab, frame, code] of refusals) {
      // Tokens for the typing limit (2/s); the send bucket is left empty for the first refusal.
      if (code !== "rate_limited") clock.advance(1_000);
      a.send({ type: "typing", room });
      await l.next(isType("typing", (f) => f.users.length === 1), l.frames.length);
      const from = l.frames.length;
      expect(await errorFor(tab, frame), code).toMatchObject({ code });
      await l.next(isType("typing", (f) => f.users.length === 0), from);
    }
    expect(await log.head(`room:${room}`)).toBe(20);
  });

  it("is cleared when the typist disconnects", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "typing", room });
    await l.next(isType("typing", (f) => f.users.length === 1));
    a.close();
    a.flush();
    await l.next(isType("typing", (f) => f.users.length === 0));
  });
});

describe("cursor", () => {
  it("moves the sender's cursor for the others on the next tick, and null removes it", async () => {
    const { room, a, l } = await adaAndLinInNewRoom();
    a.send({ type: "cursor", room, x: 0.25, y: 0.75 });
    await barrier(a);
    hub.cursors.flush();
    // Each join is answered with the room's full cursor set (empty here); the move comes after.
    const moved = await l.next(isType("cursors", (f) => !f.full));
    expect(moved.cursors).toEqual({ [ada.user.id]: { x: 0.25, y: 0.75, name: "Ada", color: ada.user.color } });
    const from = l.frames.length;
    a.send({ type: "cursor", room, x: null, y: null });
    await barrier(a);
    hub.cursors.flush();
    expect((await l.next(isType("cursors"), from)).cursors).toEqual({ [ada.user.id]: null });
  });
});

describe("errors (the connection stays open)", () => {
  it("bad_json: not JSON, empty, or binary", async () => {
    const a = connect(ada);
    for (const frame of ["{not json", "", "[1,"]) {
      expect(await errorFor(a, frame), JSON.stringify(frame)).toMatchObject({ code: "bad_json", message: expect.stringMatching(/\w/) });
    }
    const from = a.frames.length;
    a.sendBinary(Buffer.from([1, 2, 3]));
    expect(await a.next(isType("error"), from)).toMatchObject({ code: "bad_json" });
    expect(a.closeCode).toBeNull();
  });

  it("bad_frame: JSON that is not a valid frame, with what is wrong", async () => {
    const a = connect(ada);
    const cases: unknown[] = [
      { type: "nope" },
      { type: "join" },
      [],
      "null",
      '"join"',
      { type: "join", room: "general", since: -1 },
      { type: "join", room: "general", since: 1.5 },
      { type: "join", room: "x".repeat(65) },
      { type: "leave" },
      { type: "send", room: "general", text: "no client id" },
      { type: "send", room: "general", text: "hi", clientId: "x".repeat(65) },
      { type: "typing", room: "general", stop: "yes" },
      { type: "cursor", room: "general", x: 1.5, y: 0 },
      { type: "cursor", room: "general", x: 0.5, y: null },
    ];
    for (const frame of cases) {
      const err = await errorFor(a, frame);
      expect(err.code, JSON.stringify(frame)).toBe("bad_frame");
      expect(err.message).toMatch(/\w/);
    }
    expect((await errorFor(a, { type: "send", room: "general", text: 1, clientId: "c" })).message).toMatch(/"send" frame: text/);
    expect(a.closeCode).toBeNull();
  });

  it("unknown_room: a join of a room that does not exist", async () => {
    const a = connect(ada);
    expect(await errorFor(a, { type: "join", room: "no-such-room" })).toMatchObject({ code: "unknown_room", room: "no-such-room", message: expect.stringContaining("no-such-room") });
    expect(a.of("joined")).toEqual([]);
  });

  it("not_joined: send (with its clientId), typing and leave of a room not joined", async () => {
    const room = await newRoom();
    const a = connect(ada);
    expect(await errorFor(a, { type: "send", room, text: "hi", clientId: "nj-1" })).toMatchObject({ code: "not_joined", clientId: "nj-1", room });
    expect(await errorFor(a, { type: "typing", room })).toMatchObject({ code: "not_joined", room });
    expect(await errorFor(a, { type: "leave", room })).toMatchObject({ code: "not_joined", room });
    expect(await log.head(`room:${room}`)).toBe(0);
    expect(hub.typingUsers(room)).toEqual([]);
  });

  it("invalid_text: blank or over 4000 characters after trim, nothing appended", async () => {
    const { room, a } = await adaInNewRoom();
    for (const [text, clientId] of [["   ", "it-1"], ["x".repeat(4001), "it-2"], [`  ${"y".repeat(4000)}  `, "ok"]] as const) {
      const from = a.frames.length;
      a.send({ type: "send", room, text, clientId });
      const answer = await a.next((f) => (f.type === "error" || f.type === "ack") && f.clientId === clientId, from);
      expect(answer, clientId).toMatchObject(clientId === "ok" ? { type: "ack", seq: 1 } : { type: "error", code: "invalid_text", clientId });
    }
    expect(await log.head(`room:${room}`)).toBe(1);
  });

  it("rate_limited: a send past the burst, answered with its clientId", async () => {
    const { room, a } = await adaInNewRoom();
    for (let i = 0; i < 21; i++) a.send({ type: "send", room, text: `m${i}`, clientId: `s-${i}` });
    await a.flushUntil(() => a.of("ack").length + a.of("error").length === 21, "21 answers");
    expect(a.of("error")).toEqual([{ type: "error", code: "rate_limited", message: expect.stringMatching(/\w/), clientId: "s-20", room }]);
    expect(a.of("ack").map((f) => f.clientId)).toEqual(Array.from({ length: 20 }, (_, i) => `s-${i}`));
    expect(a.closeCode).toBeNull();
  });

  it("counts every error it answers by code", async () => {
    const a = connect(ada);
    await errorFor(a, "{");
    await errorFor(a, { type: "nope" });
    await errorFor(a, { type: "join", room: "no-such-room" });
    await errorFor(a, { type: "leave", room: "general" });
    const codes: ErrorCode[] = ["bad_json", "bad_frame", "unknown_room", "not_joined"];
    for (const code of codes) expect(await counted(metrics.protocolErrors, { code }), code).toBe(1);
  });
});

describe("close codes", () => {
  it("1008 after more than 50 bad frames within 10 s; the first 50 are answered", async () => {
    const a = connect(ada);
    for (let i = 0; i < 50; i++) a.send("{bad");
    a.flush();
    expect(a.closeCode).toBeNull();
    // A new window: the count starts again.
    clock.advance(10_000);
    for (let i = 0; i < 50; i++) a.send("{bad");
    a.flush();
    expect(a.closeCode).toBeNull();
    expect(a.of("error")).toHaveLength(100);
    a.send("{bad");
    a.flush();
    expect(a.closeCode).toBe(1008);
    expect(a.closeReason).toMatch(/bad frames/);
    expect(a.of("error")).toHaveLength(101);
  });

  it("1008 for a client that keeps sending past the rate limit (500 refusals within 10 s)", async () => {
    // 521 frames at one instant: past the unread-drop rate (FRAME_RATE), raised here so that
    // every send is read and answered.
    const { room, a } = await adaInNewRoom({ rates: framesAt(1_000, 1_000) });
    for (let i = 0; i < 520; i++) a.send({ type: "send", room, text: `f${i}`, clientId: `f-${i}` });
    await a.flushUntil(() => a.of("ack").length === 20 && a.of("error").length === 500, "an answer to every send");
    expect(a.closeCode).toBeNull();
    expect(a.of("error").filter((e) => e.code === "rate_limited")).toHaveLength(500);
    a.send({ type: "send", room, text: "one more", clientId: "f-520" });
    await a.flushUntil(() => a.closeCode !== null, "the close");
    expect(a.closeCode).toBe(1008);
    expect(await log.head(`room:${room}`)).toBe(20);
  });

  it("1013 for a socket that stops reading while durable events keep coming; the others lose nothing", async () => {
    const room = await newRoom();
    const slow = connect(lin, { maxBufferedBytes: 2_000 });
    const a = connect(ada);
    await join(slow, room);
    await join(a, room);
    const before = await counted(metrics.slowConsumerCloses, { transport: "ws" });
    slow.reading = false;
    for (let i = 0; i < 20; i++) a.send({ type: "send", room, text: `${i} ${"z".repeat(200)}`, clientId: `z-${i}` });
    await a.flushUntil(() => messages(a, room).length === 20, "every event at the reader that keeps up");
    expect(hub.connections().map((c) => c.user.id)).not.toContain(lin.user.id);
    expect(await counted(metrics.slowConsumerCloses, { transport: "ws" })).toBe(before + 1);
    slow.reading = true;
    slow.flush();
    expect(slow.closeCode).toBe(1013);
    // What it did get is a gapless prefix, so it can resume from the log.
    const got = messages(slow, room).map((e) => e.seq);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    expect(got.length).toBeLessThan(20);
  });

  it("a join answered on a socket already too far behind closes it 1013 and leaves nobody present", async () => {
    const room = await newRoom();
    const slow = connect(lin, { maxBufferedBytes: 2_000 });
    const a = connect(ada);
    await join(slow, room);
    await join(a, room);
    slow.reading = false;
    // One event larger than the bound goes out whole; the next durable frame finds the socket behind.
    a.send({ type: "send", room, text: "z".repeat(3_000), clientId: "big" });
    await a.flushUntil(() => messages(a, room).length === 1, "the event at the reader that keeps up");
    expect(slow.closeCode).toBeNull();
    // A re-join (a waking tab checking its socket): its answer is the frame that closes it.
    slow.send({ type: "join", room, since: 0 });
    await a.flushUntil(() => !hub.connections().some((c) => c.user.id === lin.user.id), "the slow connection gone");
    clock.advance(PRESENCE_GRACE_MS);
    expect(hub.members(room).map((m) => m.id)).toEqual([ada.user.id]);
  });

  it("terminates a connection that does not answer a ping within the timeout, and keeps one that does", async () => {
    const room = await newRoom();
    const alive = connect(ada);
    const silent = connect(lin);
    silent.autoPong = false;
    await join(alive, room);
    await join(silent, room);
    for (const c of connections) c.ping(10_000);
    alive.flush();
    silent.flush();
    expect(silent.pings).toBe(1);
    clock.advance(9_999);
    expect(silent.closeCode).toBeNull();
    clock.advance(1);
    expect(silent.closeCode).toBe(1006);
    expect(alive.closeCode).toBeNull();
    expect(hub.connections().map((c) => c.user.id)).toEqual([ada.user.id]);
  });

  it("4401 for every connection of a signed-out session", async () => {
    const a1 = connect(ada);
    const a2 = connect(ada);
    const l = connect(lin);
    hub.disconnectSession(ada.id, "signed-out");
    for (const p of [a1, a2, l]) p.flush();
    expect([a1.closeCode, a2.closeCode, l.closeCode]).toEqual([4401, 4401, null]);
  });
});

describe("bounded memory per connection", () => {
  it("stops reading while frames wait on the database, reads again once they are handled, and handles every one", async () => {
    const room = await newRoom();
    const a = connect(ada);
    a.send({ type: "join", room }); // waits on the database for the room's head
    for (let i = 0; i < 100; i++) a.send({ type: "typing", room });
    a.flush();
    expect(a.paused).toBe(true);
    expect(a.waiting).toBeGreaterThan(0);
    await a.flushUntil(() => a.waiting === 0 && !a.paused, "the queue to drain");
    await barrier(a);
    expect(a.of("joined")).toHaveLength(1);
    expect(await counted(metrics.framesIn, { type: "typing" })).toBe(100);
    // Two typing frames pass the 2/s limit; the rest were handled too, and dropped by it.
    expect(await counted(metrics.rateLimited, { type: "typing" })).toBe(98);
    expect(a.closeCode).toBeNull();
  });

  it("does not hold a missing pong against a peer it stopped reading (the pong waits behind its frames)", async () => {
    const room = await newRoom();
    const a = connect(ada);
    a.send({ type: "join", room });
    for (let i = 0; i < 100; i++) a.send({ type: "typing", room });
    a.flush();
    expect(a.paused).toBe(true);
    connections[0]!.ping(10_000);
    a.flush(); // the client answers; its pong waits behind the frames not yet read
    expect(a.pings).toBe(1);
    clock.advance(10_000);
    expect(a.closeCode).toBeNull();
    await a.flushUntil(() => a.waiting === 0 && !a.paused, "the queue to drain");
    // The pong was read in the end: the next round finds the peer alive.
    connections[0]!.ping(10_000);
    a.flush();
    clock.advance(10_000);
    expect(a.closeCode).toBeNull();
    expect(hub.connections()).toHaveLength(1);
  });

  it("closes 1008 a connection that keeps sending cursors at four times the limit, and never one at the client's pace", async () => {
    const { room, a } = await adaInNewRoom();
    const calm = connect(lin);
    await join(calm, room);
    // Ten seconds at 30 Hz (the client's own pace) on one socket, 240 Hz on the other, in
    // steps of 50 ms of the test's clock.
    for (let step = 0; step < 200 && a.closeCode === null; step++) {
      for (let i = 0; i < 12; i++) a.send({ type: "cursor", room, x: i / 12, y: 0.5 });
      if (step % 2 === 0) for (let i = 0; i < 3; i++) calm.send({ type: "cursor", room, x: i / 3, y: 0.5 });
      await settle();
      clock.advance(50);
    }
    expect(a.closeCode).toBe(1008);
    expect(a.closeReason).toBe("Too many frames; slow down");
    expect(calm.closeCode).toBeNull();
  });

  it("drops a flood unread past the frame rate, and closes it 1008", async () => {
    const { room, a } = await adaInNewRoom();
    for (let i = 0; i < 5_000; i++) a.send({ type: "cursor", room, x: 0.5, y: 0.5 });
    await a.flushUntil(() => a.closeCode !== null || a.waiting === 0, "the flood read");
    expect(a.closeCode).toBe(1008);
    expect(a.closeReason).toBe("Too many frames; slow down");
    // Only the frame rate's burst was parsed; the rest never reached JSON.parse.
    expect(await counted(metrics.framesIn, { type: "cursor" })).toBeLessThanOrEqual(FRAME_RATE.burst);
  });

  it("closes with 1008 a socket that keeps delivering frames past the hard limit while paused", async () => {
    const room = await newRoom();
    // Past FRAME_RATE too: raised here, so the frames reach the pending-frame bound.
    const a = connect(ada, { rates: framesAt(10_000, 10_000) });
    a.honorsPause = false;
    a.send({ type: "join", room });
    for (let i = 0; i < INBOX_MAX_FRAMES + 10; i++) a.send({ type: "typing", room });
    a.flush();
    expect(a.closeCode).toBe(1008);
    expect(a.closeReason).toBe("Too many pending frames");
    expect(hub.connections()).toEqual([]);
  });

  it("handles no frame that was still waiting when the connection closed", async () => {
    const room = await newRoom();
    const a = connect(ada);
    a.send({ type: "join", room });
    for (let i = 0; i < 5; i++) a.send({ type: "typing", room });
    a.close();
    a.flush();
    await log.idle();
    await new Promise((r) => setTimeout(r, 50));
    expect(await counted(metrics.framesIn)).toBe(6);
    expect(await counted(metrics.protocolErrors)).toBe(0);
    expect(await counted(metrics.rateLimited)).toBe(0);
    expect(hub.typingUsers(room)).toEqual([]);
  });

  it(`joins at most ${MAX_ROOMS_PER_CONNECTION} rooms at once (too_many_rooms), and joins at 5/s past a burst of as many (rate_limited)`, async () => {
    const rooms = await Promise.all(Array.from({ length: MAX_ROOMS_PER_CONNECTION + 1 }, () => newRoom()));
    const extra = rooms.pop()!;
    const a = connect(ada);
    for (const room of rooms) a.send({ type: "join", room });
    await a.flushUntil(() => a.of("joined").length === MAX_ROOMS_PER_CONNECTION, "every join answered");
    expect(a.of("error")).toEqual([]);

    expect(await errorFor(a, { type: "join", room: extra })).toMatchObject({ code: "too_many_rooms", message: expect.stringMatching(/50 rooms/) });
    // The burst is spent: a rejoin right away is refused, one 200 ms later goes through.
    expect(await errorFor(a, { type: "join", room: rooms[0] })).toMatchObject({ code: "rate_limited", message: expect.stringContaining(rooms[0]!) });
    clock.advance(200);
    expect(await join(a, rooms[0]!)).toMatchObject({ type: "joined", room: rooms[0] });
    expect(await errorFor(a, { type: "join", room: rooms[1] })).toMatchObject({ code: "rate_limited" });
    // Leaving makes room for another.
    a.send({ type: "leave", room: rooms[1] });
    clock.advance(200);
    expect(await join(a, extra)).toMatchObject({ type: "joined", room: extra });
    expect(await counted(metrics.rateLimited, { type: "join" })).toBe(2);
    expect(a.closeCode).toBeNull();
  });

  it("records a person's first join of a room, and writes nothing when this process has already recorded it", async () => {
    const room = await newRoom();
    const prisma = testDb.db.prisma;
    const memberJoined = async () => (await log.readAfter("feed", 0, 10_000)).filter((e) => e.type === "member.joined" && e.data.roomId === room);
    await workspace.recordJoin(room, ada.user);
    expect(await prisma.roomMember.count({ where: { roomId: room } })).toBe(1);
    expect(await memberJoined()).toHaveLength(1);
    // Were the row written again, it would reappear.
    await prisma.roomMember.deleteMany({ where: { roomId: room } });
    await workspace.recordJoin(room, ada.user);
    expect(await prisma.roomMember.count({ where: { roomId: room } })).toBe(0);
    // Another process has not recorded it: it writes (and the feed still says it once).
    await new Workspace(prisma, log).recordJoin(room, ada.user);
    expect(await prisma.roomMember.count({ where: { roomId: room } })).toBe(1);
    expect(await memberJoined()).toHaveLength(1);
  });
});

describe("rate limits per connection (PROTOCOL.md: send 10/s burst 20, typing 2/s, cursor 60/s)", () => {
  /** Sends `n` sends at this instant; resolves with how many were acked and how many refused. */
  async function sendBurst(a: TestSocketPair, room: string, n: number, tag: string) {
    const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
    for (const clientId of ids) a.send({ type: "send", room, text: clientId, clientId });
    const answered = () => ids.filter((id) => a.frames.some((f) => (f.type === "ack" || f.type === "error") && f.clientId === id));
    await a.flushUntil(() => answered().length === n, `answers to ${tag}`);
    const acked = ids.filter((id) => a.of("ack").some((f) => f.clientId === id));
    const refused = a.of("error").filter((f) => f.clientId?.startsWith(`${tag}-`));
    expect(new Set(refused.map((f) => f.code))).toEqual(new Set(refused.length ? ["rate_limited"] : []));
    // The accepted ones are always the first ones: a refusal never lets a later send through early.
    expect(acked).toEqual(ids.slice(0, acked.length));
    return { acked: acked.length, refused: refused.length };
  }

  it("send: a burst of 20, then 10 per second, never more than 20 saved up", async () => {
    const { room, a } = await adaInNewRoom();
    expect(await sendBurst(a, room, 25, "t0")).toEqual({ acked: 20, refused: 5 });
    clock.advance(100);
    expect(await sendBurst(a, room, 3, "t100")).toEqual({ acked: 1, refused: 2 });
    clock.advance(1_000);
    expect(await sendBurst(a, room, 12, "t1100")).toEqual({ acked: 10, refused: 2 });
    clock.advance(250);
    expect(await sendBurst(a, room, 3, "t1350")).toEqual({ acked: 2, refused: 1 });
    clock.advance(60_000);
    expect(await sendBurst(a, room, 25, "t61350")).toEqual({ acked: 20, refused: 5 });
    expect(await log.head(`room:${room}`)).toBe(53);
    expect(await counted(metrics.rateLimited, { type: "send" })).toBe(15);
    expect(await counted(metrics.acks, { transport: "ws" })).toBe(53);
  });

  it("typing: 2 per second, the excess dropped silently; a stop is never limited", async () => {
    const { room, a } = await adaInNewRoom();
    const typingFrames = async (n: number, stop = false) => {
      for (let i = 0; i < n; i++) a.send(stop ? { type: "typing", room, stop: true } : { type: "typing", room });
      await barrier(a);
    };
    await typingFrames(5);
    expect(await counted(metrics.rateLimited, { type: "typing" })).toBe(3);
    clock.advance(500);
    await typingFrames(3);
    expect(await counted(metrics.rateLimited, { type: "typing" })).toBe(5);
    await typingFrames(4, true);
    expect(await counted(metrics.rateLimited, { type: "typing" })).toBe(5);
    clock.advance(10_000);
    await typingFrames(3);
    expect(await counted(metrics.rateLimited, { type: "typing" })).toBe(6);
    expect(a.of("error")).toEqual([]);
    expect(hub.typingUsers(room)).toEqual([{ id: ada.user.id, name: "Ada" }]);
  });

  it("cursor: 60 per second reach the hub, the excess dropped silently", async () => {
    const { room, a } = await adaInNewRoom();
    const moves = async (n: number) => {
      for (let i = 0; i < n; i++) a.send({ type: "cursor", room, x: (i % 100) / 100, y: 0.5 });
      await barrier(a);
    };
    await moves(150);
    expect(await counted(metrics.cursorInputs)).toBe(60);
    expect(await counted(metrics.rateLimited, { type: "cursor" })).toBe(90);
    clock.advance(500);
    await moves(40);
    expect(await counted(metrics.cursorInputs)).toBe(90);
    clock.advance(5_000);
    await moves(100);
    expect(await counted(metrics.cursorInputs)).toBe(150);
    expect(hub.cursors.stats.inputs).toBe(150);
    expect(a.of("error")).toEqual([]);
    expect(a.closeCode).toBeNull();
  });
});

describe("the server's own trouble: overloaded, unavailable, internal (the connection stays open)", () => {
  const filler = (i: number) =>
    log.append({ stream: "room:general", type: "message", actor: { id: lin.user.id, name: "Lin" }, data: { text: `fill ${i}`, clientId: `fill-${i}-${randomBytes(3).toString("hex")}` } });

  it("overloaded: a send while the event log's queue is full, with its clientId; the same clientId later is appended once", async () => {
    world({ maxQueue: 3 });
    const room = await newRoom();
    await workspace.recordJoin(room, ada.user); // so the join itself appends nothing
    const a = connect(ada);
    await join(a, room);
    // The queue fills within this tick; the send is handled before the batch is written.
    const fills = [0, 1, 2].map(filler);
    a.send({ type: "send", room, text: "hello", clientId: "ov-1" });
    a.flush();
    const err = await a.next(isType("error"));
    expect(err).toEqual({ type: "error", code: "overloaded", message: expect.stringMatching(/busy/), clientId: "ov-1", room });
    await Promise.all(fills);
    expect(await log.head(`room:${room}`)).toBe(0);
    expect(await counted(metrics.appendRejected)).toBe(1);

    a.send({ type: "send", room, text: "hello", clientId: "ov-1" });
    expect(await a.next(isType("ack"))).toEqual({ type: "ack", clientId: "ov-1", seq: 1 });
    expect(a.closeCode).toBeNull();
  });

  it("overloaded and its kin never count toward the abuse limit", async () => {
    world({ maxQueue: 1 });
    const room = await newRoom();
    await workspace.recordJoin(room, ada.user);
    const a = connect(ada);
    await join(a, room);
    // More refusals than the 50 bad frames that would close the connection, 20 sends at a time
    // (the send burst) while the log's one place is taken.
    for (let round = 0; round < 3; round++) {
      const fill = filler(round);
      for (let i = 0; i < 20; i++) a.send({ type: "send", room, text: "hi", clientId: `o-${round}-${i}` });
      a.flush();
      await a.flushUntil(() => a.of("error").length === 20 * (round + 1), "the refusals");
      await fill;
      clock.advance(2_000);
    }
    expect(new Set(a.of("error").map((e) => e.code))).toEqual(new Set(["overloaded"]));
    expect(a.closeCode).toBeNull();
  });

  it("unavailable: a send once the event log is closing (the server is shutting down)", async () => {
    const { room, a } = await adaInNewRoom();
    await log.close();
    expect(await errorFor(a, { type: "send", room, text: "late", clientId: "un-1" })).toEqual({
      type: "error",
      code: "unavailable",
      message: expect.stringMatching(/shutting down/),
      clientId: "un-1",
      room,
    });
    expect(a.closeCode).toBeNull();
  });

  it("internal: a join the database cannot answer, which then counts as not joined", async () => {
    const broken = await createTestDatabase("pglite");
    world({ db: broken.db });
    const a = connect(ada);
    await broken.drop(); // the database goes away
    expect(await errorFor(a, { type: "join", room: "general" })).toEqual({ type: "error", code: "internal", room: "general", message: expect.stringMatching(/try again/) });
    expect(a.of("joined")).toEqual([]);
    expect(await errorFor(a, { type: "send", room: "general", text: "hi", clientId: "in-1" })).toMatchObject({ code: "not_joined", clientId: "in-1" });
    expect(hub.members("general")).toEqual([]);
    expect(a.closeCode).toBeNull();
  });
});
