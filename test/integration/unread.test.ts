// Read positions per room (protocol 1.2) over a real server: the `read` frame and
// `POST /api/rooms/:id/read` move a person's position forward only, never past the head;
// `GET /api/rooms` counts the messages of others after it; and the move reaches every
// connection of that person — rt.v1.2 sockets as `read` frames, SSE streams as
// `event: room.read` — and no one else's.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { isType, MANY_ROOMS, startServer, waitFor, type Person, type TestServer, type WsClient } from "../helpers/server";
import { SEND_LIMITS } from "../../server/ratelimit";
import { MUTES_PER_PERSON_PER_MINUTE } from "../../server/http/api";
import { OFFERED_PROTOCOLS, roomsAnswerSchema, UNREAD_COUNT_CAP, type RoomInfo, type ServerFrame } from "../../lib/protocol";

let s: TestServer;
let ada: Person;
let lin: Person;

beforeAll(async () => {
  s = await startServer({ env: MANY_ROOMS });
});
// New people for each test: the read limit is per person, and each test starts with a full one.
beforeEach(async () => {
  ada = await s.signIn("Ada");
  lin = await s.signIn("Lin");
});
afterAll(() => s.stop());

const V1_2 = [...OFFERED_PROTOCOLS];

/** A new room both Ada and Lin have joined (a room never joined holds nothing unread). */
async function newRoom(): Promise<string> {
  const name = `read-${randomBytes(4).toString("hex")}`;
  const res = await s.api("/api/rooms", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ name }) });
  expect(res.status).toBe(201);
  for (const who of [ada, lin]) await s.app.workspace.recordJoin(name, who.user);
  return name;
}

/** Posts `n` messages as `who`; resolves with the room's head after them. */
async function post(room: string, who: Person, n: number): Promise<number> {
  const appended = await Promise.all(
    Array.from({ length: n }, (_, i) => s.app.workspace.postMessage(room, who.user, `message ${i}`, `c-${randomBytes(6).toString("hex")}`)),
  );
  return Math.max(...appended.map((a) => a.event.seq));
}

/** The room as `who` sees it in the room list (searched by name, so it is on the first page). */
async function listed(who: Person, room: string): Promise<RoomInfo> {
  const res = await s.api(`/api/rooms?q=${room}`, { cookie: who.cookie });
  expect(res.status).toBe(200);
  const found = roomsAnswerSchema.parse(await res.json()).rooms.find((r) => r.id === room);
  if (!found) throw new Error(`${room} is not listed`);
  return found;
}

/** A frame that shows every earlier frame to this socket has arrived: the answer to a join. */
async function settle(ws: WsClient, room: string): Promise<void> {
  const from = ws.frames.length;
  ws.send({ type: "join", room });
  await ws.next(isType("joined", (f) => f.room === room), { from });
}

const readsOf = (ws: WsClient, room: string) => ws.of("read").filter((f) => f.room === room).map((f) => f.seq);

/** An SSE stream's messages, read from the raw body. */
async function openStream(who: Person, streams: string) {
  const controller = new AbortController();
  const res = await fetch(`${s.url}/api/stream?streams=${streams}`, { headers: { cookie: who.cookie }, signal: controller.signal });
  expect(res.status).toBe(200);
  const messages: Array<{ event?: string; data?: string }> = [];
  let buffer = "";
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const msg: { event?: string; data?: string } = {};
          for (const line of buffer.slice(0, end).split("\n")) {
            if (line.startsWith("event: ")) msg.event = line.slice(7);
            if (line.startsWith("data: ")) msg.data = line.slice(6);
          }
          messages.push(msg);
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted
    }
  })();
  // The first message (retry and the starting id) says the stream is registered with the hub.
  await waitFor(() => messages.length > 0, 5000, "the stream's first message");
  return {
    roomReads: () => messages.filter((m) => m.event === "room.read").map((m) => JSON.parse(m.data!) as { room: string; readSeq: number }),
    mutes: () => messages.filter((m) => m.event === "room.muted").map((m) => JSON.parse(m.data!) as { room: string; muted: boolean }),
    close: () => controller.abort(),
  };
}

describe("read positions", () => {
  it("move forward only, and stop at the room's head", async () => {
    const room = await newRoom();
    const head = await post(room, lin, 6);
    const ws = await s.connect(ada.cookie, { protocols: V1_2 });
    try {
      expect(ws.ws.protocol).toBe("rt.v1.2");
      ws.send({ type: "read", room, seq: head - 2 });
      await ws.next(isType("read", (f) => f.room === room));
      expect(await listed(ada, room)).toMatchObject({ readSeq: head - 2, unread: 2 });

      // An older position (another device's late read) moves nothing, and is not announced.
      ws.send({ type: "read", room, seq: 1 });
      await settle(ws, room);
      expect((await listed(ada, room)).readSeq).toBe(head - 2);
      expect(readsOf(ws, room)).toEqual([head - 2]);

      // Beyond the head: the head (a client cannot read what is not written yet).
      ws.send({ type: "read", room, seq: head + 1000 });
      await ws.next(isType("read", (f) => f.room === room && f.seq === head));
      expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 0 });
      // A message after that is unread again.
      await post(room, lin, 1);
      expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 1 });
      expect(ws.of("error")).toEqual([]);
    } finally {
      ws.close();
    }
  });

  it("need a room that exists, not a join; a bad seq is a bad frame", async () => {
    const room = await newRoom();
    const head = await post(room, lin, 2);
    const ws = await s.connect(ada.cookie, { protocols: V1_2 });
    try {
      ws.send({ type: "read", room: "no-such-room", seq: 1 });
      const refused = await ws.next(isType("error"));
      expect(refused).toMatchObject({ code: "unknown_room", room: "no-such-room" });
      ws.send({ type: "read", room, seq: -1 });
      expect(await ws.next(isType("error", (f) => f.code === "bad_frame"))).toBeTruthy();
      // Never joined, yet read.
      ws.send({ type: "read", room, seq: head });
      await ws.next(isType("read", (f) => f.room === room && f.seq === head));
      expect((await listed(ada, room)).readSeq).toBe(head);
    } finally {
      ws.close();
    }
  });

  it("POST /api/rooms/:id/read does what the frame does, with HTTP errors", async () => {
    const room = await newRoom();
    const head = await post(room, lin, 3);
    const read = (path: string, body: unknown) => s.api(path, { method: "POST", cookie: ada.cookie, body: JSON.stringify(body) });
    expect((await read(`/api/rooms/${room}/read`, { seq: 2 })).status).toBe(204);
    expect(await listed(ada, room)).toMatchObject({ readSeq: 2, unread: head - 2 });
    expect((await read(`/api/rooms/${room}/read`, { seq: 1 })).status).toBe(204);
    expect((await listed(ada, room)).readSeq).toBe(2);

    const unknown = await read("/api/rooms/no-such-room/read", { seq: 1 });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_room");
    const bad = await read(`/api/rooms/${room}/read`, { seq: "two" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_body");
    const anonymous = await s.api(`/api/rooms/${room}/read`, { method: "POST", body: JSON.stringify({ seq: 1 }) });
    expect(anonymous.status).toBe(401);
  });

  it("marked unread (1.11), go back to just before a message, on every device; an ordinary read still only moves forward", async () => {
    const room = await newRoom();
    const head = await post(room, lin, 5);
    const phone = await s.connect(ada.cookie, { protocols: V1_2 });
    const laptop = await s.connect(ada.cookie, { protocols: V1_2 });
    const stream = await openStream(ada, "user:me");
    try {
      phone.send({ type: "read", room, seq: head });
      await laptop.next(isType("read", (f) => f.room === room && f.seq === head));
      expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 0 });

      // Ada marks the third message unread on her phone: the room is read up to the second.
      phone.send({ type: "read", room, seq: 2, unread: true });
      expect(await laptop.next(isType("read", (f) => f.room === room && f.seq === 2))).toEqual({ type: "read", room, seq: 2, unread: true });
      expect(await listed(ada, room)).toMatchObject({ readSeq: 2, unread: head - 2 });
      await waitFor(() => stream.roomReads().length === 2, 5000, "the stream hearing the mark");
      expect(stream.roomReads()).toEqual([{ room, readSeq: head }, { room, readSeq: 2, unread: true }]);

      // A late ordinary read from before still cannot undo it backwards; reading on moves it on.
      phone.send({ type: "read", room, seq: 1 });
      await settle(phone, room);
      expect((await listed(ada, room)).readSeq).toBe(2);
      // The same mark again moves nothing, and is not announced again.
      phone.send({ type: "read", room, seq: 2, unread: true });
      await settle(phone, room);
      expect(readsOf(laptop, room)).toEqual([head, 2]);
      // (Heard after the sending: the same read was heard once already, at the start.)
      const from = laptop.frames.length;
      phone.send({ type: "read", room, seq: head });
      await laptop.next(isType("read", (f) => f.room === room && f.seq === head && f.unread === undefined), { from });
      // Over HTTP, and the whole room: back to nothing read at all.
      const marked = await s.api(`/api/rooms/${room}/read`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ seq: 0, unread: true }) });
      expect(marked.status).toBe(204);
      expect(await listed(ada, room)).toMatchObject({ readSeq: 0, unread: head });
      const bad = await s.api(`/api/rooms/${room}/read`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ seq: 1, unread: "yes" }) });
      expect(bad.status).toBe(400);
      // Lin's position is her own.
      expect((await listed(lin, room)).readSeq).toBe(0);
      for (const c of [phone, laptop]) expect(c.invalid).toEqual([]);
    } finally {
      for (const c of [phone, laptop]) c.close();
      stream.close();
    }
  });

  it("go over a long-poll page's batches too, with no answer frame", async () => {
    const room = await newRoom();
    const head = await post(room, lin, 2);
    const res = await s.api("/api/poll/frames?conn=page-read", {
      method: "POST",
      cookie: ada.cookie,
      body: JSON.stringify({ frames: [{ type: "read", room, seq: head }, { type: "read", room: "no-such-room", seq: 1 }] }),
    });
    expect(res.status).toBe(200);
    const { frames } = (await res.json()) as { frames: ServerFrame[] };
    expect(frames).toEqual([expect.objectContaining({ type: "error", code: "unknown_room", room: "no-such-room" })]);
    expect((await listed(ada, room)).readSeq).toBe(head);
  });
});

describe("unread counts in GET /api/rooms", () => {
  it("count the messages of others after the position, never one's own", async () => {
    const room = await newRoom();
    await post(room, lin, 3);
    await post(room, ada, 2);
    expect(await listed(ada, room)).toMatchObject({ readSeq: 0, unread: 3 });
    expect(await listed(lin, room)).toMatchObject({ readSeq: 0, unread: 2 });
  });

  it("hold nothing unread in a room the person never joined nor read, until they read it", async () => {
    const room = `read-${randomBytes(4).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", cookie: lin.cookie, body: JSON.stringify({ name: room }) })).status).toBe(201);
    const head = await post(room, lin, 3);
    expect(await listed(ada, room)).toMatchObject({ readSeq: 0, unread: 0 });
    expect((await listed(ada, room)).joined).toBeUndefined();
    expect((await s.api(`/api/rooms/${room}/read`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ seq: head - 1 }) })).status).toBe(204);
    expect(await listed(ada, room)).toMatchObject({ readSeq: head - 1, unread: 1, joined: true });
  });

  it("say which rooms count, so a room joined while it was empty counts what comes after (1.8)", async () => {
    const room = await newRoom();
    // Joined, nothing in it yet: nothing unread, and nothing read either; only `joined` tells it
    // from a room never joined.
    expect(await listed(lin, room)).toEqual(expect.objectContaining({ readSeq: 0, unread: 0, joined: true }));
    await post(room, ada, 2);
    expect(await listed(lin, room)).toMatchObject({ readSeq: 0, unread: 2, joined: true });
  });

  it("start at the head for someone who first joins a room: its past is history, not news (1.14)", async () => {
    const room = `read-${randomBytes(4).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", cookie: lin.cookie, body: JSON.stringify({ name: room }) })).status).toBe(201);
    const head = await post(room, lin, 3);
    // Ada glances in over a WebSocket and goes: nothing that was there counts as unread.
    const c = await s.connect(ada.cookie, { protocols: V1_2 });
    try {
      c.send({ type: "join", room });
      await c.next(isType("joined", (f) => f.room === room));
      await waitFor(async () => (await listed(ada, room)).joined === true, 5_000, "Ada's join recorded");
      expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 0, joined: true });
    } finally {
      c.close();
    }
    // What comes after is news.
    await post(room, lin, 2);
    expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 2 });
    // A position the person had before joining stands: Kay read one message over HTTP, then joined.
    const kay = await s.signIn("Kay");
    expect((await s.api(`/api/rooms/${room}/read`, { method: "POST", cookie: kay.cookie, body: JSON.stringify({ seq: 1 }) })).status).toBe(204);
    await s.app.workspace.recordJoin(room, kay.user);
    expect(await listed(kay, room)).toMatchObject({ readSeq: 1, joined: true });
  });

  it("start at the head for someone added to a private room (1.14)", async () => {
    const room = `read-${randomBytes(4).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", cookie: lin.cookie, body: JSON.stringify({ name: room, visibility: "private" }) })).status).toBe(201);
    const head = await post(room, lin, 3);
    expect((await s.api(`/api/rooms/${room}/members`, { method: "POST", cookie: lin.cookie, body: JSON.stringify({ userId: ada.user.id }) })).status).toBe(204);
    expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 0, joined: true });
    await post(room, lin, 1);
    expect(await listed(ada, room)).toMatchObject({ readSeq: head, unread: 1 });
  });

  it("stop at the cap, for every room of the page in one answer", async () => {
    const busy = await newRoom();
    const quiet = await newRoom();
    await post(busy, lin, UNREAD_COUNT_CAP + 5);
    await post(quiet, lin, 1);
    // The plain first page holds the rooms Ada created (her rooms lead it).
    const res = await s.api("/api/rooms", { cookie: ada.cookie });
    const rooms = roomsAnswerSchema.parse(await res.json()).rooms;
    expect(rooms.find((r) => r.id === busy)).toMatchObject({ unread: UNREAD_COUNT_CAP });
    expect(rooms.find((r) => r.id === quiet)).toMatchObject({ unread: 1, readSeq: 0 });
    for (const r of rooms) expect(r).toEqual(expect.objectContaining({ readSeq: expect.any(Number), unread: expect.any(Number) }));
  });
});

describe("a read reaches every connection of the person", () => {
  it("their other rt.v1.2 sockets and their SSE streams hear it; others and rt.v1.1 sockets do not", async () => {
    const room = await newRoom();
    const head = await post(room, lin, 4);
    const phone = await s.connect(ada.cookie, { protocols: V1_2 });
    const laptop = await s.connect(ada.cookie, { protocols: V1_2 });
    const older = await s.connect(ada.cookie, { protocols: ["rt.v1.1", "rt.v1"] });
    const linWs = await s.connect(lin.cookie, { protocols: V1_2 });
    const adaStream = await openStream(ada, "user:me");
    const adaFeedOnly = await openStream(ada, "feed");
    const linStream = await openStream(lin, "user:me");
    try {
      expect(older.ws.protocol).toBe("rt.v1.1");
      phone.send({ type: "read", room, seq: head });
      // The laptop joined nothing, and still hears it: its room list shows the count.
      expect(await laptop.next(isType("read", (f) => f.room === room))).toEqual({ type: "read", room, seq: head });
      await phone.next(isType("read", (f) => f.room === room && f.seq === head));
      await waitFor(() => adaStream.roomReads().length > 0, 5000, "Ada's stream hearing the read");
      expect(adaStream.roomReads()).toEqual([{ room, readSeq: head }]);

      // Lin reads afterwards: her connections hear her read, and had they heard Ada's, it would
      // have come first.
      linWs.send({ type: "read", room, seq: 1 });
      await linWs.next(isType("read", (f) => f.room === room && f.seq === 1));
      expect(readsOf(linWs, room)).toEqual([1]);
      await waitFor(() => linStream.roomReads().length > 0, 5000, "Lin's stream hearing her read");
      expect(linStream.roomReads()).toEqual([{ room, readSeq: 1 }]);
      // Ada's sockets and her stream never hear Lin's read.
      await settle(phone, room);
      expect(readsOf(phone, room)).toEqual([head]);
      expect(adaStream.roomReads()).toEqual([{ room, readSeq: head }]);

      // Version 1.1 has no `read` frame: that socket's answers go on without one.
      await settle(older, room);
      expect(older.of("read")).toEqual([]);
      // A stream without the person's own user stream carries no read positions.
      expect(adaFeedOnly.roomReads()).toEqual([]);
      for (const c of [phone, laptop, older, linWs]) expect(c.invalid).toEqual([]);
    } finally {
      for (const c of [phone, laptop, older, linWs]) c.close();
      for (const st of [adaStream, adaFeedOnly, linStream]) st.close();
    }
  });

  it("a read flood is dropped past the person's limit, without answers", async () => {
    const room = await newRoom();
    const n = SEND_LIMITS.read.burst * 3;
    const head = await post(room, lin, n);
    const before = metricValue(await scrapeMetrics(s.url), "rt_rate_limited_total", { type: "read" });
    const ws = await s.connect(lin.cookie, { protocols: V1_2 });
    try {
      for (let seq = 1; seq <= n; seq++) ws.send({ type: "read", room, seq });
      await settle(ws, room);
      const after = metricValue(await scrapeMetrics(s.url), "rt_rate_limited_total", { type: "read" });
      expect(after - before).toBeGreaterThan(0);
      expect(ws.of("error")).toEqual([]);
      // The reads past the burst never moved the position: it stopped short of the last one.
      const position = (await listed(lin, room)).readSeq!;
      expect(position).toBeLessThan(head);
      expect(readsOf(ws, room).at(-1)).toBe(position);
    } finally {
      ws.close();
    }
  });
});

describe("muted rooms (1.12)", () => {
  const mute = (who: Person, room: string, on: boolean, headers: Record<string, string> = {}) =>
    s.api(`/api/rooms/${room}/mute`, { method: on ? "PUT" : "DELETE", cookie: who.cookie, headers });

  it("are the person's own, on every device: listed as muted, told to their sockets and streams once per change", async () => {
    const room = await newRoom();
    await post(room, lin, 2);
    const laptop = await s.connect(ada.cookie, { protocols: V1_2 });
    const linWs = await s.connect(lin.cookie, { protocols: V1_2 });
    const stream = await openStream(ada, "user:me");
    try {
      expect((await listed(ada, room)).muted).toBeUndefined();
      expect((await mute(ada, room, true)).status).toBe(204);
      expect(await laptop.next(isType("muted", (f) => f.room === room))).toEqual({ type: "muted", room, muted: true });
      // Muted for Ada, still counted: the count is the server's, what is shown of it the page's.
      expect(await listed(ada, room)).toMatchObject({ muted: true, unread: 2 });
      expect((await listed(lin, room)).muted).toBeUndefined();
      // Muting again changes nothing, and is not told again.
      expect((await mute(ada, room, true)).status).toBe(204);
      expect((await mute(ada, room, false)).status).toBe(204);
      await laptop.next(isType("muted", (f) => f.room === room && !f.muted));
      expect(laptop.of("muted").map((f) => f.muted)).toEqual([true, false]);
      expect((await listed(ada, room)).muted).toBeUndefined();
      await waitFor(() => stream.mutes().length === 2, 5000, "the stream hearing both");
      expect(stream.mutes()).toEqual([
        { room, muted: true },
        { room, muted: false },
      ]);
      // Lin hears nothing of Ada's.
      await settle(linWs, room);
      expect(linWs.of("muted")).toEqual([]);
    } finally {
      laptop.close();
      linWs.close();
      stream.close();
    }
  });

  it("need a room the person may see, a session, a JSON request from the app, and stay under the person's limit", async () => {
    const room = await newRoom();
    expect((await mute(ada, "no-such-room", true)).status).toBe(404);
    const secret = `quiet-${randomBytes(4).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", cookie: lin.cookie, body: JSON.stringify({ name: secret, visibility: "private" }) })).status).toBe(201);
    const foreign = await mute(ada, secret, true);
    expect([foreign.status, ((await foreign.json()) as { error: { code: string } }).error.code]).toEqual([404, "unknown_room"]);
    expect((await s.api(`/api/rooms/${room}/mute`, { method: "PUT" })).status).toBe(401);
    expect((await mute(ada, room, true, { "content-type": "text/plain" })).status).toBe(415);
    expect((await mute(ada, room, true, { origin: "https://evil.example" })).status).toBe(403);
    // Lin's own limit, untouched so far: a minute's worth, then a wait.
    for (let i = 0; i < MUTES_PER_PERSON_PER_MINUTE; i++) expect((await mute(lin, room, i % 2 === 0)).status).toBe(204);
    const refused = await mute(lin, room, true);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});
