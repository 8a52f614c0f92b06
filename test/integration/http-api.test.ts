// The HTTP API of PROTOCOL.md against a real server: identity, rooms, history, messages,
// notifications, operations — and every kind of bad input, which must write nothing.
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { EventLogFullError } from "../../server/eventlog";
import { metricValue, parseMetrics, scrapeMetrics } from "../helpers/metrics";
import { MANY_ROOMS, startServer, startServerWith, type Person, type TestServer } from "../helpers/server";
import type { z } from "zod";
import {
  eventsPageSchema,
  notificationsAnswerSchema,
  opsSnapshotSchema,
  roomAnswerSchema,
  roomsAnswerSchema,
  sessionAnswerSchema,
  type RealtimeEvent,
  type RoomInfo,
  type User,
} from "../../lib/protocol";

let s: TestServer;
let ada: Person;
let lin: Person;

beforeAll(async () => {
  [s, ada, lin] = await startServerWith(["Ada", "Lin"], { env: MANY_ROOMS });
});
afterAll(async () => {
  await s?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const post = (path: string, body: unknown, cookie?: string) =>
  s.api(path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), cookie });

async function countEvents(): Promise<number> {
  const rows = await s.app.db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM events");
  return rows[0]!.n;
}

describe("identity", () => {
  it("signs in with a trimmed name, sets a signed HttpOnly cookie, and knows who you are", async () => {
    const res = await post("/api/session", { name: "  Grace Hopper  " });
    expect(res.status).toBe(200);
    const { user } = (await res.json()) as { user: User };
    expect(user).toMatchObject({ name: "Grace Hopper" });
    expect(user.id).toMatch(/^u_/);
    expect(user.color).toMatch(/^#[0-9a-f]{6}$/);
    const setCookie = res.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^rt_session=[^;]+;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    const cookie = setCookie.split(";")[0]!;
    const me = await s.api("/api/session", { cookie });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user });
  });

  it("refuses empty and over-long names with invalid_name", async () => {
    for (const body of [{ name: "   " }, { name: "x".repeat(33) }, { name: 42 }, {}]) {
      const res = await post("/api/session", body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_name");
    }
    const ok = await post("/api/session", { name: "x".repeat(32) });
    expect(ok.status).toBe(200);
  });

  it("answers 401 without a cookie, with a forged one, a tampered one, or after sign-out", async () => {
    expect((await s.api("/api/session")).status).toBe(401);
    expect((await s.api("/api/rooms")).status).toBe(401);
    const body = (await (await s.api("/api/rooms")).json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("unauthorized");
    expect(body.error.message.length).toBeGreaterThan(0);

    const [name, value] = ada.cookie.split("=") as [string, string];
    const [sid, exp, sig] = value.split(".") as [string, string, string];
    const forgedSig = `${name}=${sid}.${exp}.${sig.slice(0, -2)}AA`;
    const longerLife = `${name}=${sid}.${Number(exp) + 1000}.${sig}`;
    const otherSession = `${name}=AAAAAAAAAAAAAAAAAAAAAAAA.${exp}.${sig}`;
    for (const cookie of [forgedSig, longerLife, otherSession, `${name}=garbage`, `${name}=`]) {
      expect((await s.api("/api/rooms", { cookie })).status).toBe(401);
    }

    const temp = await s.signIn("Temp");
    expect((await s.api("/api/rooms", { cookie: temp.cookie })).status).toBe(200);
    const out = await s.api("/api/session", { method: "DELETE", cookie: temp.cookie });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/rt_session=;.*Max-Age=0/);
    expect((await s.api("/api/rooms", { cookie: temp.cookie })).status).toBe(401);
  });

  it("rejects an expired cookie", async () => {
    const { Sessions } = await import("../../server/auth");
    const past = new Sessions(s.app.db, "test-secret-test-secret-test-secret-0123", () => Date.now() - 31 * 24 * 3600 * 1000);
    const { cookie } = await past.create("Old", false);
    expect((await s.api("/api/rooms", { cookie: cookie.split(";")[0]! })).status).toBe(401);
  });
});

describe("rooms", () => {
  it("lists general, which always exists, with its head", async () => {
    const posted = await post("/api/rooms/general/messages", { text: "the head", clientId: "head-1" }, ada.cookie);
    const { event } = (await posted.json()) as { event: RealtimeEvent };
    expect(event.seq).toBeGreaterThan(0);
    const res = await s.api("/api/rooms", { cookie: ada.cookie });
    expect(res.status).toBe(200);
    const { rooms } = (await res.json()) as { rooms: RoomInfo[] };
    expect(rooms[0]).toMatchObject({ id: "general", name: "general", head: event.seq });
    expect(new Date(rooms[0]!.createdAt).toISOString()).toBe(rooms[0]!.createdAt);
  });

  it("creates a room once, announces it on the feed, and refuses the same name again", async () => {
    const feedHead = await s.app.log.head("feed");
    const res = await post("/api/rooms", { name: "design-review" }, ada.cookie);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { room: RoomInfo }).room).toMatchObject({ id: "design-review", name: "design-review", head: 0 });
    const again = await post("/api/rooms", { name: "Design-Review" }, lin.cookie);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("room_exists");
    const feed = await s.app.log.readAfter("feed", feedHead, 10);
    expect(feed).toHaveLength(1);
    expect(feed[0]).toMatchObject({ type: "room.created", actor: { id: ada.user.id, name: "Ada" }, data: { roomId: "design-review", name: "design-review" } });
    const { rooms } = (await (await s.api("/api/rooms", { cookie: lin.cookie })).json()) as { rooms: RoomInfo[] };
    expect(rooms.map((r) => r.id)).toContain("design-review");
  });

  it("a room whose announcement failed is announced by the next attempt: the creator's retry succeeds, anyone else hears 409", async () => {
    const announcements = async (roomId: string) =>
      (await s.app.log.readAfter("feed", 0, 10_000)).filter((e) => e.type === "room.created" && e.data.roomId === roomId);
    // The room row commits, then the log refuses the announcement (its queue is full).
    const failOnce = () => vi.spyOn(s.app.log, "append").mockRejectedValueOnce(new EventLogFullError(1));

    failOnce();
    const first = await post("/api/rooms", { name: "flaky-a" }, ada.cookie);
    expect(first.status).toBe(503);
    expect(await announcements("flaky-a")).toHaveLength(0);
    const retry = await post("/api/rooms", { name: "flaky-a" }, ada.cookie);
    expect(retry.status).toBe(201);
    expect(((await retry.json()) as { room: RoomInfo }).room).toMatchObject({ id: "flaky-a", head: 0 });
    expect(await announcements("flaky-a")).toMatchObject([{ actor: { id: ada.user.id, name: "Ada" }, data: { name: "flaky-a" } }]);
    expect((await post("/api/rooms", { name: "flaky-a" }, ada.cookie)).status).toBe(409);

    failOnce();
    expect((await post("/api/rooms", { name: "flaky-b" }, ada.cookie)).status).toBe(503);
    // Someone else's attempt repairs the feed — in the creator's name — and is refused.
    expect((await post("/api/rooms", { name: "Flaky-B" }, lin.cookie)).status).toBe(409);
    expect(await announcements("flaky-b")).toMatchObject([{ actor: { id: ada.user.id } }]);
    expect((await post("/api/rooms", { name: "flaky-b" }, ada.cookie)).status).toBe(409);
    expect(await announcements("flaky-b")).toHaveLength(1);
    // Once announced, a taken name costs reads only: nothing is appended for a 409.
    const appends = vi.spyOn(s.app.log, "append");
    appends.mockClear();
    for (let i = 0; i < 3; i++) expect((await post("/api/rooms", { name: "flaky-b" }, lin.cookie)).status).toBe(409);
    expect(appends).not.toHaveBeenCalled();
  });

  it("a join whose member.joined failed is announced by the person's next join, once", async () => {
    const joins = async () =>
      (await s.app.log.readAfter("feed", 0, 10_000)).filter(
        (e) => e.type === "member.joined" && e.data.roomId === "general" && e.actor.id === lin.user.id,
      );
    vi.spyOn(s.app.log, "append").mockRejectedValueOnce(new EventLogFullError(1));
    await expect(s.app.workspace.recordJoin("general", lin.user)).rejects.toBeInstanceOf(EventLogFullError);
    expect(await joins()).toHaveLength(0);
    await s.app.workspace.recordJoin("general", lin.user);
    await Promise.all([s.app.workspace.recordJoin("general", lin.user), s.app.workspace.recordJoin("general", lin.user)]);
    expect(await joins()).toHaveLength(1);
  });

  it("refuses bad room names with invalid_name and creates nothing", async () => {
    const before = await countEvents();
    for (const name of ["", "has space", "x".repeat(41), "émoji🎉", "../etc"]) {
      const res = await post("/api/rooms", { name }, ada.cookie);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_name");
    }
    expect(await countEvents()).toBe(before);
  });
});

describe("messages and history", () => {
  it("posts once per clientId: 201 then 200 with the first event, nothing appended twice", async () => {
    await post("/api/rooms", { name: "msgs" }, ada.cookie);
    const first = await post("/api/rooms/msgs/messages", { text: "  hello  ", clientId: "c-1" }, ada.cookie);
    expect(first.status).toBe(201);
    const { event } = (await first.json()) as { event: RealtimeEvent };
    expect(event).toMatchObject({ stream: "room:msgs", seq: 1, type: "message", actor: { id: ada.user.id, name: "Ada" }, data: { text: "hello", clientId: "c-1" } });
    const repeat = await post("/api/rooms/msgs/messages", { text: "hello (retry)", clientId: "c-1" }, ada.cookie);
    expect(repeat.status).toBe(200);
    expect(((await repeat.json()) as { event: RealtimeEvent }).event).toEqual(event);
    expect(await s.app.log.head("room:msgs")).toBe(1);
  });

  it("pages history backwards with before=, forwards with after=, and limit=", async () => {
    await post("/api/rooms", { name: "paged" }, ada.cookie);
    for (let i = 1; i <= 7; i++) {
      expect((await post("/api/rooms/paged/messages", { text: `m${i}`, clientId: `p${i}` }, ada.cookie)).status).toBe(201);
    }
    const newest = (await (await s.api("/api/rooms/paged/events?limit=3", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[]; hasMore: boolean };
    expect(newest.events.map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(newest.hasMore).toBe(true);
    const older = (await (await s.api("/api/rooms/paged/events?before=5&limit=10", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[]; hasMore: boolean };
    expect(older.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(older.hasMore).toBe(false);
    // Version 1.3: forwards from a seq, towards the head.
    const after = (await (await s.api("/api/rooms/paged/events?after=2&limit=3", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[]; hasMore: boolean };
    expect(after.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(after.hasMore).toBe(true);
    const toHead = (await (await s.api("/api/rooms/paged/events?after=5&limit=10", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[]; hasMore: boolean };
    expect(toHead.events.map((e) => e.seq)).toEqual([6, 7]);
    expect(toHead.hasMore).toBe(false);
    for (const q of ["limit=0", "limit=201", "limit=abc", "before=-1", "before=1.5", "after=-1", "after=x", "before=5&after=2"]) {
      const res = await s.api(`/api/rooms/paged/events?${q}`, { cookie: lin.cookie });
      expect(res.status, q).toBe(400);
    }
  });

  it("writes message.posted to the feed and a mention to each @named person, once", async () => {
    const feedHead = await s.app.log.head("feed");
    const res = await post("/api/rooms/general/messages", { text: "ping @lin and @nobody", clientId: "m-1" }, ada.cookie);
    expect(res.status).toBe(201);
    const { event } = (await res.json()) as { event: RealtimeEvent };
    await post("/api/rooms/general/messages", { text: "ping @lin and @nobody", clientId: "m-1" }, ada.cookie);
    const feed = await s.app.log.readAfter("feed", feedHead, 10);
    expect(feed).toHaveLength(1);
    expect(feed[0]).toMatchObject({ type: "message.posted", data: { roomId: "general", seq: event.seq, preview: "ping @lin and @nobody" } });

    const notes = (await (await s.api("/api/notifications", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[]; readSeq: number };
    expect(notes.readSeq).toBe(0);
    expect(notes.events).toHaveLength(1);
    expect(notes.events[0]).toMatchObject({ stream: `user:${lin.user.id}`, type: "mention", actor: { name: "Ada" }, data: { roomId: "general", seq: event.seq } });
    // The author is not notified of their own mention.
    await post("/api/rooms/general/messages", { text: "note to self @Ada", clientId: "m-2" }, ada.cookie);
    const mine = (await (await s.api("/api/notifications", { cookie: ada.cookie })).json()) as { events: RealtimeEvent[] };
    expect(mine.events).toHaveLength(0);
  });

  it("mentions a name with spaces by its longest match, not the shorter name inside it", async () => {
    const grace = await s.signIn("Grace Hopper");
    const plainGrace = await s.signIn("Grace");
    const notes = async (cookie: string) =>
      ((await (await s.api("/api/notifications", { cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect((await post("/api/rooms/general/messages", { text: "thanks @Grace Hopper, and @grace too", clientId: "m-gh" }, ada.cookie)).status).toBe(201);
    // "@Grace Hopper" is Grace Hopper; "@grace too" is Grace ("grace too" is nobody's name).
    expect(await notes(grace.cookie)).toHaveLength(1);
    expect(await notes(plainGrace.cookie)).toHaveLength(1);
    expect((await post("/api/rooms/general/messages", { text: "@Grace Hopper: the compiler works", clientId: "m-gh2" }, ada.cookie)).status).toBe(201);
    expect(await notes(grace.cookie)).toHaveLength(2);
    expect(await notes(plainGrace.cookie)).toHaveLength(1);
    // Her own mention notifies nobody, not even the Grace whose name is shorter.
    await post("/api/rooms/general/messages", { text: "signed, @Grace Hopper", clientId: "m-gh3" }, grace.cookie);
    expect(await notes(grace.cookie)).toHaveLength(2);
    expect(await notes(plainGrace.cookie)).toHaveLength(1);
  });

  it("keeps one read marker per person that only moves forward", async () => {
    const read = (seq: number) => post("/api/notifications/read", { seq }, lin.cookie);
    expect((await read(1)).status).toBe(204);
    expect(((await (await s.api("/api/notifications", { cookie: lin.cookie })).json()) as { readSeq: number }).readSeq).toBe(1);
    await read(0);
    expect(((await (await s.api("/api/notifications", { cookie: lin.cookie })).json()) as { readSeq: number }).readSeq).toBe(1);
    expect((await post("/api/notifications/read", { seq: -1 }, lin.cookie)).status).toBe(400);
  });

  it("clamps a read marker beyond the head to the head, so a later mention still counts as unread", async () => {
    const kim = await s.signIn("Kim");
    const notes = async () =>
      (await (await s.api("/api/notifications", { cookie: kim.cookie })).json()) as { events: RealtimeEvent[]; readSeq: number };
    for (const clientId of ["k-1", "k-2"]) {
      expect((await post("/api/rooms/general/messages", { text: "hello @Kim", clientId }, ada.cookie)).status).toBe(201);
    }
    expect((await notes()).events.map((e) => e.seq)).toEqual([1, 2]);
    expect((await post("/api/notifications/read", { seq: 1_000 }, kim.cookie)).status).toBe(204);
    expect((await notes()).readSeq).toBe(2);
    await post("/api/rooms/general/messages", { text: "and again @Kim", clientId: "k-3" }, ada.cookie);
    const after = await notes();
    expect(after.events.filter((e) => e.seq > after.readSeq).map((e) => e.seq)).toEqual([3]);
  });

  it("answers bad input with its code and status, and writes nothing", async () => {
    const before = await countEvents();
    const cases: Array<[string, unknown, number, string]> = [
      ["/api/rooms/general/messages", "{not json", 400, "bad_json"],
      ["/api/rooms/general/messages", { text: "   ", clientId: "e1" }, 400, "invalid_text"],
      ["/api/rooms/general/messages", { text: "x".repeat(4001), clientId: "e2" }, 400, "invalid_text"],
      ["/api/rooms/general/messages", { text: 12, clientId: "e3" }, 400, "invalid_text"],
      ["/api/rooms/general/messages", { text: "hi" }, 400, "invalid_text"],
      ["/api/rooms/general/messages", { text: "x".repeat(70_000), clientId: "e4" }, 413, "payload_too_large"],
      ["/api/rooms/nope/messages", { text: "hi", clientId: "e5" }, 404, "unknown_room"],
      ["/api/rooms/general/cursor", { x: 2, y: 0 }, 400, "invalid_body"],
      ["/api/rooms/general/cursor", { x: "a", y: 0 }, 400, "invalid_body"],
      ["/api/rooms/nope/typing", {}, 404, "unknown_room"],
    ];
    for (const [path, body, status, code] of cases) {
      const res = await post(path, body, ada.cookie);
      expect(res.status, `${path} ${JSON.stringify(body).slice(0, 40)}`).toBe(status);
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect(json.error.code).toBe(code);
      expect(json.error.message).toMatch(/\w/);
    }
    expect((await s.api("/api/rooms/nope/events", { cookie: ada.cookie })).status).toBe(404);
    expect((await post("/api/rooms/general/messages", { text: "hi", clientId: "e6" })).status).toBe(401);
    expect(await countEvents()).toBe(before);
  });

  it("refuses NUL characters and unpaired surrogates, which Postgres cannot store, with 400 and writes nothing", async () => {
    // A person of its own: the tests before this one spend Ada's send rate.
    const ada = await s.signIn("Ada");
    const before = await countEvents();
    // Raw JSON, so the escapes reach the server exactly as a client could send them.
    const cases: Array<[string, string, string]> = [
      ["/api/rooms/general/messages", '{"text":"a\\u0000b","clientId":"nul-1"}', "invalid_text"],
      ["/api/rooms/general/messages", '{"text":"lone \\ud800 high","clientId":"nul-2"}', "invalid_text"],
      ["/api/rooms/general/messages", '{"text":"lone \\udc00 low","clientId":"nul-3"}', "invalid_text"],
      ["/api/rooms/general/messages", '{"text":"fine","clientId":"nul\\u0000"}', "invalid_text"],
      ["/api/rooms/general/messages", '{"text":"fine","clientId":"nul\\udfff"}', "invalid_text"],
      ["/api/session", '{"name":"Ada\\u0000"}', "invalid_name"],
      ["/api/session", '{"name":"Ada\\ud83d"}', "invalid_name"],
    ];
    for (const [path, body, code] of cases) {
      const res = await post(path, body, ada.cookie);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, body).toBe(code);
    }
    expect(await countEvents()).toBe(before);
    // A surrogate pair (an emoji) is one whole character and stays welcome.
    const emoji = await post("/api/rooms/general/messages", '{"text":"party \\ud83c\\udf89","clientId":"nul-ok"}', ada.cookie);
    expect(emoji.status).toBe(201);
    expect(((await emoji.json()) as { event: RealtimeEvent }).event.data).toMatchObject({ text: "party 🎉" });
  });

  it("answers unknown endpoints 404 and wrong methods 405 with codes", async () => {
    const missing = await s.api("/api/nothing-here", { cookie: ada.cookie });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const wrong = await s.api("/api/rooms", { method: "PUT", cookie: ada.cookie });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toMatch(/GET/);
  });

  it("accepts typing and cursor over HTTP for fallback clients", async () => {
    expect((await post("/api/rooms/general/typing", {}, ada.cookie)).status).toBe(204);
    expect(s.app.hub.typing.users("general").map((u) => u.id)).toContain(ada.user.id);
    expect((await post("/api/rooms/general/typing", { stop: true }, ada.cookie)).status).toBe(204);
    expect(s.app.hub.typing.users("general")).toEqual([]);
    expect((await post("/api/rooms/general/cursor", { x: 0.25, y: 0.75 }, ada.cookie)).status).toBe(204);
    expect(s.app.hub.cursors.snapshot("general")[ada.user.id]).toMatchObject({ x: 0.25, y: 0.75, name: "Ada" });
  });
});

describe("operations", () => {
  it("serves /healthz, /readyz and Prometheus /metrics", async () => {
    // Send limits are per person: a writer of its own, whatever Ada spent in earlier tests.
    const writer = await s.signIn("Ada");
    expect((await s.api("/healthz")).status).toBe(200);
    expect((await s.api("/readyz")).status).toBe(200);
    const metrics = await s.api("/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/text\/plain/);
    const before = parseMetrics(await metrics.text());
    // One message with a mention: a room event, a feed event and a mention, nothing else.
    expect((await post("/api/rooms/general/messages", { text: "metrics @Lin", clientId: "metrics-1" }, writer.cookie)).status).toBe(201);
    const after = await scrapeMetrics(s.url);
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta("rt_appends_total", { stream_kind: "room" })).toBe(1);
    expect(delta("rt_appends_total", { stream_kind: "feed" })).toBe(1);
    expect(delta("rt_appends_total", { stream_kind: "user" })).toBe(1);
    // Every appended event is in exactly one committed batch, and each batch is one commit.
    expect(delta("rt_append_batch_size_sum")).toBe(3);
    const batches = delta("rt_append_batch_size_count");
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(3);
    expect(delta("rt_append_commit_seconds_count")).toBe(batches);
    expect(delta("rt_http_requests_total", { route: "/api/rooms/:id/messages", method: "POST", status: "201" })).toBe(1);
  });

  it("counts held polls among the requests but does not time them: a poll's duration is how long it was held", async () => {
    const before = await scrapeMetrics(s.url);
    const answer = await s.api("/api/poll?streams=room:general&wait=0.3", { cookie: ada.cookie });
    expect(answer.status).toBe(200);
    await answer.text();
    const after = await scrapeMetrics(s.url);
    const delta = (name: string, labels: Record<string, string>) => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta("rt_http_requests_total", { route: "/api/poll", method: "GET", status: "200" })).toBe(1);
    expect(delta("rt_http_request_seconds_count", { route: "/api/poll" })).toBe(0);
    // Other requests are timed as before.
    expect(delta("rt_http_request_seconds_count", { route: "/metrics" })).toBe(1);
  });

  it("counts requests that match no route under one label, whatever their path", async () => {
    const unmatched = async () =>
      metricValue(await scrapeMetrics(s.url), "rt_http_requests_total", { route: "unmatched", method: "GET", status: "404" });
    const before = await unmatched();
    for (const p of ["/api/nothing-1", "/api/nothing-2", "/wp-login.php", "/api/rooms/a/b/c"]) {
      expect((await s.api(p, { cookie: ada.cookie })).status).toBe(404);
    }
    const text = await (await s.api("/metrics")).text();
    expect(await unmatched()).toBe(before + 4);
    expect(text).not.toMatch(/nothing-1|wp-login/);
  });

  it("serves the process's own metrics (CPU, memory, event loop, handles) beside the app's", async () => {
    const withDefaults = await startServer({ testDb: s.testDb, defaultMetrics: true });
    try {
      const text = await (await withDefaults.api("/metrics")).text();
      for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes", "nodejs_active_handles_total"]) {
        expect(text, name).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? `, "m"));
      }
      expect(text).toMatch(/^# TYPE rt_appends_total counter$/m);
    } finally {
      await withDefaults.stop();
    }
  });
});

describe("ops summary", () => {
  it("reports connections by transport and message rates for the ops page", async () => {
    const ws = await s.connect(ada.cookie);
    ws.send({ type: "join", room: "general" });
    await ws.next((f) => f.type === "joined");
    const { OpsSampler } = await import("../../server/ops");
    const sampler = new OpsSampler(s.app.metrics, "t");
    await sampler.sample();
    await s.app.workspace.postMessage("general", ada.user, "counted", "ops-1");
    const res = await s.api("/api/ops", { cookie: ada.cookie });
    expect(res.status).toBe(200);
    const snap = (await res.json()) as { instance: string; samples: unknown[] };
    expect(snap.instance).toBeTruthy();
    expect((await s.api("/api/ops")).status).toBe(401);
    // The next sample sees the open socket and the message.
    const sample = await sampler.sample();
    expect(sample.connections.ws).toBe(1);
    expect(sample.messagesPerSec).toBeGreaterThan(0);
    ws.close();
  });
});

describe("hot counters", () => {
  it("count every frame and delivery, read at scrape time", async () => {
    const a = await s.connect(ada.cookie);
    a.send({ type: "join", room: "general" });
    await a.next((f) => f.type === "joined");
    const before = await s.api("/metrics").then((r) => r.text());
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
    const deliveries = /rt_deliveries_total\{transport="ws"[^}]*\} (\d+)/;
    const events = /rt_ws_frames_out_total\{type="event"[^}]*\} (\d+)/;
    for (let i = 0; i < 3; i++) await s.app.workspace.postMessage("general", ada.user, `hot ${i}`, `hot-${i}`);
    await a.next((f) => f.type === "event" && f.event.seq > 0 && (f.event.data as { text?: string }).text === "hot 2");
    const after = await s.api("/metrics").then((r) => r.text());
    expect(count(after, deliveries) - count(before, deliveries)).toBe(3);
    expect(count(after, events) - count(before, events)).toBe(3);
    a.close();
  });
});

describe("slow clients", () => {
  let slow: TestServer;
  let grace: Person;

  beforeAll(async () => {
    [slow, grace] = await startServerWith(["Grace"], {
      testDb: s.testDb,
      tuning: { bodyIdleTimeoutMs: 300, requestTimeoutMs: 1000, timeoutCheckIntervalMs: 100 },
    });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  /** Sends a POST's headers and the start of its body by hand; resolves with all it hears back. */
  const rawPost = (path: string, body: string, sent: number, trickleMs?: number) =>
    new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
      const { port } = new URL(slow.url);
      const socket = net.connect(Number(port), "127.0.0.1");
      let text = "";
      let timer: NodeJS.Timeout | null = null;
      socket.setEncoding("utf8");
      socket.on("data", (d: string) => (text += d));
      socket.on("error", reject);
      socket.on("close", () => {
        if (timer) clearInterval(timer);
        resolve({ text, closed: true });
      });
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${grace.cookie}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body.slice(0, sent)}`,
      );
      // A byte now and then: never idle long, but never done either.
      let at = sent;
      if (trickleMs) timer = setInterval(() => at < body.length - 1 && socket.write(body[at++]!), trickleMs);
      setTimeout(() => {
        socket.destroy();
        reject(new Error(`no answer; got ${JSON.stringify(text)}`));
      }, 8000).unref();
    });

  it("answers a body that stops halfway with 408 request_timeout, closes the connection and writes nothing", async () => {
    const before = await countEvents();
    const body = JSON.stringify({ text: "never finished", clientId: "slow-1" });
    const { text, closed } = await rawPost("/api/rooms/general/messages", body, 20);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text.toLowerCase()).toContain("connection: close");
    expect(text).toContain('"code":"request_timeout"');
    expect(closed).toBe(true);
    expect(await countEvents()).toBe(before);
  });

  it("answers a body that trickles past the request timeout with 408", async () => {
    const body = JSON.stringify({ text: "x".repeat(500), clientId: "slow-2" });
    const { text, closed } = await rawPost("/api/rooms/general/messages", body, 20, 50);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(closed).toBe(true);
  });

  it("leaves SSE streams, held polls and WebSockets open past the request timeout", async () => {
    const stream = await fetch(`${slow.url}/api/stream?streams=feed`, { headers: { cookie: grace.cookie } });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const poll = slow.api("/api/poll?streams=feed&wait=2", { cookie: grace.cookie });
    const ws = await slow.connect(grace.cookie);
    await new Promise((r) => setTimeout(r, 1500));

    expect((await slow.api("/api/rooms/general/messages", { method: "POST", body: JSON.stringify({ text: "still here", clientId: "slow-3" }), cookie: grace.cookie })).status).toBe(201);
    let seen = "";
    while (!seen.includes("still here")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`stream ended; got ${seen}`);
      seen += new TextDecoder().decode(value);
    }
    const answer = await poll;
    expect(answer.status).toBe(200);
    ws.send({ type: "join", room: "general" });
    await ws.next((f) => f.type === "joined");
    ws.close();
    await reader.cancel();
  });
});

describe("answers the pages read", () => {
  // The stores check every answer against these schemas (lib/store/http.ts) and refuse what
  // does not match: the server's real answers must all pass.
  it("match the protocol's schemas: session, rooms, a room's history, the feed, notifications, ops", async () => {
    const room = `schemas-${Date.now()}`;
    const created = await post("/api/rooms", { name: room }, ada.cookie);
    expect(created.status).toBe(201);
    expect(roomAnswerSchema.safeParse(await created.json()).error).toBeUndefined();
    expect((await post(`/api/rooms/${room}/messages`, { text: "hello @Lin", clientId: "schema-1" }, ada.cookie)).status).toBe(201);
    const answers: Array<[string, z.ZodType]> = [
      ["/api/session", sessionAnswerSchema],
      ["/api/rooms", roomsAnswerSchema],
      [`/api/rooms/${room}/events?limit=10`, eventsPageSchema],
      ["/api/feed?limit=10", eventsPageSchema],
      ["/api/notifications?limit=10", notificationsAnswerSchema],
      ["/api/ops", opsSnapshotSchema],
    ];
    for (const [path, schema] of answers) {
      const res = await s.api(path, { cookie: lin.cookie });
      expect(res.status, path).toBe(200);
      const parsed = schema.safeParse(await res.json());
      expect(parsed.error?.issues, path).toBeUndefined();
    }
  });
});
