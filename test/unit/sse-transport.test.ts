// The SSE transport (`/api/stream`) on real HTTP over 127.0.0.1, with a real hub over an event log
// in memory: what a stream sends first, each event with the cursor after it as its id, a resume
// by Last-Event-ID or `?cursor=`, a reset log, read markers and removals, the connection caps,
// readers too slow to keep (destroyed), and every way a stream ends (reader gone, signed out,
// shutdown, the hub giving up on it). Only the ping's interval and the stall clock are fake.
import http from "node:http";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionBudget } from "../../server/connection-budget";
import type { Subscriber } from "../../server/hub";
import type { Logger } from "../../server/log";
import { silentLogger } from "../../server/log";
import { createMetrics, type Metrics } from "../../server/metrics";
import { SseTransport, type SseOptions } from "../../server/transports/sse";
import { ada, hubWorld, lin, memoryWorkspace, metric, rawClient, serve, sessionOf, turns, until } from "../helpers/transport-world";

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

function parseBlock(block: string): SseMessage {
  const m: SseMessage = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      m.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(":");
    const field = line.slice(0, colon);
    const value = line.slice(colon + 2);
    if (field === "id") m.id = value;
    else if (field === "event") m.event = value;
    else if (field === "data") m.data = value;
    else if (field === "retry") m.retry = Number(value);
  }
  return m;
}

/** One stream as a reader sees it: the status, the headers and every message, parsed. */
class SseReader {
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  text = "";
  ended = false;
  /** The connection broke before the body ended (destroyed by the server). */
  aborted = false;
  res: http.IncomingMessage | null = null;

  constructor(readonly req: http.ClientRequest) {}

  get messages(): SseMessage[] {
    return this.text
      .split("\n\n")
      .slice(0, -1)
      .map(parseBlock);
  }

  /** The durable events: messages with an id and an event name. */
  events(): SseMessage[] {
    return this.messages.filter((m) => m.event !== undefined);
  }

  close(): void {
    this.req.destroy();
  }
}

const readers: SseReader[] = [];

function open(port: number, path: string, headers: Record<string, string> = {}, paused = false): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers, agent: false });
    const r = new SseReader(req);
    readers.push(r);
    req.on("response", (res) => {
      r.status = res.statusCode ?? 0;
      r.headers = res.headers;
      r.res = res;
      res.setEncoding("utf8");
      res.on("data", (d: string) => (r.text += d));
      res.on("end", () => (r.ended = true));
      res.on("aborted", () => (r.aborted = true));
      res.on("error", () => (r.aborted = true));
      if (paused) res.pause();
      resolve(r);
    });
    req.on("error", (err) => {
      r.aborted = true;
      if (r.status === 0) reject(err);
    });
  });
}

const FEED = "feed";
const ME = `user:${lin.id}`;

async function world(opts: Partial<SseOptions> = {}, o: { metrics?: false | Metrics } = {}) {
  const { hub, log, metrics: own } = hubWorld();
  const metrics = o.metrics || own;
  const { workspace } = memoryWorkspace();
  const errors: unknown[] = [];
  const logger = { ...silentLogger, error: (obj: unknown, msg: string) => void errors.push([obj, msg]) } as unknown as Logger;
  const sse = new SseTransport({ hub, log: log.log, workspace, logger, metrics: o.metrics === false ? undefined : metrics, ...opts });
  const server = await serve((req, res, url, session) => sse.handle(req, res, url, session), [sessionOf(lin), sessionOf(ada)]);
  servers.push(server);
  const stream = (path: string, headers: Record<string, string> = {}, paused = false) => open(server.port, path, headers, paused);
  /** The hub's subscriber for the SSE stream open now (there is one). */
  const subscriber = () => {
    const subs = hub.connections().filter((c) => c.transport === "sse");
    expect(subs).toHaveLength(1);
    return subs[0]! as Subscriber & { write(text: string): void };
  };
  return { hub, log, metrics, sse, server, stream, subscriber, errors };
}
const servers: Array<{ close(): Promise<void>; errors: unknown[] }> = [];

beforeEach(() => vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout"] }));
afterEach(async () => {
  vi.useRealTimers();
  for (const r of readers.splice(0)) r.close();
  for (const s of servers.splice(0)) {
    expect(s.errors).toEqual([]);
    await s.close();
  }
});

/** Waits until the reader has `n` messages. */
const messages = async (r: SseReader, n: number) => {
  await until(() => r.messages.length >= n, `${n} messages`);
  return r.messages;
};

describe("an SSE stream", () => {
  it("answers with event-stream headers, then retry and an id-only message naming where each stream starts", async () => {
    const { log, stream, sse, hub } = await world();
    log.append(FEED);
    log.append(FEED);
    log.append(ME);
    const r = await stream("/api/stream?streams=feed,user:me");
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      connection: "keep-alive",
      "transfer-encoding": "chunked",
    });
    expect(await messages(r, 2)).toEqual([{ retry: 2000 }, { id: `feed=2,${ME}=1` }]);
    expect(r.text).toBe(`retry: 2000\n\nid: feed=2,${ME}=1\n\n`);
    // One open stream, counted, and registered with the hub as Lin's.
    expect(sse.size).toBe(1);
    expect(hub.connections().map((c) => [c.transport, c.user.id, c.sessionId])).toEqual([["sse", lin.id, `s-${lin.id}`]]);
    expect(hub.connections()[0]!.id).toMatch(/^sse-[\w-]{8}$/);
  });

  it("sends each event as it commits, its id the cursor after it over every stream, and counts it", async () => {
    const { log, stream, metrics } = await world();
    log.append(FEED);
    const r = await stream("/api/stream?streams=feed,user:me");
    await messages(r, 2);
    log.commit({ stream: FEED, data: { n: 1 } });
    await until(() => r.events().length === 1);
    log.commit({ stream: ME, type: "mention", data: { n: 2 } });
    await until(() => r.events().length === 2);
    log.commit({ stream: FEED, data: { n: 3 } }, { stream: ME, type: "mention", data: { n: 4 } });
    await until(() => r.events().length === 4);
    const events = r.events();
    expect(events.map((e) => [e.id, e.event, (JSON.parse(e.data!) as { data: { n: number } }).data.n])).toEqual([
      [`feed=2,${ME}=0`, "message.posted", 1],
      [`feed=2,${ME}=1`, "mention", 2],
      [`feed=3,${ME}=1`, "message.posted", 3],
      [`feed=3,${ME}=2`, "mention", 4],
    ]);
    expect(JSON.parse(events[0]!.data!)).toMatchObject({ stream: FEED, seq: 2, type: "message.posted" });
    expect(await metric(metrics, "rt_sse_events_total")).toBe(4);
    // Every byte of the body is counted (the chunks' framing included).
    const bytes = await metric(metrics, "rt_sse_bytes_total");
    expect(bytes).toBeGreaterThan(Buffer.byteLength(r.text));
    expect(bytes).toBeLessThan(Buffer.byteLength(r.text) + 6 * 12);
    expect(await metric(metrics, "rt_sse_encodings_total")).toBe(4);
  });

  it("names a stream alone by the event's own position, the same message for every such reader", async () => {
    const { log, stream, metrics } = await world();
    const a = await stream("/api/stream?streams=feed");
    const b = await stream("/api/stream?streams=feed", { "x-session": `s-${ada.id}` });
    await messages(a, 2);
    await messages(b, 2);
    expect(a.messages[1]).toEqual({ id: "feed=0" });
    log.commit(FEED);
    log.commit(FEED);
    await until(() => a.events().length === 2 && b.events().length === 2);
    expect(a.events().map((e) => e.id)).toEqual(["feed=1", "feed=2"]);
    expect(b.text).toBe(a.text);
    // Made once per event for both readers.
    expect(await metric(metrics, "rt_sse_encodings_total")).toBe(2);
  });

  it("runs with no metrics at all: events, a lagging stream and a slow reader", async () => {
    const { log, stream, subscriber, sse, server } = await world({ maxBufferedBytes: 64 * 1024 }, { metrics: false });
    const r = await stream("/api/stream?streams=feed");
    await messages(r, 2);
    log.commit(FEED);
    await until(() => r.events().length === 1);
    subscriber().onLagged!();
    await until(() => r.ended);
    const slow = await stream("/api/stream?streams=feed", {}, true);
    await until(() => sse.size === 1);
    log.commit({ stream: FEED, data: { big: "x".repeat(8 * 1024 * 1024) } });
    await until(() => server.sockets.size === 0, "the slow reader destroyed");
    expect(slow.ended).toBe(false);
  });

  it("resumes from Last-Event-ID with exactly the missed events, and counts the resume", async () => {
    const { log, stream, metrics } = await world();
    for (let i = 0; i < 3; i++) log.append(FEED);
    log.append(ME);
    const r = await stream("/api/stream?streams=feed,user:me", { "last-event-id": "feed=1,user:me=0" });
    await until(() => r.events().length === 3);
    expect(r.messages.slice(0, 2)).toEqual([{ retry: 2000 }, { id: `feed=1,${ME}=0` }]);
    expect(r.events().map((e) => e.id).sort()).toEqual([`feed=2,${ME}=0`, `feed=3,${ME}=0`, `feed=3,${ME}=1`].sort());
    expect(await metric(metrics, "rt_resumes_total", { transport: "sse" })).toBe(2);
  });

  it("starts from ?cursor= on a first connect; a stream without a position starts at its head, uncounted", async () => {
    const { log, stream, metrics } = await world();
    for (let i = 0; i < 2; i++) log.append(FEED);
    log.append(ME);
    const r = await stream("/api/stream?streams=feed,user:me&cursor=feed%3D1");
    await until(() => r.events().length === 1);
    // Only the stream without a position costs a query for its head.
    expect(log.headsAsked).toEqual([[ME]]);
    expect(r.messages.slice(1, 3)).toEqual([{ id: `feed=1,${ME}=1` }, expect.objectContaining({ id: `feed=2,${ME}=1`, event: "message.posted" })]);
    expect(await metric(metrics, "rt_resumes_total", { transport: "sse" })).toBe(1);
  });

  it("says so when a position is beyond the log's head (the log was reset), and goes on from the head", async () => {
    const { log, stream, metrics } = await world();
    log.append(FEED);
    const r = await stream("/api/stream?streams=feed,user:me", { "last-event-id": `feed=9,${ME}=0` });
    await until(() => r.events().length === 1);
    expect(r.messages.slice(1)).toEqual([
      { id: `feed=9,${ME}=0` },
      { id: `feed=1,${ME}=0`, event: "reset", data: JSON.stringify({ stream: FEED, head: 1 }) },
    ]);
    expect(await metric(metrics, "rt_resets_total", { transport: "sse" })).toBe(1);
    // The next event's id carries the head it went on from.
    log.commit(ME);
    await until(() => r.events().length === 2);
    expect(r.events()[1]!.id).toBe(`feed=1,${ME}=1`);
  });

  it("tells the person's own streams that their read marker moved, without moving the cursor; not a stream without their notifications", async () => {
    const { hub, stream } = await world();
    const mine = await stream("/api/stream?streams=feed,user:me");
    const feedOnly = await stream("/api/stream?streams=feed");
    await messages(mine, 2);
    await messages(feedOnly, 2);
    hub.announceRead(lin.id, 7);
    hub.announceRoomRead(lin.id, "general", 5);
    await until(() => mine.messages.length === 4);
    expect(mine.messages.slice(2)).toEqual([
      { event: "read", data: JSON.stringify({ readSeq: 7 }) },
      { event: "room.read", data: JSON.stringify({ room: "general", readSeq: 5 }) },
    ]);
    await turns();
    expect(feedOnly.messages).toHaveLength(2);
  });

  it("ends a stream that carries a room its reader was removed from, with `removed` — its canvas too — and no other", async () => {
    const { hub, stream, sse } = await world();
    const room = await stream("/api/stream?streams=room:general");
    const canvas = await stream("/api/stream?streams=canvas:general");
    const other = await stream("/api/stream?streams=feed,room:design");
    await Promise.all([messages(room, 2), messages(canvas, 2), messages(other, 2)]);
    expect(sse.size).toBe(3);
    hub.revokeRoom(lin.id, "general");
    await until(() => room.ended && canvas.ended);
    for (const r of [room, canvas]) expect(r.messages.at(-1)).toEqual({ event: "removed", data: JSON.stringify({ room: "general" }) });
    expect(sse.size).toBe(1);
    expect(hub.connections()).toHaveLength(1);
    await turns();
    expect([other.ended, other.messages.length]).toEqual([false, 2]);
  });

  it("ends the streams of a session that signs out, and every stream on shutdown", async () => {
    const { hub, stream, sse } = await world();
    const lins = await stream("/api/stream?streams=feed");
    const adas = [await stream("/api/stream?streams=feed", { "x-session": `s-${ada.id}` }), await stream("/api/stream?streams=feed,user:me", { "x-session": `s-${ada.id}` })];
    await Promise.all([lins, ...adas].map((r) => messages(r, 2)));
    hub.disconnectSession(`s-${lin.id}`, "signed-out");
    await until(() => lins.ended);
    expect(lins.aborted).toBe(false);
    expect(sse.size).toBe(2);
    sse.drain();
    await until(() => adas.every((r) => r.ended));
    expect([sse.size, hub.connections().length]).toEqual([0, 0]);
  });

  it("lets go of the stream when its reader goes away", async () => {
    const { stream, sse, hub, log } = await world();
    const r = await stream("/api/stream?streams=feed");
    await messages(r, 2);
    r.close();
    await until(() => sse.size === 0);
    expect(hub.connections()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    log.commit(FEED);
    await turns();
  });

  it("starts nothing for a reader gone while the heads were read", async () => {
    const { stream, sse, hub, log, server } = await world();
    const release = log.holdHeads();
    const requested = new Promise<void>((resolve) => server.server.once("request", () => resolve()));
    void stream("/api/stream?streams=feed").catch(() => null);
    await requested;
    await turns();
    readers.at(-1)!.close();
    await until(() => server.sockets.size === 0);
    release();
    await turns();
    expect([sse.size, hub.connections().length, vi.getTimerCount()]).toEqual([0, 0, 0]);
  });

  it("ends a stream whose subscription fails, logging why", async () => {
    const { stream, sse, hub, log, errors } = await world();
    log.failing.add("room:general");
    const r = await stream("/api/stream?streams=feed,room:general");
    await until(() => r.ended);
    expect(r.messages).toHaveLength(2);
    expect(errors).toEqual([[{ err: expect.objectContaining({ message: "the log cannot read room:general" }) }, "SSE subscribe failed"]]);
    errors.length = 0;
    expect([sse.size, hub.connections().length]).toEqual([0, 0]);
  });

  it("sends a `: ping` comment every interval while nothing happens, and stops with the stream", async () => {
    const { stream } = await world({ pingIntervalMs: 1_000 });
    const r = await stream("/api/stream?streams=feed");
    await messages(r, 2);
    vi.advanceTimersByTime(999);
    await turns();
    expect(r.messages).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await messages(r, 3);
    vi.advanceTimersByTime(1_000);
    await messages(r, 4);
    expect(r.messages.slice(2)).toEqual([{ comment: "ping" }, { comment: "ping" }]);
  });

  it("pings every 15 seconds by default", async () => {
    const { stream } = await world();
    const r = await stream("/api/stream?streams=feed");
    await messages(r, 2);
    vi.advanceTimersByTime(14_999);
    await turns();
    expect(r.messages).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await messages(r, 3);
  });

  it("writes nothing more once ended: the hub's late calls are ignored", async () => {
    const { stream, subscriber } = await world();
    const r = await stream("/api/stream?streams=feed,user:me");
    await messages(r, 2);
    const sub = subscriber();
    sub.onLagged!();
    await until(() => r.ended);
    sub.onEvent({ seq: 5 } as never, undefined as never);
    sub.onRead!(3);
    sub.disconnect!("draining");
    sub.write(": late\n\n");
    await turns();
    expect(r.aborted).toBe(false);
    expect(r.messages).toHaveLength(2);
  });

  it("ends a stream the hub cannot keep in order, counted as lagged", async () => {
    const { stream, subscriber, metrics, sse } = await world();
    const r = await stream("/api/stream?streams=feed");
    await messages(r, 2);
    subscriber().onLagged!();
    await until(() => r.ended);
    expect(sse.size).toBe(0);
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "sse", reason: "lagged" })).toBe(1);
  });
});

describe("connection caps", () => {
  it("refuses a stream past a person's cap with 429 and Retry-After, and frees the slot when a stream closes", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const budget = new ConnectionBudget({ perPerson: 1, perAddress: 10, addressOf: () => "127.0.0.1", metrics });
    const { stream, sse } = await world({ budget }, { metrics });
    const first = await stream("/api/stream?streams=feed");
    await messages(first, 2);
    const refused = await stream("/api/stream?streams=feed");
    await until(() => refused.ended);
    expect(refused.status).toBe(429);
    expect(refused.headers["retry-after"]).toBe("10");
    expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "too_many_connections" } });
    expect(sse.size).toBe(1);
    expect(budget.heldBy(lin.id)).toBe(1);
    expect(await metric(metrics, "rt_connections_refused_total", { transport: "sse", scope: "person" })).toBe(1);
    first.close();
    await until(() => budget.heldBy(lin.id) === 0);
    const again = await stream("/api/stream?streams=feed");
    await messages(again, 2);
    expect(again.status).toBe(200);
  });

  it("frees the slot of a request refused for bad input", async () => {
    const budget = new ConnectionBudget({ perPerson: 1, perAddress: 10, addressOf: () => "127.0.0.1" });
    const { stream } = await world({ budget });
    const bad = await stream("/api/stream?streams=nope");
    await until(() => bad.ended);
    expect(bad.status).toBe(400);
    await until(() => budget.heldBy(lin.id) === 0);
  });
});

describe("slow readers", () => {
  const big = "x".repeat(256 * 1024);

  it("keeps a reader that takes a burst bigger than its bound: the tick's held writes are handed over first", async () => {
    const { stream, log, sse, metrics } = await world({ maxBufferedBytes: 16 * 1024 });
    const r = await stream("/api/stream?streams=feed");
    await messages(r, 2);
    log.commit({ stream: FEED, data: { text: "x".repeat(30 * 1024) } });
    await until(() => r.events().length === 1);
    expect(sse.size).toBe(1);
    expect(await metric(metrics, "rt_slow_consumer_closes_total")).toBe(0);
  });

  it("destroys a reader that leaves more than its bound unsent, counted as backlog", async () => {
    const { stream, log, sse, metrics, hub, server } = await world({ maxBufferedBytes: 64 * 1024 });
    const r = await stream("/api/stream?streams=feed", {}, true);
    await until(() => sse.size === 1);
    for (let i = 0; i < 64 && sse.size > 0; i++) {
      log.commit({ stream: FEED, data: { big } });
      await turns(3);
    }
    await until(() => server.sockets.size === 0, "the reader destroyed");
    expect([sse.size, hub.connections().length, sse.unsentBytes, r.ended]).toEqual([0, 0, 0, false]);
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "sse", reason: "backlog" })).toBe(1);
  });

  it("holds unsent bytes within the bound, and destroys a reader that takes none of them for the stall time", async () => {
    const { stream, log, sse, metrics, server } = await world({ maxBufferedBytes: 64 * 1024 * 1024, writeStallMs: 5_000 });
    const r = await stream("/api/stream?streams=feed", {}, true);
    await until(() => sse.size === 1);
    for (let i = 0; i < 200 && sse.unsentBytes === 0; i++) {
      log.commit({ stream: FEED, data: { big } });
      await turns(3);
    }
    expect(sse.unsentBytes).toBeGreaterThan(0);
    vi.advanceTimersByTime(4_999);
    await turns();
    expect(sse.size).toBe(1);
    vi.advanceTimersByTime(1);
    await until(() => server.sockets.size === 0, "the reader destroyed");
    expect([sse.size, sse.unsentBytes, r.ended]).toEqual([0, 0, false]);
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "sse", reason: "stalled" })).toBe(1);
  });
});

describe("other HTTP clients", () => {
  it("writes the body unchunked to an HTTP/1.0 reader", async () => {
    const { server, log } = await world();
    const c = await rawClient(server.port);
    c.send(`GET /api/stream?streams=feed HTTP/1.0\r\nx-session: s-${lin.id}\r\n\r\n`);
    await until(() => c.text.includes("id: feed=0\n\n"));
    log.commit(FEED);
    await until(() => c.text.includes("id: feed=1\n"));
    const body = c.text.slice(c.text.indexOf("\r\n\r\n") + 4);
    expect(c.text).not.toMatch(/transfer-encoding/i);
    expect(body.startsWith("retry: 2000\n\nid: feed=0\n\nid: feed=1\nevent: message.posted\ndata: {")).toBe(true);
    c.close();
  });

  it("streams a request pipelined behind another once that one ends, through the response", async () => {
    const { server, log, hub, sse } = await world({ pingIntervalMs: 1_000 });
    const c = await rawClient(server.port);
    c.send(`GET /api/stream?streams=room:general HTTP/1.1\r\nHost: x\r\n\r\nGET /api/stream?streams=feed HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => sse.size === 2 && c.text.includes("id: room:general=0"));
    log.commit(FEED);
    await until(() => sse.unsentBytes > 60);
    vi.advanceTimersByTime(1_000);
    await turns();
    hub.revokeRoom(lin.id, "general");
    const secondAt = () => c.text.indexOf("HTTP/1.1 200", 10);
    await until(() => secondAt() > 0 && c.text.includes(": ping\n\n\r\n", secondAt()));
    const second = c.text.slice(c.text.indexOf("HTTP/1.1 200", 10));
    expect(second).toMatch(/transfer-encoding: chunked/i);
    // Node frames these chunks itself: the messages arrive whole, in order.
    expect(dechunk(second.slice(second.indexOf("\r\n\r\n") + 4))).toMatch(
      /^retry: 2000\n\nid: feed=0\n\nid: feed=1\nevent: message\.posted\ndata: \{[^\n]*\}\n\n: ping\n\n$/,
    );
    c.close();
  });

  it("destroys the connection of a stream queued behind another once it holds more than its bound", async () => {
    const { server, log, sse, metrics } = await world({ maxBufferedBytes: 64 * 1024 });
    const c = await rawClient(server.port);
    c.send(`GET /api/stream?streams=room:general HTTP/1.1\r\nHost: x\r\n\r\nGET /api/stream?streams=feed HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => sse.size === 2 && c.text.includes("id: room:general=0"));
    log.commit({ stream: FEED, data: { big: "x".repeat(100 * 1024) } });
    await until(() => c.closed, "the connection destroyed");
    expect(sse.size).toBe(0);
    expect(await metric(metrics, "rt_slow_consumer_closes_total", { transport: "sse", reason: "backlog" })).toBe(1);
  });

  it("writes nothing after the end of a stream on a connection kept alive", async () => {
    const { server, subscriber } = await world();
    const c = await rawClient(server.port);
    c.send(`GET /api/stream?streams=feed HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => c.text.includes("id: feed=0\n\n"));
    const sub = subscriber();
    sub.onLagged!();
    await until(() => c.text.endsWith("0\r\n\r\n"));
    sub.write(": late\n\n");
    await turns();
    expect(c.text.endsWith("id: feed=0\n\n\r\n0\r\n\r\n")).toBe(true);
    expect(c.closed).toBe(false);
    c.close();
  });
});

/** An HTTP/1.1 chunked body, unframed; every chunk must be whole and closed by CRLF. */
function dechunk(raw: string): string {
  let out = "";
  let i = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", i);
    if (eol < 0) throw new Error(`no chunk size line at ${i}`);
    const sizeText = raw.slice(i, eol);
    if (!/^[0-9a-f]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText)}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    if (raw.slice(eol + 2 + size, eol + 4 + size) !== "\r\n") throw new Error("chunk not closed by CRLF");
    i = eol + 4 + size;
    if (i >= raw.length) return out;
  }
}
