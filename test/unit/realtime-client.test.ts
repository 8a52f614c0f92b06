// The realtime client on a fake socket and fake timers: reconnect backoff, the browser's
// online/visibility signals, a refused message and its retry, a reset position, and payloads
// that fail the protocol's schemas — each step decided by the test, none by the network's timing.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKOFF_CAP_MS, backoffDelay } from "../../lib/realtime/backoff";
import { FAILURES_BEFORE_FALLBACK, HTTP_TIMEOUT_MS, RealtimeClient } from "../../lib/realtime/client";
import type { ClientOptions, FrameLog } from "../../lib/realtime/types";
import type { ClientFrame, RealtimeEvent } from "../../lib/protocol";
import { fakeBrowser, FakeSockets } from "../helpers/fake-socket";

let sockets: FakeSockets;
let clients: RealtimeClient[];

beforeEach(() => {
  vi.useFakeTimers();
  sockets = new FakeSockets();
  clients = [];
});
afterEach(() => {
  for (const c of clients) c.stop();
  vi.useRealTimers();
});

/** A server that is down: every HTTP request fails as a refused connection does. */
const unreachable: typeof fetch = () => Promise.reject(new TypeError("fetch failed"));

function makeClient(opts: ClientOptions = {}): RealtimeClient {
  const client = new RealtimeClient({
    baseUrl: "http://app.test",
    transport: "websocket",
    createWebSocket: sockets.create,
    fetch: unreachable,
    random: () => 0.5,
    ...opts,
  });
  clients.push(client);
  return client;
}

/** A started client whose first socket opened and joined `room` (answered `joined`). */
function connectedClient(room = "general", opts: ClientOptions = {}) {
  const client = makeClient(opts);
  const events: RealtimeEvent[] = [];
  client.on("event", (e) => events.push(e));
  client.start();
  client.join(room, 0);
  sockets.last.open();
  sockets.last.receive({ type: "joined", room, head: 0, members: [] });
  return { client, events };
}

/**
 * A server whose `/api/stream` answers each request with an event stream the test writes into
 * (`write(i, text)` to the i-th); every other request fails as an unreachable server's does.
 */
function eventStreams() {
  const streams: Array<ReadableStreamDefaultController<Uint8Array>> = [];
  const encoder = new TextEncoder();
  const fetchStreams: typeof fetch = (input) => {
    if (!String(input).includes("/api/stream")) return unreachable(input);
    const body = new ReadableStream<Uint8Array>({ start: (c) => void streams.push(c) });
    return Promise.resolve(new Response(body, { headers: { "Content-Type": "text/event-stream" } }));
  };
  return {
    fetch: fetchStreams,
    get count() {
      return streams.length;
    },
    write: (i: number, text: string) => streams[i]!.enqueue(encoder.encode(text)),
    /** The server ends the i-th stream. */
    close: (i: number) => streams[i]!.close(),
  };
}

const message = (room: string, seq: number, text = `m${seq}`, clientId = `x${seq}`): RealtimeEvent => ({
  stream: `room:${room}`,
  seq,
  type: "message",
  actor: { id: "u_lin", name: "Lin" },
  at: new Date(0).toISOString(),
  data: { text, clientId },
});

describe("reconnect backoff", () => {
  it("waits full-jitter delays from 1 s doubling up to 4 s, and starts over after a good connection", async () => {
    // Near the top of each range: 1 s, 2 s, then never over 4 s however long the outage.
    expect(BACKOFF_CAP_MS).toBe(4_000);
    const client = makeClient({ random: () => 0.9999 });
    client.start();
    for (const ceiling of [1000, 2000, 4000, 4000, 4000, 4000, 4000]) {
      const delay = Math.floor(0.9999 * ceiling);
      const before = sockets.count;
      sockets.last.drop();
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(sockets.count, `no attempt before ${delay} ms`).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(sockets.count, `an attempt at ${delay} ms`).toBe(before + 1);
    }
    // Connected again: the next loss waits at most a second.
    sockets.last.open();
    sockets.last.drop();
    await vi.advanceTimersByTimeAsync(999);
    expect(sockets.last.readyState).toBe(0);
  });

  it("keeps every delay within [0, ceiling), however many attempts and whatever the draw", () => {
    for (const attempt of [0, 1, 2, 3, 10, 100]) {
      const ceiling = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** attempt);
      expect(backoffDelay(attempt, { random: () => 0 })).toBe(0);
      const top = backoffDelay(attempt, { random: () => 1 - Number.EPSILON });
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });

  it("draws each delay uniformly below the ceiling (full jitter), not at the ceiling", async () => {
    const draws = [0, 0.25, 0.5, 0.1, 0.5];
    const client = makeClient({ random: () => draws.shift() ?? 0 });
    client.start();
    // 0 × 1 s: at once; 0.25 × 2 s = 500 ms; 0.5 × 4 s = 2 s; then 0.1 and 0.5 of the 4 s cap.
    for (const delay of [0, 500, 2000, 400, 2000]) {
      const before = sockets.count;
      sockets.last.drop();
      if (delay > 0) {
        await vi.advanceTimersByTimeAsync(delay - 1);
        expect(sockets.count).toBe(before);
      }
      await vi.advanceTimersByTimeAsync(1);
      expect(sockets.count).toBe(before + 1);
    }
  });

  it("follows a restarting server's reconnectAfterMs (1012), and retries a slow socket's close (1013) soon", async () => {
    connectedClient("general", { random: () => 0.9999 });
    // The server spreads a drain's reconnects itself: its delay stands, below or above our own cap.
    sockets.last.drop(1012, JSON.stringify({ reconnectAfterMs: 7000 }));
    await vi.advanceTimersByTimeAsync(6999);
    expect(sockets.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets.count).toBe(2);
    sockets.last.open();
    sockets.last.drop(1012, JSON.stringify({ reconnectAfterMs: 0 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets.count, "reconnectAfterMs 0: at once, not after our own backoff").toBe(3);
    sockets.last.open();
    sockets.last.drop(1013);
    await vi.advanceTimersByTimeAsync(250);
    expect(sockets.count).toBe(4);
  });

  it("backs off as usual when the restarted server is not back yet at the time it gave", async () => {
    connectedClient("general", { random: () => 0.9999 });
    sockets.last.drop(1012, JSON.stringify({ reconnectAfterMs: 3000 }));
    await vi.advanceTimersByTimeAsync(3000);
    expect(sockets.count).toBe(2);
    // Refused: the next tries wait the backoff's second and third ceilings (2 s, 4 s), then at most 4 s.
    for (const ceiling of [2000, 4000, 4000]) {
      const before = sockets.count;
      sockets.last.drop();
      await vi.advanceTimersByTimeAsync(Math.floor(0.9999 * ceiling) - 1);
      expect(sockets.count).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(sockets.count).toBe(before + 1);
    }
  });
});

describe("a handshake the server answers late", () => {
  it("gives each next attempt twice as long after one timed out (4, 8, then 16 s), and 4 s again once one opened", async () => {
    const client = makeClient({ random: () => 0 });
    client.start();
    // Each socket is left connecting: the timeout ends it, and the backoff (0 here) tries again.
    for (const timeout of [4000, 8000, 16000, 16000]) {
      const before = sockets.count;
      await vi.advanceTimersByTimeAsync(timeout - 1);
      expect(sockets.last.closedByClient, `still waiting at ${timeout - 1} ms`).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(sockets.all[before - 1]!.closedByClient, `given up at ${timeout} ms`).toBe(true);
      // The retry: the next socket, whose wait starts now.
      await vi.advanceTimersToNextTimerAsync();
      expect(sockets.count).toBe(before + 1);
    }
    sockets.last.open();
    sockets.last.drop();
    await vi.advanceTimersToNextTimerAsync();
    const afterOpen = sockets.last;
    await vi.advanceTimersByTimeAsync(3999);
    expect(afterOpen.closedByClient).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(afterOpen.closedByClient, "the first attempt after one opened waits 4 s again").toBe(true);
  });
});

describe("falling back to long polling", () => {
  /** A server that answers HTTP (so the WebSocket is blocked, not down) and holds every poll. */
  function httpOnlyServer() {
    const polls: string[] = [];
    const fetchImpl: typeof fetch = (input, init) => {
      const url = String(input);
      if (url.endsWith("/readyz")) return Promise.resolve(new Response("ok", { status: 200 }));
      // Polls for events (GET /api/poll), not the upstream batches (POST /api/poll/frames).
      if (url.includes("/api/poll?")) polls.push(url);
      return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    };
    return { polls, fetchImpl };
  }

  it("falls back after exactly 2 WebSocket failures to open, not before and not after", async () => {
    expect(FAILURES_BEFORE_FALLBACK).toBe(2);
    const server = httpOnlyServer();
    const client = makeClient({ transport: "auto", fetch: server.fetchImpl, random: () => 0.5 });
    client.start();
    client.join("general", 0);
    // The first failure: the WebSocket is tried again after the backoff, no poll yet.
    sockets.last.drop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets.count).toBe(2);
    expect(server.polls).toEqual([]);
    expect(client.getStatus().rooms.transport).toBe("websocket");
    // The second: long polling, and no third socket until the background upgrade is due.
    sockets.last.drop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(client.getStatus().rooms.transport).toBe("longpoll");
    expect(server.polls).toHaveLength(1);
    expect(sockets.count).toBe(2);
  });
});

describe("the browser's signals", () => {
  it("reconnects at once when the page becomes visible while a retry is waiting", async () => {
    const client = makeClient({ random: () => 0.9999 });
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    client.start();
    for (let i = 0; i < 6; i++) {
      sockets.last.drop();
      await vi.runOnlyPendingTimersAsync();
    }
    sockets.last.drop();
    // Now waiting ~5 s; the person comes back to the tab.
    const before = sockets.count;
    browser.fire("hidden");
    expect(sockets.count).toBe(before);
    browser.fire("visible");
    expect(sockets.count).toBe(before + 1);
  });

  it("reconnects at once when the network comes back while a retry is waiting, and backs off from 1 s again", async () => {
    const client = makeClient({ random: () => 0.9999 });
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    client.start();
    for (let i = 0; i < 6; i++) {
      sockets.last.drop();
      await vi.runOnlyPendingTimersAsync();
    }
    sockets.last.drop();
    // Waiting ~5 s when the laptop joins a network (`online` with no `offline` before it).
    const before = sockets.count;
    browser.fire("online");
    expect(sockets.count).toBe(before + 1);
    // Not quite connected yet: the next try comes within the first ceiling, not the cap.
    sockets.last.drop();
    await vi.advanceTimersByTimeAsync(999);
    expect(sockets.count).toBe(before + 2);
  });

  it("reconnects a waiting event stream at once when the page becomes visible", async () => {
    const streams = eventStreams();
    const client = makeClient({ feedStreams: ["feed"], fetch: streams.fetch, random: () => 0.9999 });
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(streams.count).toBe(1);
    // The stream ends (the server went away): a retry waits out its backoff.
    streams.close(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(client.getStatus().feed.state).toBe("reconnecting");
    expect(streams.count).toBe(1);
    browser.fire("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(streams.count).toBe(2);
  });

  it("goes quiet when offline and reconnects when back online, resuming each room from its position", async () => {
    const { client } = connectedClient("general");
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    sockets.last.receive({ type: "event", event: message("general", 1) });
    browser.fire("offline");
    expect(client.getStatus().rooms.state).toBe("offline");
    expect(sockets.last.closedByClient).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.count).toBe(1);
    browser.fire("online");
    expect(sockets.count).toBe(2);
    sockets.last.open();
    expect(sockets.last.sentOf("join")).toEqual([{ type: "join", room: "general", since: 1 }]);
  });
});

describe("waking up (a laptop that slept: the socket may look open and be dead)", () => {
  it("checks an open socket when the page becomes visible: a join from the room's position, answered, keeps it", async () => {
    const { client } = connectedClient("general");
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    sockets.last.receive({ type: "event", event: message("general", 1) });
    browser.fire("hidden");
    browser.fire("visible");
    expect(sockets.last.sentOf("join")).toEqual([
      { type: "join", room: "general", since: 0 },
      { type: "join", room: "general", since: 1 },
    ]);
    sockets.last.receive({ type: "joined", room: "general", head: 1, members: [] });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.count).toBe(1);
    expect(sockets.last.closedByClient).toBe(false);
  });

  it("replaces a socket that leaves the check unanswered, and resumes the room from its position", async () => {
    const { client } = connectedClient("general");
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    sockets.last.receive({ type: "event", event: message("general", 3) });
    browser.fire("visible");
    await vi.advanceTimersByTimeAsync(4_999);
    expect(sockets.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets.all[0]!.closedByClient).toBe(true);
    expect(client.getStatus().rooms.state).toBe("reconnecting");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets.count).toBe(2);
    sockets.last.open();
    expect(sockets.last.sentOf("join")).toEqual([{ type: "join", room: "general", since: 3 }]);
  });

  it("checks the socket on `online` even without an `offline` before it", async () => {
    const { client } = connectedClient("general");
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    browser.fire("online");
    expect(sockets.last.sentOf("join")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sockets.all[0]!.closedByClient).toBe(true);
  });

  it("watches a room opened on a socket that has been open a while", async () => {
    const { client } = connectedClient("general");
    await vi.advanceTimersByTimeAsync(600_000);
    client.join("random");
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sockets.all[0]!.closedByClient).toBe(true);
  });

  it("reconnects an event stream silent for longer than two server pings, and keeps one that pinged", async () => {
    const streams = eventStreams();
    const client = makeClient({ feedStreams: ["feed"], fetch: streams.fetch });
    const browser = fakeBrowser();
    client.attachToBrowser(browser.win, browser.doc);
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    streams.write(0, "retry: 2000\n\nid: feed=1\n\n");
    await vi.advanceTimersByTimeAsync(0);
    expect(client.getStatus().feed.state).toBe("connected");

    await vi.advanceTimersByTimeAsync(20_000);
    streams.write(0, ": ping\n\n");
    await vi.advanceTimersByTimeAsync(10_000);
    browser.fire("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(streams.count).toBe(1);

    // Asleep for an hour: no ping came through.
    await vi.advanceTimersByTimeAsync(3_600_000);
    browser.fire("visible");
    await vi.advanceTimersByTimeAsync(0);
    expect(streams.count).toBe(2);
  });
});

describe("the outbox", () => {
  it("marks a refused message failed, and Retry sends it again with the same clientId until acked", async () => {
    const { client } = connectedClient("general");
    const acks: number[] = [];
    client.on("ack", (a) => acks.push(a.seq));
    const entry = client.send("general", "hello")!;
    const [frame] = sockets.last.sentOf("send");
    expect(frame).toEqual({ type: "send", room: "general", text: "hello", clientId: entry.clientId });

    sockets.last.receive({ type: "error", code: "invalid_text", message: "Too long", clientId: entry.clientId });
    expect(client.getOutbox()).toMatchObject([{ clientId: entry.clientId, status: "failed", error: { code: "invalid_text", message: "Too long" } }]);
    // A failed message is not sent again by itself.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.last.sentOf("send")).toHaveLength(1);

    client.retry(entry.clientId);
    expect(sockets.last.sentOf("send").map((f) => f.clientId)).toEqual([entry.clientId, entry.clientId]);
    expect(client.getOutbox()[0]?.status).toBe("sending");
    sockets.last.receive({ type: "ack", clientId: entry.clientId, seq: 7 });
    expect(client.getOutbox()).toEqual([]);
    expect(acks).toEqual([7]);
  });

  it("sends a room's backlog in order, one unacknowledged at a time, paced at the server's 10 a second", async () => {
    const { client } = connectedClient("general");
    client.setOffline(true);
    const ids = Array.from({ length: 30 }, (_, i) => client.send("general", `m${i}`)!.clientId);
    client.setOffline(false);
    sockets.last.open();
    const socket = sockets.last;
    const sent = () => socket.sentOf("send").map((f) => f.clientId);
    expect(sent()).toEqual(ids.slice(0, 1));
    // Unacknowledged, it holds the room's next one back however long it takes.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent()).toHaveLength(1);
    // Each ack lets the next go at once, while the pace's burst lasts (ten, refilled meanwhile)…
    for (let i = 0; i < 10; i++) socket.receive({ type: "ack", clientId: ids[i]!, seq: i + 1 });
    expect(sent()).toEqual(ids.slice(0, 11));
    // …then one every 100 ms.
    socket.receive({ type: "ack", clientId: ids[10]!, seq: 11 });
    expect(sent()).toHaveLength(11);
    await vi.advanceTimersByTimeAsync(100);
    expect(sent()).toEqual(ids.slice(0, 12));
  });

  it("has one message of each room on its way at once", () => {
    const { client } = connectedClient("general");
    client.join("random", 0);
    sockets.last.receive({ type: "joined", room: "random", head: 0, members: [] });
    const g = [client.send("general", "g1")!.clientId, client.send("general", "g2")!.clientId];
    const r = [client.send("random", "r1")!.clientId, client.send("random", "r2")!.clientId];
    expect(sockets.last.sentOf("send").map((f) => f.clientId)).toEqual([g[0], r[0]]);
    sockets.last.receive({ type: "ack", clientId: r[0]!, seq: 1 });
    expect(sockets.last.sentOf("send").map((f) => f.clientId)).toEqual([g[0], r[0], r[1]]);
  });

  it("keeps a room's order when the server refuses one for now: the next waits until it is acknowledged", async () => {
    const { client } = connectedClient("general");
    const a = client.send("general", "a")!.clientId;
    const b = client.send("general", "b")!.clientId;
    const socket = sockets.last;
    expect(socket.sentOf("send").map((f) => f.clientId)).toEqual([a]);
    socket.receive({ type: "error", code: "overloaded", message: "The server is busy", clientId: a });
    expect(client.getOutbox().map((e) => e.status)).toEqual(["pending", "pending"]);
    // Held for a second (the server refills or drains meanwhile); then `a` again, `b` still waiting.
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.sentOf("send")).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentOf("send").map((f) => f.clientId)).toEqual([a, a]);
    socket.receive({ type: "ack", clientId: a, seq: 1 });
    expect(socket.sentOf("send").map((f) => f.clientId)).toEqual([a, a, b]);
  });

  it("keeps a message that was in flight when the connection dropped, and sends it once more after reconnecting", async () => {
    const { client } = connectedClient("general");
    const entry = client.send("general", "in flight")!;
    sockets.last.drop();
    expect(client.getOutbox()[0]?.status).toBe("pending");
    await vi.runOnlyPendingTimersAsync();
    sockets.last.open();
    expect(sockets.last.sentOf("send").map((f) => f.clientId)).toEqual([entry.clientId]);
  });
});

describe("messages over HTTP (long polling)", () => {
  /** A server that holds every poll, and holds the first `hang` message posts with no answer. */
  function hangingServer(hang: number) {
    const posts: Array<{ clientId: string }> = [];
    const aborted: string[] = [];
    const held = (signal?: AbortSignal | null, clientId?: string) =>
      new Promise<Response>((_, reject) =>
        signal?.addEventListener("abort", () => {
          if (clientId !== undefined) aborted.push(clientId);
          reject(new DOMException("aborted", "AbortError"));
        }),
      );
    // Messages go up as `send` frames through `POST /api/poll/frames`, answered with an `ack`.
    const fetchImpl: typeof fetch = (input, init) => {
      const url = String(input);
      if (!url.includes("/api/poll/frames")) return held(init?.signal);
      const { frames } = JSON.parse(String(init?.body)) as { frames: ClientFrame[] };
      const send = frames.find((f) => f.type === "send");
      if (!send) return Promise.resolve(new Response(JSON.stringify({ frames: [] }), { status: 200 }));
      posts.push({ clientId: send.clientId });
      if (posts.length <= hang) return held(init?.signal, send.clientId);
      const answer = { frames: [{ type: "ack", clientId: send.clientId, seq: posts.length }] };
      return Promise.resolve(new Response(JSON.stringify(answer), { status: 200, headers: { "Content-Type": "application/json" } }));
    };
    return { posts, aborted, fetchImpl };
  }

  it("gives up on a post with no answer after the timeout and sends it again, same clientId, before the next", async () => {
    const server = hangingServer(1);
    const client = makeClient({ transport: "longpoll", fetch: server.fetchImpl });
    client.start();
    client.join("general", 0);
    const a = client.send("general", "a")!.clientId;
    const b = client.send("general", "b")!.clientId;
    await vi.advanceTimersByTimeAsync(HTTP_TIMEOUT_MS - 1);
    expect(server.posts.map((p) => p.clientId)).toEqual([a]);
    await vi.advanceTimersByTimeAsync(1 + 1_000);
    expect(server.posts.map((p) => p.clientId)).toEqual([a, a, b]);
    expect(client.getOutbox()).toEqual([]);
  });

  it("cuts a post left hanging when the page wakes up, instead of waiting out the timeout", async () => {
    const server = hangingServer(1);
    const client = makeClient({ transport: "longpoll", fetch: server.fetchImpl });
    client.start();
    client.join("general", 0);
    const a = client.send("general", "a")!.clientId;
    await vi.advanceTimersByTimeAsync(2_000);
    client.wake();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.posts.map((p) => p.clientId)).toEqual([a, a]);
    // The hanging post was let go (aborted) by the wake, not left to its timeout.
    expect(server.aborted).toEqual([a]);
    expect(client.getOutbox()).toEqual([]);
  });
});

describe("joining live, without history", () => {
  it("resumes from the head the join answer stated, so a reconnect before any event misses nothing", async () => {
    const client = makeClient();
    client.start();
    client.join("general");
    sockets.last.open();
    expect(sockets.last.sentOf("join")).toEqual([{ type: "join", room: "general" }]);
    sockets.last.receive({ type: "joined", room: "general", head: 42, members: [] });
    expect(client.position("room:general")).toBe(42);
    sockets.last.drop();
    await vi.runOnlyPendingTimersAsync();
    sockets.last.open();
    expect(sockets.last.sentOf("join")).toEqual([{ type: "join", room: "general", since: 42 }]);
  });
});

describe("a join the server refused for now", () => {
  it("is asked again after a backoff for rate_limited, overloaded and internal, and not for unknown_room", async () => {
    const client = makeClient();
    client.start();
    client.join("general", 3);
    client.join("gone", 0);
    sockets.last.open();
    const socket = sockets.last;
    expect(socket.sentOf("join").map((f) => f.room)).toEqual(["general", "gone"]);

    socket.receive({ type: "error", code: "internal", message: "Something went wrong; try again", room: "general" });
    socket.receive({ type: "error", code: "unknown_room", message: 'There is no room "gone"', room: "gone" });
    // Held for at least a second (the backoff's floor), then asked again from the same position.
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.sentOf("join")).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentOf("join").slice(2)).toEqual([{ type: "join", room: "general", since: 3 }]);

    // Refused again: waits again, longer is allowed but never forever; an answer ends it.
    socket.receive({ type: "error", code: "rate_limited", message: "Too many joins", room: "general" });
    await vi.advanceTimersByTimeAsync(2_000);
    expect(socket.sentOf("join").slice(2)).toHaveLength(2);
    socket.receive({ type: "joined", room: "general", head: 3, members: [] });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.sentOf("join").filter((f) => f.room === "gone")).toHaveLength(1);
    expect(socket.sentOf("join").filter((f) => f.room === "general")).toHaveLength(3);
  });

  it("joins again when the server says a followed room is not joined, and then sends what it refused", async () => {
    const { client } = connectedClient("general");
    const socket = sockets.last;
    const entry = client.send("general", "hello")!;
    socket.receive({ type: "error", code: "not_joined", message: 'Join "general" before sending to it', clientId: entry.clientId, room: "general" });
    expect(client.getOutbox()[0]?.status).toBe("pending");
    await vi.advanceTimersByTimeAsync(1_000);
    // The join first, the message after it: the server takes a connection's frames in order.
    expect(socket.sent.map((f) => f.type)).toEqual(["join", "send", "join", "send"]);
    socket.receive({ type: "joined", room: "general", head: 0, members: [] });
    socket.receive({ type: "ack", clientId: entry.clientId, seq: 1 });
    expect(client.getOutbox()).toEqual([]);
  });

  it("is not asked again once the page left the room", async () => {
    const client = makeClient();
    client.start();
    client.join("general", 0);
    sockets.last.open();
    sockets.last.receive({ type: "error", code: "overloaded", message: "busy", room: "general" });
    client.leave("general");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.last.sentOf("join")).toHaveLength(1);
  });
});

describe("presence as diffs (protocol 1.1)", () => {
  const ada = { id: "u_ada", name: "Ada", color: "#e11d48" };
  const lin = { id: "u_lin", name: "Lin", color: "#2563eb" };
  const kay = { id: "u_kay", name: "Kay", color: "#0d9488" };

  it("offers rt.v1.2, then rt.v1.1, then rt.v1, and hands the page the whole list after each diff", () => {
    const offered: string[][] = [];
    const client = makeClient({ createWebSocket: (url, protocols) => (offered.push(protocols), sockets.create(url)) });
    const shown: string[][] = [];
    client.on("presence", (p) => shown.push(p.members.map((m) => m.id)));
    client.start();
    client.join("general");
    sockets.last.open();
    expect(offered).toEqual([["rt.v1.2", "rt.v1.1", "rt.v1"]]);
    sockets.last.receive({ type: "joined", room: "general", head: 0, members: [ada, lin] });
    sockets.last.receive({ type: "presence_diff", room: "general", joins: [kay], leaves: [ada] });
    sockets.last.receive({ type: "presence_diff", room: "general", joins: [{ ...lin, name: "Lin B" }], leaves: [] });
    expect(shown).toEqual([["u_ada", "u_lin"], ["u_lin", "u_kay"], ["u_lin", "u_kay"]]);
    // A full list (version 1, or after a reset) replaces it; diffs then apply to that.
    sockets.last.receive({ type: "presence", room: "general", members: [ada] });
    sockets.last.receive({ type: "presence_diff", room: "general", joins: [lin], leaves: [] });
    expect(shown.at(-1)).toEqual(["u_ada", "u_lin"]);
  });
});

describe("a reset position", () => {
  it("jumps to the head, ignores what it already covers and resumes from the head next time", async () => {
    const { client, events } = connectedClient("general");
    const resets: Array<{ stream: string; head: number }> = [];
    client.on("reset", (r) => resets.push(r));
    sockets.last.receive({ type: "event", event: message("general", 1) });
    sockets.last.receive({ type: "reset", room: "general", head: 1500 });
    expect(resets).toEqual([{ stream: "room:general", head: 1500 }]);
    expect(client.position("room:general")).toBe(1500);

    // Events the reloaded history already holds are not delivered again; newer ones are.
    sockets.last.receive({ type: "event", event: message("general", 1500) });
    sockets.last.receive({ type: "event", event: message("general", 1501) });
    expect(events.map((e) => e.seq)).toEqual([1, 1501]);

    sockets.last.drop();
    await vi.runOnlyPendingTimersAsync();
    sockets.last.open();
    expect(sockets.last.sentOf("join")).toEqual([{ type: "join", room: "general", since: 1501 }]);
  });
});

describe("payloads that fail the protocol's schemas", () => {
  /** What the client reported about payloads it dropped: `invalid_frame` errors and the inspector's frames. */
  function reportsOf(client: RealtimeClient) {
    const errors: string[] = [];
    const frames: FrameLog[] = [];
    client.on("error", (e) => e.code === "invalid_frame" && errors.push(e.message));
    client.on("frame", (f) => f.invalid !== undefined && frames.push(f));
    return { errors, frames };
  }

  it("drops malformed JSON, an unknown type, wrong field types and a non-integer seq; reports each; the socket carries on", async () => {
    const { client, events } = connectedClient("general");
    const reached: string[] = [];
    for (const what of ["presence", "typing", "cursors", "ack", "reset"] as const) client.on(what, () => reached.push(what));
    const reports = reportsOf(client);
    const socket = sockets.last;
    socket.receive({ type: "event", event: message("general", 1) });

    socket.receiveRaw('{"type":"event","event":');
    socket.receiveRaw(JSON.stringify({ type: "shrug", room: "general" }));
    socket.receiveRaw(JSON.stringify({ type: "presence", room: "general", members: "everyone" }));
    socket.receiveRaw(JSON.stringify({ type: "cursors", room: "general", cursors: { u_lin: { x: "0.5", y: 0.5, name: "Lin", color: "#0ea5e9" } } }));
    socket.receiveRaw(JSON.stringify({ type: "ack", clientId: "c-1", seq: null }));
    socket.receiveRaw(JSON.stringify({ type: "event", event: { ...message("general", 2), seq: 2.5 } }));

    // None reached a listener (the stores), nor moved the room's position.
    expect(reached).toEqual([]);
    expect(events.map((e) => e.seq)).toEqual([1]);
    expect(client.position("room:general")).toBe(1);
    // Each shows in the inspector: marked invalid with the reason, under the type it claimed.
    expect(reports.frames.map((f) => [f.transport, f.type])).toEqual([
      ["websocket", "frame"],
      ["websocket", "shrug"],
      ["websocket", "presence"],
      ["websocket", "cursors"],
      ["websocket", "ack"],
      ["websocket", "event"],
    ]);
    expect(reports.frames[0]!.invalid).toBe("not JSON");
    expect(reports.frames[5]!.invalid).toMatch(/^event\.seq: /);
    expect(reports.errors).toHaveLength(6);
    expect(client.getStatus().invalidFrames).toBe(6);

    // The same socket, still open and still followed: the next good event arrives, a message goes out.
    socket.receive({ type: "event", event: message("general", 2) });
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    client.send("general", "still here");
    expect(socket.sentOf("send").map((f) => f.text)).toEqual(["still here"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets.count).toBe(1);
    expect(socket.closedByClient).toBe(false);
    expect(client.getStatus().rooms.state).toBe("connected");
  });

  it("reports a 1012 close whose reason is no restarting reason, and reconnects on its own backoff", async () => {
    const { client } = connectedClient("general", { random: () => 0.5 });
    const reports = reportsOf(client);
    sockets.last.drop(1012, "see you soon");
    expect(reports.frames.map((f) => f.type)).toEqual(["close 1012"]);
    // 0.5 × the first 1 s ceiling.
    await vi.advanceTimersByTimeAsync(499);
    expect(sockets.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets.count).toBe(2);
  });

  it("drops an SSE event, reset or read that is not what the protocol says, and takes the next good one", async () => {
    const streams = eventStreams();
    const client = makeClient({ feedStreams: ["feed"], fetch: streams.fetch });
    const events: RealtimeEvent[] = [];
    const reached: string[] = [];
    client.on("event", (e) => events.push(e));
    client.on("reset", () => reached.push("reset"));
    client.on("read", () => reached.push("read"));
    const reports = reportsOf(client);
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    const joined = (seq: number) => ({ stream: "feed", seq, type: "member.joined", actor: { id: "u_lin", name: "Lin" }, at: new Date(0).toISOString(), data: { roomId: "general" } });
    const sse = (id: string, event: string, data: string) => `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
    streams.write(0, "retry: 2000\n\nid: feed=0\n\n");
    streams.write(0, sse("feed=1", "member.joined", JSON.stringify({ ...joined(1), data: {} })));
    streams.write(0, sse("feed=2", "member.joined", "<!doctype html>"));
    streams.write(0, sse("feed=9", "reset", JSON.stringify({ stream: "feed", head: "9" })));
    streams.write(0, `event: read\ndata: ${JSON.stringify({ readSeq: -1 })}\n\n`);
    await vi.advanceTimersByTimeAsync(0);
    expect(events).toEqual([]);
    expect(reached).toEqual([]);
    expect(reports.frames.map((f) => [f.transport, f.type])).toEqual([
      ["sse", "member.joined"],
      ["sse", "member.joined"],
      ["sse", "reset"],
      ["sse", "read"],
    ]);
    // The position did not move past what could not be read: a reconnect asks for it again.
    expect(client.position("feed")).toBe(0);

    streams.write(0, sse("feed=1", "member.joined", JSON.stringify(joined(1))));
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map((e) => e.seq)).toEqual([1]);
    expect(client.position("feed")).toBe(1);
    expect(client.getStatus().feed.state).toBe("connected");
  });

  it("treats a poll answer that is not JSON, or not a poll answer, as a failed poll: reported, asked again after a backoff", async () => {
    const answers = [
      "<html><body>502 Bad Gateway</body></html>",
      JSON.stringify({ events: "none", cursor: "room:general=0", rooms: {} }),
      JSON.stringify({ events: [message("general", 1)], cursor: "room:general=1", rooms: {} }),
    ];
    const polledAt: number[] = [];
    const fetchPoll: typeof fetch = (input, init) => {
      if (!String(input).includes("/api/poll?")) return unreachable(input);
      polledAt.push(Date.now());
      const body = answers.shift();
      if (body !== undefined) return Promise.resolve(new Response(body, { status: 200, headers: { "Content-Type": "application/json" } }));
      // Held, as the server holds a poll with nothing to say, until the client lets go.
      return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    };
    const client = makeClient({ transport: "longpoll", fetch: fetchPoll, random: () => 0.5 });
    const events: RealtimeEvent[] = [];
    client.on("event", (e) => events.push(e));
    const reports = reportsOf(client);
    const start = Date.now();
    client.start();
    client.join("general", 0);
    await vi.advanceTimersByTimeAsync(0);

    expect(reports.frames.map((f) => [f.transport, f.type, f.invalid])).toEqual([["longpoll", "poll", "not JSON"]]);
    expect(client.getStatus().rooms.state).toBe("reconnecting");
    // Backoff: 0.5 × 1 s, then 0.5 × 2 s — not straight back.
    await vi.advanceTimersByTimeAsync(499);
    expect(polledAt).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(polledAt).toHaveLength(2);
    expect(reports.frames).toHaveLength(2);
    expect(reports.frames[1]!.invalid).toMatch(/^events: /);
    expect(events).toEqual([]);
    expect(client.position("room:general")).toBe(0);

    await vi.advanceTimersByTimeAsync(1_000);
    expect(polledAt.map((t) => t - start)).toEqual([0, 500, 1500, 1500]);
    expect(events.map((e) => e.seq)).toEqual([1]);
    expect(client.position("room:general")).toBe(1);
    expect(client.getStatus().rooms).toEqual({ transport: "longpoll", state: "connected" });
    expect(reports.errors).toHaveLength(2);
    expect(client.getStatus().invalidFrames).toBe(2);
  });
});

describe("read positions (protocol 1.2)", () => {
  it("offers rt.v1.2 first, sends `read` on the socket, and keeps the newest per room while no link is up", async () => {
    const client = makeClient();
    const reads: Array<{ room: string; readSeq: number }> = [];
    client.on("roomRead", (r) => reads.push(r));
    client.start();
    expect(sockets.last.protocols[0]).toBe("rt.v1.2");
    // Not open yet: kept, the newest per room.
    client.markRead("general", 3);
    client.markRead("general", 5);
    client.markRead("design", 2);
    client.markRead("general", 4);
    sockets.last.open();
    expect(sockets.last.sentOf("read")).toEqual([
      { type: "read", room: "general", seq: 5 },
      { type: "read", room: "design", seq: 2 },
    ]);
    client.markRead("general", 6);
    expect(sockets.last.sentOf("read").at(-1)).toEqual({ type: "read", room: "general", seq: 6 });

    // The server says a position moved (here or on another device): for any room, joined or not.
    sockets.last.receive({ type: "read", room: "design", seq: 9 });
    expect(reads).toEqual([{ room: "design", readSeq: 9 }]);
  });

  it("sends `read` in a long-poll page's batch", async () => {
    const posted: unknown[] = [];
    const fetchFrames: typeof fetch = async (input, init) => {
      if (String(input).includes("/api/poll/frames")) {
        posted.push(JSON.parse(String(init?.body)));
        return new Response(JSON.stringify({ frames: [] }), { status: 200, headers: { "Content-Type": "application/json" } });
      }
      return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
    };
    const client = makeClient({ transport: "longpoll", fetch: fetchFrames });
    client.start();
    client.markRead("general", 7);
    await vi.advanceTimersByTimeAsync(0);
    expect(posted).toEqual([expect.objectContaining({ frames: [{ type: "read", room: "general", seq: 7 }] })]);
  });

  it("hears `event: room.read` on the event stream, and drops one that is not what the protocol says", async () => {
    const streams = eventStreams();
    const client = makeClient({ feedStreams: ["user:me"], fetch: streams.fetch });
    const reads: Array<{ room: string; readSeq: number }> = [];
    client.on("roomRead", (r) => reads.push(r));
    const invalid: string[] = [];
    client.on("error", (e) => e.code === "invalid_frame" && invalid.push(e.message));
    client.start();
    await vi.advanceTimersByTimeAsync(0);
    streams.write(0, "retry: 2000\n\nid: user:me=0\n\n");
    streams.write(0, `event: room.read\ndata: ${JSON.stringify({ room: "general", readSeq: "x" })}\n\n`);
    streams.write(0, `event: room.read\ndata: ${JSON.stringify({ room: "general", readSeq: 4 })}\n\n`);
    await vi.advanceTimersByTimeAsync(0);
    expect(reads).toEqual([{ room: "general", readSeq: 4 }]);
    expect(invalid).toHaveLength(1);
    // Not an event of the log: the stream's position stays.
    expect(client.position("user:me")).toBe(0);
  });
});
