// The long-polling transport (`/api/poll`, and the pages' frames) on real HTTP over 127.0.0.1,
// with a real hub over an event log in memory: answered at once when events wait, held until an
// event, a change of room state or the wait's end otherwise; cursors, resets and the answer's
// limits; room state and its token; a newer poll superseding an older one; the bounds on held
// polls (in all, per session, per person and address) and their codes; a client gone, a session
// signed out, a room revoked, shutdown; slow pollers destroyed. Timers and the clock are fake.
import http from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionBudget } from "../../server/connection-budget";
import type { CommandExecutor } from "../../server/commands/executor";
import type { Logger } from "../../server/log";
import { silentLogger } from "../../server/log";
import { LongPollTransport, MAX_REMEMBERED_CLIENTS, POLL_KEEP_MS, POLL_STATE_INTERVAL_MS, type LongPollOptions } from "../../server/transports/longpoll";
import { FRAME_RATE } from "../../server/commands/limits";
import { createMetrics } from "../../server/metrics";
import { PersonRates } from "../../server/ratelimit";
import type { ServerFrame } from "../../lib/protocol";
import { ada, hubWorld, lin, memoryWorkspace, metric, rawClient, serve, sessionOf, turns, until } from "../helpers/transport-world";

interface PollAnswer {
  events: Array<{ stream: string; seq: number; type: string; data: Record<string, unknown> }>;
  cursor: string;
  rooms?: Record<string, { members: Array<{ id: string }>; typing: unknown[]; cursors: unknown }>;
  resets?: Record<string, number>;
  state?: string;
  error?: { code: string; message: string };
}

/** One poll as its client sees it. */
class Poll {
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  text = "";
  done = false;
  constructor(readonly req: http.ClientRequest) {}
  get body(): PollAnswer {
    return JSON.parse(this.text) as PollAnswer;
  }
  /** The seqs of the events it carried, as `stream:seq`. */
  get seqs(): string[] {
    return this.body.events.map((e) => `${e.stream}#${e.seq}`);
  }
  close(): void {
    this.req.destroy();
  }
}
const polls: Poll[] = [];

const FEED = "feed";
const ME = `user:${lin.id}`;
const GENERAL = "room:general";

const executed: unknown[] = [];
const contexts: unknown[] = [];
const fakeExecutor = {
  execute: async (frame: { type: string; room?: string }, ctx: unknown) => {
    executed.push(frame);
    contexts.push(ctx);
    if (frame.type === "typing") return { frames: [] };
    if (frame.type === "send") return { frames: [], later: Promise.resolve({ frames: [{ type: "ack", clientId: "c1", seq: 1 }] }) };
    if (frame.type === "join" && frame.room === "nowhere") return { frames: [{ type: "error", code: "unknown_room", message: "no" }] };
    return { frames: [{ type: "joined", room: frame.room, head: 0, members: [] }] };
  },
} as unknown as CommandExecutor;

async function world(opts: Partial<LongPollOptions> = {}, rooms?: string[]) {
  const { hub, log, metrics, clock } = hubWorld();
  const ws = memoryWorkspace(rooms);
  const errors: unknown[] = [];
  const logger = { ...silentLogger, error: (obj: unknown, msg: string) => void errors.push([obj, msg]) } as unknown as Logger;
  const lp = new LongPollTransport({ hub, log: log.log, workspace: ws.workspace, logger, metrics, batchMs: 0, executor: fakeExecutor, ...opts });
  const sessions = [sessionOf(lin), sessionOf(ada), sessionOf(lin, "s-lin-2")];
  const server = await serve((req, res, url, session) => lp.handle(req, res, url, session), sessions);
  servers.push(server);
  const poll = (path: string, headers: Record<string, string> = {}): Poll => {
    const req = http.get({ host: "127.0.0.1", port: server.port, path, headers, agent: false });
    const p = new Poll(req);
    polls.push(p);
    req.on("response", (res) => {
      p.status = res.statusCode ?? 0;
      p.headers = res.headers;
      res.setEncoding("utf8");
      res.on("data", (d: string) => (p.text += d));
      res.on("end", () => (p.done = true));
    });
    req.on("error", () => {});
    return p;
  };
  /** A poll, answered. */
  const answered = async (path: string, headers: Record<string, string> = {}) => {
    const p = poll(path, headers);
    await until(() => p.done, `an answer to ${path}`);
    return p;
  };
  /** A poll the server holds (it is counted as held, unanswered). */
  const held = async (path: string, headers: Record<string, string> = {}) => {
    const before = lp.taken;
    const p = poll(path, headers);
    await until(() => lp.taken > before || p.done, `${path} held`);
    await turns(5);
    expect(p.done).toBe(false);
    return p;
  };
  const pollers = () => hub.connections().filter((c) => c.transport === "longpoll");
  return { clock, hub, log, metrics, lp, server, poll, answered, held, pollers, errors, joins: ws.joins, failJoins: ws.failJoins, holdJoins: ws.holdJoins, sessions };
}
const servers: Array<{ close(): Promise<void>; errors: unknown[] }> = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: 1_000_000 });
  executed.length = 0;
  contexts.length = 0;
});
afterEach(async () => {
  vi.useRealTimers();
  for (const p of polls.splice(0)) p.close();
  for (const s of servers.splice(0)) {
    expect(s.errors).toEqual([]);
    await s.close();
  }
});

describe("a poll", () => {
  it("answers at once with every event after its cursor, in order, and the cursor after them", async () => {
    const { log, answered, metrics, lp } = await world();
    for (let i = 0; i < 3; i++) log.append(FEED);
    log.append(ME);
    const p = await answered("/api/poll?streams=feed,user:me&cursor=feed%3D1,user:me%3D0");
    expect(p.status).toBe(200);
    expect(p.headers).toMatchObject({ "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    expect(Number(p.headers["content-length"])).toBe(Buffer.byteLength(p.text));
    expect(p.seqs.sort()).toEqual(["feed#2", "feed#3", `${ME}#1`]);
    expect(p.body.cursor).toBe(`feed=3,${ME}=1`);
    // A version 1 poll always carries its rooms' state: here, none.
    expect(Object.keys(p.body)).toEqual(["events", "cursor", "rooms"]);
    expect(p.body.rooms).toEqual({});
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(1);
    expect(await metric(metrics, "rt_resumes_total", { transport: "longpoll" })).toBe(2);
    expect(lp.size).toBe(0);
    expect(await metric(metrics, "rt_polls_held")).toBe(0);
    expect(await metric(metrics, "rt_poll_answer_encodings_total")).toBe(1);
  });

  it("ignores a cursor's position for a stream it does not poll", async () => {
    const { log, answered } = await world();
    log.append(FEED);
    const p = await answered("/api/poll?streams=feed&cursor=feed%3D0,user:me%3D5");
    expect([p.seqs, p.body.cursor]).toEqual([["feed#1"], "feed=1"]);
  });

  it("names its streams in the order the client gave, a stream without a cursor at its head", async () => {
    const { log, answered } = await world();
    log.append(ME);
    log.append(FEED);
    log.append(FEED);
    const p = await answered("/api/poll?streams=user:me,feed&cursor=feed%3D1&wait=0");
    expect(p.body.cursor).toBe(`${ME}=1,feed=2`);
    expect(p.seqs).toEqual(["feed#2"]);
  });

  it("answers wait=0 at once, empty, with where each stream is", async () => {
    const { log, answered, metrics } = await world();
    log.append(FEED);
    const p = await answered("/api/poll?streams=feed&wait=0");
    expect(p.body).toEqual({ events: [], cursor: "feed=1", rooms: {} });
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "immediate" })).toBe(1);
    // With events waiting, wait=0 is an answer with events.
    const q = await answered("/api/poll?streams=feed&wait=0&cursor=feed%3D0");
    expect(q.seqs).toEqual(["feed#1"]);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(1);
  });

  it("holds a poll with nothing new, and answers it with the event that commits", async () => {
    const { log, held, lp, pollers, metrics } = await world();
    const p = await held("/api/poll?streams=feed");
    expect(lp.size).toBe(1);
    expect(await metric(metrics, "rt_polls_held")).toBe(1);
    expect(pollers().map((c) => [c.user.id, c.sessionId])).toEqual([[lin.id, `s-${lin.id}`]]);
    expect(pollers()[0]!.id).toMatch(/^lp-\d+$/);
    log.commit(FEED, FEED);
    await until(() => p.done);
    expect(p.seqs).toEqual(["feed#1", "feed#2"]);
    expect(p.body.cursor).toBe("feed=2");
    // Answered, its subscription is kept for the client's next poll, then let go.
    expect([lp.size, lp.keptSize, pollers().length]).toEqual([0, 1, 1]);
    vi.advanceTimersByTime(POLL_KEEP_MS);
    expect([lp.keptSize, pollers().length]).toEqual([0, 0]);
    expect(await metric(metrics, "rt_polls_kept")).toBe(0);
  });

  it("answers an empty poll when its wait has passed, with the same cursor", async () => {
    const { log, held, metrics, lp } = await world();
    log.append(FEED);
    const p = await held("/api/poll?streams=feed&wait=2");
    vi.advanceTimersByTime(1_999);
    await turns();
    expect(p.done).toBe(false);
    vi.advanceTimersByTime(1);
    await until(() => p.done);
    expect(p.body).toEqual({ events: [], cursor: "feed=1", rooms: {} });
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "timeout" })).toBe(1);
    expect(lp.size).toBe(0);
  });

  it("waits 25 seconds at most, and by default", async () => {
    const { held } = await world();
    const asked = await held("/api/poll?streams=feed&wait=600");
    const plain = await held("/api/poll?streams=feed&wait=", { "x-session": `s-${ada.id}` });
    vi.advanceTimersByTime(24_999);
    await turns();
    expect([asked.done, plain.done]).toEqual([false, false]);
    vi.advanceTimersByTime(1);
    await until(() => asked.done && plain.done);
    const fractional = await held("/api/poll?streams=feed&wait=0.5");
    vi.advanceTimersByTime(500);
    await until(() => fractional.done);
  });

  it("refuses a wait that is not a number of seconds, or a state token that is too long, with 400", async () => {
    const { answered, lp } = await world();
    for (const q of ["wait=-1", "wait=soon", "wait=Infinity", `state=${"x".repeat(201)}`]) {
      const p = await answered(`/api/poll?streams=feed&${q}`);
      expect([q, p.status, p.body.error?.code]).toEqual([q, 400, "bad_request"]);
      expect(p.body.error?.message).toBe(q.startsWith("state") ? "state must be the `state` of an earlier answer" : "wait must be a number of seconds ≥ 0");
    }
    const ok = await answered(`/api/poll?streams=feed&wait=0&state=${"x".repeat(200)}`);
    expect(ok.status).toBe(200);
    expect(lp.size).toBe(0);
  });

  it("says so when a cursor is beyond the log's head (the log was reset), at once, going on from the head", async () => {
    const { log, answered, metrics } = await world();
    log.append(FEED);
    log.append(ME);
    const p = await answered("/api/poll?streams=feed,user:me&cursor=feed%3D9,user:me%3D1");
    expect(p.body).toEqual({ events: [], cursor: `feed=1,${ME}=1`, rooms: {}, resets: { feed: 1 } });
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(1);
    // Made for this poller alone: the next poller at the same position is not answered with it.
    const again = await answered("/api/poll?streams=feed,user:me&cursor=feed%3D1,user:me%3D1&wait=0");
    expect(again.body).toEqual({ events: [], cursor: `feed=1,${ME}=1`, rooms: {} });
  });

  it("carries at most maxEvents events; the cursor says which, and the next poll gets the rest", async () => {
    const { log, answered } = await world({ maxEvents: 2 });
    for (let i = 0; i < 5; i++) log.append(FEED);
    const first = await answered("/api/poll?streams=feed&cursor=feed%3D0");
    expect([first.seqs, first.body.cursor]).toEqual([["feed#1", "feed#2"], "feed=2"]);
    const second = await answered("/api/poll?streams=feed&cursor=feed%3D2");
    expect([second.seqs, second.body.cursor]).toEqual([["feed#3", "feed#4"], "feed=4"]);
  });

  it("carries one answer's bytes at most — at least one event however big — and is woken when a commit fills it", async () => {
    const { log, answered, held } = await world({ maxAnswerBytes: 1_000 });
    log.commit({ stream: FEED, data: { text: "x".repeat(1_500) } });
    log.append(FEED);
    const first = await answered("/api/poll?streams=feed&cursor=feed%3D0");
    expect([first.seqs, first.body.cursor]).toEqual([["feed#1"], "feed=1"]);
    const second = await answered("/api/poll?streams=feed&cursor=feed%3D1");
    expect(second.seqs).toEqual(["feed#2"]);
    // Held, then filled by one commit of several events: answered with what fits.
    const p = await held("/api/poll?streams=feed&cursor=feed%3D2");
    log.commit({ stream: FEED, data: { text: "y".repeat(450) } }, { stream: FEED, data: { text: "z".repeat(450) } }, FEED);
    await until(() => p.done);
    expect([p.seqs, p.body.cursor]).toEqual([["feed#3", "feed#4"], "feed=4"]);
  });

  it("answers at once a poll holding a whole answer's worth, even while a window is open", async () => {
    const { log, held, answered, metrics } = await world({ batchMs: 60_000, batchBytes: 500 });
    const warm = await held("/api/poll?streams=feed&conn=warm");
    log.commit(FEED);
    await until(() => warm.done);
    // The next window is a burst's: it waits (a minute here) …
    const waiting = await held("/api/poll?streams=feed&cursor=feed%3D1&conn=w");
    log.commit(FEED);
    await turns();
    expect(waiting.done).toBe(false);
    // … and a poll arriving with less than a whole answer waiting joins it …
    const small = await held("/api/poll?streams=feed&cursor=feed%3D1&conn=s");
    expect(small.done).toBe(false);
    // … until a commit makes it a whole answer: then both go at once.
    log.commit({ stream: FEED, data: { text: "x".repeat(600) } });
    await until(() => small.done && waiting.done);
    expect(small.seqs).toEqual(["feed#2", "feed#3"]);
    // A poll arriving with a whole answer waiting does not wait.
    const big = await answered("/api/poll?streams=feed&cursor=feed%3D2&conn=b");
    expect(big.seqs).toEqual(["feed#3"]);
    // The window's end answers nothing twice.
    vi.advanceTimersByTime(60_000);
    await turns();
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(4);
  });

  it("answers a held poll at once when a commit fills it, while a window is open", async () => {
    const { log, held, metrics } = await world({ batchMs: 60_000, maxEvents: 2 });
    const warm = await held("/api/poll?streams=feed&conn=warm");
    log.commit(FEED);
    await until(() => warm.done);
    const p = await held("/api/poll?streams=feed&cursor=feed%3D1");
    log.commit(FEED);
    await turns();
    expect(p.done).toBe(false);
    log.commit(FEED, FEED);
    await until(() => p.done);
    expect([p.seqs, p.body.cursor]).toEqual([["feed#2", "feed#3"], "feed=3"]);
    vi.advanceTimersByTime(60_000);
    await turns();
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(2);
  });

  it("waits out the batch window after the first event, gathering what else commits", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"], now: 1_000_000 });
    const { log, held } = await world({ batchMs: 50 });
    // A first window opens and closes (a quiet server answers at once) …
    const warm = await held("/api/poll?streams=feed");
    log.commit(FEED);
    await until(() => warm.done);
    // … the next event within one and a half windows finds the server busy: its poll waits.
    const p = await held("/api/poll?streams=feed&cursor=feed%3D1");
    log.commit(FEED);
    await turns();
    expect(p.done).toBe(false);
    log.commit(FEED);
    // A poll arriving with events waiting joins the open window.
    const late = await held("/api/poll?streams=feed&cursor=feed%3D1", { "x-session": `s-${ada.id}` });
    vi.advanceTimersByTime(49);
    await turns();
    expect(p.done).toBe(false);
    vi.advanceTimersByTime(1);
    await until(() => p.done && late.done);
    expect(p.seqs).toEqual(["feed#2", "feed#3"]);
    expect(late.text).toBe(p.text);
  });
});

/** The JSON size of an event the memory log makes (what a poll counts against its limits). */
const eventBytes = (stream: string, seq: number, data: Record<string, unknown> = {}) =>
  Buffer.byteLength(JSON.stringify({ stream, seq, type: "message.posted", actor: ada, at: new Date(0).toISOString(), data }));

describe("an answer's limits, exactly", () => {
  it("is full at exactly maxAnswerBytes of events", async () => {
    const { log, answered } = await world({ maxAnswerBytes: eventBytes(FEED, 1) });
    log.append(FEED);
    log.append(FEED);
    const p = await answered("/api/poll?streams=feed&cursor=feed%3D0");
    expect(p.seqs).toEqual(["feed#1"]);
  });

  it("answers at once with exactly a whole answer's worth of events, woken by them or finding them waiting", async () => {
    const big = { text: "x".repeat(300) };
    const whole = eventBytes(FEED, 2, big);
    expect(eventBytes(FEED, 4, big)).toBe(whole);
    const { log, held, answered } = await world({ batchMs: 60_000, batchBytes: whole });
    const warm = await held("/api/poll?streams=feed&conn=warm");
    log.commit(FEED);
    await until(() => warm.done);
    // Woken by exactly a whole answer: no window is waited out.
    const p = await held("/api/poll?streams=feed&cursor=feed%3D1&conn=p");
    log.commit({ stream: FEED, data: big });
    await until(() => p.done);
    expect(p.seqs).toEqual(["feed#2"]);
    // A window is open (a small event woke a poll) …
    const w = await held("/api/poll?streams=feed&cursor=feed%3D2&conn=w");
    log.commit(FEED);
    await turns();
    expect(w.done).toBe(false);
    log.commit({ stream: FEED, data: big });
    await until(() => w.done);
    // … and a poll finding exactly a whole answer waiting does not join it.
    const q = await answered("/api/poll?streams=feed&cursor=feed%3D3&conn=q");
    expect(q.seqs).toEqual(["feed#4"]);
  });
});

describe("room state", () => {
  it("remembers the last answers of at most MAX_REMEMBERED_CLIENTS clients, forgetting the oldest first", async () => {
    const { lp } = await world();
    for (let i = 0; i <= MAX_REMEMBERED_CLIENTS; i++) lp.noteAnswer(`client-${i}`, ["general"], false);
    // The first is forgotten: its room state is news to it again, as to a client never seen.
    expect(lp.stateChangedSince("client-0", ["general"])).toBe(true);
    expect(lp.stateChangedSince("client-1", ["general"])).toBe(false);
    expect(lp.stateChangedSince(`client-${MAX_REMEMBERED_CLIENTS}`, ["general"])).toBe(false);
  });

  it("joins the rooms it polls, marks a version 1 poller present, and carries each room's state", async () => {
    const { answered, hub, joins } = await world();
    const p = await answered("/api/poll?streams=room:general,feed&wait=0");
    expect(joins).toEqual([`${lin.id}@general`]);
    expect(hub.members("general").map((u) => u.id)).toEqual([lin.id]);
    expect(p.body.rooms).toEqual({ general: { members: [lin], typing: [], cursors: {} } });
    expect(p.body.state).toMatch(/\.[0-9a-z]+$/);
    expect(Object.keys(p.body)).toEqual(["events", "cursor", "rooms", "state"]);
  });


  it("goes on when recording the join fails, logging why", async () => {
    const { answered, failJoins, errors } = await world();
    failJoins(true);
    const p = await answered("/api/poll?streams=room:general&wait=0");
    expect(p.status).toBe(200);
    expect(errors).toEqual([[{ err: expect.objectContaining({ message: "the database is down" }), room: "general" }, "recording the join failed"]]);
    errors.length = 0;
  });

  it("marks a version 1 poller present for its presence TTL, renewed by each poll (35 s by default)", async () => {
    const { answered, hub, clock } = await world();
    await answered("/api/poll?streams=room:general&wait=0");
    clock.advance(34_999);
    expect(hub.members("general").map((u) => u.id)).toEqual([lin.id]);
    clock.advance(1);
    clock.advance(2_000);
    expect(hub.members("general")).toEqual([]);
    const short = await world({ presenceTtlMs: 5_000 });
    await short.answered("/api/poll?streams=room:general&wait=0");
    short.clock.advance(4_000);
    await short.answered("/api/poll?streams=room:general&wait=0");
    short.clock.advance(4_999);
    expect(short.hub.members("general").map((u) => u.id)).toEqual([lin.id]);
    short.clock.advance(3_000);
    expect(short.hub.members("general")).toEqual([]);
  });

  it("does not mark a page that sends frames present by its polls", async () => {
    const { answered, hub, lp, sessions } = await world();
    await lp.runFrames(sessions[0]!, "tab-1", [{ type: "typing", room: "general" }]);
    const p = await answered("/api/poll?streams=room:general&conn=tab-1&wait=0");
    expect(p.body.rooms?.general?.members).toEqual([]);
    expect(hub.members("general")).toEqual([]);
  });

  it("answers a held poll for a change of room state, at most once per interval", async () => {
    const { held, hub, answered } = await world();
    await answered("/api/poll?streams=room:general&wait=0&conn=c1");
    const p = await held("/api/poll?streams=room:general&conn=c1");
    hub.setTyping("general", ada, true);
    await turns();
    expect(p.done).toBe(false);
    vi.advanceTimersByTime(0);
    await until(() => p.done);
    expect(p.body.rooms?.general?.typing).toEqual([{ id: ada.id, name: ada.name }]);
    // The next change waits out the interval since this answer.
    const q = await held("/api/poll?streams=room:general&conn=c1");
    hub.setTyping("general", ada, false);
    vi.advanceTimersByTime(POLL_STATE_INTERVAL_MS - 1);
    await turns();
    expect(q.done).toBe(false);
    vi.advanceTimersByTime(1);
    await until(() => q.done);
    expect(q.body.rooms?.general?.typing).toEqual([]);
  });

  it("answers a version 1 poll at once when the room changed since its last answer", async () => {
    const { held, hub, answered, metrics } = await world({ stateIntervalMs: 1_000 });
    await answered("/api/poll?streams=room:general&wait=0&conn=c1");
    hub.setTyping("general", ada, true);
    const p = await held("/api/poll?streams=room:general&conn=c1");
    vi.advanceTimersByTime(0);
    await until(() => p.done);
    expect(p.body.rooms?.general?.typing).toEqual([{ id: ada.id, name: ada.name }]);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "state" })).toBe(1);
    // Nothing changed since: held.
    const q = await held("/api/poll?streams=room:general&conn=c1");
    vi.advanceTimersByTime(1_000);
    await turns();
    expect(q.done).toBe(false);
  });

  it("with a state token, carries the rooms only when they changed, and is answered when the token is stale", async () => {
    const { held, hub, answered } = await world();
    const first = await answered("/api/poll?streams=room:general&wait=0&conn=c1&state=");
    const token = first.body.state!;
    expect(first.body.rooms).toBeDefined();
    const same = await answered(`/api/poll?streams=room:general&wait=0&conn=c1&state=${token}`);
    expect(same.body).toEqual({ events: [], cursor: "room:general=0", state: token });
    // Held while the token is current …
    const p = await held(`/api/poll?streams=room:general&conn=c1&state=${token}`);
    vi.advanceTimersByTime(1_000);
    await turns();
    expect(p.done).toBe(false);
    p.close();
    await until(() => hub.connections().length === 0);
    // … answered with the rooms when it is not.
    hub.setTyping("general", ada, true);
    const q = await held(`/api/poll?streams=room:general&conn=c1&state=${token}`);
    vi.advanceTimersByTime(POLL_STATE_INTERVAL_MS);
    await until(() => q.done);
    expect(q.body.rooms?.general?.typing).toEqual([{ id: ada.id, name: ada.name }]);
    expect(q.body.state).not.toBe(token);
    // A poll of no room with a token is held (no state to change), and carries no rooms.
    const feed = await held(`/api/poll?streams=feed&state=${token}`);
    vi.advanceTimersByTime(POLL_STATE_INTERVAL_MS * 4);
    await turns();
    expect(feed.done).toBe(false);
    feed.close();
    const feedNow = await answered(`/api/poll?streams=feed&state=${token}&wait=0`);
    expect(feedNow.body).toEqual({ events: [], cursor: "feed=0" });
  });

  it("is not woken by canvas drags", async () => {
    const { held, hub, answered } = await world();
    await answered("/api/poll?streams=room:general&wait=0&conn=c1");
    const p = await held("/api/poll?streams=room:general&conn=c1");
    hub.moveOnCanvas("general", ada, { o1: { x: 1, y: 2, w: 3, h: 4 } } as never, undefined, "ws-1");
    hub.canvasLive.flush();
    vi.advanceTimersByTime(POLL_STATE_INTERVAL_MS * 2);
    await turns();
    expect(p.done).toBe(false);
  });
});

describe("the end of a poll", () => {
  it("knows a client by its first 64 characters, and a version 1 client by `client=`", async () => {
    const { held } = await world();
    const long = "c".repeat(64);
    const a = await held(`/api/poll?streams=feed&conn=${long}x`);
    await held(`/api/poll?streams=feed&conn=${long}y`);
    await until(() => a.done);
    const b = await held("/api/poll?streams=feed&client=v1");
    const other = await held("/api/poll?streams=feed&client=v2");
    await held("/api/poll?streams=feed&client=v1");
    await until(() => b.done);
    expect(other.done).toBe(false);
  });

  it("answers the older poll of the same client, empty, when a newer one arrives", async () => {
    const { held, lp, metrics, log } = await world();
    const old = await held("/api/poll?streams=room:general,feed&conn=c1");
    const other = await held("/api/poll?streams=feed&conn=c2");
    const next = await held("/api/poll?streams=feed,room:general&conn=c1");
    await until(() => old.done);
    expect(old.body.events).toEqual([]);
    expect([other.done, next.done, lp.size]).toEqual([false, false, 2]);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "superseded" })).toBe(1);
    log.commit(FEED);
    await until(() => other.done && next.done);
  });

  it("lets go of everything when the client goes away", async () => {
    const { held, lp, hub, metrics } = await world();
    const p = await held("/api/poll?streams=room:general");
    p.close();
    await until(() => lp.size === 0);
    expect(hub.connections()).toEqual([]);
    expect(await metric(metrics, "rt_poll_answers_total")).toBe(0);
    vi.advanceTimersByTime(30_000);
    await turns();
    expect(await metric(metrics, "rt_poll_answers_total")).toBe(0);
  });

  it("answers a signed-out session's polls at once, and a too-slow one with what it holds", async () => {
    const { held, hub, pollers, metrics } = await world();
    const p = await held("/api/poll?streams=feed");
    const q = await held("/api/poll?streams=feed", { "x-session": `s-${ada.id}` });
    hub.disconnectSession(`s-${lin.id}`, "signed-out");
    await until(() => p.done);
    expect(p.body).toEqual({ events: [], cursor: "feed=0", rooms: {} });
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "drain" })).toBe(1);
    pollers()[0]!.disconnect!("too-slow");
    await until(() => q.done);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(1);
  });

  it("answers a poll the hub cannot keep in order", async () => {
    const { held, pollers, metrics } = await world();
    const p = await held("/api/poll?streams=feed");
    pollers()[0]!.onLagged!();
    await until(() => p.done);
    expect(p.status).toBe(200);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "events" })).toBe(1);
  });

  it("answers the polls naming a room their person was removed from — its canvas too — and no other", async () => {
    const { held, hub, metrics } = await world();
    const room = await held("/api/poll?streams=room:general&conn=a");
    const canvas = await held("/api/poll?streams=canvas:general&conn=b");
    const other = await held("/api/poll?streams=feed,room:design&conn=c");
    hub.revokeRoom(lin.id, "general");
    await until(() => room.done && canvas.done);
    await turns();
    expect(other.done).toBe(false);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "drain" })).toBe(2);
  });

  it("answers every held poll on shutdown, and every poll after it at once", async () => {
    const { held, lp, answered, metrics } = await world();
    const a = await held("/api/poll?streams=feed");
    const b = await held("/api/poll?streams=feed", { "x-session": `s-${ada.id}` });
    lp.drain();
    await until(() => a.done && b.done);
    expect(lp.size).toBe(0);
    const later = await answered("/api/poll?streams=feed");
    expect(later.body).toEqual({ events: [], cursor: "feed=0", rooms: {} });
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "drain" })).toBe(2);
  });

  it("answers 503 when the log cannot be read, logging why", async () => {
    const { answered, log, errors, lp, hub } = await world();
    log.failing.add(FEED);
    const p = await answered("/api/poll?streams=feed&cursor=feed%3D3");
    expect(p.body).toEqual({ error: { code: "unavailable", message: "Try again shortly" } });
    expect(errors).toEqual([[{ err: expect.objectContaining({ message: "the log cannot read feed" }) }, "poll subscribe failed"]]);
    errors.length = 0;
    expect([lp.size, hub.connections().length]).toEqual([0, 0]);
  });

});

describe("bounds on held polls", () => {
  it("refuses polls past maxHeld with 503 overloaded and Retry-After; a poll superseding its own still gets in", async () => {
    const { held, answered, metrics, lp } = await world({ maxHeld: 2 });
    await held("/api/poll?streams=feed&conn=a");
    await held("/api/poll?streams=feed&conn=b");
    const refused = await answered("/api/poll?streams=feed&conn=c");
    expect([refused.status, refused.body.error?.code, refused.headers["retry-after"]]).toEqual([503, "overloaded", "2"]);
    expect(refused.body.error?.message).toBe("Too many polls held; try again shortly");
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "overloaded" })).toBe(1);
    await held("/api/poll?streams=feed&conn=b");
    expect(lp.size).toBe(2);
  });

  it("refuses a poll that finds the last slot taken while it joined its rooms", async () => {
    const { held, poll, lp, metrics, holdJoins, joins } = await world({ maxHeld: 1 });
    const release = holdJoins();
    const p = poll("/api/poll?streams=room:general&conn=a");
    await turns();
    await held("/api/poll?streams=feed&conn=b");
    release();
    await until(() => p.done);
    expect(joins).toEqual([`${lin.id}@general`]);
    expect([p.status, p.body.error?.code]).toEqual([503, "overloaded"]);
    expect(lp.size).toBe(1);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "overloaded" })).toBe(1);
  });

  it("lets go of a session's oldest poll, with 429 and Retry-After, past maxHeldPerSession", async () => {
    const { held, lp, metrics } = await world({ maxHeldPerSession: 2 });
    const a = await held("/api/poll?streams=feed&conn=a");
    const b = await held("/api/poll?streams=feed&conn=b");
    const other = await held("/api/poll?streams=feed&conn=a", { "x-session": `s-${ada.id}` });
    const c = await held("/api/poll?streams=feed&conn=c");
    await until(() => a.done);
    expect([a.status, a.body.error?.code, a.headers["retry-after"]]).toEqual([429, "rate_limited", "2"]);
    expect(a.body.error?.message).toBe("Too many polls held for this session; try again shortly");
    expect([b.done, c.done, other.done, lp.size]).toEqual([false, false, false, 3]);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "evicted" })).toBe(1);
  });

  it("refuses the new poll instead once a session pushes out its own polls faster than a few a second", async () => {
    const { held, answered, lp, metrics } = await world({ maxHeldPerSession: 1 });
    await held("/api/poll?streams=feed&conn=0");
    for (let i = 1; i <= 4; i++) await held(`/api/poll?streams=feed&conn=${i}`);
    const refused = await answered("/api/poll?streams=feed&conn=5");
    expect([refused.status, refused.body.error?.code, refused.headers["retry-after"]]).toEqual([429, "rate_limited", "1"]);
    expect(refused.body.error?.message).toBe("Too many polls for this session; try again shortly");
    expect(lp.size).toBe(1);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "rate_limited" })).toBe(1);
    // A second later the session may push one out again; its own poll again never counts.
    vi.advanceTimersByTime(1_000);
    await held("/api/poll?streams=feed&conn=6");
    await held("/api/poll?streams=feed&conn=6");
  });

  it("refuses a poll past a person's connection cap with 429 too_many_connections, and counts a held poll as a connection until answered", async () => {
    const budget = new ConnectionBudget({ perPerson: 1, perAddress: 10, addressOf: () => "127.0.0.1" });
    const { held, answered, metrics, log } = await world({ budget });
    const p = await held("/api/poll?streams=feed");
    expect(budget.heldBy(lin.id)).toBe(1);
    // Another person's session is refused only by its own cap …
    await held("/api/poll?streams=feed", { "x-session": `s-${ada.id}` });
    // … Lin's other session by Lin's.
    const refused = await answered("/api/poll?streams=feed", { "x-session": "s-lin-2" });
    expect([refused.status, refused.body.error?.code, refused.headers["retry-after"]]).toEqual([429, "too_many_connections", "10"]);
    expect(await metric(metrics, "rt_poll_answers_total", { reason: "too_many_connections" })).toBe(1);
    log.commit(FEED);
    await until(() => p.done);
    expect(budget.heldBy(lin.id)).toBe(0);
  });

  it("a session at its person's cap makes room by letting its oldest poll go", async () => {
    const budget = new ConnectionBudget({ perPerson: 1, perAddress: 10, addressOf: () => "127.0.0.1" });
    const { held, lp } = await world({ budget });
    const a = await held("/api/poll?streams=feed&conn=a");
    const b = await held("/api/poll?streams=feed&conn=b");
    await until(() => a.done);
    expect([a.status, a.body.error?.code]).toEqual([429, "rate_limited"]);
    expect([b.done, lp.size, budget.heldBy(lin.id)]).toEqual([false, 1, 1]);
  });

  it("refuses a poll that cannot take a slot even after its session's oldest went", async () => {
    const budget = new ConnectionBudget({ perPerson: 10, perAddress: 1, addressOf: (req) => String(req.headers["x-address"] ?? "a1") });
    const { held, answered, lp } = await world({ budget });
    await held("/api/poll?streams=feed&conn=a", { "x-address": "a1" });
    // Lin's session holds a poll (so it is not refused up front) but this address is full.
    const p = await answered("/api/poll?streams=feed&conn=b", { "x-address": "a1", "x-session": `s-${ada.id}` });
    expect([p.status, p.body.error?.code]).toEqual([429, "too_many_connections"]);
    expect(lp.size).toBe(1);
  });
});

describe("the pages' frames", () => {
  it("takes a frame of exactly the frame limit, and refuses one byte more", async () => {
    const { lp, sessions } = await world();
    const frame = (bytes: number) => {
      const f = { type: "typing", room: "general", pad: "" };
      f.pad = "x".repeat(bytes - Buffer.byteLength(JSON.stringify(f)));
      return f;
    };
    expect(await lp.runFrames(sessions[0]!, "tab-1", [frame(64 * 1024)])).toEqual([]);
    expect(executed).toHaveLength(1);
    expect(await lp.runFrames(sessions[0]!, "tab-1", [frame(64 * 1024 + 1)])).toEqual([{ type: "error", code: "payload_too_large", message: "A frame is at most 65536 bytes" }]);
    expect((await lp.runFrames(sessions[0]!, "tab-1", [undefined])).map((f) => "code" in f && f.code)).toEqual(["bad_frame"]);
  });

  it("carries out each frame in order, answering each, an error for a bad one, and counts them", async () => {
    const { lp, sessions, metrics } = await world();
    const out = await lp.runFrames(sessions[0]!, "tab-1", [
      { type: "join", room: "general" },
      { type: "nonsense" },
      { type: "send", room: "general", text: "hi", clientId: "c1" },
      { type: "typing", room: "general" },
      { type: "join", room: "nowhere" },
      { type: "typing", room: "general", text: "x".repeat(70 * 1024) },
    ]);
    expect(out.map((f: ServerFrame) => [f.type, "code" in f ? f.code : undefined])).toEqual([
      ["joined", undefined],
      ["error", "bad_frame"],
      ["ack", undefined],
      ["error", "unknown_room"],
      ["error", "payload_too_large"],
    ]);
    expect(executed.map((f) => (f as { type: string }).type)).toEqual(["join", "send", "typing", "join"]);
    expect(await metric(metrics, "rt_ws_frames_in_total", { type: "join" })).toBe(2);
    expect(await metric(metrics, "rt_protocol_errors_total", { code: "bad_frame" })).toBe(1);
    expect(await metric(metrics, "rt_protocol_errors_total", { code: "unknown_room" })).toBe(1);
    expect(await metric(metrics, "rt_protocol_errors_total", { code: "payload_too_large" })).toBe(1);
    expect(await metric(metrics, "rt_protocol_errors_total")).toBe(3);
    // The commands run as the page's, with the person's rate limits.
    expect(contexts[0]).toMatchObject({ user: lin, transport: "longpoll", source: "poll:s-u_lin:tab-1" });
  });

  it("refuses a page's frames past its frame rate, each answered", async () => {
    const { lp, sessions, metrics } = await world();
    const frames = Array.from({ length: FRAME_RATE.burst + 2 }, () => ({ type: "typing", room: "general" }));
    const out = await lp.runFrames(sessions[0]!, "tab-1", frames);
    expect(out).toEqual([
      { type: "error", code: "rate_limited", message: "Too many frames; slow down" },
      { type: "error", code: "rate_limited", message: "Too many frames; slow down" },
    ]);
    expect(await metric(metrics, "rt_rate_limited_total", { type: "frame" })).toBe(2);
  });
});

describe("without metrics", () => {
  it("answers, refuses, evicts, carries frames and destroys slow pollers all the same", async () => {
    const budget = new ConnectionBudget({ perPerson: 10, perAddress: 10, addressOf: () => "127.0.0.1" });
    const { held, answered, lp, sessions, log, server } = await world({ metrics: undefined, maxHeld: 3, maxHeldPerSession: 1, budget, maxAnswerBytes: 1024 });
    const a = await held("/api/poll?streams=feed&conn=a");
    await held("/api/poll?streams=feed&conn=b");
    await until(() => a.done);
    expect(a.status).toBe(429);
    for (let i = 0; i < 3; i++) await held(`/api/poll?streams=feed&conn=c${i}`);
    expect((await answered("/api/poll?streams=feed&conn=d")).status).toBe(429);
    await held("/api/poll?streams=feed", { "x-session": `s-${ada.id}` });
    await held("/api/poll?streams=feed", { "x-session": "s-lin-2" });
    expect((await answered("/api/poll?streams=room:general", { "x-session": "s-lin-2" })).status).toBe(503);
    expect(lp.size).toBe(3);
    log.commit(FEED);
    await until(() => lp.size === 0);
    const out = await lp.runFrames(sessions[0]!, "tab-1", [{ type: "nonsense" }, ...Array.from({ length: FRAME_RATE.burst }, () => ({ type: "typing", room: "general" }))]);
    expect(out.map((f) => "code" in f && f.code)).toEqual(["bad_frame", "rate_limited"]);
    log.commit({ stream: FEED, data: { big: "x".repeat(8 * 1024 * 1024) } });
    const c = await rawClient(server.port);
    c.socket.pause();
    c.send(`GET /api/poll?streams=feed&cursor=feed%3D1 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => server.sockets.size === 0, "the poller destroyed");
  });

  it("refuses a poll past a connection cap without metrics", async () => {
    const budget = new ConnectionBudget({ perPerson: 1, perAddress: 10, addressOf: () => "127.0.0.1" });
    const { held, answered } = await world({ metrics: undefined, budget });
    await held("/api/poll?streams=feed");
    expect((await answered("/api/poll?streams=feed", { "x-session": "s-lin-2" })).status).toBe(429);
  });
});

describe("slow pollers", () => {
  it("destroys a connection that leaves more than two answers' worth unsent, counted as backlog", async () => {
    const { server, log, lp, metrics } = await world();
    log.append(FEED, "message.posted", { big: "x".repeat(8 * 1024 * 1024) });
    const c = await rawClient(server.port);
    c.socket.pause();
    c.send(`GET /api/poll?streams=feed&cursor=feed%3D0 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => server.sockets.size === 0, "the poller destroyed");
    expect(lp.unsentBytes).toBe(0);
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "longpoll", reason: "backlog" })).toBe(1);
  });

  it("keeps a connection with less than two answers' worth unsent, and lets its guard go when it closes", async () => {
    const { server, log, lp, metrics } = await world({ maxAnswerBytes: 8 * 1024 * 1024 });
    log.append(FEED, "message.posted", { big: "x".repeat(4 * 1024 * 1024) });
    const c = await rawClient(server.port);
    c.socket.pause();
    c.send(`GET /api/poll?streams=feed&cursor=feed%3D0 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => lp.unsentBytes > 0);
    await turns();
    expect(server.sockets.size).toBe(1);
    expect(lp.watchedConnections).toBe(1);
    c.close();
    await until(() => server.sockets.size === 0);
    expect(lp.unsentBytes).toBe(0);
    // Nothing of the closed connection is kept.
    expect(lp.watchedConnections).toBe(0);
    expect(await metric(metrics, "rt_slow_consumer_closes_total")).toBe(0);
  });

  it("counts answers not taken yet, and destroys a poller that takes none of them for the stall time", async () => {
    const { server, log, lp, metrics } = await world({ maxAnswerBytes: 32 * 1024 * 1024, writeStallMs: 3_000 });
    log.append(FEED, "message.posted", { big: "x".repeat(4 * 1024 * 1024) });
    const c = await rawClient(server.port);
    c.socket.pause();
    c.send(`GET /api/poll?streams=feed&cursor=feed%3D0 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => lp.unsentBytes > 0);
    vi.advanceTimersByTime(2_999);
    await turns();
    expect(server.sockets.size).toBe(1);
    vi.advanceTimersByTime(1);
    await until(() => server.sockets.size === 0, "the poller destroyed");
    expect(lp.unsentBytes).toBe(0);
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "longpoll", reason: "stalled" })).toBe(1);
  });

  it("watches a kept-alive connection with one guard however many answers it carries", async () => {
    const { server, log, lp } = await world();
    log.append(FEED);
    const c = await rawClient(server.port);
    const ask = async (n: number) => {
      c.send(`GET /api/poll?streams=feed&cursor=feed%3D0&wait=0&conn=k HTTP/1.1\r\nHost: x\r\n\r\n`);
      await until(() => c.text.split("HTTP/1.1 200").length === n + 1, `answer ${n}`);
    };
    await ask(1);
    const [socket] = [...server.sockets];
    const listening = socket!.listenerCount("close");
    for (let n = 2; n <= 5; n++) await ask(n);
    expect(lp.watchedConnections).toBe(1);
    // Each answer's guard would add its own close listener: memory that grows with the answers.
    expect(socket!.listenerCount("close")).toBe(listening);
    c.close();
  });

  it("answers polls pipelined on one connection in order", async () => {
    const { server, log, lp } = await world();
    log.append(FEED);
    const c = await rawClient(server.port);
    c.send(`GET /api/poll?streams=feed&conn=a HTTP/1.1\r\nHost: x\r\n\r\nGET /api/poll?streams=feed&cursor=feed%3D0&conn=b HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => lp.size === 1);
    await turns();
    expect(c.text).toBe("");
    log.commit(FEED);
    await until(() => c.text.split("HTTP/1.1 200").length === 3);
    expect(c.text.indexOf('"seq":2')).toBeGreaterThan(0);
    c.close();
  });
});


describe("a poll's subscription, kept between polls", () => {
  it("carries on when the next poll comes from the answer's cursor: what committed in between comes at once, in order, once, without reading the log again", async () => {
    const { log, answered, held, pollers, lp, metrics } = await world();
    log.append(FEED);
    const first = await answered("/api/poll?streams=feed,user:me&conn=c1&cursor=feed%3D0");
    expect([first.seqs, first.body.cursor]).toEqual([["feed#1"], `feed=1,${ME}=0`]);
    const subscription = pollers().map((c) => c.id);
    // Between the polls: committed while no request is held.
    log.commit(FEED, ME, FEED);
    // The log cannot be read now: a poll that subscribed afresh would be answered 503.
    log.failing.add(FEED);
    log.failing.add(ME);
    const second = await answered(`/api/poll?streams=feed,user:me&conn=c1&cursor=${encodeURIComponent(first.body.cursor)}`);
    // In order within each stream (streams are ordered each on its own).
    expect([second.status, second.seqs.filter((e) => e.startsWith("feed")), second.seqs.filter((e) => e.startsWith(ME)), second.body.cursor]).toEqual([
      200,
      ["feed#2", "feed#3"],
      [`${ME}#1`],
      `feed=3,${ME}=1`,
    ]);
    // Held next, and woken by the next commit, still the same subscription.
    const third = await held(`/api/poll?streams=feed,user:me&conn=c1&cursor=${encodeURIComponent(second.body.cursor)}`);
    log.commit(FEED);
    await until(() => third.done);
    expect([third.seqs, third.body.cursor]).toEqual([["feed#4"], `feed=4,${ME}=1`]);
    expect(pollers().map((c) => c.id)).toEqual(subscription);
    expect([lp.size, lp.keptSize]).toEqual([0, 1]);
    expect([await metric(metrics, "rt_polls_held"), await metric(metrics, "rt_polls_kept")]).toEqual([0, 1]);
    // Resumed from the log once: the first poll.
    expect(await metric(metrics, "rt_resumes_total", { transport: "longpoll" })).toBe(1);
  });

  it("starts again from the poll's own cursor when it is not the last answer's (that answer never arrived): nothing lost, nothing twice", async () => {
    const { log, answered, pollers } = await world();
    log.append(FEED);
    log.append(FEED);
    const lost = await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D0");
    expect(lost.body.cursor).toBe("feed=2");
    const before = pollers().map((c) => c.id);
    log.commit(FEED);
    const again = await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D1");
    expect([again.seqs, again.body.cursor]).toEqual([["feed#2", "feed#3"], "feed=3"]);
    // The old subscription was let go for a new one.
    expect(pollers().map((c) => c.id)).not.toEqual(before);
    expect(pollers()).toHaveLength(1);
  });

  it("is one per client: another client's or person's poll leaves it be; the same client's poll for other streams lets it go", async () => {
    const { log, answered, poll, pollers, metrics, lp } = await world();
    log.append(FEED);
    const a = await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D0");
    await answered("/api/poll?streams=feed&conn=c2&cursor=feed%3D0");
    await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D0", { "x-session": `s-${ada.id}` });
    expect(pollers()).toHaveLength(3);
    log.commit(FEED);
    const next = await answered(`/api/poll?streams=feed&conn=c1&cursor=${a.body.cursor}`);
    expect(next.seqs).toEqual(["feed#2"]);
    expect(pollers()).toHaveLength(3);
    // Lin's c1 now polls the feed and their notifications: the feed-only subscription goes.
    const wider = await answered("/api/poll?streams=feed,user:me&conn=c1&cursor=feed%3D2&wait=0");
    expect(wider.body.cursor).toBe(`feed=2,${ME}=0`);
    expect(pollers().filter((c) => c.sessionId === `s-${lin.id}`)).toHaveLength(2);
    // Between polls none is an open connection (rt_connections counts held polls); three are kept.
    expect(await metric(metrics, "rt_connections", { transport: "longpoll" })).toBe(0);
    expect(await metric(metrics, "rt_polls_kept")).toBe(3);
    const held = poll(`/api/poll?streams=feed&conn=c3&cursor=${next.body.cursor}`);
    await until(() => lp.size === 1);
    expect(await metric(metrics, "rt_connections", { transport: "longpoll" })).toBe(1);
    held.close();
  });

  it("keeps as many per session, and in all, as it holds polls: past that the least recently answered is let go", async () => {
    const { answered, lp, pollers } = await world({ maxHeldPerSession: 2, maxHeld: 3 });
    for (const conn of ["a", "b", "c"]) await answered(`/api/poll?streams=feed&conn=${conn}&wait=0`);
    expect(lp.keptSize).toBe(2);
    for (const conn of ["a", "b"]) await answered(`/api/poll?streams=feed&conn=${conn}&wait=0`, { "x-session": `s-${ada.id}` });
    expect([lp.keptSize, pollers().length]).toEqual([3, 3]);
    // Lin's "b" was answered least recently of all.
    expect(pollers().map((c) => c.sessionId).sort()).toEqual([`s-${ada.id}`, `s-${ada.id}`, `s-${lin.id}`]);
  });

  it("gathers an answer's worth at most between polls: the next poll gets that much, the one after subscribes again for the rest", async () => {
    const { log, answered, pollers } = await world({ maxEvents: 2 });
    const first = await answered("/api/poll?streams=feed&conn=c1&wait=0");
    expect(first.body.cursor).toBe("feed=0");
    log.commit(FEED, FEED, FEED, FEED, FEED);
    const second = await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D0");
    expect([second.seqs, second.body.cursor]).toEqual([["feed#1", "feed#2"], "feed=2"]);
    // Full, it stopped following the stream, and is let go once answered.
    expect(pollers()).toHaveLength(0);
    const third = await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D2");
    expect(third.seqs).toEqual(["feed#3", "feed#4"]);
    const fourth = await answered("/api/poll?streams=feed&conn=c1&cursor=feed%3D4");
    expect(fourth.seqs).toEqual(["feed#5"]);
  });

  it("is let go when its session signs out, its person is removed from its room, the server drains, or no poll comes for POLL_KEEP_MS", async () => {
    const { answered, hub, lp, pollers } = await world();
    await answered("/api/poll?streams=feed&conn=c1&wait=0");
    await answered("/api/poll?streams=room:general&conn=c2&wait=0");
    await answered("/api/poll?streams=feed&conn=c3&wait=0", { "x-session": `s-${ada.id}` });
    await answered("/api/poll?streams=user:me&conn=c4&wait=0", { "x-session": `s-${ada.id}` });
    expect(lp.keptSize).toBe(4);
    hub.disconnectSession(`s-${lin.id}`, "signed-out");
    expect(lp.keptSize).toBe(2);
    hub.revokeRoom(ada.id, "general");
    expect(lp.keptSize).toBe(2);
    vi.advanceTimersByTime(POLL_KEEP_MS - 1);
    expect(lp.keptSize).toBe(2);
    lp.drain();
    expect([lp.keptSize, pollers().length]).toEqual([0, 0]);
    const { answered: answeredToo, lp: lp2, hub: hub2 } = await world();
    await answeredToo("/api/poll?streams=room:general&conn=c2&wait=0");
    hub2.revokeRoom(lin.id, "general");
    expect(lp2.keptSize).toBe(0);
    await answeredToo("/api/poll?streams=feed&conn=c1&wait=0");
    vi.advanceTimersByTime(POLL_KEEP_MS);
    expect(lp2.keptSize).toBe(0);
  });
});

describe("more of a poll's life", () => {
  it("records no join and no presence for a poll refused before any database work", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const budget = new ConnectionBudget({ perPerson: 1, perAddress: 10, addressOf: () => "127.0.0.1", metrics });
    const full = await world({ maxHeld: 1 });
    await full.held("/api/poll?streams=feed&conn=a");
    expect((await full.answered("/api/poll?streams=room:general&conn=b")).status).toBe(503);
    expect([full.joins, full.hub.members("general")]).toEqual([[], []]);
    const capped = await world({ budget, metrics });
    await capped.held("/api/poll?streams=feed");
    expect((await capped.answered("/api/poll?streams=room:general", { "x-session": "s-lin-2" })).status).toBe(429);
    expect([capped.joins, capped.hub.members("general")]).toEqual([[], []]);
    expect(await metric(metrics, "rt_connections_refused_total", { transport: "longpoll", scope: "person" })).toBe(1);
  });

  it("refuses a session's new poll when letting its oldest go frees no slot at this address", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const budget = new ConnectionBudget({ perPerson: 10, perAddress: 1, addressOf: (req) => String(req.headers["x-address"]), metrics });
    const { held, answered, lp } = await world({ budget, metrics });
    const mine = await held("/api/poll?streams=feed&conn=a", { "x-address": "a2" });
    await held("/api/poll?streams=feed", { "x-address": "a1", "x-session": `s-${ada.id}` });
    const p = await answered("/api/poll?streams=feed&conn=b", { "x-address": "a1" });
    expect([p.status, p.body.error?.code]).toEqual([429, "too_many_connections"]);
    // The oldest went to make room, in vain.
    await until(() => mine.done);
    expect([mine.status, lp.size]).toEqual([429, 1]);
    expect(await metric(metrics, "rt_connections_refused_total", { transport: "longpoll", scope: "address" })).toBeGreaterThanOrEqual(1);
  });

  it("keeps counting a session's other polls after one is answered", async () => {
    const { held, log } = await world({ maxHeldPerSession: 2 });
    const a = await held("/api/poll?streams=room:general&conn=a");
    const b = await held("/api/poll?streams=feed&conn=b");
    log.commit(GENERAL);
    await until(() => a.done);
    await held("/api/poll?streams=feed&conn=c");
    expect(b.done).toBe(false);
    await held("/api/poll?streams=feed&conn=d");
    await until(() => b.done);
    expect(b.status).toBe(429);
  });

  it("tells a client's polls of the same streams apart from its polls of others", async () => {
    const { held } = await world({}, ["general", "generalfeed"]);
    const a = await held("/api/poll?streams=feed&conn=a");
    const b = await held("/api/poll?streams=room:general&conn=a");
    // Names that would run together are still told apart.
    const c = await held("/api/poll?streams=canvas:general,feed&conn=a");
    const d = await held("/api/poll?streams=canvas:generalfeed&conn=a");
    await turns();
    expect([a.done, b.done, c.done, d.done]).toEqual([false, false, false, false]);
  });

  it("never hands a poller an answer made for another position", async () => {
    const { log, answered } = await world();
    log.append(FEED);
    log.append(FEED);
    const from0 = await answered("/api/poll?streams=feed&cursor=feed%3D0&conn=a");
    const from1 = await answered("/api/poll?streams=feed&cursor=feed%3D1&conn=b");
    expect([from0.seqs, from1.seqs]).toEqual([["feed#1", "feed#2"], ["feed#2"]]);
  });

  it("tells apart answers that end at the same cursor with other counts per stream", async () => {
    const { log, answered } = await world();
    for (let i = 0; i < 12; i++) log.append(FEED);
    for (let i = 0; i < 12; i++) log.append(ME);
    const a = await answered("/api/poll?streams=feed,user:me&cursor=feed%3D11,user:me%3D0&conn=a");
    const b = await answered("/api/poll?streams=feed,user:me&cursor=feed%3D1,user:me%3D10&conn=b");
    expect([a.body.cursor, b.body.cursor]).toEqual([`feed=12,${ME}=12`, `feed=12,${ME}=12`]);
    expect([a.seqs.length, b.seqs.length]).toEqual([13, 13]);
    expect(b.seqs.filter((x) => x.startsWith("feed"))).toHaveLength(11);
  });

  it("shows everyone who polls a room present", async () => {
    const { answered, hub } = await world();
    await answered("/api/poll?streams=room:general&wait=0");
    await answered("/api/poll?streams=room:general&wait=0", { "x-session": `s-${ada.id}` });
    expect(hub.members("general").map((u) => u.id).sort()).toEqual([ada.id, lin.id]);
  });

  it("spaces out state answers for a client that was answered with events in between", async () => {
    const { held, hub, answered, log } = await world({ stateIntervalMs: 1_000 });
    await answered("/api/poll?streams=room:general&wait=0&conn=c1");
    const p = await held("/api/poll?streams=room:general&conn=c1");
    hub.setTyping("general", ada, true);
    vi.advanceTimersByTime(0);
    await until(() => p.done);
    vi.advanceTimersByTime(100);
    const q = await held("/api/poll?streams=room:general&conn=c1");
    log.commit(GENERAL);
    await until(() => q.done);
    const r = await held("/api/poll?streams=room:general&conn=c1");
    hub.setTyping("general", ada, false);
    vi.advanceTimersByTime(899);
    await turns();
    expect(r.done).toBe(false);
    vi.advanceTimersByTime(1);
    await until(() => r.done);
  });

  it("spaces out state answers for a client with a state token", async () => {
    const { held, hub, answered } = await world({ stateIntervalMs: 1_000 });
    const first = await answered("/api/poll?streams=room:general&wait=0&conn=c1&state=");
    hub.setTyping("general", ada, true);
    const p = await held(`/api/poll?streams=room:general&conn=c1&state=${first.body.state}`);
    vi.advanceTimersByTime(0);
    await until(() => p.done);
    hub.setTyping("general", ada, false);
    const q = await held(`/api/poll?streams=room:general&conn=c1&state=${p.body.state}`);
    vi.advanceTimersByTime(999);
    await turns();
    expect(q.done).toBe(false);
    vi.advanceTimersByTime(1);
    await until(() => q.done);
  });

  it("does not count the state a superseded poll would have carried as seen", async () => {
    const { held, hub, answered } = await world();
    await answered("/api/poll?streams=room:general&wait=0&conn=c1");
    const old = await held("/api/poll?streams=room:general&conn=c1");
    hub.setTyping("general", ada, true);
    const next = await held("/api/poll?streams=room:general&conn=c1");
    await until(() => old.done);
    vi.advanceTimersByTime(POLL_STATE_INTERVAL_MS);
    await until(() => next.done);
    expect(next.body.rooms?.general?.typing).toEqual([{ id: ada.id, name: ada.name }]);
  });

  it("names in its cursor only the streams it started: one filled before another's head was read is left out", async () => {
    const { log, answered } = await world({ maxEvents: 1 });
    for (let i = 0; i < 3; i++) log.append(FEED);
    const release = log.holdHead(ME);
    const p = answered("/api/poll?streams=feed,user:me&cursor=feed%3D0");
    await turns();
    release();
    const a = await p;
    expect([a.seqs, a.body.cursor]).toEqual([["feed#1"], "feed=1"]);
  });

  it("keeps a resumed stream's position when another stream fills the answer", async () => {
    const { log, answered } = await world({ maxEvents: 1 });
    for (let i = 0; i < 2; i++) log.append(FEED);
    for (let i = 0; i < 2; i++) log.append(ME);
    const p = await answered("/api/poll?streams=feed,user:me&cursor=feed%3D0,user:me%3D0");
    expect(p.seqs).toHaveLength(1);
    expect(p.body.cursor).toBe(p.seqs[0]!.startsWith("feed") ? `feed=1,${ME}=0` : `feed=0,${ME}=1`);
  });

  it("answers a poll drained while it subscribed once, and only once", async () => {
    const w = await world();
    const hold = w.log.holdHead(ME);
    const p = w.poll("/api/poll?streams=user:me");
    await until(() => w.lp.size === 1);
    w.lp.drain();
    await until(() => p.done);
    hold();
    await turns();
    expect(p.body).toEqual({ events: [], cursor: "", rooms: {} });
    expect(vi.getTimerCount()).toBe(0);
    // Nothing is left to answer it again when its wait would have ended.
    vi.advanceTimersByTime(25_000);
    await turns();
    expect(await metric(w.metrics, "rt_poll_answers_total")).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("answers a poll drained while it subscribed once, even when its subscription then fails", async () => {
    const { poll, lp, log, errors } = await world();
    const hold = log.holdHead(ME);
    const p = poll("/api/poll?streams=user:me");
    await until(() => lp.size === 1);
    lp.drain();
    await until(() => p.done);
    log.failing.add(ME);
    hold();
    await until(() => errors.length === 1);
    await turns();
    expect([p.status, lp.size]).toEqual([200, 0]);
    errors.length = 0;
  });

  it("keeps the newer poll of a client held when the one it superseded then fails to subscribe", async () => {
    const { poll, held, lp, log, errors, pollers } = await world();
    const hold = log.holdHead(ME);
    const older = poll("/api/poll?streams=user:me&conn=a");
    await until(() => lp.size === 1);
    const newer = poll("/api/poll?streams=user:me&conn=a");
    await until(() => older.done && pollers().length === 1 && lp.size === 1);
    log.failOnce.add(ME);
    hold();
    await until(() => errors.length === 1);
    await turns();
    expect([older.status, newer.done, lp.size]).toEqual([200, false, 1]);
    errors.length = 0;
    // Still the client's poll: the next one supersedes it.
    await held("/api/poll?streams=user:me&conn=a");
    await until(() => newer.done);
  });

  it("waits for every stream's start before answering with the events that were waiting", async () => {
    const { log, answered } = await world();
    for (let i = 0; i < 3; i++) log.append(FEED);
    const release = log.holdHead(ME);
    const p = answered("/api/poll?streams=feed,user:me&cursor=feed%3D0");
    await turns(50);
    release();
    const a = await p;
    expect([a.seqs, a.body.cursor]).toEqual([["feed#1", "feed#2", "feed#3"], `feed=3,${ME}=0`]);
  });

  it("lets a session under its bound hold many polls, pushing none out", async () => {
    const { held, lp } = await world();
    const polls = [];
    for (let i = 0; i < 8; i++) polls.push(await held(`/api/poll?streams=feed&conn=${i}`));
    expect([lp.size, polls.some((p) => p.done)]).toEqual([8, false]);
  });

  it("keeps each session's presence lapse its own", async () => {
    const { answered, hub, clock } = await world({ presenceTtlMs: 10_000 });
    await answered("/api/poll?streams=room:general&wait=0");
    clock.advance(6_000);
    await answered("/api/poll?streams=room:general&wait=0", { "x-session": `s-${ada.id}` });
    clock.advance(6_000);
    clock.advance(1_000);
    expect(hub.members("general").map((u) => u.id)).toEqual([ada.id]);
  });

  it("starts nothing for a client gone while its rooms were joined", async () => {
    const { poll, lp, hub, server, holdJoins } = await world();
    const release = holdJoins();
    const p = poll("/api/poll?streams=room:general");
    await until(() => server.sockets.size === 1);
    await turns();
    p.close();
    await until(() => server.sockets.size === 0);
    release();
    await turns();
    expect([lp.size, hub.connections().length]).toEqual([0, 0]);
  });

  it("leaves no timer behind once answered but the one that lets go of its kept subscription", async () => {
    const { held, hub, log } = await world({ stateIntervalMs: 10_000 });
    const first = await held("/api/poll?streams=room:general&conn=c1");
    hub.setTyping("general", ada, true);
    vi.advanceTimersByTime(0);
    await until(() => first.done);
    hub.setTyping("general", ada, false);
    // Held: a state answer due in ten seconds, the wait's end in 25.
    const p = await held("/api/poll?streams=room:general&conn=c1");
    vi.advanceTimersByTime(100);
    await turns();
    expect(p.done).toBe(false);
    log.commit(GENERAL);
    await until(() => p.done);
    vi.advanceTimersByTime(100);
    await turns();
    // Only the kept subscription's: it lets go of it if no poll comes.
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(POLL_KEEP_MS);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("carries out a page's frames with the person's rate limits, and with its own executor when given none", async () => {
    const rates = new PersonRates();
    const { lp, sessions } = await world({ rates });
    await lp.runFrames(sessions[0]!, "tab-1", [{ type: "join", room: "general" }]);
    expect((contexts[0] as { rates: unknown }).rates).toBe(rates);
    const own = await world({ executor: undefined });
    const out = await own.lp.runFrames(sessions[0]!, "tab-1", [{ type: "join", room: "general" }, { type: "typing", room: "general" }]);
    expect(out).toEqual([{ type: "joined", room: "general", head: 0, members: [lin] }]);
    expect(own.hub.typingUsers("general").map((u) => u.id)).toEqual([lin.id]);
  });
});

describe("a slow poller behind another poll on its connection", () => {
  it("is destroyed once its queued answer reaches the socket and passes the bound", async () => {
    const { server, log, lp, metrics } = await world();
    log.commit({ stream: FEED, data: { big: "x".repeat(8 * 1024 * 1024) } });
    const c = await rawClient(server.port);
    c.socket.pause();
    c.send(`GET /api/poll?streams=feed&conn=a HTTP/1.1\r\nHost: x\r\n\r\nGET /api/poll?streams=feed&cursor=feed%3D0&conn=b HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => lp.size === 1 && server.sockets.size === 1);
    await turns();
    log.commit(FEED);
    await until(() => server.sockets.size === 0, "the poller destroyed");
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "longpoll", reason: "backlog" })).toBe(1);
  });
});
