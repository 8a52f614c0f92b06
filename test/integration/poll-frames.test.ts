// `POST /api/poll/frames` against a real server: a long-polling page sends the WebSocket's
// frames in batches and hears each one's answer, in order; its limits are one WebSocket's and
// its person's; its joins make it present; and the same bad command gets the same error code
// over the REST routes, a WebSocket and a batch.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, MANY_ROOMS, startServer, waitFor, type Person, type TestServer, type WsClient } from "../helpers/server";
import { SEND_LIMITS } from "../../server/ratelimit";
import { MAX_POLL_BATCH_FRAMES, PRESENCE_GRACE_MS, pollFramesAnswerSchema, type ErrorCode, type PollAnswer, type ServerFrame } from "../../lib/protocol";

let s: TestServer;
const sockets: WsClient[] = [];
beforeAll(async () => {
  // Sends do not refill within a test (burst 20 as in production): running out is then a
  // count, never a race with the clock. Everyone here is a new person.
  s = await startServer({ env: MANY_ROOMS, tuning: { rateLimits: { ...SEND_LIMITS, send: { rate: 0.001, burst: 20 } } } });
});
afterAll(async () => {
  for (const c of sockets) c.ws.terminate();
  await s?.stop();
});

const someone = (prefix: string) => s.signIn(`${prefix}${randomBytes(3).toString("hex")}`);

async function newRoom(who: Person): Promise<string> {
  const name = `pf-${randomBytes(4).toString("hex")}`;
  const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: who.cookie });
  expect(res.status).toBe(201);
  return name;
}

/** One batch; the answer's frames checked against the schema the browser checks them with. */
async function batch(who: Person, conn: string, frames: unknown[], init: { headers?: Record<string, string>; body?: string } = {}) {
  const res = await s.api(`/api/poll/frames?conn=${conn}`, {
    method: "POST",
    cookie: who.cookie,
    headers: init.headers,
    body: init.body ?? JSON.stringify({ frames }),
  });
  const body = (await res.json()) as { frames: ServerFrame[]; error?: { code: ErrorCode } };
  if (res.status === 200) expect(pollFramesAnswerSchema.safeParse(body).success).toBe(true);
  return { status: res.status, body };
}

async function connect(who: Person): Promise<WsClient> {
  const c = await s.connect(who.cookie);
  sockets.push(c);
  return c;
}

async function wsJoin(c: WsClient, room: string): Promise<void> {
  c.send({ type: "join", room });
  await c.next(isType("joined", (f) => f.room === room));
}

/**
 * Bea on a WebSocket in a new room of hers, and Cy's long-polling page `conn` joined to it: Bea
 * has seen Cy arrive.
 */
async function pollingInARoom(conn: string) {
  const [bea, cy] = [await someone("Bea"), await someone("Cy")];
  const room = await newRoom(bea);
  const b = await connect(bea);
  await wsJoin(b, room);
  await batch(cy, conn, [{ type: "join", room }]);
  await b.next(isType("presence", (f) => f.room === room && f.members.some((m) => m.id === cy.user.id)));
  return { bea, cy, room, b };
}

describe("POST /api/poll/frames", () => {
  it("answers a batch of join, send, typing and cursor in order: joined, then each send's ack", async () => {
    const ada = await someone("Ada");
    const room = await newRoom(ada);
    const { status, body } = await batch(ada, "tab-1", [
      { type: "join", room },
      { type: "send", room, text: "first", clientId: "b-1" },
      { type: "typing", room },
      { type: "cursor", room, x: 0.25, y: 0.5 },
      { type: "send", room, text: "second", clientId: "b-2" },
    ]);
    expect(status).toBe(200);
    expect(body.frames).toEqual([
      { type: "joined", room, head: 0, members: [ada.user] },
      { type: "ack", clientId: "b-1", seq: 1 },
      { type: "ack", clientId: "b-2", seq: 2 },
    ]);
    // The second send stopped the typing the batch started; the cursor stays.
    expect(s.app.hub.typingUsers(room)).toEqual([]);
    expect(s.app.hub.cursorSnapshot(room)[ada.user.id]).toMatchObject({ x: 0.25, y: 0.5 });
    const history = (await (await s.api(`/api/rooms/${room}/events`, { cookie: ada.cookie })).json()) as { events: Array<{ data: { text: string } }> };
    expect(history.events.map((e) => e.data.text)).toEqual(["first", "second"]);
  });

  it("answers a bad frame with its error and carries out the others", async () => {
    const ada = await someone("Ada");
    const room = await newRoom(ada);
    const { status, body } = await batch(ada, "tab-2", [
      { type: "send", room: "no-such-room", text: "nowhere", clientId: "x-1" },
      { type: "join", room },
      { type: "send", room, text: "no clientId" },
      { type: "shout", room },
      { type: "send", room, text: "x".repeat(70_000), clientId: "x-2" },
      { type: "send", room, text: "   ", clientId: "x-3" },
      { type: "send", room, text: "fine", clientId: "x-4" },
    ]);
    expect(status).toBe(200);
    expect(body.frames.map((f) => (f.type === "error" ? `${f.code}` : f.type))).toEqual([
      "unknown_room",
      "joined",
      "bad_frame",
      "bad_frame",
      "payload_too_large",
      "invalid_text",
      "ack",
    ]);
    expect(body.frames[0]).toMatchObject({ clientId: "x-1", room: "no-such-room" });
    expect(body.frames.at(-1)).toEqual({ type: "ack", clientId: "x-4", seq: 1 });
  });

  it("joins a room on demand for a page that joined it through another instance (no sticky sessions)", async () => {
    const ada = await someone("Ada");
    const room = await newRoom(ada);
    // This page never joined here (its join went to another instance): its message is taken,
    // and the page now follows the room on this instance too.
    const { body } = await batch(ada, "tab-elsewhere", [{ type: "send", room, text: "via another instance", clientId: "o-1" }]);
    expect(body.frames).toEqual([{ type: "ack", clientId: "o-1", seq: 1 }]);
    expect((await batch(ada, "tab-elsewhere", [{ type: "leave", room }])).body.frames).toEqual([]);
  });

  it(`refuses a batch of ${MAX_POLL_BATCH_FRAMES + 1} frames whole (400 bad_request), and other bad batches`, async () => {
    const ada = await someone("Ada");
    const room = await newRoom(ada);
    const sends = (n: number) => Array.from({ length: n }, (_, i) => ({ type: "typing", room, i }));
    const over = await batch(ada, "tab-3", [{ type: "join", room }, ...sends(MAX_POLL_BATCH_FRAMES)]);
    expect(over.status).toBe(400);
    expect(over.body.error?.code).toBe("bad_request");
    // Nothing of it was carried out: the room was not joined.
    expect((await batch(ada, "tab-3", [{ type: "leave", room }])).body.frames).toMatchObject([{ type: "error", code: "not_joined" }]);
    expect((await batch(ada, "tab-3", [{ type: "join", room }, ...sends(MAX_POLL_BATCH_FRAMES - 1)])).status).toBe(200);

    expect((await batch(ada, "tab-3", [], { body: "{nope" })).body.error?.code).toBe("bad_json");
    expect((await batch(ada, "tab-3", [], { body: JSON.stringify({ frame: [] }) })).body.error?.code).toBe("bad_request");
    const huge = await batch(ada, "tab-3", [], { body: JSON.stringify({ frames: [{ type: "send", room, text: "x".repeat(1024 * 1024), clientId: "h" }] }) });
    expect([huge.status, huge.body.error?.code]).toEqual([413, "payload_too_large"]);
    // The page is named in the query or the body, the same when both.
    const noConn = await s.api("/api/poll/frames", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ frames: [] }) });
    expect(noConn.status).toBe(400);
    const inBody = await s.api("/api/poll/frames", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ conn: "tab-3", frames: [{ type: "leave", room }] }) });
    expect(((await inBody.json()) as { frames: ServerFrame[] }).frames).toEqual([]);
    const differ = await s.api("/api/poll/frames?conn=tab-4", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ conn: "tab-3", frames: [] }) });
    expect(differ.status).toBe(400);
  });

  it("draws on the same per-person limits as that person's WebSocket", async () => {
    const ada = await someone("Ada");
    const room = await newRoom(ada);
    const c = await connect(ada);
    await wsJoin(c, room);
    // The burst of 20 sends, spent over the WebSocket.
    for (let i = 0; i < 20; i++) c.send({ type: "send", room, text: `ws ${i}`, clientId: `w-${i}` });
    await waitFor(() => c.of("ack").length + c.of("error").length >= 20, 10_000, "20 answers");
    expect(c.of("ack")).toHaveLength(20);
    const { body } = await batch(ada, "tab-5", [{ type: "join", room }, { type: "send", room, text: "one more", clientId: "p-1" }]);
    expect(body.frames[1]).toMatchObject({ type: "error", code: "rate_limited", clientId: "p-1" });
  });

  it("holds a page to one connection's room limit", async () => {
    const ada = await someone("Ada");
    const rooms = await Promise.all(Array.from({ length: 51 }, () => newRoom(ada)));
    const first = await batch(ada, "tab-6", rooms.slice(0, 50).map((room) => ({ type: "join", room })));
    expect(first.body.frames.every((f) => f.type === "joined")).toBe(true);
    expect((await batch(ada, "tab-6", [{ type: "join", room: rooms[50] }])).body.frames).toMatchObject([{ type: "error", code: "too_many_rooms" }]);
    // Another page of the same person is another connection. (Joins are limited per person
    // too — 5/s past a burst of 50, which the first page spent: wait for one to refill.)
    await new Promise((r) => setTimeout(r, 250));
    expect((await batch(ada, "tab-7", [{ type: "join", room: rooms[50] }])).body.frames).toMatchObject([{ type: "joined" }]);
  });

  it("is refused from another origin (403 forbidden_origin) and without a JSON content type (415)", async () => {
    const ada = await someone("Ada");
    const foreign = await batch(ada, "tab-8", [{ type: "join", room: "general" }], { headers: { origin: "https://evil.example" } });
    expect([foreign.status, foreign.body.error?.code]).toEqual([403, "forbidden_origin"]);
    const plain = await batch(ada, "tab-8", [{ type: "join", room: "general" }], { headers: { "content-type": "text/plain" } });
    expect([plain.status, plain.body.error?.code]).toEqual([415, "unsupported_media_type"]);
    const own = await batch(ada, "tab-8", [{ type: "join", room: "general" }], { headers: { origin: s.url } });
    expect(own.status).toBe(200);
  });

  it("makes a page present in the rooms it joined, renewed by its polls, until it leaves", async () => {
    const [bea, cy] = [await someone("Bea"), await someone("Cy")];
    const room = await newRoom(bea);
    const b = await connect(bea);
    await wsJoin(b, room);
    const joined = await batch(cy, "tab-9", [{ type: "join", room }]);
    expect(joined.body.frames).toEqual([{ type: "joined", room, head: 0, members: expect.arrayContaining([bea.user, cy.user]) }]);
    await b.next(isType("presence", (f) => f.room === room && f.members.some((m) => m.id === cy.user.id)));
    const polled = (await (await s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-9`, { cookie: cy.cookie })).json()) as PollAnswer;
    expect(polled.rooms![room]?.members.map((m) => m.id).sort()).toEqual([bea.user.id, cy.user.id].sort());
    const from = b.frames.length;
    expect((await batch(cy, "tab-9", [{ type: "leave", room }])).body.frames).toEqual([]);
    await b.next(isType("presence", (f) => f.room === room && !f.members.some((m) => m.id === cy.user.id)), { from });
    // A poll of the room by a page that left it does not bring it back.
    await s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-9`, { cookie: cy.cookie });
    expect(s.app.hub.members(room).map((m) => m.id)).toEqual([bea.user.id]);
  });

  it("takes a page that says goodbye (1.20) out of its rooms after the presence grace, not at the polls' lapse", async () => {
    const [bea, cy] = [await someone("Bea"), await someone("Cy")];
    const room = await newRoom(bea);
    const b = await connect(bea);
    await wsJoin(b, room);
    await batch(cy, "tab-5", [{ type: "join", room }, { type: "cursor", room, x: 0.5, y: 0.5 }]);
    await b.next(isType("presence", (f) => f.room === room && f.members.some((m) => m.id === cy.user.id)));
    const from = b.frames.length;
    const bye = await batch(cy, "tab-5", [{ type: "bye" }]);
    expect(bye).toEqual({ status: 200, body: { frames: [] } });
    // As a closed socket: the cursor goes at once, the person after the grace (a reload's new
    // page would be back by then).
    expect(s.app.hub.cursorSnapshot(room)[cy.user.id]).toBeUndefined();
    expect(s.app.hub.members(room).map((m) => m.id)).toContain(cy.user.id);
    const started = Date.now();
    await b.next(isType("presence", (f) => f.room === room && !f.members.some((m) => m.id === cy.user.id)), { from, timeoutMs: PRESENCE_GRACE_MS + 3_000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(PRESENCE_GRACE_MS - 500);
  });

  it("keeps a reloaded page's person (the same page id) with no leave between, whichever the server hears first: the goodbye or the new document", async () => {
    for (const order of ["goodbye first", "new document first"] as const) {
      const { cy, room, b } = await pollingInARoom("tab-r");
      const from = b.frames.length;
      // The reloaded document joins again and polls; the old one's goodbye comes before or after.
      const rejoin = async () => {
        await batch(cy, "tab-r", [{ type: "join", room }]);
        await s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-r`, { cookie: cy.cookie });
      };
      if (order === "goodbye first") {
        await batch(cy, "tab-r", [{ type: "bye" }]);
        await rejoin();
      } else {
        await batch(cy, "tab-r", [{ type: "join", room }]);
        await batch(cy, "tab-r", [{ type: "bye" }]);
        await s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-r`, { cookie: cy.cookie });
      }
      await new Promise((r) => setTimeout(r, PRESENCE_GRACE_MS + 500));
      expect(s.app.hub.members(room).map((m) => m.id), order).toContain(cy.user.id);
      expect(b.frames.slice(from).filter((f) => f.type === "presence" && f.room === room && !f.members.some((m) => m.id === cy.user.id)), order).toEqual([]);
    }
  });

  it("does not let a poll that was on its way as the page said goodbye undo it", async () => {
    const { cy, room, b } = await pollingInARoom("tab-q");
    const first = await s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-q`, { cookie: cy.cookie });
    const ticket = first.headers.get("poll-next");
    const { cursor } = (await first.json()) as PollAnswer;
    expect(ticket).toBeTruthy();
    const from = b.frames.length;
    await batch(cy, "tab-q", [{ type: "bye" }]);
    // The page's next poll, sent before it went, carrying on its last answer's subscription.
    const late = await s.api(`/api/poll?streams=room:${room}&wait=1&conn=tab-q&cursor=${encodeURIComponent(cursor)}&next=${ticket}`, { cookie: cy.cookie });
    expect(late.status).toBe(200);
    await b.next(isType("presence", (f) => f.room === room && !f.members.some((m) => m.id === cy.user.id)), { from, timeoutMs: PRESENCE_GRACE_MS + 3_000 });
  });

  it("does not let a batch that was on its way as the page said goodbye undo it (the last message marked read)", async () => {
    const { cy, room, b } = await pollingInARoom("tab-m");
    const from = b.frames.length;
    await batch(cy, "tab-m", [{ type: "bye" }]);
    // Sent before the goodbye, heard after it: it is carried out, and renews nothing.
    expect((await batch(cy, "tab-m", [{ type: "read", room, seq: 0 }])).status).toBe(200);
    await b.next(isType("presence", (f) => f.room === room && !f.members.some((m) => m.id === cy.user.id)), { from, timeoutMs: PRESENCE_GRACE_MS + 3_000 });
  });

  it("with each document named (1.21): a reload's late goodbye keeps the person, and what the gone document had on its way renews nothing", async () => {
    const { cy, room, b } = await pollingInARoom("tab-d&doc=d-old");
    const poll = (doc: string) => s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-d&doc=${doc}`, { cookie: cy.cookie });
    const from = b.frames.length;
    // Reloaded: the new document joins and polls, then the old one's goodbye and its last
    // `read` arrive, late.
    await batch(cy, "tab-d&doc=d-new", [{ type: "join", room }]);
    await poll("d-new");
    await batch(cy, "tab-d&doc=d-old", [{ type: "bye" }]);
    await batch(cy, "tab-d&doc=d-old", [{ type: "read", room, seq: 0 }]);
    // Only the new document's batches from now on, no poll: still present past the grace.
    await new Promise((r) => setTimeout(r, PRESENCE_GRACE_MS / 2));
    await batch(cy, "tab-d&doc=d-new", [{ type: "typing", room }]);
    await new Promise((r) => setTimeout(r, PRESENCE_GRACE_MS / 2 + 500));
    expect(s.app.hub.members(room).map((m) => m.id)).toContain(cy.user.id);
    expect(b.frames.slice(from).filter((f) => f.type === "presence" && f.room === room && !f.members.some((m) => m.id === cy.user.id))).toEqual([]);
    // The new document goes too: its own stray batch renews nothing, and the person leaves.
    await batch(cy, "tab-d&doc=d-new", [{ type: "bye" }]);
    await batch(cy, "tab-d&doc=d-new", [{ type: "read", room, seq: 0 }]);
    await poll("d-new");
    await b.next(isType("presence", (f) => f.room === room && !f.members.some((m) => m.id === cy.user.id)), { from, timeoutMs: PRESENCE_GRACE_MS + 3_000 });
  });

  it("refuses a goodbye over a WebSocket as bad_frame: a socket says it by closing", async () => {
    const bea = await someone("Bea");
    const b = await connect(bea);
    const from = b.frames.length;
    b.send({ type: "bye" });
    expect(await b.next(isType("error"), { from })).toMatchObject({ code: "bad_frame" });
  });

  it("goes on under a new name (1.9): present as it, and what it sends carries it, with no leave between", async () => {
    const { cy, room, b } = await pollingInARoom("tab-7");
    const from = b.frames.length;
    const name = `Cyrus ${randomBytes(3).toString("hex")}`;
    expect((await s.api("/api/account", { method: "PATCH", cookie: cy.cookie, body: JSON.stringify({ name }) })).status).toBe(200);
    // The page's next poll is its person as they are now.
    await s.api(`/api/poll?streams=room:${room}&wait=0&conn=tab-7`, { cookie: cy.cookie });
    await b.next(isType("presence", (f) => f.room === room && f.members.some((m) => m.id === cy.user.id && m.name === name)), { from });
    const sent = await batch(cy, "tab-7", [{ type: "send", room, text: "renamed", clientId: "r-1" }]);
    expect(sent.body.frames).toEqual([expect.objectContaining({ type: "ack", clientId: "r-1" })]);
    const said = await b.next(isType("event", (f) => f.event.type === "message" && f.event.data.text === "renamed"), { from });
    expect(said.event.actor).toMatchObject({ id: cy.user.id, name });
    // Cy was never gone from the room in between.
    expect(b.frames.slice(from).filter((f) => f.type === "presence" && f.room === room).every((f) => f.type === "presence" && f.members.some((m) => m.id === cy.user.id))).toBe(true);
  });
});

describe("one error code per bad command, whichever way it comes", () => {
  // Each bad command as a REST call, a WebSocket frame and a batch; `before` sends good
  // messages over REST first (the rate limit is the person's, whatever carries the sends).
  const table: Array<{ what: string; text: string; before?: number; code: ErrorCode; status: number }> = [
    { what: "an empty message", text: "   ", code: "invalid_text", status: 400 },
    { what: "a message over 4000 characters", text: "x".repeat(4001), code: "invalid_text", status: 400 },
    { what: "a message with an unpaired surrogate", text: "lone \ud800 high", code: "invalid_text", status: 400 },
    { what: "a message past the person's rate", text: "one too many", before: 20, code: "rate_limited", status: 429 },
  ];

  it.each(table)("$what: $code", async ({ text, before = 0, code, status }) => {
    const answers: Array<[string, string | undefined]> = [];
    for (const via of ["rest", "ws", "poll"] as const) {
      const who = await someone("Eve");
      const room = await newRoom(who);
      for (let i = 0; i < before; i++) {
        const ok = await s.api(`/api/rooms/${room}/messages`, { method: "POST", cookie: who.cookie, body: JSON.stringify({ text: `ok ${i}`, clientId: `ok-${i}` }) });
        expect(ok.status).toBe(201);
      }
      if (via === "rest") {
        const res = await s.api(`/api/rooms/${room}/messages`, { method: "POST", cookie: who.cookie, body: JSON.stringify({ text, clientId: "bad" }) });
        expect(res.status).toBe(status);
        answers.push([via, ((await res.json()) as { error: { code: string } }).error.code]);
      } else if (via === "ws") {
        const c = await connect(who);
        await wsJoin(c, room);
        c.send({ type: "send", room, text, clientId: "bad" });
        answers.push([via, (await c.next(isType("error", (f) => f.clientId === "bad"))).code]);
      } else {
        const { body } = await batch(who, "parity", [{ type: "join", room }, { type: "send", room, text, clientId: "bad" }]);
        const err = body.frames.find((f) => f.type === "error");
        answers.push([via, err?.type === "error" ? err.code : undefined]);
      }
    }
    expect(answers).toEqual([
      ["rest", code],
      ["ws", code],
      ["poll", code],
    ]);
  });
});
