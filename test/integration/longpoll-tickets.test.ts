// A long poll that carries on from its last answer (protocol 1.17): the answer names the
// subscription kept for the client's next poll (`Poll-Next`), and the poll that names it back
// (`?next=`) is taken up without being read afresh. What that must never change: every event
// once and in order; a ticket taken once, only with the cookie it was issued under, only for
// the same streams and from the answer's cursor; a sign-out, a removal or an expired session
// refused as they always were. Anything else is read afresh and loses nothing.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { startServer, waitFor, type Person, type TestServer } from "../helpers/server";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { SESSION_TRUST_MS } from "../../server/auth";
import type { PollAnswer } from "../../lib/protocol";

type Answer = { status: number; next: string | null; body: PollAnswer & { error?: { code: string; room?: string } } };

describe("long polls that carry on (protocol 1.17)", () => {
  let db: TestDatabase;
  let s: TestServer;
  let ada: Person;
  let bea: Person;

  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    s = await startServer({ testDb: db });
    ada = await s.signIn("Ada");
    bea = await s.signIn("Bea");
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
    await db?.drop();
  });

  const call = (p: Person, method: string, path: string, body?: unknown) =>
    s.api(path, { method, cookie: p.cookie, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  /**
   * One poll: `query` as the page sends it, `next` the ticket it names (if any). A first poll is
   * answered at once; one that carries on may be held a second (less is read afresh).
   */
  const poll = async (p: Person, query: Record<string, string>, next?: string | null): Promise<Answer> => {
    const q = new URLSearchParams({ wait: next ? "1" : "0", ...query });
    if (next) q.set("next", next);
    const res = await call(p, "GET", `/api/poll?${q}`);
    return { status: res.status, next: res.headers.get("poll-next"), body: await res.json() };
  };

  const tickets = async () => {
    const samples = await scrapeMetrics(s.url);
    return {
      taken: metricValue(samples, "rt_poll_tickets_total", { outcome: "taken" }),
      declined: metricValue(samples, "rt_poll_tickets_total", { outcome: "declined" }),
    };
  };

  const newRoom = async (visibility: "public" | "private" = "public") => {
    const room = `lpt-${randomBytes(3).toString("hex")}`;
    expect((await call(ada, "POST", "/api/rooms", { name: room, visibility })).status).toBe(201);
    return room;
  };
  const say = async (p: Person, room: string, text: string) =>
    expect((await call(p, "POST", `/api/rooms/${room}/messages`, { text, clientId: randomBytes(6).toString("hex") })).status).toBe(201);
  const texts = (a: Answer) => a.body.events.map((e) => (e.data as { text: string }).text);

  it("names the kept subscription in each answer, and the poll naming it carries on with every event once, in order", async () => {
    const room = await newRoom();
    const query = { streams: `room:${room}`, conn: "page-1" };
    const first = await poll(ada, query);
    expect(first.status).toBe(200);
    expect(first.next).toMatch(/^[\w-]{1,64}$/);
    const before = await tickets();

    let at = first;
    const seen: string[] = [];
    for (let round = 0; round < 3; round++) {
      await say(bea, room, `m${round}a`);
      await say(bea, room, `m${round}b`);
      const answer = await poll(ada, { ...query, cursor: at.body.cursor, state: at.body.state ?? "" }, at.next);
      expect(answer.status).toBe(200);
      // A new ticket each time: the one named is spent.
      expect(answer.next).not.toBe(at.next);
      seen.push(...texts(answer));
      at = answer;
    }
    expect(seen).toEqual(["m0a", "m0b", "m1a", "m1b", "m2a", "m2b"]);
    expect(await tickets()).toEqual({ taken: before.taken + 3, declined: before.declined });
    // The answers of a poll taken up carry the headers every API answer has.
    await say(bea, room, "m3");
    const q = new URLSearchParams({ streams: `room:${room}`, conn: "page-1", cursor: at.body.cursor, wait: "1", next: at.next! });
    const res = await call(ada, "GET", `/api/poll?${q}`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect((await tickets()).taken).toBe(before.taken + 4);
  });

  it("takes a ticket once: named again, the poll is read afresh and still answered from its cursor", async () => {
    const room = await newRoom();
    const query = { streams: `room:${room}`, conn: "page-2" };
    const first = await poll(ada, query);
    await say(bea, room, "one");
    const second = await poll(ada, { ...query, cursor: first.body.cursor }, first.next);
    expect(texts(second)).toEqual(["one"]);
    const before = await tickets();
    // The same poll again (an answer lost on its way): read afresh, from the cursor it names.
    const again = await poll(ada, { ...query, cursor: first.body.cursor }, first.next);
    expect(again.status).toBe(200);
    expect(texts(again)).toEqual(["one"]);
    expect(await tickets()).toEqual({ taken: before.taken, declined: before.declined + 1 });
  });

  it("reads afresh a poll asking to be answered at once, ticket or not: answers at once cannot chain tickets past the queue", async () => {
    const room = await newRoom();
    const query = { streams: `room:${room}`, conn: "page-9" };
    let at = await poll(ada, query);
    const before = await tickets();
    for (let i = 0; i < 3; i++) {
      const next = await poll(ada, { ...query, cursor: at.body.cursor, wait: "0.5" }, at.next);
      expect(next.status).toBe(200);
      at = next;
    }
    expect(await tickets()).toEqual({ taken: before.taken, declined: before.declined + 3 });
  });

  it("reads afresh a ticket named for other streams or from another cursor", async () => {
    const room = await newRoom();
    const other = await newRoom();
    const query = { streams: `room:${room}`, conn: "page-3" };
    const first = await poll(ada, query);
    await say(bea, room, "here");
    await say(bea, other, "there");
    const before = await tickets();
    // Other streams: that poll's own answer, not the kept subscription's.
    const elsewhere = await poll(ada, { streams: `room:${other}`, conn: "page-3", cursor: `room:${other}=0` }, first.next);
    expect(texts(elsewhere)).toEqual(["there"]);
    // Not from the answer's cursor: from the one it names.
    const earlier = await poll(ada, { ...query, cursor: `room:${room}=0` }, first.next);
    expect(texts(earlier)).toEqual(["here"]);
    expect((await tickets()).taken).toBe(before.taken);
  });

  it("honours a ticket only with the cookie it was issued under: another person's poll naming it is theirs, refused for a room they may not read", async () => {
    const room = await newRoom("private");
    const query = { streams: `room:${room}`, conn: "page-4" };
    const first = await poll(ada, query);
    expect(first.status).toBe(200);
    await say(ada, room, "for Ada's eyes");
    const before = await tickets();
    const stolen = await poll(bea, { ...query, cursor: first.body.cursor }, first.next);
    expect(stolen.status).toBe(404);
    expect(stolen.body.error).toMatchObject({ code: "unknown_room", room });
    expect(JSON.stringify(stolen.body)).not.toContain("for Ada's eyes");
    // Not spent by the attempt: Ada carries on with it.
    const mine = await poll(ada, { ...query, cursor: first.body.cursor }, first.next);
    expect(texts(mine)).toEqual(["for Ada's eyes"]);
    expect(await tickets()).toEqual({ taken: before.taken + 1, declined: before.declined + 1 });
  });

  it("ends a session's tickets when it signs out, and a person's in a room when they are removed from it", async () => {
    const kim = await s.signIn("Kim");
    const room = await newRoom("private");
    expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: kim.user.id })).status).toBe(204);
    const query = { streams: `room:${room}`, conn: "page-5" };
    const first = await poll(kim, query);
    expect(first.next).not.toBeNull();
    expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${kim.user.id}`)).status).toBe(204);
    const removed = await poll(kim, { ...query, cursor: first.body.cursor }, first.next);
    expect(removed.status).toBe(404);
    expect(removed.body.error).toMatchObject({ code: "unknown_room", room });

    const feed = await poll(kim, { streams: "feed", conn: "page-6" });
    expect(feed.next).not.toBeNull();
    expect((await call(kim, "DELETE", "/api/session")).status).toBe(204);
    const signedOut = await poll(kim, { streams: "feed", conn: "page-6", cursor: feed.body.cursor }, feed.next);
    expect(signedOut.status).toBe(401);
  });

  it("reads a poll afresh once its session has gone unchecked for 10 s, and names a new ticket in its answer", async () => {
    const lin = await s.signIn("Lin");
    const query = { streams: "feed", conn: "page-7" };
    const first = await poll(lin, query);
    const before = await tickets();
    const second = await poll(lin, { ...query, cursor: first.body.cursor }, first.next);
    expect(second.next).not.toBeNull();
    expect(await tickets()).toEqual({ taken: before.taken + 1, declined: before.declined });
    // Eleven seconds on (the server runs in this process): past the ticket's trust, so the poll
    // is read in full (its session checked again) and answered as any poll is.
    const now = Date.now;
    vi.spyOn(Date, "now").mockImplementation(() => now() + SESSION_TRUST_MS + 1_000);
    try {
      const late = await poll(lin, { ...query, cursor: second.body.cursor }, second.next);
      expect(late.status).toBe(200);
      expect(late.next).not.toBeNull();
      expect(await tickets()).toEqual({ taken: before.taken + 1, declined: before.declined + 1 });
      // Read in full just now: its own ticket is honoured again.
      const after = await poll(lin, { ...query, cursor: late.body.cursor }, late.next);
      expect(after.status).toBe(200);
      expect(await tickets()).toEqual({ taken: before.taken + 2, declined: before.declined + 1 });
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("trusts a ticket only as long as its session since the database last vouched for it, and refuses an expired session 401", async () => {
    const max = await s.signIn("Max"); // checked now, as it is made
    const query = { streams: "feed", conn: "page-10" };
    const now = Date.now;
    const at = (ms: number) => vi.spyOn(Date, "now").mockImplementation(() => now() + ms);
    try {
      // Eight seconds on, the poll is read in full, its session still trusted from its making:
      // the ticket it gets is good for two seconds more, not ten.
      at(8_000);
      const first = await poll(max, query);
      expect(first.next).not.toBeNull();
      const before = await tickets();
      at(SESSION_TRUST_MS + 1_000);
      const second = await poll(max, { ...query, cursor: first.body.cursor }, first.next);
      expect(second.status).toBe(200);
      expect(await tickets()).toEqual({ taken: before.taken, declined: before.declined + 1 });
      // Thirty-one days on, the cookie has expired: a poll naming its ticket is refused.
      at(31 * 24 * 3600 * 1000);
      const late = await poll(max, { ...query, cursor: second.body.cursor }, second.next);
      expect(late.status).toBe(401);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it("the page's poll channel names each answer's ticket, and the server carries on with every one", async () => {
    const { PollChannel } = await import("../../lib/realtime/poll-channel");
    const room = await newRoom();
    // As a page polls them: its own stream as `user:me`, which answers name by the person's id.
    const streams = [`room:${room}`, "feed", "user:me"];
    const cursor = new Map<string, number>();
    const got: string[] = [];
    let answers = 0;
    const before = await tickets();
    const withCookie: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...init?.headers, cookie: ada.cookie } });
    const channel = new PollChannel(s.url, withCookie, 5, "page-8", {
      streams: () => streams,
      cursor: (names) => names.filter((n) => cursor.has(n)).map((n) => `${n}=${cursor.get(n)}`).join(","),
      onAnswer: (answer) => {
        answers++;
        for (const pair of answer.cursor.split(",")) {
          const at = pair.lastIndexOf("=");
          const stream = pair.slice(0, at);
          cursor.set(stream.startsWith("user:") ? "user:me" : stream, Number(pair.slice(at + 1)));
        }
        for (const e of answer.events) if (e.type === "message") got.push((e.data as { text: string }).text);
      },
      onError: (e) => {
        throw new Error(`poll failed: ${e.message}`);
      },
      nextDelay: () => 100,
      onSuccess: () => {},
    });
    try {
      channel.start();
      await waitFor(() => answers >= 1, 5000, "the first answer");
      for (let i = 0; i < 4; i++) {
        await say(bea, room, `live ${i}`);
        await waitFor(() => got.length === i + 1, 5000, `message ${i}`);
      }
      expect(got).toEqual(["live 0", "live 1", "live 2", "live 3"]);
      const after = await tickets();
      expect(after.declined).toBe(before.declined);
      expect(after.taken - before.taken).toBeGreaterThanOrEqual(4);
    } finally {
      channel.stop();
    }
  });
});
