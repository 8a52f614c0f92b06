// The shared canvas (protocol 1.3) against a real server on 127.0.0.1: changes over the one
// command path (WebSocket frames and long-poll batches), acknowledged once durable and seen by
// everyone on the canvas; refused with the codes PROTOCOL.md names; the live drags coalesced on
// the cursor tick; a private room's canvas as private as its chat; snapshots beside the log, so a
// late joiner reads one row and the operations after it, and gets the board a full replay gives.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, MANY_ROOMS, startServer, waitFor, WsClient, type Person, type TestServer } from "../helpers/server";
import { metricValue, parseMetrics } from "../helpers/metrics";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { SEND_LIMITS } from "../../server/ratelimit";
import { CanvasBoards } from "../../server/canvas";
import { boardFrom, boardObjects, emptyBoard, foldBatches, sameBoard } from "../../lib/canvas/board";
import { canvasStream, MAX_CANVAS_OBJECTS, MAX_OPS_PER_FRAME, type CanvasOp, type ObjectBody, type RealtimeEvent, type ServerFrame } from "../../lib/protocol";

type Ack = Extract<ServerFrame, { type: "ack" }>;
type ErrorFrame = Extract<ServerFrame, { type: "error" }>;

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

const note = (x = 10, y = 20): ObjectBody => ({ kind: "note", x, y, w: 160, h: 120, z: 1, color: "#fde68a", text: "hi" });

describe.each(dbKinds)("the shared canvas on %s", (kind) => {
  let s: TestServer;
  let ada: Person;
  let lin: Person;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    s = await startServer({
      kind,
      testDb: kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined,
      // Many changes in a row; the canvas rate is tested on its own below, with a fresh person.
      tuning: { rateLimits: { ...SEND_LIMITS, canvas: { rate: 1000, burst: 1000 } } },
      env: MANY_ROOMS,
    });
    ada = await s.signIn("Ada");
    lin = await s.signIn("Lin");
  }, 60_000);
  afterAll(async () => {
    for (const c of sockets) c.close();
    await s?.stop();
  });

  const newRoom = async (visibility?: "private"): Promise<string> => {
    const name = `cv-${randomBytes(4).toString("hex")}`;
    const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name, visibility }), cookie: ada.cookie });
    expect(res.status).toBe(201);
    return name;
  };
  /** A socket in `room` with its canvas open: resolves with the canvas answer. */
  const onCanvas = async (p: Person, room: string, since?: number) => {
    const c = await s.connect(p.cookie, { protocols: ["rt.v1.2", "rt.v1.1", "rt.v1"] });
    sockets.push(c);
    c.send({ type: "join", room });
    await c.next(isType("joined", (f) => f.room === room));
    c.send(since === undefined ? { type: "canvas.join", room } : { type: "canvas.join", room, since });
    const answer = await c.next((f) => (f.type === "canvas.snapshot" || f.type === "canvas.joined") && f.room === room);
    return { c, answer };
  };
  let ids = 0;
  const cid = () => `c-${++ids}-${randomBytes(2).toString("hex")}`;
  /** Sends a change and resolves with its answer: the one to this sending (a clientId may be sent again). */
  const change = async (c: WsClient, room: string, ops: CanvasOp[], clientId = cid()): Promise<Ack | ErrorFrame> => {
    const from = c.frames.length;
    c.send({ type: "canvas.ops", room, ops, clientId });
    return c.next((f): f is Ack | ErrorFrame => (f.type === "ack" || f.type === "error") && f.clientId === clientId, { from });
  };
  const canvasEvents = (c: WsClient, room: string) =>
    c.of("event").map((f) => f.event).filter((e): e is Extract<RealtimeEvent, { type: "canvas.ops" }> => e.stream === canvasStream(room) && e.type === "canvas.ops");

  it("opens an empty board, and everyone on the canvas sees each change once it is durable", async () => {
    const room = await newRoom();
    const { c: a, answer } = await onCanvas(ada, room);
    expect(answer).toEqual({ type: "canvas.snapshot", room, seq: 0, objects: [] });
    await a.next(isType("canvas.live", (f) => f.room === room && f.full === true));
    const { c: l } = await onCanvas(lin, room);

    const created = await change(a, room, [{ op: "create", id: "n1", object: note() }]);
    expect(created).toMatchObject({ type: "ack", seq: 1 });
    const moved = await change(l, room, [{ op: "update", id: "n1", set: { x: 300, color: "#bfdbfe" } }]);
    expect(moved).toMatchObject({ type: "ack", seq: 2 });

    for (const c of [a, l]) {
      await c.next(isType("event", (f) => f.event.stream === canvasStream(room) && f.event.seq === 2));
      expect(canvasEvents(c, room).map((e) => [e.seq, e.actor.name])).toEqual([[1, "Ada"], [2, "Lin"]]);
    }
    // The chat's stream is untouched: the canvas lives in its own.
    const history = await (await s.api(`/api/rooms/${room}/events`, { cookie: ada.cookie })).json();
    expect(history.events.filter((e: RealtimeEvent) => e.type !== "message")).toEqual([]);

    // Resuming from a position replays only what came after it.
    const { c: late, answer: resumed } = await onCanvas(lin, room, 1);
    expect(resumed).toEqual({ type: "canvas.joined", room, head: 2 });
    await late.next(isType("event", (f) => f.event.seq === 2 && f.event.stream === canvasStream(room)));
    expect(canvasEvents(late, room).map((e) => e.seq)).toEqual([2]);

    // Back to back, without waiting: the move is checked against the create accepted just
    // before it, not yet committed, and both land in order.
    a.send({ type: "canvas.ops", room, ops: [{ op: "create", id: "n2", object: note() }], clientId: "pipe-1" });
    a.send({ type: "canvas.ops", room, ops: [{ op: "update", id: "n2", set: { y: 99 } }], clientId: "pipe-2" });
    a.send({ type: "canvas.ops", room, ops: [{ op: "delete", id: "n2" }], clientId: "pipe-3" });
    a.send({ type: "canvas.ops", room, ops: [{ op: "update", id: "n2", set: { y: 1 } }], clientId: "pipe-4" });
    expect(await a.next(isType("ack", (f) => f.clientId === "pipe-3"))).toMatchObject({ seq: 5 });
    expect(await a.next(isType("error", (f) => f.clientId === "pipe-4"))).toMatchObject({ code: "unknown_object" });
    expect(a.of("ack").filter((f) => f.clientId.startsWith("pipe-")).map((f) => f.seq)).toEqual([3, 4, 5]);

    // A fresh join gets the folded board.
    const { answer: fresh } = await onCanvas(lin, room);
    expect(fresh).toMatchObject({ type: "canvas.snapshot", seq: 5, objects: [{ id: "n1", x: 300, y: 20, color: "#bfdbfe", text: "hi" }] });
  });

  it("keeps both of two people's edits of one note sent before either saw the other's (1.16); without base the later text stands", async () => {
    const room = await newRoom();
    const { c: a } = await onCanvas(ada, room);
    const { c: l } = await onCanvas(lin, room);
    expect(await change(a, room, [{ op: "create", id: "agenda", object: { ...note(), text: "Agenda:" } }])).toMatchObject({ type: "ack" });
    await l.next(isType("event", (f) => f.event.stream === canvasStream(room) && f.event.seq === 1));

    // Both pages read "Agenda:" and save at once: neither has seen the other's change.
    a.send({ type: "canvas.ops", room, ops: [{ op: "update", id: "agenda", set: { text: "Agenda: budget" }, base: "Agenda:" }], clientId: "ada-edit" });
    l.send({ type: "canvas.ops", room, ops: [{ op: "update", id: "agenda", set: { text: "Agenda: hiring" }, base: "Agenda:" }], clientId: "lin-edit" });
    await a.next(isType("ack", (f) => f.clientId === "ada-edit"));
    await l.next(isType("ack", (f) => f.clientId === "lin-edit"));
    await waitFor(() => canvasEvents(a, room).length === 3);
    // Whichever the server took first comes first; the committed ops carry no base.
    const edits = canvasEvents(a, room).slice(1).map((e) => e.data.ops[0]!);
    expect(edits.every((op) => op.op === "update" && !("base" in op))).toBe(true);
    const { answer: both } = await onCanvas(lin, room);
    expect(["Agenda: budget hiring", "Agenda: hiring budget"]).toContain(both.type === "canvas.snapshot" ? both.objects[0]!.text : "");

    // A client of an earlier version sends no base: its text is the note's, as before.
    expect(await change(l, room, [{ op: "update", id: "agenda", set: { text: "Agenda: hiring only" } }])).toMatchObject({ type: "ack" });
    const { answer: last } = await onCanvas(ada, room);
    expect(last).toMatchObject({ type: "canvas.snapshot", objects: [{ id: "agenda", text: "Agenda: hiring only" }] });

    // A base longer than a note may hold is a bad frame, and nothing changes.
    const from = a.frames.length;
    a.send({ type: "canvas.ops", room, ops: [{ op: "update", id: "agenda", set: { text: "x" }, base: "y".repeat(2001) }], clientId: "too-long" });
    expect(await a.next(isType("error", (f) => f.code === "bad_frame"), { from })).toMatchObject({ code: "bad_frame" });
    const { answer: unchanged } = await onCanvas(ada, room);
    expect(unchanged).toMatchObject({ type: "canvas.snapshot", objects: [{ id: "agenda", text: "Agenda: hiring only" }] });
  });

  it("refuses a change the board cannot take, whole, with the code PROTOCOL.md names", async () => {
    const room = await newRoom();
    const { c } = await onCanvas(ada, room);
    expect(await change(c, room, [{ op: "update", id: "ghost", set: { x: 1 } }])).toMatchObject({ type: "error", code: "unknown_object", room });
    expect(await change(c, room, [{ op: "delete", id: "ghost" }])).toMatchObject({ type: "error", code: "unknown_object" });
    expect(await change(c, room, [{ op: "create", id: "a1", object: { ...note(), kind: "arrow", from: "ghost", to: "ghost" } }])).toMatchObject({ code: "unknown_object" });
    // One bad op refuses the whole change: the create before it is not appended either.
    expect(await change(c, room, [{ op: "create", id: "n1", object: note() }, { op: "update", id: "nope", set: { x: 2 } }])).toMatchObject({ code: "unknown_object" });
    expect(await change(c, room, [{ op: "create", id: "n1", object: note() }])).toMatchObject({ type: "ack", seq: 1 });
    expect(await change(c, room, [{ op: "create", id: "n1", object: note() }])).toMatchObject({ type: "error", code: "object_exists" });
    // A repeated clientId is acknowledged with the first event and appends nothing.
    const again = cid();
    expect(await change(c, room, [{ op: "update", id: "n1", set: { x: 5 } }], again)).toMatchObject({ type: "ack", seq: 2 });
    expect(await change(c, room, [{ op: "update", id: "n1", set: { x: 5 } }], again)).toMatchObject({ type: "ack", seq: 2 });

    const badFrame = async (ops: unknown) => {
      const clientId = cid();
      c.send({ type: "canvas.ops", room, ops, clientId });
      return c.next((f): f is ErrorFrame => f.type === "error" && f.code === "bad_frame" && f.message.includes("canvas.ops"), { from: c.frames.length });
    };
    const tooMany = Array.from({ length: MAX_OPS_PER_FRAME + 1 }, (_, i): CanvasOp => ({ op: "delete", id: `x${i}` }));
    expect((await badFrame(tooMany)).message).toMatch(/ops/);
    expect((await badFrame([])).message).toMatch(/ops/);
    expect((await badFrame([{ op: "create", id: "t", object: { ...note(), text: "x".repeat(2001) } }])).message).toMatch(/text/);
    expect((await badFrame([{ op: "create", id: "p", object: { ...note(), kind: "stroke", points: new Array(2002).fill(1) } }])).message).toMatch(/points/);
    expect((await badFrame([{ op: "update", id: "n1", set: { color: "red" } }])).message).toMatch(/color/);
    expect((await badFrame([{ op: "update", id: "n1", set: {} }])).message).toMatch(/set/);
    expect((await badFrame([{ op: "create", id: "bad id!", object: note() }])).message).toMatch(/id/);
    // Nothing refused was appended.
    expect(await s.app.log.head(canvasStream(room))).toBe(2);
  });

  it("refuses a board past its bound of objects: board_full", async () => {
    const room = await newRoom();
    const { c } = await onCanvas(ada, room);
    for (let i = 0; i < MAX_CANVAS_OBJECTS / MAX_OPS_PER_FRAME; i++) {
      const ops = Array.from({ length: MAX_OPS_PER_FRAME }, (_, j): CanvasOp => ({ op: "create", id: `o${i}-${j}`, object: note(j, i) }));
      expect(await change(c, room, ops)).toMatchObject({ type: "ack" });
    }
    expect(await change(c, room, [{ op: "create", id: "one-more", object: note() }])).toMatchObject({ type: "error", code: "board_full" });
    // Deleting one makes room for one.
    expect(await change(c, room, [{ op: "delete", id: "o0-0" }, { op: "create", id: "one-more", object: note() }])).toMatchObject({ type: "ack" });
  }, 60_000);

  it("limits canvas changes per person: past the burst, rate_limited", async () => {
    const room = await newRoom();
    // This server lifted the limit; a second one keeps the default.
    const strict = await startServer({ testDb: kind === "pglite" ? sharedDb : undefined, kind, env: MANY_ROOMS });
    try {
      const who = await strict.signIn("Eve");
      const res = await strict.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room }), cookie: who.cookie });
      expect([201, 409]).toContain(res.status);
      const c = await strict.connect(who.cookie);
      c.send({ type: "join", room });
      await c.next(isType("joined"));
      c.send({ type: "canvas.join", room });
      await c.next(isType("canvas.snapshot"));
      const burst = SEND_LIMITS.canvas.burst;
      // All at once and twice the burst, so the bucket cannot refill enough between them however
      // slowly a busy machine takes them in.
      for (let i = 0; i < 2 * burst; i++) c.send({ type: "canvas.ops", room, ops: [{ op: "create", id: `r${i}`, object: note() }], clientId: `flood-${i}` });
      const limited = await c.next((f): f is ErrorFrame => f.type === "error" && f.code === "rate_limited", { timeoutMs: 15_000 });
      expect(limited).toMatchObject({ room });
      expect(Number(limited.clientId?.slice("flood-".length))).toBeGreaterThanOrEqual(burst);
      // Drags past their rate are dropped without an answer, and counted.
      for (let i = 0; i < 3 * SEND_LIMITS.canvasLive.burst; i++) c.send({ type: "canvas.live", room, drags: { r0: { x: i, y: 0, w: 1, h: 1 } } });
      await waitFor(async () => {
        const text = await (await strict.api("/metrics")).text();
        return metricValue(parseMetrics(text), "rt_rate_limited_total", { type: "canvas.live" }) >= 1;
      }, 15_000, "the drag over the rate counted");
      expect(c.of("error").filter((f) => f.code !== "rate_limited")).toEqual([]);
      c.close();
    } finally {
      await strict.stop();
    }
  }, 60_000);

  it("coalesces drags: the latest box per object once per tick, with the dragger's colour; a leaving dragger's drags go", async () => {
    const room = await newRoom();
    const { c: a } = await onCanvas(ada, room);
    const { c: l } = await onCanvas(lin, room);
    expect(await change(a, room, [{ op: "create", id: "n1", object: note() }])).toMatchObject({ type: "ack" });
    const from = l.frames.length;
    for (let x = 0; x < 10; x++) a.send({ type: "canvas.live", room, drags: { n1: { x, y: 5, w: 160, h: 120 } }, selection: ["n1"] });
    const live = await l.next(isType("canvas.live", (f) => f.drags.n1?.x === 9), { from });
    expect(live.drags.n1).toEqual({ x: 9, y: 5, w: 160, h: 120, by: { id: ada.user.id, name: "Ada", color: ada.user.color } });
    expect(live.selections[ada.user.id]).toEqual({ ids: ["n1"], name: "Ada", color: ada.user.color });
    // Far fewer frames than inputs: the in-between boxes were never sent.
    expect(l.of("canvas.live").slice(1).length).toBeLessThan(10);
    a.send({ type: "leave", room });
    const gone = await l.next(isType("canvas.live", (f) => f.drags.n1 === null));
    expect(gone.selections[ada.user.id]).toBeNull();
    // Bad input: too many objects in one frame.
    l.send({ type: "canvas.live", room, drags: Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`o${i}`, null])) });
    await l.next(isType("error", (f) => f.code === "bad_frame"));
  });

  it("keeps a private room's canvas from anyone who is not a member", async () => {
    const room = await newRoom("private");
    const { c: a } = await onCanvas(ada, room);
    expect(await change(a, room, [{ op: "create", id: "secret", object: note() }])).toMatchObject({ type: "ack" });
    const c = await s.connect(lin.cookie);
    sockets.push(c);
    c.send({ type: "canvas.join", room });
    expect(await c.next(isType("error"))).toMatchObject({ code: "not_joined", room });
    c.send({ type: "join", room });
    expect(await c.next(isType("error", (f) => f.code !== "not_joined"))).toMatchObject({ code: "unknown_room" });
    c.send({ type: "canvas.ops", room, ops: [{ op: "delete", id: "secret" }], clientId: "x" });
    expect(await c.next(isType("error", (f) => f.clientId === "x"))).toMatchObject({ code: "not_joined" });
    const poll = await s.api(`/api/poll?streams=canvas:${room}&wait=0`, { cookie: lin.cookie });
    expect(poll.status).toBe(404);
    expect((await poll.json()).error.code).toBe("unknown_room");
    // Over long polling, a page joins on demand, and is refused like any join.
    const res = await s.api(`/api/poll/frames?conn=p1`, { method: "POST", cookie: lin.cookie, body: JSON.stringify({ frames: [{ type: "canvas.join", room }] }) });
    expect((await res.json()).frames).toEqual([expect.objectContaining({ type: "error", code: "unknown_room" })]);
  });

  it("cuts a removed member off the canvas at once: a held poll of it is answered, an event stream of it ends", async () => {
    const room = await newRoom("private");
    expect((await s.api(`/api/rooms/${room}/members`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ userId: lin.user.id }) })).status).toBe(204);
    const held = s.api(`/api/poll?streams=canvas:${room}&cursor=canvas:${room}=0`, { cookie: lin.cookie });
    const stream = await fetch(`${s.url}/api/stream?streams=canvas:${room}`, { headers: { cookie: lin.cookie } });
    expect(stream.status).toBe(200);
    const pollsHeld = async () => metricValue(parseMetrics(await (await s.api("/metrics")).text()), "rt_polls_held");
    await waitFor(async () => (await pollsHeld()) >= 1, 5_000, "the poll held");
    expect((await s.api(`/api/rooms/${room}/members/${lin.user.id}`, { method: "DELETE", cookie: ada.cookie })).status).toBe(204);
    // A change after the removal: a poll still held would carry it to Lin.
    const { c: a } = await onCanvas(ada, room);
    expect(await change(a, room, [{ op: "create", id: "after-removal", object: note() }])).toMatchObject({ type: "ack" });
    const answer = await held;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { events: unknown[] }).events).toEqual([]);
    // The stream says so and ends.
    expect(await stream.text()).toContain("event: removed");
    // From then on the canvas is not there for Lin.
    const again = await s.api(`/api/poll?streams=canvas:${room}&wait=0`, { cookie: lin.cookie });
    expect(again.status).toBe(404);
  });

  it("works over long polling: the batch carries the snapshot and the changes, the polls carry the events", async () => {
    const room = await newRoom();
    const { c: a } = await onCanvas(ada, room);
    expect(await change(a, room, [{ op: "create", id: "n1", object: note() }])).toMatchObject({ type: "ack", seq: 1 });
    const batch = async (frames: unknown[]) => {
      const res = await s.api(`/api/poll/frames?conn=lp-${room}`, { method: "POST", cookie: lin.cookie, body: JSON.stringify({ frames }) });
      expect(res.status).toBe(200);
      return ((await res.json()) as { frames: ServerFrame[] }).frames;
    };
    const [snap] = await batch([{ type: "canvas.join", room }]);
    expect(snap).toMatchObject({ type: "canvas.snapshot", room, seq: 1, objects: [{ id: "n1" }] });
    const answers = await batch([{ type: "canvas.ops", room, ops: [{ op: "update", id: "n1", set: { text: "from a poll" } }], clientId: "lp-1" }]);
    expect(answers).toEqual([{ type: "ack", clientId: "lp-1", seq: 2 }]);
    const poll = await s.api(`/api/poll?streams=canvas:${room}&cursor=canvas:${room}=1&wait=0&conn=lp-${room}`, { cookie: lin.cookie });
    const body = (await poll.json()) as { events: RealtimeEvent[]; cursor: string };
    expect(body.events.map((e) => [e.seq, e.type])).toEqual([[2, "canvas.ops"]]);
    expect(body.cursor).toContain(`canvas:${room}=2`);
    await a.next(isType("event", (f) => f.event.seq === 2 && f.event.stream === canvasStream(room)));
  });

  it("keeps snapshots beside the log: a late joiner's board is the snapshot and the operations after it, equal to a replay from scratch", async () => {
    const room = await newRoom();
    const boards = new CanvasBoards(s.app.db.prisma, s.app.log, { snapshotEvery: 40 });
    const actor = { id: ada.user.id, name: "Ada" };
    for (let i = 0; i < 30; i++) await boards.change(room, actor, [{ op: "create", id: `n${i}`, object: note(i, i) }], `s-${room}-${i}`);
    for (let i = 0; i < 70; i++) await boards.change(room, actor, [{ op: "update", id: `n${i % 30}`, set: { x: i * 10, text: `v${i}` } }], `s-${room}-u${i}`);
    for (let i = 0; i < 10; i++) await boards.change(room, actor, [{ op: "delete", id: `n${i}` }], `s-${room}-d${i}`);
    await boards.current(room);
    // The snapshot is written off the change's path: wait for it.
    let snap = await boards.latestSnapshot(room);
    for (let tries = 0; snap.seq < 80 && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      snap = await boards.latestSnapshot(room);
    }
    expect(snap.seq).toBeGreaterThanOrEqual(80);
    expect(snap.seq).toBeLessThanOrEqual(110);

    const all = await s.app.log.readAfter(canvasStream(room), 0, 10_000);
    const replayed = foldBatches(emptyBoard(), all.map((e) => (e.type === "canvas.ops" ? e.data.ops : [])));
    expect(replayed.size).toBe(20);
    // A fresh server-side reader (another instance, a restart) starts from the snapshot.
    const fresh = new CanvasBoards(s.app.db.prisma, s.app.log);
    const late = await fresh.current(room);
    expect(late.seq).toBe(110);
    expect(sameBoard(late.board, replayed)).toBe(true);
    // And the wire's answer to a late joiner is that board.
    const { answer } = await onCanvas(lin, room);
    expect(answer.type).toBe("canvas.snapshot");
    if (answer.type === "canvas.snapshot") expect(sameBoard(boardFrom(answer.objects), replayed)).toBe(true);
    expect(boardObjects(replayed).map((o) => o.id)).not.toContain("n0");
  }, 60_000);
});
