// Server-Sent Events (`/api/stream`) over a real server on 127.0.0.1, read two ways: with the
// `eventsource` package (what a Node or browser client does) and with raw node:http (the exact
// bytes). Headers, the first messages, live delivery, resume by Last-Event-ID or ?cursor=,
// pings, bad input, and letting go of everything when the reader leaves.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { startServer, waitFor, type TestServer } from "../helpers/server";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { parseCursor, roomStream, type RealtimeEvent, type User } from "../../lib/protocol";

type Person = { user: User; cookie: string };

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

/** A raw SSE reader: the response's headers, its exact text, and its parsed messages. */
class RawSse {
  text = "";
  readonly messages: SseMessage[] = [];
  ended = false;
  private waiters: Array<() => void> = [];
  private buffer = "";

  private constructor(
    readonly req: http.ClientRequest,
    readonly res: http.IncomingMessage,
  ) {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      this.text += chunk;
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf("\n\n")) >= 0) {
        this.messages.push(parseBlock(this.buffer.slice(0, end)));
        this.buffer = this.buffer.slice(end + 2);
      }
      this.wake();
    });
    res.on("end", () => {
      this.ended = true;
      this.wake();
    });
    res.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Opens a stream; resolves once the headers are in (any status). */
  static open(base: string, path: string, headers: Record<string, string> = {}): Promise<RawSse> {
    return new Promise((resolve, reject) => {
      const req = http.get(base + path, { headers: { accept: "text/event-stream", ...headers } });
      req.on("response", (res) => resolve(new RawSse(req, res)));
      req.on("error", reject);
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  /** The event messages (those with data), parsed. */
  events(): Array<{ id: string; type: string; event: RealtimeEvent }> {
    return this.messages
      .filter((m) => m.data !== undefined)
      .map((m) => ({ id: m.id ?? "", type: m.event ?? "message", event: JSON.parse(m.data!) as RealtimeEvent }));
  }

  async next(pred: (m: SseMessage) => boolean, timeoutMs = 5000, from = 0): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (this.ended) throw new Error(`stream ended while waiting; got ${JSON.stringify(this.messages.slice(-3))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages.slice(-3))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until `n` event messages have arrived. */
  async eventCount(n: number, timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.events().length >= n || this.ended, timeoutMs, `${n} events`);
    expect(this.events().length).toBeGreaterThanOrEqual(n);
  }

  async body(): Promise<string> {
    await waitFor(() => this.ended, 5000, "end of body");
    return this.text;
  }

  close(): void {
    this.req.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function parseBlock(block: string): SseMessage {
  const m: SseMessage = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      m.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") m.id = value;
    else if (field === "event") m.event = value;
    else if (field === "data") m.data = m.data === undefined ? value : `${m.data}\n${value}`;
    else if (field === "retry") m.retry = Number(value);
  }
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("SSE /api/stream on %s", (kind) => {
  let s: TestServer;
  let ada: Person;
  let bea: Person;
  const streams: Array<{ close(): void }> = [];

  const raw = async (path: string, headers: Record<string, string> = {}, who: Person | null = bea) => {
    const r = await RawSse.open(s.url, path, who ? { cookie: who.cookie, ...headers } : headers);
    streams.push(r);
    return r;
  };

  /** An EventSource as the `eventsource` package runs it, with the session cookie added. */
  const eventSource = (path: string, who: Person = bea, extra: Record<string, string> = {}) => {
    const es = new EventSource(s.url + path, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, cookie: who.cookie, ...extra } }),
    });
    streams.push(es);
    return es;
  };

  const post = (who: Person, text: string, room = "general") =>
    s.api(`/api/rooms/${room}/messages`, {
      method: "POST",
      body: JSON.stringify({ text, clientId: randomBytes(6).toString("hex") }),
      cookie: who.cookie,
    });

  /** A message from Ada naming Bea: one `message.posted` on the feed and one `mention` for Bea. */
  const mentionBea = async (n: number) => {
    const res = await post(ada, `hello @${bea.user.name} #${n}`);
    expect(res.status).toBe(201);
    return ((await res.json()) as { event: RealtimeEvent }).event;
  };

  const heads = async () => {
    const h = await s.app.log.heads(["feed", `user:${bea.user.id}`]);
    return { feed: h.get("feed")!, user: h.get(`user:${bea.user.id}`)! };
  };

  const sseSubscribers = () => s.app.hub.connections().filter((c) => c.transport === "sse");

  beforeAll(async () => {
    const testDb = kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined;
    s = await startServer({ kind, testDb, tuning: { ssePingMs: 150 } });
    ada = await s.signIn("Ada");
    bea = await s.signIn(`bea_${randomBytes(3).toString("hex")}`);
  });
  afterAll(async () => {
    for (const r of streams) r.close();
    await s?.stop();
  });

  it("answers with event-stream headers, never compressed, then retry: 2000 and an id-only message with the starting cursor", async () => {
    await mentionBea(0);
    const h = await heads();
    const r = await raw("/api/stream?streams=feed,user:me", { "accept-encoding": "gzip, deflate, br" });
    expect(r.status).toBe(200);
    expect(r.res.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(r.res.headers["cache-control"]).toBe("no-cache, no-transform");
    expect(r.res.headers["x-accel-buffering"]).toBe("no");
    expect(r.res.headers["content-encoding"]).toBeUndefined();
    expect(r.res.headers["content-length"]).toBeUndefined();
    await r.next((m) => m.id !== undefined);
    expect(r.text.startsWith(`retry: 2000\n\nid: feed=${h.feed},user:${bea.user.id}=${h.user}\n\n`)).toBe(true);
    expect(r.messages.slice(0, 2)).toEqual([{ retry: 2000 }, { id: `feed=${h.feed},user:${bea.user.id}=${h.user}` }]);
    // Live from now: what was there before is not sent.
    await sleep(100);
    expect(r.events()).toEqual([]);
    r.close();
  });

  it("delivers each event as it happens: the first arrives before the next is produced", async () => {
    const es = eventSource("/api/stream?streams=feed,user:me");
    const got: Array<{ type: string; id: string; event: RealtimeEvent }> = [];
    const onEvent = (e: MessageEvent) => got.push({ type: e.type, id: e.lastEventId, event: JSON.parse(e.data as string) as RealtimeEvent });
    es.addEventListener("message.posted", onEvent);
    es.addEventListener("mention", onEvent);
    await new Promise<void>((resolve, reject) => {
      es.onopen = () => resolve();
      es.onerror = (e) => reject(new Error(`EventSource error ${JSON.stringify(e)}`));
    });
    await sleep(50); // the id-only message is in
    for (let i = 1; i <= 3; i++) {
      const before = got.length;
      const msg = await mentionBea(i);
      await waitFor(() => got.length >= before + 2, 5000, `the events of message ${i}`);
      const pair = got.slice(before);
      expect(pair.map((g) => g.type).sort()).toEqual(["mention", "message.posted"]);
      for (const g of pair) {
        expect(g.event.data).toMatchObject({ roomId: "general", seq: msg.seq });
        // The id is the cursor after this event.
        expect(parseCursor(g.id)!.get(g.event.stream)).toBe(g.event.seq);
      }
    }
    expect(got).toHaveLength(6);
    es.close();
  });

  it("resumes with Last-Event-ID: exactly the missed events, none twice, across feed and user:me", async () => {
    const first = await raw("/api/stream?streams=feed,user:me");
    await first.next((m) => m.id !== undefined);
    await mentionBea(10);
    await mentionBea(11);
    await first.eventCount(4);
    const seenFirst = first.events();
    const lastId = seenFirst.at(-1)!.id;
    first.close();
    await waitFor(() => sseSubscribers().length === 0, 5000, "the first stream to be released");

    const missed = [await mentionBea(12), await mentionBea(13), await mentionBea(14)];
    const room = `sse-${randomBytes(3).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room }), cookie: ada.cookie })).status).toBe(201);

    const again = await raw("/api/stream?streams=feed,user:me", { "last-event-id": lastId });
    expect(again.status).toBe(200);
    await again.eventCount(7);
    await sleep(100);
    const replayed = again.events();
    expect(replayed).toHaveLength(7);
    const key = (e: RealtimeEvent) => `${e.stream}#${e.seq}`;
    const firstKeys = new Set(seenFirst.map((x) => key(x.event)));
    expect(replayed.filter((x) => firstKeys.has(key(x.event)))).toEqual([]);
    expect(new Set(replayed.map((x) => key(x.event))).size).toBe(7);
    const feed = replayed.filter((x) => x.event.stream === "feed");
    const mine = replayed.filter((x) => x.event.stream === `user:${bea.user.id}`);
    expect(feed.map((x) => x.type)).toEqual(["message.posted", "message.posted", "message.posted", "room.created"]);
    expect(mine.map((x) => x.event.data)).toEqual(missed.map((m) => expect.objectContaining({ seq: m.seq })));
    // In seq order per stream, continuing exactly where the first stream stopped.
    const stopped = parseCursor(lastId)!;
    expect(feed.map((x) => x.event.seq)).toEqual([1, 2, 3, 4].map((i) => stopped.get("feed")! + i));
    expect(mine.map((x) => x.event.seq)).toEqual([1, 2, 3].map((i) => stopped.get(`user:${bea.user.id}`)! + i));
    // The id-only message restates where it resumes from.
    expect(again.messages[1]).toEqual({ id: lastId });

    // Then live.
    await mentionBea(15);
    await again.eventCount(9);
    again.close();
  });

  it("frames each event once per stream set: every stream gets every event once, in order, with its own cursor, and resumes exactly", async () => {
    const room = `sse-${randomBytes(3).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room }), cookie: ada.cookie })).status).toBe(201);
    const r = roomStream(room);
    const me = `user:${bea.user.id}`;
    // Two streams of one set, two sets naming the same streams in another order, one with Bea's own stream.
    const sets = [r, r, `${r},feed`, `feed,${r}`, `${r},user:me`];
    const open = () => Promise.all(sets.map((set) => raw(`/api/stream?streams=${set}`)));
    const readers = await open();
    const starts = await Promise.all(readers.map(async (x) => parseCursor((await x.next((m) => m.id !== undefined)).id!)!));
    const append = (n: number, tag: string) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          s.app.log.append({ stream: r, type: "message", actor: { id: ada.user.id, name: "Ada" }, data: { text: `${tag} ${i}`, clientId: `${tag}-${i}` }, clientId: `${tag}-${i}` }),
        ),
      );
    const roomEvents = (x: RawSse) => x.events().filter((e) => e.event.stream === r);
    // One event every stream has, so all of them are live before counting.
    await append(1, "warm");
    await Promise.all(readers.map((x) => waitFor(() => roomEvents(x).length === 1, 5000, "the first event")));
    const framed = async () => metricValue(await scrapeMetrics(s.url), "rt_sse_encodings_total");
    const before = await framed();
    for (let i = 0; i < 4; i++) await append(1, `one-${i}`);
    await append(4, "burst");
    await Promise.all(readers.map((x) => waitFor(() => roomEvents(x).length === 9, 5000, "every event")));
    // Four distinct cursors (the two streams of one set share theirs): one message framed per event for each.
    expect((await framed()) - before).toBe(4 * 8);

    const expectedId = (i: number, seq: number) => {
      const pos = new Map(starts[i]);
      pos.set(r, seq);
      return [...sets[i]!.split(",")].map((x) => (x === "user:me" ? me : x)).map((x) => `${x}=${pos.get(x)}`).join(",");
    };
    for (const [i, x] of readers.entries()) {
      const got = roomEvents(x);
      expect(got.map((e) => e.event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(got.map((e) => e.id)).toEqual(got.map((e) => expectedId(i, e.event.seq)));
    }

    // Every reader goes; three more commit; each comes back with its Last-Event-ID: exactly the three, then live.
    const lastIds = readers.map((x) => roomEvents(x).at(-1)!.id);
    for (const x of readers) x.close();
    await waitFor(() => sseSubscribers().length === 0, 5000, "the streams to be released");
    await append(3, "missed");
    const again = await Promise.all(sets.map((set, i) => raw(`/api/stream?streams=${set}`, { "last-event-id": lastIds[i]! })));
    await Promise.all(again.map((x) => waitFor(() => roomEvents(x).length === 3, 5000, "the missed events")));
    await append(1, "live");
    await Promise.all(again.map((x) => waitFor(() => roomEvents(x).length === 4, 5000, "the live event")));
    await sleep(100);
    for (const [i, x] of again.entries()) {
      const got = roomEvents(x);
      expect(got.map((e) => e.event.seq)).toEqual([10, 11, 12, 13]);
      expect(got.map((e) => e.id)).toEqual(got.map((e) => expectedId(i, e.event.seq)));
      x.close();
    }
  });

  it("counts a resume only for a stream whose position the client brought", async () => {
    const resumes = async () => metricValue(await scrapeMetrics(s.url), "rt_resumes_total", { transport: "sse" });
    const start = await resumes();
    const fresh = await raw("/api/stream?streams=feed,user:me");
    await fresh.next((m) => m.id !== undefined);
    // Subscribed for sure once a new event arrives.
    await mentionBea(20);
    await fresh.eventCount(2);
    const id = fresh.events().at(-1)!.id;
    fresh.close();
    expect(await resumes()).toBe(start);

    await waitFor(() => sseSubscribers().length === 0, 5000, "the first stream to be released");
    // Last-Event-ID names both streams; a ?cursor= naming only the feed resumes only the feed.
    const resumed = await raw("/api/stream?streams=feed,user:me", { "last-event-id": id });
    await resumed.next((m) => m.id !== undefined);
    await waitFor(async () => (await resumes()) === start + 2, 5000, "two resumes");
    resumed.close();
    const partial = await raw(`/api/stream?streams=feed,user:me&cursor=${encodeURIComponent(`feed=${parseCursor(id)!.get("feed")}`)}`);
    await partial.next((m) => m.id !== undefined);
    await waitFor(async () => (await resumes()) === start + 3, 5000, "one more resume");
    await sleep(100);
    expect(await resumes()).toBe(start + 3);
    partial.close();
  });

  it("resumes exactly once each while events keep committing during the resume", async () => {
    const poster = await s.signIn("Poster");
    const first = await raw("/api/stream?streams=feed,user:me");
    const lastId = (await first.next((m) => m.id !== undefined)).id!;
    first.close();
    await waitFor(() => sseSubscribers().length === 0, 5000, "the first stream to be released");

    const burst = (from: number) =>
      Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          s.api("/api/rooms/general/messages", {
            method: "POST",
            body: JSON.stringify({ text: `@${bea.user.name} ${from + i}`, clientId: `cr-${from + i}` }),
            cookie: poster.cookie,
          }),
        ),
      );
    await burst(0);
    const during = burst(6); // races the resume
    const again = await raw("/api/stream?streams=feed,user:me", { "last-event-id": lastId });
    expect((await during).every((r) => r.status === 201)).toBe(true);
    await again.eventCount(24, 10_000);
    await sleep(150);
    const got = again.events().map((x) => x.event);
    expect(got).toHaveLength(24);
    const stopped = parseCursor(lastId)!;
    for (const stream of ["feed", `user:${bea.user.id}`]) {
      expect(got.filter((e) => e.stream === stream).map((e) => e.seq)).toEqual(
        Array.from({ length: 12 }, (_, i) => stopped.get(stream)! + i + 1),
      );
    }
    again.close();
  });

  it("ends the streams of a session that signs out", async () => {
    const leaving = await s.signIn("Leaving");
    const staying = await raw("/api/stream?streams=feed");
    const r = await raw("/api/stream?streams=feed,user:me", {}, leaving);
    await r.next((m) => m.id !== undefined);
    await staying.next((m) => m.id !== undefined);
    expect((await s.api("/api/session", { method: "DELETE", cookie: leaving.cookie })).status).toBe(204);
    await waitFor(() => r.ended, 5000, "the signed-out stream to end");
    expect(staying.ended).toBe(false);
    const again = await raw("/api/stream?streams=feed", {}, leaving);
    expect(again.status).toBe(401);
    staying.close();
  });

  it("lets the eventsource client reconnect on its own and resume without loss or duplicates", async () => {
    const es = eventSource("/api/stream?streams=feed,user:me");
    const got: RealtimeEvent[] = [];
    let opens = 0;
    const onEvent = (e: MessageEvent) => got.push(JSON.parse(e.data as string) as RealtimeEvent);
    es.addEventListener("message.posted", onEvent);
    es.addEventListener("mention", onEvent);
    es.onopen = () => opens++;
    await waitFor(() => opens === 1, 5000, "open");
    await waitFor(() => sseSubscribers().length === 1, 5000, "subscribed");
    await mentionBea(20);
    await waitFor(() => got.length === 2, 5000, "first events");

    // The server ends the stream (as on a deploy); events keep happening while the client waits `retry`.
    s.app.sse.drain();
    await mentionBea(21);
    await mentionBea(22);
    await waitFor(() => opens === 2, 10_000, "the reconnect");
    await mentionBea(23);
    await waitFor(() => got.length >= 8, 10_000, "every event");
    await sleep(100);
    expect(got).toHaveLength(8);
    const keys = got.map((e) => `${e.stream}#${e.seq}`);
    expect(new Set(keys).size).toBe(8);
    for (const stream of ["feed", `user:${bea.user.id}`]) {
      const seqs = got.filter((e) => e.stream === stream).map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs.at(-1)! - seqs[0]!).toBe(3);
    }
    es.close();
  });

  it("starts from ?cursor= on a first connect, with user:me in the cursor", async () => {
    const h = await heads();
    await mentionBea(30);
    await mentionBea(31);
    const r = await raw(`/api/stream?streams=feed,user:me&cursor=${encodeURIComponent(`feed=${h.feed},user:me=${h.user + 1}`)}`);
    await r.eventCount(3);
    await sleep(100);
    const ev = r.events();
    expect(ev.filter((x) => x.event.stream === "feed").map((x) => x.event.seq)).toEqual([h.feed + 1, h.feed + 2]);
    expect(ev.filter((x) => x.event.stream !== "feed").map((x) => [x.event.stream, x.event.seq])).toEqual([
      [`user:${bea.user.id}`, h.user + 2],
    ]);
    expect(r.messages[1]).toEqual({ id: `feed=${h.feed},user:${bea.user.id}=${h.user + 1}` });
    // Last-Event-ID wins over ?cursor=.
    const both = await raw(`/api/stream?streams=feed&cursor=feed=0`, { "last-event-id": `feed=${h.feed + 1}` });
    await both.eventCount(1);
    await sleep(100);
    expect(both.events().map((x) => x.event.seq)).toEqual([h.feed + 2]);
    r.close();
    both.close();
  });

  it("sends only the caller's own notifications", async () => {
    const r = await raw("/api/stream?streams=user:me", {}, ada);
    await r.next((m) => m.id !== undefined);
    await mentionBea(40);
    const res = await post(bea, `back to you @${ada.user.name}`);
    expect(res.status).toBe(201);
    await r.eventCount(1);
    await sleep(100);
    expect(r.events().map((x) => [x.type, x.event.stream])).toEqual([["mention", `user:${ada.user.id}`]]);
    r.close();
  });

  it("sends a `: ping` comment while nothing happens", async () => {
    const r = await raw("/api/stream?streams=feed");
    await r.next((m) => m.comment === "ping", 5000);
    expect(r.text).toMatch(/\n\n: ping\n\n/);
    r.close();
  });

  it("answers bad input with a status and a code, and never starts a stream", async () => {
    const other = await s.signIn("Other");
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ["/api/stream", {}, 400, "bad_stream"],
      ["/api/stream?streams=", {}, 400, "bad_stream"],
      ["/api/stream?streams=nonsense", {}, 400, "bad_stream"],
      ["/api/stream?streams=room:", {}, 400, "bad_stream"],
      [`/api/stream?streams=feed,user:${other.user.id}`, {}, 400, "bad_stream"],
      ["/api/stream?streams=feed&cursor=feed", {}, 400, "bad_cursor"],
      ["/api/stream?streams=feed&cursor=feed=-1", {}, 400, "bad_cursor"],
      ["/api/stream?streams=feed&cursor=bogus=3", {}, 400, "bad_cursor"],
      ["/api/stream?streams=feed", { "last-event-id": "feed=abc" }, 400, "bad_cursor"],
      ["/api/stream?streams=room:no-such-room", {}, 404, "unknown_room"],
    ];
    for (const [path, headers, status, code] of cases) {
      const r = await raw(path, headers);
      expect(r.status, path).toBe(status);
      expect(r.res.headers["content-type"], path).toMatch(/application\/json/);
      const body = JSON.parse(await r.body()) as { error: { code: string; message: string } };
      expect(body.error.code, path).toBe(code);
      expect(body.error.message).toMatch(/\w/);
    }
    const anon = await raw("/api/stream?streams=feed", {}, null);
    expect(anon.status).toBe(401);
    expect((JSON.parse(await anon.body()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect(sseSubscribers()).toEqual([]);
    expect(s.app.sse.size).toBe(0);
  });

  it("lets go of the hub's listeners when the reader goes away", async () => {
    const es = eventSource("/api/stream?streams=feed,user:me");
    await new Promise<void>((resolve) => (es.onopen = () => resolve()));
    const r = await raw("/api/stream?streams=feed,user:me,room:general");
    await r.next((m) => m.id !== undefined);
    await waitFor(() => sseSubscribers().length === 2, 5000, "two streams");
    expect(s.app.sse.size).toBe(2);
    expect(s.app.hub.followedStreams().has("room:general")).toBe(true);

    es.close();
    r.close();
    await waitFor(() => sseSubscribers().length === 0 && s.app.sse.size === 0, 5000, "the streams to be released");
    expect(s.app.hub.followedStreams().has("room:general")).toBe(false);
    expect(s.app.hub.followedStreams().has(`user:${bea.user.id}`)).toBe(false);
    // Events after the reader left go nowhere and break nothing.
    await mentionBea(50);
    expect(sseSubscribers()).toEqual([]);
  });

  it("ends streams on shutdown so readers reconnect elsewhere", async () => {
    const other = await startServer({ testDb: s.testDb });
    const who = await other.signIn("Leaving");
    const r = await RawSse.open(other.url, "/api/stream?streams=feed", { cookie: who.cookie });
    await r.next((m) => m.id !== undefined);
    await other.stop();
    await waitFor(() => r.ended, 5000, "the stream to end");
  });
});
