// Long polls that batch (protocol 1.3), over real servers on 127.0.0.1: a poll woken in a burst
// gathers what else commits into one answer (ended by the window or by its size), one woken
// after a quiet spell answers at once, answers carry the rooms' state only when the poller's
// `state` token is not the state now, pollers at the same position share one encoded answer,
// and every event reaches every poller exactly once, in order, whatever the cursors they poll from.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { startServer, waitFor, type TestServer } from "../helpers/server";
import { parseCursor, POLL_STATE_TOKEN_MAX, type PollAnswer, type User } from "../../lib/protocol";

type Person = { user: User; cookie: string };
type Answer = PollAnswer & { error?: { code: string } };

interface PollParams {
  streams: string;
  cursor?: string;
  wait?: number;
  client?: string;
  state?: string;
}

function poller(s: () => TestServer) {
  const aborts: AbortController[] = [];
  const poll = (who: Person, p: PollParams) => {
    const q = new URLSearchParams({ streams: p.streams, wait: String(p.wait ?? 20) });
    if (p.cursor !== undefined) q.set("cursor", p.cursor);
    if (p.client !== undefined) q.set("client", p.client);
    if (p.state !== undefined) q.set("state", p.state);
    const ac = new AbortController();
    aborts.push(ac);
    const state = { done: false };
    const answer = s()
      .api(`/api/poll?${q}`, { cookie: who.cookie, signal: ac.signal })
      .then(async (res) => {
        state.done = true;
        return { status: res.status, body: (await res.json()) as Answer, text: "" };
      });
    // An aborted poll (the test over) is no failure.
    answer.catch(() => {});
    return Object.assign(answer, { state });
  };
  return { poll, abortAll: () => aborts.forEach((a) => a.abort()) };
}

const texts = (a: Answer) => a.events.map((e) => (e.data as { text: string }).text);

describe("a woken poll gathers what commits in its window", () => {
  let s: TestServer;
  let ada: Person;
  const { poll, abortAll } = poller(() => s);
  /** Its event's JSON alone is under the size limit; with the two small ones, over it. */
  const BIG = "x".repeat(2400);

  beforeAll(async () => {
    // A window that never ends within the test: only the size limit answers a poll that waits.
    s = await startServer({ tuning: { pollBatchMs: 600_000, pollBatchBytes: 2500 } });
    ada = await s.signIn("Ada");
  });
  afterAll(async () => {
    abortAll();
    await s?.stop();
  });

  it("answers an event after a quiet spell at once, and gathers the commits of a burst into one answer until it is full", async () => {
    const room = `b-${randomBytes(3).toString("hex")}`;
    await s.app.workspace.createRoom(room, ada.user);
    const start = (await poll(ada, { streams: `room:${room}`, wait: 0 })).body.cursor;

    // Nothing committed lately: the first event is answered with its own commit, without waiting.
    const first = poll(ada, { streams: `room:${room}`, cursor: start });
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    await s.app.workspace.postMessage(room, ada.user, "first", "c1");
    const quiet = (await first).body;
    expect(texts(quiet)).toEqual(["first"]);

    // Right after it, a burst: the next poll woken waits for more (this window never ends on its
    // own here), through two commits, until the third fills its answer.
    const held = poll(ada, { streams: `room:${room}`, cursor: quiet.cursor });
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    await s.app.workspace.postMessage(room, ada.user, "second", "c2");
    await s.app.workspace.postMessage(room, ada.user, "third", "c3");
    expect(held.state.done).toBe(false);
    await s.app.workspace.postMessage(room, ada.user, BIG, "c4");
    const { status, body } = await held;
    expect(status).toBe(200);
    expect(texts(body)).toEqual(["second", "third", BIG]);
    expect(body.events.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(parseCursor(body.cursor)!.get(`room:${room}`)).toBe(4);
    // Both answered for their events, neither for its wait passing.
    const answered = await scrapeMetrics(s.url);
    expect(metricValue(answered, "rt_poll_answers_total", { reason: "events" })).toBe(2);
    expect(metricValue(answered, "rt_poll_answers_total", { reason: "timeout" })).toBe(0);
  });
});

describe("batched long polls", () => {
  let s: TestServer;
  let ada: Person;
  let bea: Person;
  const { poll, abortAll } = poller(() => s);

  const newRoom = async () => {
    const room = `lb-${randomBytes(3).toString("hex")}`;
    await s.app.workspace.createRoom(room, ada.user);
    return room;
  };
  const encodings = async () => metricValue(await scrapeMetrics(s.url), "rt_poll_answer_encodings_total");

  beforeAll(async () => {
    s = await startServer({ tuning: { pollStateIntervalMs: 50 } });
    ada = await s.signIn("Ada");
    bea = await s.signIn("Bea");
  });
  afterAll(async () => {
    abortAll();
    await s?.stop();
  });

  it("carries the rooms' state only when it changed since the answer whose state the poller sends", async () => {
    const room = await newRoom();
    const streams = `room:${room}`;
    // A version 1 poll (no state): the rooms, as always, and the token of what they were.
    const first = (await poll(bea, { streams, wait: 0, client: "s" })).body;
    expect(first.rooms![room]!.members.map((m) => m.id)).toEqual([bea.user.id]);
    expect(first.state).toEqual(expect.any(String));

    // Sent back with nothing changed: an event comes without the rooms.
    const held = poll(bea, { streams, cursor: first.cursor, client: "s", state: first.state! });
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    await s.app.workspace.postMessage(room, ada.user, "no state", "n1");
    const quiet = (await held).body;
    expect(texts(quiet)).toEqual(["no state"]);
    expect(quiet.rooms).toBeUndefined();
    expect(quiet.state).toBe(first.state);

    // Someone starts typing: the state changed, and the next answer says so, with a new token.
    s.app.hub.typing.start(room, { id: ada.user.id, name: "Ada" });
    const changed = (await poll(bea, { streams, cursor: quiet.cursor, client: "s", state: quiet.state! })).body;
    expect(changed.events).toEqual([]);
    expect(changed.rooms![room]!.typing).toEqual([{ id: ada.user.id, name: "Ada" }]);
    expect(changed.state).not.toBe(first.state);

    // A version 1 poll still gets them every time; a token from elsewhere gets them too.
    expect((await poll(bea, { streams, cursor: changed.cursor, wait: 0, client: "s" })).body.rooms![room]).toBeDefined();
    expect((await poll(bea, { streams, cursor: changed.cursor, wait: 0, client: "s", state: "another-server.1.x" })).body.rooms![room]).toBeDefined();
    // And the same token again, nothing changed: none.
    expect((await poll(bea, { streams, cursor: changed.cursor, wait: 0, client: "s", state: changed.state! })).body.rooms).toBeUndefined();
  });

  it("refuses a state token longer than any answer gives", async () => {
    const r = await poll(bea, { streams: "feed", wait: 0, state: "x".repeat(POLL_STATE_TOKEN_MAX + 1) });
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe("bad_request");
  });

  it("encodes one answer for every poller at the same position and state, and each gets it whole", async () => {
    const room = await newRoom();
    const streams = `room:${room}`;
    const pollers = 6;
    const who = (i: number) => (i % 3 ? ada : bea);
    // Both people present, then each poller's first answer: none is woken for state after.
    await poll(ada, { streams, wait: 0 });
    await poll(bea, { streams, wait: 0 });
    let start: Answer | undefined;
    for (let i = 0; i < pollers; i++) start = (await poll(who(i), { streams, wait: 0, client: `p${i}` })).body;
    // Half of them version 1 clients (the rooms' state in every answer), half sending the token.
    const v1 = (i: number) => i % 2 === 0;
    const held = Array.from({ length: pollers }, (_, i) =>
      poll(who(i), { streams, cursor: start!.cursor, client: `p${i}`, ...(v1(i) ? {} : { state: start!.state! }) }),
    );
    await waitFor(() => s.app.poll.size === pollers, 5000, "every poll to be held");
    const before = await encodings();
    await s.app.workspace.postMessage(room, ada.user, "to everyone", "e1");
    const answers = await Promise.all(held);
    const after = await encodings();
    for (const [i, a] of answers.entries()) {
      expect(a.status).toBe(200);
      expect(texts(a.body)).toEqual(["to everyone"]);
      expect(a.body).toEqual(answers[v1(i) ? 0 : 1]!.body);
    }
    expect(answers[0]!.body.rooms![room]!.members.map((m) => m.id).sort()).toEqual([ada.user.id, bea.user.id].sort());
    expect(answers[1]!.body.rooms).toBeUndefined();
    // Two answers made: one with the rooms' state, one without.
    expect(after - before).toBe(2);
  });

  it("delivers every event exactly once, in order, to pollers polling on from different cursors", async () => {
    const room = await newRoom();
    const streams = `room:${room},feed`;
    const total = 40;
    /** Polls on from `cursor` until it has seen `total` messages of the room; every event it got. */
    const follow = async (who: Person, client: string, cursor: string) => {
      const got: { stream: string; seq: number }[] = [];
      let state: string | undefined;
      while (got.filter((e) => e.stream === `room:${room}`).length < total) {
        const r = await poll(who, { streams, cursor, client, ...(state ? { state } : {}) });
        expect(r.status).toBe(200);
        got.push(...r.body.events.map((e) => ({ stream: e.stream, seq: e.seq })));
        cursor = r.body.cursor;
        state = r.body.state;
      }
      return got;
    };
    const start = (await poll(ada, { streams, wait: 0 })).body.cursor;
    const followers = [follow(ada, "f1", start), follow(bea, "f2", start)];
    // Commits one by one and in bursts, while a third poller starts from the beginning later on.
    for (let i = 0; i < total / 2; i++) await s.app.workspace.postMessage(room, ada.user, `one ${i}`, `o${i}`);
    followers.push(follow(bea, "f3", start));
    await Promise.all(Array.from({ length: total / 2 }, (_, i) => s.app.workspace.postMessage(room, bea.user, `burst ${i}`, `b${i}`)));
    for (const got of await Promise.all(followers)) {
      for (const stream of [`room:${room}`, "feed"]) {
        const seqs = got.filter((e) => e.stream === stream).map((e) => e.seq);
        const from = parseCursor(start)!.get(stream)!;
        expect(seqs).toEqual(seqs.map((_, i) => from + i + 1));
      }
      expect(got.filter((e) => e.stream === `room:${room}`)).toHaveLength(total);
    }
  });
});

describe("paced long polls (protocol 1.4)", () => {
  let s: TestServer;
  let ada: Person;
  const { poll, abortAll } = poller(() => s);
  /** Long enough that a slow machine's jitter cannot blur it. */
  const PACE_MS = 300;

  beforeAll(async () => {
    s = await startServer({ tuning: { pollPaceMs: PACE_MS } });
    ada = await s.signIn("Ada");
  });
  afterAll(async () => {
    abortAll();
    await s?.stop();
  });

  it("answers a poller at most once per pace while events keep coming, with every event once and in order", async () => {
    const room = `pace-${randomBytes(3).toString("hex")}`;
    await s.app.workspace.createRoom(room, ada.user);
    const streams = `room:${room}`;
    let cursor = (await poll(ada, { streams, wait: 0 })).body.cursor;
    const total = 12;
    const got: string[] = [];
    /** When each answer carrying events came back. */
    const answeredAt: number[] = [];
    const following = (async () => {
      while (got.length < total) {
        const r = await poll(ada, { streams, cursor });
        expect(r.status).toBe(200);
        if (r.body.events.length > 0) answeredAt.push(performance.now());
        got.push(...texts(r.body));
        cursor = r.body.cursor;
      }
    })();
    await waitFor(() => s.app.poll.size === 1, 5000, "the poll to be held");
    const started = performance.now();
    // An event every 40 ms: unpaced, nearly every one would be an answer of its own.
    for (let i = 0; i < total; i++) {
      await s.app.workspace.postMessage(room, ada.user, `m${i}`, `m${i}`);
      await new Promise((r) => setTimeout(r, 40));
    }
    await following;
    expect(got).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    // The first event after a quiet spell goes at once; after it, answers come a pace apart
    // (less a little for the network's jitter), so there are few of them for so many events.
    for (let i = 1; i < answeredAt.length; i++) expect(answeredAt[i]! - answeredAt[i - 1]!).toBeGreaterThan(PACE_MS - 50);
    expect(answeredAt.length).toBeLessThanOrEqual(Math.ceil((performance.now() - started) / PACE_MS) + 1);
  });
});
