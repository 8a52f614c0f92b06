// Finding 2: stalled readers must not pin the server's memory. SSE readers and pollers that send
// their request and never read (raw TCP sockets, paused) while large messages are posted: the
// server destroys their connections (not merely ends them: an ended response keeps its backlog
// until the peer reads it), what it holds for them stays bounded, and the closes are counted.
// A destroyed stream's reader resumes by Last-Event-ID with nothing lost and nothing twice, and
// every stream carrying an event is written the same bytes, made once.
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppOptions } from "../../server/app";
import { metricValue, parseMetrics } from "../helpers/metrics";
import { startServer, type Person, type TestServer } from "../helpers/server";

const KiB = 1024;
/** The largest message text the app takes: 4000 characters of 3 UTF-8 bytes (~12 KB). */
const BIG_TEXT = "€".repeat(4000);
/** Enough to fill a stalled loopback connection's kernel buffers several times over. */
const MAX_MESSAGES = 3000;

let srv: TestServer | undefined;
const raw: net.Socket[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of raw.splice(0)) s.destroy();
  await srv?.stop();
  srv = undefined;
});

/** The server's sockets by their peer's port (read at once: a destroyed socket forgets it). */
type ServerSockets = Map<number, net.Socket>;

async function start(tuning: AppOptions["tuning"]): Promise<{ srv: TestServer; alice: Person; port: number; serverSockets: ServerSockets }> {
  // One person holds every stalled stream and poll here: the connection caps (tested on their
  // own) are lifted so that what is measured is the slow-consumer bound alone.
  srv = await startServer({ tuning, env: { MAX_CONNECTIONS_PER_PERSON: "10000" } });
  const serverSockets: ServerSockets = new Map();
  srv.app.server.on("connection", (s: net.Socket) => serverSockets.set(s.remotePort!, s));
  const alice = await srv.signIn("Alice");
  return { srv, alice, port: Number(new URL(srv.url).port), serverSockets };
}

/** A raw TCP client that sends `requests` and reads only up to the end of the first response's headers, then pauses. */
async function stalledClient(port: number, requests: string[]): Promise<{ socket: net.Socket; received: Buffer[] }> {
  const socket = net.connect({ host: "127.0.0.1", port });
  raw.push(socket);
  const received: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no response headers within 30 s")), 30_000);
    socket.once("error", reject);
    socket.on("connect", () => socket.write(requests.join("")));
    let headers = false;
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (headers || !Buffer.concat(received).includes("\r\n\r\n")) return;
      headers = true;
      clearTimeout(timer);
      socket.off("error", reject);
      socket.on("error", () => {});
      socket.pause();
      resolve();
    });
  });
  return { socket, received };
}

const get = (path: string, cookie: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n${extra}\r\n`;

/** The server's end of each client socket. */
function serverEnds(serverSockets: ServerSockets, clients: net.Socket[]): net.Socket[] {
  return clients.map((c) => {
    const s = serverSockets.get(c.localPort!);
    if (!s) throw new Error("server end not found");
    return s;
  });
}

/**
 * Posts large messages, 20 at a time, until `done` (or MAX_MESSAGES); samples `held()` after
 * each batch. Returns the messages posted and the most `held()` reported.
 */
async function postUntil(s: TestServer, who: Person, done: () => boolean, held: () => number, max = MAX_MESSAGES): Promise<{ posted: number; maxHeld: number }> {
  let posted = 0;
  let maxHeld = 0;
  while (!done() && posted < max) {
    await Promise.all(Array.from({ length: 20 }, () => s.app.workspace.postMessage("general", who.user, BIG_TEXT, `m${posted++}`)));
    await new Promise((r) => setImmediate(r));
    maxHeld = Math.max(maxHeld, held());
  }
  return { posted, maxHeld };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function closes(s: TestServer, labels: Record<string, string>): Promise<number> {
  return metricValue(parseMetrics(await (await s.api("/metrics")).text()), "rt_slow_consumer_closes_total", labels);
}

/** The SSE messages in an HTTP/1.1 chunked body received so far (a cut-off last chunk or message is left out). */
function sseMessages(bytes: Buffer): { id?: string; event?: string; data?: string }[] {
  let at = bytes.indexOf("\r\n\r\n") + 4;
  let body = "";
  for (;;) {
    const eol = bytes.indexOf("\r\n", at);
    if (eol < 0) break;
    const len = parseInt(bytes.toString("latin1", at, eol), 16);
    if (!(len > 0) || eol + 2 + len + 2 > bytes.length) break;
    body += bytes.toString("utf8", eol + 2, eol + 2 + len);
    at = eol + 2 + len + 2;
  }
  const whole = body.slice(0, body.lastIndexOf("\n\n") + 2);
  return whole
    .split("\n\n")
    .filter((m) => m !== "")
    .map((m) => {
      const msg: { id?: string; event?: string; data?: string } = {};
      for (const line of m.split("\n")) {
        const [field, value] = [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)];
        if (field === "id" || field === "event" || field === "data") msg[field] = value;
      }
      return msg;
    });
}

// Each test starts its own server and fills stalled connections' kernel buffers: minutes on a busy machine.
describe("stalled SSE readers", { timeout: 180_000 }, () => {
  it("are destroyed past their backlog bound, with what the server holds for them bounded", async () => {
    const bound = 64 * KiB;
    const { srv, alice, port, serverSockets } = await start({ sseMaxBufferedBytes: bound, writeStallMs: 600_000 });
    const stalled = await Promise.all(Array.from({ length: 3 }, () => stalledClient(port, [get("/api/stream?streams=room:general", alice.cookie)])));
    const ends = serverEnds(serverSockets, stalled.map((c) => c.socket));
    expect(srv.app.sse.size).toBe(3);

    const { maxHeld } = await postUntil(srv, alice, () => ends.every((s) => s.destroyed), () => srv.app.sse.unsentBytes);
    expect(ends.every((s) => s.destroyed)).toBe(true);
    // Each stream is cut at most one message past its bound.
    expect(maxHeld).toBeLessThanOrEqual(3 * (bound + 16 * KiB));
    expect(srv.app.sse.size).toBe(0);
    expect(srv.app.sse.unsentBytes).toBe(0);
    expect(await closes(srv, { transport: "sse", reason: "backlog" })).toBe(3);
  });

  it("are destroyed when their socket has not drained within the write-stall timeout", async () => {
    const { srv, alice, port, serverSockets } = await start({ sseMaxBufferedBytes: 1024 * 1024 * 1024, writeStallMs: 200 });
    const stalled = await Promise.all(Array.from({ length: 2 }, () => stalledClient(port, [get("/api/stream?streams=room:general", alice.cookie)])));
    const ends = serverEnds(serverSockets, stalled.map((c) => c.socket));
    await postUntil(srv, alice, () => ends.every((s) => s.destroyed), () => 0);
    await until("the stalled streams destroyed", () => ends.every((s) => s.destroyed));
    expect(srv.app.sse.size).toBe(0);
    expect(await closes(srv, { transport: "sse", reason: "stalled" })).toBe(2);
  });

  it("resume by Last-Event-ID once destroyed, with every message exactly once", async () => {
    const { srv, alice, port, serverSockets } = await start({ sseMaxBufferedBytes: 64 * KiB, writeStallMs: 600_000 });
    const { socket, received } = await stalledClient(port, [get("/api/stream?streams=room:general", alice.cookie)]);
    const [end] = serverEnds(serverSockets, [socket]);
    const { posted } = await postUntil(srv, alice, () => end!.destroyed, () => 0);
    expect(end!.destroyed).toBe(true);

    // The reader wakes up: it takes what reached it, up to the cut, then reconnects from its last id.
    socket.resume();
    await until("the cut stream to close", () => socket.destroyed || socket.readableEnded, 30_000);
    const first = sseMessages(Buffer.concat(received));
    const lastId = first.filter((m) => m.id !== undefined).at(-1)!.id!;
    const seqs = first.filter((m) => m.event === "message").map((m) => (JSON.parse(m.data!) as { seq: number }).seq);
    expect(seqs.length).toBeLessThan(posted);

    const head = Number(/room:general=(\d+)/.exec(lastId)![1]);
    const again = await stalledClient(port, [get("/api/stream?streams=room:general", alice.cookie, `Last-Event-ID: ${lastId}\r\n`)]);
    again.socket.resume();
    const lastSeq = head + (posted - seqs.length);
    const rest = () => sseMessages(Buffer.concat(again.received)).filter((m) => m.event === "message");
    await until("the rest of the messages", () => rest().some((m) => (JSON.parse(m.data!) as { seq: number }).seq >= lastSeq), 30_000);
    const all = [...seqs, ...rest().map((m) => (JSON.parse(m.data!) as { seq: number }).seq)];
    expect(all.length).toBe(posted);
    expect(new Set(all).size).toBe(posted);
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(all.at(-1)! - all[0]! + 1).toBe(posted);
  });

  it("are written one Buffer per event, the same for every stream that carries it", async () => {
    const { srv, alice, port, serverSockets } = await start({});
    const streams = await Promise.all(Array.from({ length: 2 }, () => stalledClient(port, [get("/api/stream?streams=room:general", alice.cookie)])));
    for (const s of streams) s.socket.resume();
    // Both subscribed and live (their headers go before their subscriptions are made).
    await srv.app.workspace.postMessage("general", alice.user, "warm-up", "c0");
    await until("both streams to get the warm-up", () => streams.every((s) => Buffer.concat(s.received).includes("warm-up")));
    const ends = serverEnds(serverSockets, streams.map((s) => s.socket));
    // The body goes straight to each stream's TCP socket, framed once (the HTTP chunk included).
    const written: { socket: unknown; chunk: unknown }[] = [];
    const write = net.Socket.prototype.write;
    vi.spyOn(net.Socket.prototype, "write").mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      if (ends.includes(this)) written.push({ socket: this, chunk: args[0] });
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    });
    await srv.app.workspace.postMessage("general", alice.user, "shared bytes", "c1");
    await until("both streams to get the event", () => streams.every((s) => Buffer.concat(s.received).includes("shared bytes")));
    const carriers = written.filter((w) => Buffer.isBuffer(w.chunk) && (w.chunk as Buffer).includes("shared bytes"));
    expect(new Set(carriers.map((w) => w.socket)).size).toBe(2);
    expect(carriers).toHaveLength(2);
    expect(carriers[0]!.chunk).toBe(carriers[1]!.chunk);
  });
});

describe("stalled pollers", { timeout: 180_000 }, () => {
  it("are destroyed instead of holding answers they never take, with what the server holds bounded", async () => {
    const answerBytes = 128 * KiB;
    // Many polls per session allowed: none is let go early, every one is answered in full.
    const { srv, alice, port, serverSockets } = await start({ pollMaxAnswerBytes: answerBytes, writeStallMs: 200, pollMaxHeldPerSession: 1000 });
    // Enough history for many full answers; then pollers that ask again and again without reading.
    await postUntil(srv, alice, () => false, () => 0, 200);
    // Each poll its own client: a poll from a client that polls again is answered at once, empty.
    const polls = (c: number) =>
      Array.from({ length: 40 }, (_, i) => get(`/api/poll?streams=room:general&cursor=room:general=${i % 100}&wait=0&client=c${c}t${i}`, alice.cookie));
    const stalled = await Promise.all(Array.from({ length: 2 }, (_, c) => stalledClient(port, polls(c))));
    const ends = serverEnds(serverSockets, stalled.map((c) => c.socket));
    expect(Buffer.concat(stalled[0]!.received).toString("latin1", 0, 15)).toBe("HTTP/1.1 200 OK");
    let maxHeld = 0;
    await until("the stalled pollers destroyed", () => {
      maxHeld = Math.max(maxHeld, srv.app.poll.unsentBytes);
      return ends.every((s) => s.destroyed);
    }, 30_000);
    // At most an answer's worth (the room's state and JSON punctuation beside its events) each.
    expect(maxHeld).toBeLessThanOrEqual(2 * 2 * (answerBytes + 64 * KiB));
    expect(srv.app.poll.unsentBytes).toBe(0);
    expect(await closes(srv, { transport: "longpoll", reason: "stalled" })).toBe(2);
  });
});
