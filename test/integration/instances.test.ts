// Two instances in one process, sharing a real Postgres (the durable backplane: NOTIFY + the
// log) and a real Redis (presence, typing, cursors). Needs DATABASE_URL and REDIS_URL.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../server/db/database";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { isType, startServer, waitFor, type TestServer, type WsClient } from "../helpers/server";
import { redisServer } from "../cluster/cluster";
import { freePort } from "../cluster/nginx";
import type { RealtimeEvent, User } from "../../lib/protocol";

const enabled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

describe.runIf(enabled)("two instances on one Postgres and one Redis", () => {
  let shared: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  let ada: { user: User; cookie: string };
  let lin: { user: User; cookie: string };
  const sockets: WsClient[] = [];

  const start = async (name: string, heartbeat = 200, redisUrl = process.env.REDIS_URL!) => {
    const db = await openDatabase({ url: shared.url, poolSize: 4, applicationName: `rt-test-${name}` });
    return startServer({
      testDb: { db, url: shared.url, drop: () => db.close() },
      instanceId: name,
      env: { REDIS_URL: redisUrl, DATABASE_URL: shared.url! },
      tuning: { presenceHeartbeatMs: heartbeat, presenceGraceMs: 100 },
    });
  };

  beforeAll(async () => {
    shared = await createTestDatabase("postgres");
    a = await start("A");
    b = await start("B");
    ada = await a.signIn("Ada");
    lin = await b.signIn("Lin");
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await a?.stop();
    await b?.stop();
    await b?.testDb.drop();
    await shared?.drop();
  });

  const open = async (server: TestServer, cookie: string) => {
    const c = await server.connect(cookie);
    sockets.push(c);
    return c;
  };

  /** A socket on `server` that has joined `room` (from `since`, when given). */
  const openAndJoin = async (server: TestServer, cookie: string, room: string, since?: number) => {
    const c = await open(server, cookie);
    c.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
    await c.next(isType("joined", (f) => f.room === room));
    return c;
  };

  it("fans out every message to the other instance's clients exactly once, in seq order, while both write", async () => {
    const onA = await openAndJoin(a, ada.cookie, "general", 0);
    const onB = await openAndJoin(b, lin.cookie, "general", 0);
    for (let i = 0; i < 15; i++) {
      onA.send({ type: "send", room: "general", text: `a${i}`, clientId: `a${i}` });
      onB.send({ type: "send", room: "general", text: `b${i}`, clientId: `b${i}` });
    }
    const seqsOf = (c: WsClient) =>
      c.of("event").map((f) => f.event).filter((e: RealtimeEvent) => e.stream === "room:general" && e.type === "message").map((e) => e.seq);
    await waitFor(() => seqsOf(onA).length >= 30 && seqsOf(onB).length >= 30, 10_000, "30 events on both");
    const expected = Array.from({ length: 30 }, (_, i) => i + 1);
    expect(seqsOf(onA)).toEqual(expected);
    expect(seqsOf(onB)).toEqual(expected);
    expect(onA.of("ack").length + onB.of("ack").length).toBe(30);
  });

  it("an edit, a reaction and a delete made on one instance reach the other's sockets, and its history shows them", async () => {
    const room = "general";
    const onA = await openAndJoin(a, ada.cookie, room);
    const onB = await openAndJoin(b, lin.cookie, room);
    const ackOf = async (c: WsClient, frame: Record<string, unknown> & { clientId: string }) => {
      c.send(frame);
      const ack = await c.next(isType("ack", (f) => f.clientId === frame.clientId), { timeoutMs: 10_000 });
      return ack.seq;
    };
    const seq = await ackOf(onA, { type: "send", room, text: "across", clientId: "x-send" });
    await ackOf(onA, { type: "edit", room, seq, text: "across, edited", clientId: "x-edit" });
    await ackOf(onB, { type: "react", room, seq, emoji: "👍", on: true, clientId: "x-react" });
    const changesOn = (c: WsClient) => c.of("event").map((f) => f.event).filter((e) => e.type !== "message" && (e.data as { seq?: number }).seq === seq);
    await waitFor(() => changesOn(onB).length >= 1 && changesOn(onA).length >= 2, 10_000, "the changes on both");
    await ackOf(onA, { type: "delete", room, seq, clientId: "x-delete" });
    await waitFor(() => changesOn(onB).length >= 3, 10_000, "the delete on B");
    expect(changesOn(onB).map((e) => e.type)).toEqual(["message.edited", "reaction", "message.deleted"]);
    const history = (await (await b.api(`/api/rooms/${room}/events?limit=10`, { cookie: lin.cookie })).json()) as { events: RealtimeEvent[] };
    expect(history.events.find((e) => e.seq === seq)).toMatchObject({ data: { text: "", deleted: true } });
  });

  it("delivers what another instance committed while this one's LISTEN connection was being replaced", async () => {
    const onA = await openAndJoin(a, ada.cookie, "general");
    const onB = await openAndJoin(b, lin.cookie, "general");

    const admin = new pg.Client({ connectionString: shared.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
        ["rt-test-A-listen"],
      );
      expect(killed.rowCount).toBe(1);
    } finally {
      await admin.end();
    }
    onB.send({ type: "send", room: "general", text: "during the gap", clientId: "gap-1" });
    const ack = await onB.next(isType("ack", (f) => f.clientId === "gap-1"));
    const seen = await onA.next(isType("event", (f) => f.event.stream === "room:general" && f.event.seq === ack.seq), { timeoutMs: 10_000 });
    expect(seen.event.data).toMatchObject({ text: "during the gap" });
  });

  it("delivers another instance's commit that lands while this instance is still reading a new stream's head", async () => {
    await b.api("/api/rooms", { method: "POST", cookie: lin.cookie, body: JSON.stringify({ name: "window" }) });
    const onB = await openAndJoin(b, lin.cookie, "window");
    const onA = await open(a, ada.cookie);

    // Hold A's first read of the stream's head until B has committed and A has heard the NOTIFY:
    // the commit lands after the head was read but before A knows the stream's position, so the
    // NOTIFY cannot be acted on. The replay that follows the head must still find the event.
    const stream = "room:window";
    const heard = new Promise<void>((resolve) => {
      const catchUp = a.app.hub.catchUpHeads.bind(a.app.hub);
      a.app.hub.catchUpHeads = (heads) => {
        const done = catchUp(heads);
        if (heads?.has(stream)) resolve();
        return done;
      };
    });
    const head = a.app.log.head.bind(a.app.log);
    let held = false;
    a.app.log.head = async (s) => {
      const before = await head(s);
      if (s === stream && !held) {
        held = true;
        onB.send({ type: "send", room: "window", text: "in the window", clientId: "w1" });
        await onB.next(isType("ack", (f) => f.clientId === "w1"));
        await heard;
      }
      return before;
    };
    try {
      onA.send({ type: "join", room: "window" });
      const joined = await onA.next(isType("joined", (f) => f.room === "window"));
      const event = await onA.next(isType("event", (f) => f.event.stream === stream && f.event.seq === joined.head + 1));
      expect(event.event.data).toMatchObject({ text: "in the window" });
    } finally {
      delete (a.app.log as { head?: unknown }).head;
      delete (a.app.hub as { catchUpHeads?: unknown }).catchUpHeads;
    }
  });

  it("shows presence, typing and cursors across instances", async () => {
    await a.api("/api/rooms", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ name: "across" }) });
    const onA = await openAndJoin(a, ada.cookie, "across");
    const onB = await openAndJoin(b, lin.cookie, "across");
    await onA.next(isType("presence", (f) => f.room === "across" && f.members.some((m) => m.name === "Lin")));
    await waitFor(() => b.app.hub.members("across").some((m) => m.name === "Ada"), 5000, "Ada present on B");

    onB.send({ type: "typing", room: "across" });
    await onA.next(isType("typing", (f) => f.room === "across" && f.users.some((u) => u.name === "Lin")));
    onB.send({ type: "cursor", room: "across", x: 0.3, y: 0.6 });
    const frame = await onA.next(isType("cursors", (f) => f.room === "across" && f.cursors[lin.user.id] != null));
    expect(frame.cursors[lin.user.id]).toMatchObject({ x: 0.3, y: 0.6, name: "Lin" });
    // Long polling on A sees B's cursor in its room state too.
    expect(a.app.hub.roomState("across").cursors[lin.user.id]).toMatchObject({ x: 0.3, y: 0.6 });

    // (From here on: Ada's own first presence frame, from before Lin came, would match too.)
    const from = onA.frames.length;
    onB.close();
    await onA.next(isType("presence", (f) => f.room === "across" && !f.members.some((m) => m.name === "Lin")), { from, timeoutMs: 5000 });
  });

  it("drops the members of an instance that stops announcing itself, within the TTL", async () => {
    const c = await start("C", 150);
    try {
      const grace = await c.signIn("Grace");
      await openAndJoin(c, grace.cookie, "general");
      await waitFor(() => a.app.hub.members("general").some((m) => m.name === "Grace"), 5000, "Grace present on A");
      // A crash: C neither says goodbye nor renews (stop its heartbeat without the bye).
      const peers = (c.app.hub as unknown as { peers: { heartbeatTimer: NodeJS.Timeout; bus: { publish(): void } } }).peers;
      peers.heartbeatTimer.close();
      peers.bus.publish = () => {};
      await waitFor(() => !a.app.hub.members("general").some((m) => m.name === "Grace"), 5000, "Grace gone from A");
    } finally {
      await c.stop();
      await c.testDb.drop();
    }
  });

  it("two processes started with the same INSTANCE_ID still hear each other's messages and presence", async () => {
    const twin1 = await start("twin");
    const twin2 = await start("twin");
    try {
      const kay = await twin1.signIn("Kay");
      const joe = await twin2.signIn("Joe");
      const on1 = await openAndJoin(twin1, kay.cookie, "general");
      const on2 = await openAndJoin(twin2, joe.cookie, "general");
      on1.send({ type: "send", room: "general", text: "from one twin", clientId: "twin-1" });
      const ack = await on1.next(isType("ack", (f) => f.clientId === "twin-1"));
      const seen = await on2.next(isType("event", (f) => f.event.seq === ack.seq && f.event.stream === "room:general"));
      expect(seen.event.data).toMatchObject({ text: "from one twin" });
      await waitFor(() => twin2.app.hub.members("general").some((m) => m.name === "Kay"), 5000, "Kay present on the other twin");
      await waitFor(() => twin1.app.hub.members("general").some((m) => m.name === "Joe"), 5000, "Joe present on the other twin");
    } finally {
      await twin1.stop();
      await twin2.stop();
      await twin1.testDb.drop();
      await twin2.testDb.drop();
    }
  });

  it("instances that boot while Redis is down share presence once it comes up", async () => {
    const redis = redisServer(await freePort());
    const c = await start("C", 200, redis.url);
    const d = await start("D", 200, redis.url);
    try {
      const cy = await c.signIn("Cy");
      const di = await d.signIn("Di");
      const onC = await openAndJoin(c, cy.cookie, "general");
      const onD = await openAndJoin(d, di.cookie, "general");
      await redis.start();
      await onC.next(isType("presence", (f) => f.members.some((m) => m.name === "Di")), { timeoutMs: 15_000 });
      await onD.next(isType("presence", (f) => f.members.some((m) => m.name === "Cy")), { timeoutMs: 15_000 });
    } finally {
      await c.stop();
      await d.stop();
      await redis.stop();
      await c.testDb.drop();
      await d.testDb.drop();
    }
  });

  it("signing out on one instance closes that session's sockets on the other (4401)", async () => {
    const temp = await a.signIn("Temp");
    const onB = await openAndJoin(b, temp.cookie, "general");
    expect((await a.api("/api/session", { method: "DELETE", cookie: temp.cookie })).status).toBe(204);
    expect(await onB.closed()).toBe(4401);
    expect((await b.api("/api/rooms", { cookie: temp.cookie })).status).toBe(401);
  });

  it("a device signed out from another device through instance A loses its socket on instance B (4401)", async () => {
    const username = `across_${Date.now().toString(36)}`;
    const created = await a.api("/api/account", { method: "POST", body: JSON.stringify({ username, password: "long enough" }) });
    const laptop = created.headers.get("set-cookie")!.split(";")[0]!;
    const signedIn = await b.api("/api/session", { method: "POST", body: JSON.stringify({ username, password: "long enough" }) });
    const phone = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    const phoneOnB = await open(b, phone);
    const { sessions } = (await (await a.api("/api/sessions", { cookie: laptop })).json()) as { sessions: { id: string; current: boolean }[] };
    const other = sessions.find((d) => !d.current)!;
    expect((await a.api(`/api/sessions/${other.id}`, { method: "DELETE", cookie: laptop })).status).toBe(204);
    expect(await phoneOnB.closed(10_000)).toBe(4401);
  });

  it("a name changed through A is the name on B at once: B reads the person again and makes their socket again (1.9)", async () => {
    const username = `named_${Date.now().toString(36)}`;
    const created = await a.api("/api/account", { method: "POST", body: JSON.stringify({ username, password: "long enough" }) });
    const laptop = created.headers.get("set-cookie")!.split(";")[0]!;
    const signedIn = await b.api("/api/session", { method: "POST", body: JSON.stringify({ username, password: "long enough" }) });
    const phone = signedIn.headers.get("set-cookie")!.split(";")[0]!;
    const phoneOnB = await open(b, phone);
    // B trusts the phone's session from its cache until told.
    expect(((await (await b.api("/api/session", { cookie: phone })).json()) as { user: User }).user.name).toBe(username);
    const name = `Renamed ${username}`;
    expect((await a.api("/api/account", { method: "PATCH", cookie: laptop, body: JSON.stringify({ name }) })).status).toBe(200);
    expect(await phoneOnB.closed(10_000)).toBe(1012);
    expect(((await (await b.api("/api/session", { cookie: phone })).json()) as { user: User }).user.name).toBe(name);
  });

  it("a private room: unknown on the other instance to a non-member; a member removed through A loses it on B at once", async () => {
    const room = `priv-${Date.now().toString(36)}`;
    expect((await a.api("/api/rooms", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ name: room, visibility: "private" }) })).status).toBe(201);
    const kim = await b.signIn("Kim");
    expect((await a.api(`/api/rooms/${room}/members`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ userId: kim.user.id }) })).status).toBe(204);
    const linOnB = await b.connect(lin.cookie, { protocols: ["rt.v1.2", "rt.v1.1", "rt.v1"] });
    const kimOnB = await b.connect(kim.cookie, { protocols: ["rt.v1.2", "rt.v1.1", "rt.v1"] });
    sockets.push(linOnB, kimOnB);
    linOnB.send({ type: "join", room });
    expect(await linOnB.next(isType("error"))).toMatchObject({ code: "unknown_room", room });
    kimOnB.send({ type: "join", room });
    await kimOnB.next(isType("joined", (f) => f.room === room));
    expect((await a.api(`/api/rooms/${room}/members/${kim.user.id}`, { method: "DELETE", cookie: ada.cookie })).status).toBe(204);
    expect(await kimOnB.next(isType("removed"), { timeoutMs: 10_000 })).toEqual({ type: "removed", room });
    expect((await b.api(`/api/rooms/${room}/events`, { cookie: kim.cookie })).status).toBe(404);
    // Nothing posted after the removal reaches B's socket.
    const before = kimOnB.of("event").length;
    await a.api(`/api/rooms/${room}/messages`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ text: "after", clientId: "after-removal" }) });
    await new Promise((r) => setTimeout(r, 500));
    expect(kimOnB.of("event").length).toBe(before);
  });

  it("a read position moved (or marked unread), or a room muted, on one instance reaches the person's rt.v1.2 sockets on the other, and no one else's", async () => {
    const room = "general";
    const adaOnB = await b.connect(ada.cookie, { protocols: ["rt.v1.2", "rt.v1.1", "rt.v1"] });
    const linOnB = await b.connect(lin.cookie, { protocols: ["rt.v1.2", "rt.v1.1", "rt.v1"] });
    sockets.push(adaOnB, linOnB);
    // Both sockets are registered on B once they answer a join. (A first join starts a person's
    // read position at the head (1.14): the messages to read come after it.)
    for (const c of [adaOnB, linOnB]) {
      c.send({ type: "join", room });
      await c.next(isType("joined"));
    }
    await waitFor(async () => (await a.app.workspace.isMember(room, lin.user.id)) && (await a.app.workspace.isMember(room, ada.user.id)), 5_000, "both joins recorded");
    const mine = (await a.app.workspace.postMessage(room, ada.user, "for Lin", "read-across-lin")).event.seq;
    const head = (await a.app.workspace.postMessage(room, lin.user, "read me", "read-across")).event.seq;
    expect((await a.api(`/api/rooms/${room}/read`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ seq: head }) })).status).toBe(204);
    expect(await adaOnB.next(isType("read"), { timeoutMs: 10_000 })).toEqual({ type: "read", room, seq: head });
    // Lin's own read, through A, comes to her socket on B; Ada's would have come first.
    expect((await a.api(`/api/rooms/${room}/read`, { method: "POST", cookie: lin.cookie, body: JSON.stringify({ seq: mine }) })).status).toBe(204);
    await linOnB.next(isType("read"), { timeoutMs: 10_000 });
    expect(linOnB.of("read")).toEqual([{ type: "read", room, seq: mine }]);
    // Ada marks the message unread through A (1.11): B's socket hears it is a mark, not a late read.
    expect((await a.api(`/api/rooms/${room}/read`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ seq: head - 1, unread: true }) })).status).toBe(204);
    expect(await adaOnB.next(isType("read", (f) => f.seq === head - 1), { timeoutMs: 10_000 })).toEqual({ type: "read", room, seq: head - 1, unread: true });
    // And mutes the room through A (1.12): B's socket hears it too.
    expect((await a.api(`/api/rooms/${room}/mute`, { method: "PUT", cookie: ada.cookie })).status).toBe(204);
    expect(await adaOnB.next(isType("muted"), { timeoutMs: 10_000 })).toEqual({ type: "muted", room, muted: true });
    expect(linOnB.of("muted")).toEqual([]);
  });

  it("carries a room's canvas across instances: changes through the log, drags and selections through Redis", async () => {
    const room = `canvas-${Date.now().toString(36)}`;
    expect((await a.api("/api/rooms", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ name: room }) })).status).toBe(201);
    const onA = await openAndJoin(a, ada.cookie, room);
    const onB = await openAndJoin(b, lin.cookie, room);
    for (const c of [onA, onB]) {
      c.send({ type: "canvas.join", room });
      await c.next(isType("canvas.snapshot", (f) => f.room === room));
    }
    const object = { kind: "note", x: 1, y: 2, w: 100, h: 80, z: 1, color: "#fde68a", text: "across" };
    onA.send({ type: "canvas.ops", room, ops: [{ op: "create", id: "n1", object }], clientId: "x-1" });
    await onA.next(isType("ack", (f) => f.clientId === "x-1"));
    const seen = await onB.next(isType("event", (f) => f.event.stream === `canvas:${room}`));
    expect(seen.event).toMatchObject({ type: "canvas.ops", seq: 1, actor: { name: "Ada" } });
    // A change on B is checked against the board as committed through A.
    onB.send({ type: "canvas.ops", room, ops: [{ op: "update", id: "n1", set: { x: 50 } }], clientId: "x-2" });
    expect(await onB.next(isType("ack", (f) => f.clientId === "x-2"))).toMatchObject({ seq: 2 });
    // Live drags and selections cross through Redis, on the receiving instance's tick.
    onA.send({ type: "canvas.live", room, drags: { n1: { x: 70, y: 2, w: 100, h: 80 } }, selection: ["n1"] });
    const live = await onB.next(isType("canvas.live", (f) => f.drags.n1?.x === 70));
    expect(live.drags.n1?.by.name).toBe("Ada");
    await waitFor(() => onB.of("canvas.live").some((f) => f.selections[ada.user.id]?.ids[0] === "n1"), 5000, "Ada's selection on B");
    onA.send({ type: "canvas.live", room, drags: { n1: null } });
    await onB.next(isType("canvas.live", (f) => f.drags.n1 === null));
  });
});
