// Long polling (`/api/poll`) over a real server on 127.0.0.1: answers at once when events wait,
// holds and wakes otherwise, times out with the same cursor, supersedes an older poll of the
// same client, lets go of everything on abort, carries the rooms' ephemeral state, and makes the
// poller present in the rooms it polls.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { isType, MANY_ROOMS, startServer, waitFor, type TestServer, type WsClient } from "../helpers/server";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { parseCursor, POLL_MAX_WAIT_S, type PollAnswer, type User } from "../../lib/protocol";

type Person = { user: User; cookie: string };

const PRESENCE_TTL_MS = 1_500;
const STATE_INTERVAL_MS = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("long polling /api/poll on %s", (kind) => {
  let s: TestServer;
  let ada: Person;
  let bea: Person;
  const sockets: WsClient[] = [];
  const aborts: AbortController[] = [];

  interface PollParams {
    streams: string;
    cursor?: string;
    wait?: number | string;
    client?: string;
  }

  /** One poll; `done` says whether it has been answered yet (without waiting for it). */
  const poll = (who: Person | null, p: PollParams) => {
    const q = new URLSearchParams({ streams: p.streams });
    if (p.cursor !== undefined) q.set("cursor", p.cursor);
    if (p.wait !== undefined) q.set("wait", String(p.wait));
    if (p.client !== undefined) q.set("client", p.client);
    const ac = new AbortController();
    aborts.push(ac);
    const state = { done: false };
    const answer = s.api(`/api/poll?${q}`, { cookie: who?.cookie, signal: ac.signal }).then(async (res) => {
      state.done = true;
      return { status: res.status, body: (await res.json()) as PollAnswer & { error?: { code: string; message: string } } };
    });
    return Object.assign(answer, { abort: () => ac.abort(), state });
  };

  /** A poll that must come back promptly (it must not be held for its `wait`). */
  const quick = async (who: Person, p: PollParams) => {
    const pending = poll(who, { wait: 20, ...p });
    const timer = setTimeout(() => pending.abort(), 8_000);
    try {
      const r = await pending;
      expect(r.status).toBe(200);
      return r.body;
    } finally {
      clearTimeout(timer);
    }
  };

  const newRoom = async () => {
    const name = `lp-${randomBytes(4).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: ada.cookie })).status).toBe(201);
    return name;
  };

  const append = (room: string, n: number, tag: string) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        s.app.log.append({
          stream: `room:${room}`,
          type: "message",
          actor: { id: ada.user.id, name: "Ada" },
          data: { text: `${tag} ${i}`, clientId: `${tag}-${i}` },
          clientId: `${tag}-${i}`,
        }),
      ),
    );

  /** Polls once with wait=0 so the server has answered this client's current room state. */
  const prime = async (who: Person, streams: string, client: string) => {
    const body = await quick(who, { streams, wait: 0, client });
    return body.cursor;
  };

  const pollSubscribers = () => s.app.hub.connections().filter((c) => c.transport === "longpoll");

  const connectWs = async (who: Person, room: string) => {
    const c = await s.connect(who.cookie);
    sockets.push(c);
    c.send({ type: "join", room });
    await c.next(isType("joined", (f) => f.room === room));
    return c;
  };

  beforeAll(async () => {
    const testDb = kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined;
    s = await startServer({
      kind,
      testDb,
      tuning: { pollPresenceTtlMs: PRESENCE_TTL_MS, pollStateIntervalMs: STATE_INTERVAL_MS, presenceGraceMs: 200 },
      env: MANY_ROOMS,
    });
    ada = await s.signIn("Ada");
    bea = await s.signIn("Bea");
  });
  afterAll(async () => {
    for (const a of aborts) a.abort();
    for (const c of sockets) c.ws.terminate();
    await s?.stop();
  });

  it("answers at once with every pending event, in order, and the cursor after them", async () => {
    const room = await newRoom();
    await append(room, 5, "burst");
    const body = await quick(bea, { streams: `room:${room}`, cursor: `room:${room}=0` });
    expect(body.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(body.events.map((e) => (e.data as { text: string }).text)).toEqual(["burst 0", "burst 1", "burst 2", "burst 3", "burst 4"]);
    expect(body.cursor).toBe(`room:${room}=5`);
    // From the middle.
    const rest = await quick(bea, { streams: `room:${room}`, cursor: `room:${room}=3` });
    expect(rest.events.map((e) => e.seq)).toEqual([4, 5]);
    expect(rest.cursor).toBe(`room:${room}=5`);
  });

  it("holds a poll with nothing new, and wakes it with the event when one commits", async () => {
    const room = await newRoom();
    const streams = `room:${room}`;
    const cursor = await prime(bea, streams, "hold");
    expect(cursor).toBe(`room:${room}=0`);
    const held = poll(bea, { streams, cursor, client: "hold" });
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    await sleep(200);
    expect(held.state.done).toBe(false);

    const res = await s.api(`/api/rooms/${room}/messages`, { method: "POST", body: JSON.stringify({ text: "wake up", clientId: "w-1" }), cookie: ada.cookie });
    expect(res.status).toBe(201);
    const { status, body } = await held;
    expect(status).toBe(200);
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({ stream: streams, seq: 1, type: "message", data: { text: "wake up" } });
    expect(body.cursor).toBe(`room:${room}=1`);
    expect(s.app.poll.size).toBe(0);
  });

  it("wakes with the whole commit batch in one answer", async () => {
    const room = await newRoom();
    const streams = `room:${room}`;
    const cursor = await prime(bea, streams, "batch");
    const held = poll(bea, { streams, cursor, client: "batch" });
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    await append(room, 5, "together"); // one tick: one commit
    const { body } = await held;
    expect(body.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(body.cursor).toBe(`room:${room}=5`);
  });

  it("answers a poll whose wait passed with no events and the same cursor", async () => {
    const room = await newRoom();
    await append(room, 2, "old");
    const streams = `feed,user:me,room:${room}`;
    const cursor = await prime(bea, streams, "timeout");
    const { status, body } = await poll(bea, { streams, cursor, wait: 1, client: "timeout" });
    expect(status).toBe(200);
    expect(body.events).toEqual([]);
    expect(body.cursor).toBe(cursor);
    expect(parseCursor(body.cursor)!.get(`room:${room}`)).toBe(2);
    expect(parseCursor(body.cursor)!.has(`user:${bea.user.id}`)).toBe(true);
  });

  it("answers the older poll of the same client at once, empty, when a newer one arrives", async () => {
    const room = await newRoom();
    const streams = `room:${room},feed`;
    const cursor = await prime(bea, streams, "tab-1");
    const older = poll(bea, { streams, cursor, client: "tab-1" });
    await waitFor(() => s.app.poll.size === 1, 5000, "the first poll to be held");
    const newer = poll(bea, { streams, cursor, client: "tab-1" });
    const first = await older;
    expect(first.status).toBe(200);
    expect(first.body.events).toEqual([]);
    expect(first.body.cursor).toBe(cursor);
    await sleep(100);
    expect(newer.state.done).toBe(false);
    expect(s.app.poll.size).toBe(1);

    // Another client of the same person (another tab), or other streams, is not a repeat.
    await prime(bea, streams, "tab-2");
    await prime(bea, `room:${room}`, "tab-1");
    expect(newer.state.done).toBe(false);
    const otherTab = poll(bea, { streams, cursor, client: "tab-2" });
    const otherStreams = poll(bea, { streams: `room:${room}`, cursor: `room:${room}=0`, client: "tab-1" });
    await waitFor(() => s.app.poll.size === 3, 5000, "three polls held");
    await append(room, 1, "for-all");
    const answers = await Promise.all([newer, otherTab, otherStreams]);
    for (const a of answers) expect(a.body.events.map((e) => e.seq)).toEqual([1]);
    await waitFor(() => s.app.poll.size === 0, 5000, "every poll answered");
  });

  it("lets go of everything when the client aborts a held poll", async () => {
    const room = await newRoom();
    // Someone of their own: other tests' subscriptions, kept for their next polls, are Bea's.
    const cy = await s.signIn("Cy");
    const streams = `room:${room},feed,user:me`;
    const cursor = await prime(cy, streams, "abort");
    const held = poll(cy, { streams, cursor, client: "abort" });
    const mine = () => pollSubscribers().filter((c) => c.user.id === cy.user.id);
    await waitFor(() => s.app.poll.size === 1 && mine().length === 1, 5000, "the poll to be held");
    expect(s.app.hub.followedStreams().has(`room:${room}`)).toBe(true);
    held.abort();
    await expect(held).rejects.toThrow();
    await waitFor(() => s.app.poll.size === 0 && mine().length === 0, 5000, "the poll to be released");
    expect(s.app.hub.followedStreams().has(`room:${room}`)).toBe(false);
    expect(s.app.hub.followedStreams().has(`user:${cy.user.id}`)).toBe(false);
    // An event after the abort breaks nothing.
    await append(room, 1, "after-abort");
    expect(s.app.poll.size).toBe(0);
  });

  it("carries each polled room's members, typing and cursors in every answer", async () => {
    const room = await newRoom();
    const a = await connectWs(ada, room);
    a.send({ type: "typing", room });
    a.send({ type: "cursor", room, x: 0.25, y: 0.75 });
    await waitFor(() => s.app.hub.cursors.snapshot(room)[ada.user.id] !== undefined, 5000, "the cursor");

    const streams = `room:${room},room:general,feed`;
    const answers = [await quick(bea, { streams, wait: 0, client: "state" })];
    await append(room, 1, "ev");
    answers.push(await quick(bea, { streams, cursor: answers[0]!.cursor, client: "state" }));
    // Held until its wait passes (shorter than this server's presence lapse).
    answers.push(await poll(bea, { streams, cursor: answers[1]!.cursor, wait: 0.5, client: "state" }).then((r) => r.body));
    expect(answers[2]!.events).toEqual([]);
    for (const body of answers) {
      expect(Object.keys(body.rooms!).sort()).toEqual(["general", room].sort());
      const r = body.rooms![room]!;
      expect(r.members.map((m) => m.id).sort()).toEqual([ada.user.id, bea.user.id].sort());
      expect(r.typing).toEqual([{ id: ada.user.id, name: "Ada" }]);
      expect(r.cursors).toEqual({ [ada.user.id]: { x: 0.25, y: 0.75, name: "Ada", color: ada.user.color } });
      expect(body.rooms!.general).toMatchObject({ members: expect.any(Array), typing: expect.any(Array), cursors: expect.any(Object) });
    }
    expect(answers[1]!.events.filter((e) => e.stream === `room:${room}`).map((e) => e.seq)).toEqual([1]);
    // No room polled: no room state.
    expect((await quick(bea, { streams: "feed", wait: 0, client: "state-feed" })).rooms).toEqual({});
    a.close();
  });

  // Retried once: on a heavily loaded machine it still failed once in five whole-file runs after the
  // fix above (the cap test's fake timers); on failure it prints what the hub's presence holds.
  it("makes the poller present in the rooms it polls until the lapse, seen by WebSocket clients", { retry: 1 }, async () => {
    const room = await newRoom();
    const a = await connectWs(ada, room);
    // Ada's own arrival may be announced to her too (presence changes go out on a short window);
    // her `joined` already counted her, so what is counted below starts after it either way.
    await a.next(isType("presence", (f) => f.room === room && f.members.length === 1), { timeoutMs: 1_000 }).catch(() => undefined);
    await waitFor(() => s.app.hub.presence.has(room, ada.user.id), 5_000, "Ada present");
    const poller = await s.signIn("Poller");
    const from = a.frames.length;
    const body = await quick(poller, { streams: `room:${room}`, wait: 0, client: "presence" });
    expect(body.rooms![room]!.members.map((m) => m.id).sort()).toEqual([ada.user.id, poller.user.id].sort());
    const arrived = await a.next(isType("presence", (f) => f.room === room), { from });
    expect(arrived.members.map((m) => m.id).sort()).toEqual([ada.user.id, poller.user.id].sort());

    // Polling again keeps them there (one presence, however many polls).
    for (let i = 0; i < 3; i++) {
      await sleep(PRESENCE_TTL_MS / 3);
      await quick(poller, { streams: `room:${room}`, wait: 0, client: "presence" });
    }
    expect(a.frames.slice(from).filter((f) => f.type === "presence" && f.room === room)).toHaveLength(1);
    expect(s.app.hub.presence.has(room, poller.user.id)).toBe(true);

    // They stop polling: gone after the lapse.
    const gone = await a
      .next(isType("presence", (f) => f.room === room && f.members.length === 1), { from, timeoutMs: PRESENCE_TTL_MS * 10 })
      .catch((err: Error) => {
        const presence = s.app.hub.presence as unknown as {
          rooms: Map<string, Map<string, { connections: Set<string>; leaving: unknown }>>;
          lapses: Map<string, unknown>;
        };
        const members = [...(presence.rooms.get(room)?.entries() ?? [])].map(([id, m]) => ({ id, connections: [...m.connections], leaving: Boolean(m.leaving) }));
        const lapses = [...presence.lapses.keys()].filter((k) => k.startsWith(room));
        throw new Error(`${err.message}; presence holds ${JSON.stringify(members)}, lapses ${JSON.stringify(lapses)}, poller ${poller.user.id}`);
      });
    expect(gone.members).toEqual([ada.user]);
    a.close();
  });

  it("wakes a held poll for a change of room state, at most once per interval", async () => {
    const room = await newRoom();
    const streams = `room:${room}`;
    const a = await connectWs(ada, room);
    let cursor = await prime(bea, streams, "state-rate");

    // A held poll wakes when someone starts typing, with the new state and no events.
    const held = poll(bea, { streams, cursor, client: "state-rate" });
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    a.send({ type: "typing", room });
    const woke = await held;
    expect(woke.body.events).toEqual([]);
    expect(woke.body.cursor).toBe(cursor);
    expect(woke.body.rooms![room]!.typing).toEqual([{ id: ada.user.id, name: "Ada" }]);

    // A cursor that never stops moving: the poller, re-polling at once, is answered at most
    // once per interval, each answer with the latest state.
    let moving = true;
    let x = 0;
    const mover = (async () => {
      while (moving) {
        a.send({ type: "cursor", room, x: (x = (x + 0.01) % 1), y: 0.5 });
        await sleep(15);
      }
    })();
    const started = Date.now();
    let answers = 0;
    let withCursor = 0;
    try {
      while (Date.now() - started < 1_500) {
        const r = await poll(bea, { streams, cursor, wait: 5, client: "state-rate" });
        expect(r.status).toBe(200);
        cursor = r.body.cursor;
        answers++;
        if (r.body.rooms![room]!.cursors[ada.user.id]) withCursor++;
      }
    } finally {
      moving = false;
      await mover;
    }
    const elapsed = Date.now() - started;
    expect(answers).toBeGreaterThanOrEqual(2);
    expect(answers).toBeLessThanOrEqual(Math.floor(elapsed / STATE_INTERVAL_MS) + 2);
    expect(withCursor).toBeGreaterThanOrEqual(answers - 1);
    a.close();
  });

  it("counts a resume only for a stream whose cursor the client brought", async () => {
    const room = await newRoom();
    const resumes = async () => metricValue(await scrapeMetrics(s.url), "rt_resumes_total", { transport: "longpoll" });
    const start = await resumes();
    const streams = `room:${room},feed`;
    const first = await quick(bea, { streams, wait: 0, client: "resume-count" });
    expect(await resumes()).toBe(start);
    const cursor = parseCursor(first.cursor)!;
    await quick(bea, { streams, wait: 0, client: "resume-count", cursor: `room:${room}=${cursor.get(`room:${room}`)}` });
    expect(await resumes()).toBe(start + 1);
    await quick(bea, { streams, wait: 0, client: "resume-count-2", cursor: first.cursor });
    expect(await resumes()).toBe(start + 3);
    // The same client again from its last answer's cursor carries on with its subscription:
    // nothing is resumed from the log.
    await quick(bea, { streams, wait: 0, client: "resume-count-2", cursor: first.cursor });
    expect(await resumes()).toBe(start + 3);
  });

  it("starts a poll without a cursor at the head the server already knows, reading nothing from the log", async () => {
    const room = await newRoom();
    const streams = `room:${room},feed`;
    const first = await quick(bea, { streams, wait: 0, client: "no-cursor" }); // the room is known from here on
    const query = vi.spyOn(s.testDb.db.sql, "query");
    try {
      for (let i = 0; i < 5; i++) {
        const again = await quick(bea, { streams, wait: 0, client: "no-cursor" });
        expect(again.cursor).toBe(first.cursor);
      }
      // The log's tables: a session lookup (its cache lapsing) is not a read of the log.
      expect(query.mock.calls.map((call) => call[0]).filter((sql) => /\b(events|streams)\b/.test(sql))).toEqual([]);
    } finally {
      query.mockRestore();
    }
  });

  it("writes member.joined once per person per room, whether they join by WebSocket, long polling or both", async () => {
    const room = await newRoom();
    const joined = async (who: Person) =>
      (await s.app.log.readAfter("feed", 0, 100_000)).filter(
        (e) => e.type === "member.joined" && e.data.roomId === room && e.actor.id === who.user.id,
      ).length;
    // Ada only polls, from two tabs, again and again.
    await quick(ada, { streams: `room:${room}`, wait: 0, client: "mj-1" });
    await waitFor(async () => (await joined(ada)) === 1, 5000, "Ada's member.joined");
    await quick(ada, { streams: `room:${room}`, wait: 0, client: "mj-1" });
    await quick(ada, { streams: `room:${room},feed`, wait: 0, client: "mj-2" });
    // Bea joins over WebSocket twice, then falls back to polling.
    (await connectWs(bea, room)).close();
    await waitFor(async () => (await joined(bea)) === 1, 5000, "Bea's member.joined");
    (await connectWs(bea, room)).close();
    await quick(bea, { streams: `room:${room}`, wait: 0, client: "mj-3" });
    await s.app.log.idle();
    await sleep(100);
    expect(await joined(ada)).toBe(1);
    expect(await joined(bea)).toBe(1);
  });

  it("answers bad input with 400 and a code, unknown rooms 404, and no session 401", async () => {
    const before = new Set(pollSubscribers().map((c) => c.id));
    const cases: Array<[string, number, string]> = [
      ["/api/poll", 400, "bad_stream"],
      ["/api/poll?streams=", 400, "bad_stream"],
      ["/api/poll?streams=what", 400, "bad_stream"],
      [`/api/poll?streams=user:${ada.user.id}`, 400, "bad_stream"],
      ["/api/poll?streams=feed&cursor=feed=x", 400, "bad_cursor"],
      ["/api/poll?streams=feed&cursor=feed", 400, "bad_cursor"],
      ["/api/poll?streams=feed&cursor=nope=1", 400, "bad_cursor"],
      ["/api/poll?streams=feed&wait=-1", 400, "bad_request"],
      ["/api/poll?streams=feed&wait=soon", 400, "bad_request"],
      ["/api/poll?streams=room:does-not-exist", 404, "unknown_room"],
    ];
    for (const [path, status, code] of cases) {
      const res = await s.api(path, { cookie: bea.cookie });
      expect(res.status, path).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code, path).toBe(code);
      expect(body.error.message).toMatch(/\w/);
    }
    const anon = await s.api("/api/poll?streams=feed");
    expect(anon.status).toBe(401);
    expect(((await anon.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect(s.app.poll.size).toBe(0);
    expect(pollSubscribers().filter((c) => !before.has(c.id))).toEqual([]);
    // Nobody became present in a room through a refused poll.
    expect(s.app.hub.presence.has("does-not-exist", bea.user.id)).toBe(false);
  });

  it("answers held polls when the server shuts down", async () => {
    const other = await startServer({ testDb: s.testDb });
    const who = await other.signIn("Leaving");
    const res = fetch(`${other.url}/api/poll?streams=feed&wait=20`, { headers: { cookie: who.cookie } });
    await waitFor(() => other.app.poll.size === 1, 5000, "the poll to be held");
    const stopped = other.stop();
    const answer = await res;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as PollAnswer).events).toEqual([]);
    await stopped;
  });

  it("caps wait at 25 seconds: a poll asking for 600 is answered, empty, when 25 have passed", async () => {
    expect(POLL_MAX_WAIT_S).toBe(25);
    const cursor = await prime(bea, "feed", "cap");
    // Last in this block: a timer the shared server sets while timers are faked (a presence
    // announcement, say) never fires once they are real again, and that server then sends no
    // presence frame for good — a later test waited in vain for a leave.
    // The server's timers on a fake clock, so the test jumps 25 seconds instead of waiting them
    // out; sockets and the database need no timer to make progress, and the test waits on them
    // by turns of the event loop (setImmediate is left real), a bounded number of them.
    const turns = async (until: () => boolean, max: number, what: string) => {
      for (let i = 0; i < max && !until(); i++) await new Promise((r) => setImmediate(r));
      if (!until()) throw new Error(`not ${what} after ${max} turns of the event loop`);
    };
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const held = poll(bea, { streams: "feed", cursor, wait: 600, client: "cap" });
      await turns(() => s.app.poll.size === 1, 100_000, "held");
      vi.advanceTimersByTime(POLL_MAX_WAIT_S * 1000 - 1);
      await expect(turns(() => held.state.done, 2_000, "answered")).rejects.toThrow(/not answered/);
      vi.advanceTimersByTime(1);
      await turns(() => held.state.done, 100_000, "answered");
      const { status, body } = await held;
      expect(status).toBe(200);
      expect(body.events).toEqual([]);
      expect(body.cursor).toBe(cursor);
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => s.app.poll.size === 0, 5000, "the poll to be released");
  });
});

describe("long polling under load", () => {
  let s: TestServer;
  let ada: Person;
  let bea: Person;
  const aborts: AbortController[] = [];

  beforeAll(async () => {
    s = await startServer({ testDb: (sharedDb ??= await createTestDatabase("pglite")), tuning: { pollMaxHeld: 3, pollMaxHeldPerSession: 2 } });
    ada = await s.signIn("Ada");
    bea = await s.signIn("Bea");
  });
  afterAll(async () => {
    for (const a of aborts) a.abort();
    await s?.stop();
  });

  /** A poll of the feed, held (up to `wait`); resolves to its status, Retry-After and body. */
  const poll = (who: Person, client: string, wait = 20) => {
    const ac = new AbortController();
    aborts.push(ac);
    const answer = s.api(`/api/poll?streams=feed&wait=${wait}&client=${client}`, { cookie: who.cookie, signal: ac.signal }).then(async (res) => ({
      status: res.status,
      retryAfter: res.headers.get("retry-after"),
      body: (await res.json()) as PollAnswer & { error?: { code: string } },
    }));
    answer.catch(() => {});
    return Object.assign(answer, { abort: () => ac.abort() });
  };

  it("holds at most maxHeldPerSession polls per session: a newer one lets the session's oldest go with 429 and Retry-After", async () => {
    const first = poll(bea, "tab-1");
    await waitFor(() => s.app.poll.size === 1, 5000, "one poll held");
    const second = poll(bea, "tab-2");
    await waitFor(() => s.app.poll.size === 2, 5000, "two polls held");
    const third = poll(bea, "tab-3");
    const evicted = await first;
    expect(evicted.status).toBe(429);
    expect(evicted.body.error?.code).toBe("rate_limited");
    expect(evicted.retryAfter).toBe("2");
    await waitFor(() => s.app.poll.size === 2, 5000, "the newer two held");
    // Another person is not held back by Bea's tabs.
    const other = poll(ada, "tab-1");
    await waitFor(() => s.app.poll.size === 3, 5000, "Ada's poll held");
    for (const p of [second, third, other]) p.abort();
    await waitFor(() => s.app.poll.size === 0, 5000, "every poll released");
  });

  it("refuses polls past maxHeld with 503 overloaded and Retry-After; a poll superseding its own still gets in", async () => {
    const held = [poll(ada, "a-1"), poll(ada, "a-2"), poll(bea, "b-1")];
    await waitFor(() => s.app.poll.size === 3, 5000, "every slot taken");
    const refused = await poll(bea, "b-2");
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe("overloaded");
    expect(refused.retryAfter).toBe("2");
    expect(s.app.poll.size).toBe(3);
    // The same tab polling again takes its own slot over.
    const again = poll(bea, "b-1");
    expect((await held[2]!).status).toBe(200);
    await waitFor(() => s.app.poll.size === 3, 5000, "the newer poll held");
    // A freed slot is taken again.
    held[0]!.abort();
    await waitFor(() => s.app.poll.size === 2, 5000, "a slot freed");
    const later = poll(bea, "b-2");
    await waitFor(() => s.app.poll.size === 3, 5000, "the freed slot taken");
    for (const p of [held[1]!, again, later]) p.abort();
    await waitFor(() => s.app.poll.size === 0, 5000, "every poll released");
  });

  it("keeps one presence entry per session however many clients it names", async () => {
    const presence = s.app.hub.presence as unknown as { lapses: Map<string, unknown> };
    const before = presence.lapses.size;
    for (let i = 0; i < 5; i++) {
      const res = await s.api(`/api/poll?streams=room:general&wait=0&client=many-${i}`, { cookie: ada.cookie });
      expect(res.status).toBe(200);
    }
    expect(presence.lapses.size - before).toBe(1);
    expect(s.app.hub.presence.has("general", ada.user.id)).toBe(true);
  });

  it("the client's poll channel waits out a 503's Retry-After instead of polling again at once", async () => {
    const { PollChannel } = await import("../../lib/realtime/poll-channel");
    const http = await import("node:http");
    const times: number[] = [];
    const server = http.createServer((req, res) => {
      times.push(Date.now());
      if (times.length === 1) {
        res.writeHead(503, { "Content-Type": "application/json", "Retry-After": "1" });
        return res.end(JSON.stringify({ error: { code: "overloaded", message: "busy" } }));
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ events: [], cursor: "feed=0", rooms: {} }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const errors: Array<number | undefined> = [];
    let answers = 0;
    const channel = new PollChannel(`http://127.0.0.1:${port}`, fetch, 20, "tab", {
      streams: () => ["feed"],
      cursor: () => "",
      onAnswer: () => {
        answers++;
        channel.stop();
      },
      onError: (e) => errors.push(e.status),
      // Our own backoff says "at once": only the server's Retry-After holds the retry back.
      nextDelay: () => 0,
      onSuccess: () => {},
    });
    try {
      channel.start();
      await waitFor(() => errors.length === 1, 5000, "the 503");
      expect(errors).toEqual([503]);
      await sleep(700);
      expect(times).toHaveLength(1);
      await waitFor(() => answers === 1, 5000, "the retry after Retry-After");
    } finally {
      channel.stop();
      server.close();
    }
  });
});
