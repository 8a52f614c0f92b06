// The realtime client (lib/realtime) against a real server: chat both ways, the outbox across
// offline spells, long polling, and switching transports without loss or duplicates.
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { WebSocketLike } from "../../lib/realtime/types";
import { makeClient, type TestClient } from "../helpers/client";
import { fakeBrowser } from "../helpers/fake-socket";
import { MANY_ROOMS, startServerWith, waitFor, type Person, type TestServer } from "../helpers/server";
import { startHttpProxy, type HttpProxy } from "../helpers/http-proxy";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";

let s: TestServer;
let ada: Person;
let lin: Person;
const clients: TestClient[] = [];
const proxies: Array<TcpProxy | HttpProxy> = [];

beforeAll(async () => {
  [s, ada, lin] = await startServerWith(["Ada", "Lin"], { tuning: { presenceGraceMs: 200 }, env: MANY_ROOMS });
});
afterEach(async () => {
  const done = clients.splice(0);
  for (const c of done) c.client.stop();
  for (const p of proxies.splice(0)) await p.close();
  // The client checks every payload over WebSocket, SSE, long polling and HTTP against the
  // protocol's schemas: everything this real server sent in the scenario passed.
  expect(done.flatMap((c) => c.invalid)).toEqual([]);
});
afterAll(async () => {
  await s?.stop();
});

function client(who: { cookie: string }, opts: Parameters<typeof makeClient>[2] = {}): TestClient {
  const c = makeClient(s.url, who.cookie, opts);
  clients.push(c);
  return c;
}

/** Starts each client, then joins each to room `r` from its first event. */
function startAndJoin(r: string, ...cs: TestClient[]): void {
  for (const c of cs) c.client.start();
  for (const c of cs) c.client.join(r, 0);
}

async function room(name: string): Promise<string> {
  const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: ada.cookie });
  expect(res.status).toBe(201);
  return name;
}

/** A new room `name` with Ada's client (a) and Lin's (b) started and joined to it. */
async function adaAndLinIn(name: string): Promise<{ r: string; a: TestClient; b: TestClient }> {
  const r = await room(name);
  const a = client(ada);
  const b = client(lin);
  startAndJoin(r, a, b);
  return { r, a, b };
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** A proxy in front of the test server, and a WebSocket factory for `who` that goes through it. */
async function proxiedSockets(who: { cookie: string }): Promise<{ proxy: TcpProxy; createWebSocket: (url: string, protocols: string[]) => WebSocketLike }> {
  const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(s.url).port) });
  proxies.push(proxy);
  const proxied = `ws://127.0.0.1:${proxy.port}/ws`;
  return {
    proxy,
    createWebSocket: (_url, protocols) => new WebSocket(proxied, protocols, { headers: { cookie: who.cookie } }) as unknown as WebSocketLike,
  };
}

const texts = (c: TestClient, r: string) =>
  c.events.filter((e) => e.stream === `room:${r}` && e.type === "message").map((e) => (e.data as { text: string }).text);

describe("realtime client over WebSocket", () => {
  it("chats both ways; the sender's message turns sent on ack; presence shows both", async () => {
    const r = await room("client-ws");
    const a = client(ada);
    const b = client(lin);
    const members: string[][] = [];
    b.client.on("presence", (p) => p.room === r && members.push(p.members.map((m) => m.name).sort()));
    startAndJoin(r, a, b);
    await waitFor(() => members.some((m) => m.join() === "Ada,Lin"), 5000, "presence of both");
    const acks: number[] = [];
    a.client.on("ack", (x) => acks.push(x.seq));
    const entry = a.client.send(r, "hello Lin")!;
    expect(["pending", "sending"]).toContain(entry.status);
    await waitFor(() => texts(b, r).includes("hello Lin"), 5000, "Lin receives");
    await waitFor(() => acks.length === 1 && a.client.getOutbox().length === 0, 5000, "ack");
    b.client.send(r, "hi Ada");
    await waitFor(() => texts(a, r).includes("hi Ada"), 5000, "Ada receives");
    expect(a.client.getStatus().rooms).toEqual({ transport: "websocket", state: "connected" });
  });

  it("keeps messages typed offline as pending and sends each exactly once when back", async () => {
    const { r, a, b } = await adaAndLinIn("client-offline");
    await waitFor(() => a.client.getStatus().rooms.state === "connected");
    a.client.setOffline(true);
    a.client.send(r, "one");
    a.client.send(r, "two");
    expect(a.client.getOutbox().map((e) => e.status)).toEqual(["pending", "pending"]);
    await new Promise((res) => setTimeout(res, 200));
    expect(texts(b, r)).toEqual([]);
    a.client.setOffline(false);
    await waitFor(() => texts(b, r).length === 2 && a.client.getOutbox().length === 0, 5000, "delivery after reconnect");
    expect(texts(b, r)).toEqual(["one", "two"]);
    expect(b.seqs(`room:${r}`)).toEqual([1, 2]);
    expect(await s.app.log.head(`room:${r}`)).toBe(2);
  });

  it("drains 60 messages written offline in order, none bounced by the server's rate limit", async () => {
    const { r, a, b } = await adaAndLinIn("client-backlog");
    await waitFor(() => a.client.getStatus().rooms.state === "connected", 5000, "connected");
    const errors: string[] = [];
    a.client.on("error", (e) => errors.push(e.code));
    a.client.setOffline(true);
    const written = Array.from({ length: 60 }, (_, i) => `backlog ${i + 1}`);
    for (const t of written) a.client.send(r, t);
    a.client.setOffline(false);
    await waitFor(() => texts(b, r).length >= 60 && a.client.getOutbox().length === 0, 20_000, "all 60 delivered");
    expect(texts(b, r)).toEqual(written);
    expect(errors).toEqual([]);
    expect(await s.app.log.head(`room:${r}`)).toBe(60);
  });

  it("resumes after a dropped connection with nothing lost or repeated", async () => {
    const { r, a, b } = await adaAndLinIn("client-drop");
    await waitFor(() => b.client.getStatus().rooms.state === "connected");
    a.client.send(r, "before");
    await waitFor(() => texts(b, r).length === 1);
    b.client.dropConnection();
    // Written while Lin is away.
    for (const t of ["during-1", "during-2", "during-3"]) a.client.send(r, t);
    await waitFor(() => a.client.getOutbox().length === 0);
    await waitFor(() => texts(b, r).length === 4, 5000, "resume");
    expect(b.seqs(`room:${r}`)).toEqual([1, 2, 3, 4]);
    expect(b.client.getStatus().reconnects).toBeGreaterThanOrEqual(1);
  });
});

describe("a frame the server cannot take (1.19)", () => {
  for (const transport of ["websocket", "longpoll"] as const) {
    it(`over ${transport}: fails alone, kept for Retry, and the messages behind it go`, async () => {
      const r = await room(`client-bad-${transport}`);
      const a = client(ada, transport === "longpoll" ? { transport, pollWaitS: 5 } : {});
      const b = client(lin);
      startAndJoin(r, a, b);
      await waitFor(() => a.client.getStatus().rooms.state === "connected");
      a.client.send(r, "react to this");
      await waitFor(() => texts(b, r).includes("react to this"), 5000, "the first message");
      // A reaction whose emoji is not one (a client that checks less than the server does).
      const bad = a.client.enqueue({ type: "react", room: r, seq: 1, emoji: "zzz", on: true, clientId: "bad-react-1" })!;
      a.client.send(r, "and after it");
      await waitFor(() => texts(b, r).includes("and after it"), 5000, "the message behind the bad frame");
      await waitFor(() => a.client.getOutbox().length === 1, 5000, "only the bad frame left");
      expect(a.client.getOutbox()).toMatchObject([{ clientId: bad.clientId, status: "failed", error: { code: "bad_frame" } }]);
      expect(a.client.getStatus().rooms.state).toBe("connected");
    });
  }
});

describe("a connection that went dead without closing (a laptop that slept)", () => {
  it("is checked when the page becomes visible or the network comes back, then replaced and resumed without loss", async () => {
    const r = await room("client-asleep");
    const { proxy, createWebSocket } = await proxiedSockets(lin);
    const a = client(ada);
    const b = client(lin, { createWebSocket, answerTimeoutMs: 500 });
    const browser = fakeBrowser();
    b.client.attachToBrowser(browser.win, browser.doc);
    startAndJoin(r, a, b);
    await waitFor(() => b.client.getStatus().rooms.state === "connected", 5000, "Lin connected");
    a.client.send(r, "before");
    await waitFor(() => texts(b, r).length === 1, 5000, "first message");

    for (const signal of ["visible", "online"] as const) {
      proxy.silence();
      a.client.send(r, `to Lin asleep (${signal})`);
      b.client.send(r, `from Lin asleep (${signal})`);
      await waitFor(() => a.client.getOutbox().length === 0, 5000, "Ada's message stored");
      await sleep(300);
      // Nothing arrives, yet the socket still looks open: nothing would ever notice by itself.
      expect(texts(b, r)).not.toContain(`to Lin asleep (${signal})`);
      expect(b.client.getStatus().rooms.state).toBe("connected");
      // The person comes back to the tab, or the network comes back (no `offline` before it).
      if (signal === "visible") {
        browser.fire("hidden");
        browser.fire("visible");
      } else {
        browser.fire("online");
      }
      await waitFor(
        () => texts(b, r).includes(`to Lin asleep (${signal})`) && texts(b, r).includes(`from Lin asleep (${signal})`) && b.client.getOutbox().length === 0,
        5000,
        `resumed after "${signal}"`,
      );
    }
    expect(await s.app.log.head(`room:${r}`)).toBe(5);
    expect(b.seqs(`room:${r}`)).toEqual([1, 2, 3, 4, 5]);
    expect(texts(b, r).filter((t) => t.startsWith("from Lin"))).toHaveLength(2);
    expect(b.client.getStatus().reconnects).toBeGreaterThanOrEqual(2);
  });
});

describe("realtime client over long polling", () => {
  it("chats, sees presence and typing, all over long polling", async () => {
    const r = await room("client-lp");
    const a = client(ada, { transport: "longpoll", pollWaitS: 5 });
    const b = client(lin, { transport: "longpoll", pollWaitS: 5 });
    const typing: string[][] = [];
    const members: string[][] = [];
    b.client.on("typing", (t) => t.room === r && typing.push(t.users.map((u) => u.name)));
    b.client.on("presence", (p) => p.room === r && members.push(p.members.map((m) => m.name).sort()));
    startAndJoin(r, a, b);
    await waitFor(() => members.some((m) => m.join() === "Ada,Lin"), 5000, "presence over polling");
    a.client.typing(r);
    await waitFor(() => typing.some((t) => t.includes("Ada")), 5000, "typing over polling");
    a.client.send(r, "polled hello");
    await waitFor(() => texts(b, r).includes("polled hello"), 5000, "message over polling");
    await waitFor(() => a.client.getOutbox().length === 0);
    expect(a.client.getStatus().rooms).toEqual({ transport: "longpoll", state: "connected" });
  });

  it("posts a backlog one message at a time, in order, under the server's rate limit", async () => {
    const r = await room("client-lp-backlog");
    // What the server answered each message sent up: its `ack`, or an `error` (rate_limited).
    const answers: string[] = [];
    const countingFetch: typeof fetch = async (input, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("cookie", ada.cookie);
      const res = await fetch(input, { ...init, headers });
      if (String(input).includes("/api/poll/frames") && res.ok) {
        const { frames } = (await res.clone().json()) as { frames: Array<{ type: string; code?: string; clientId?: string }> };
        for (const f of frames) if (f.clientId !== undefined) answers.push(f.type === "ack" ? "ack" : `${f.type}:${f.code}`);
      }
      return res;
    };
    const a = client(ada, { transport: "longpoll", pollWaitS: 5, fetch: countingFetch });
    const b = client(lin);
    a.client.setOffline(true);
    const written = Array.from({ length: 30 }, (_, i) => `polled backlog ${i + 1}`);
    for (const t of written) a.client.send(r, t);
    startAndJoin(r, a, b);
    a.client.setOffline(false);
    await waitFor(() => texts(b, r).length >= 30 && a.client.getOutbox().length === 0, 20_000, "all 30 delivered");
    expect(texts(b, r)).toEqual(written);
    // Every message was taken at the first try: none answered rate_limited.
    expect(answers).toEqual(written.map(() => "ack"));
  });

  it("switched to long polling by hand (the inspector's toggle), is connected at once and chats on", async () => {
    const r = await room("client-switch-by-hand");
    const waits: string[] = [];
    const recordingFetch: typeof fetch = (input, init = {}) => {
      const url = new URL(String(input));
      if (url.pathname === "/api/poll") waits.push(url.searchParams.get("wait") ?? "");
      const headers = new Headers(init.headers);
      headers.set("cookie", ada.cookie);
      return fetch(input, { ...init, headers });
    };
    const a = client(ada, { feedStreams: ["feed", "user:me"], fetch: recordingFetch });
    const b = client(lin);
    startAndJoin(r, a, b);
    await waitFor(() => a.client.getStatus().rooms.state === "connected" && a.client.getStatus().feed.state === "connected", 5000, "connected");
    a.client.setTransport("longpoll");
    // Connected as soon as the first poll answers: it asks for an answer at once (wait=0), even
    // though every position is known, instead of being held a whole poll (25 s) first.
    await waitFor(() => a.client.getStatus().rooms.transport === "longpoll" && a.client.getStatus().rooms.state === "connected", 5000, "connected over long polling");
    expect(waits[0]).toBe("0");
    a.client.send(r, "sent by hand-picked long polling");
    await waitFor(() => texts(b, r).includes("sent by hand-picked long polling"), 5000, "delivered");
  });

  it("falls back to long polling when the WebSocket cannot open, then upgrades back with no loss or duplicate", async () => {
    const r = await room("client-switch");
    let wsOk = false;
    const a = client(ada);
    const b = client(lin, { wsAllowed: () => wsOk, wsOpenTimeoutMs: 500, upgradeRetryMs: 700, pollWaitS: 2 });
    startAndJoin(r, a, b);
    await waitFor(() => b.client.getStatus().rooms.transport === "longpoll", 5000, "fallback");
    for (let i = 1; i <= 5; i++) a.client.send(r, `lp-${i}`);
    await waitFor(() => texts(b, r).length === 5, 5000, "messages over polling");
    b.client.send(r, "from lin while polling");
    await waitFor(() => texts(a, r).includes("from lin while polling"));
    wsOk = true;
    // Keep talking through the switch.
    for (let i = 1; i <= 5; i++) {
      a.client.send(r, `switch-${i}`);
      await new Promise((res) => setTimeout(res, 150));
    }
    await waitFor(() => b.client.getStatus().rooms.transport === "websocket", 5000, "upgrade");
    for (let i = 1; i <= 3; i++) a.client.send(r, `ws-${i}`);
    await waitFor(() => texts(b, r).length === 14, 5000, "all messages");
    expect(b.seqs(`room:${r}`)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });
});

describe("feed and notifications over SSE", () => {
  it("streams feed events and mentions to the client, resuming after a drop", async () => {
    const b = client(lin, { feedStreams: ["feed", "user:me"] });
    b.client.start();
    await waitFor(() => b.client.getStatus().feed.state === "connected", 5000, "SSE open");
    await room("feed-a");
    await waitFor(() => b.events.some((e) => e.type === "room.created" && e.data.roomId === "feed-a"), 5000, "room.created");
    b.client.dropConnection();
    await room("feed-b");
    await s.api("/api/rooms/feed-b/messages", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ text: "hey @Lin", clientId: "f1" }) });
    await waitFor(() => b.events.some((e) => e.type === "mention"), 5000, "mention after resume");
    const feed = b.seqs("feed");
    expect(new Set(feed).size).toBe(feed.length);
    expect(feed).toEqual([...feed].sort((x, y) => x - y));
    expect(b.client.getStatus().feed.transport).toBe("sse");
  });

  for (const [i, [what, answer]] of ([
    ["answers 502", (res: import("node:http").ServerResponse) => res.writeHead(502, { "Content-Type": "text/plain" }).end("Bad Gateway")],
    ["answers 403", (res: import("node:http").ServerResponse) => res.writeHead(403, { "Content-Type": "text/html" }).end("<h1>Blocked</h1>")],
    ["answers a page of HTML with 200", (res: import("node:http").ServerResponse) => res.writeHead(200, { "Content-Type": "text/html" }).end("<html>Sign in to the proxy</html>")],
  ] as const).entries()) {
    it(`moves the feed to long polling when a proxy ${what} for the event stream`, async () => {
      const proxy = await startHttpProxy(Number(new URL(s.url).port), (req, res) => {
        if (!req.url?.startsWith("/api/stream")) return false;
        answer(res);
        return true;
      });
      proxies.push(proxy);
      const b = client(lin, {
        baseUrl: proxy.url,
        feedStreams: ["feed", "user:me"],
        pollWaitS: 2,
        createWebSocket: (_url, protocols) => new WebSocket(s.wsUrl, protocols, { headers: { cookie: lin.cookie } }) as unknown as WebSocketLike,
      });
      b.client.start();
      await waitFor(() => b.client.getStatus().feed.transport === "longpoll" && b.client.getStatus().feed.state === "connected", 5000, "feed on polling");
      // It gave the stream a fair chance first: the default two tries.
      expect(proxy.intercepted.filter((p) => p === "/api/stream").length).toBeGreaterThanOrEqual(2);
      const name = `feed-blocked-${i}`;
      await room(name);
      await waitFor(() => b.events.some((e) => e.type === "room.created" && e.data.roomId === name), 5000, "feed over polling");
    });
  }

  it("follows the rooms onto long polling when WebSockets are blocked, before its own stream has opened", async () => {
    // A proxy that strips upgrades and holds event streams without a byte: the server answers
    // plain requests through it. The rooms' link finds it out; the feed asks no more of it.
    const proxy = await startHttpProxy(Number(new URL(s.url).port), (req) => {
      if (!req.url?.startsWith("/api/stream")) return false;
      return true; // held, unanswered
    });
    proxies.push(proxy);
    const b = client(lin, {
      baseUrl: proxy.url,
      feedStreams: ["feed", "user:me"],
      transport: "auto",
      pollWaitS: 2,
      createWebSocket: () => {
        throw new Error("the proxy drops the Upgrade header");
      },
    });
    b.client.start();
    await waitFor(() => b.client.getStatus().rooms.transport === "longpoll", 5000, "rooms on polling");
    await waitFor(() => b.client.getStatus().feed.transport === "longpoll" && b.client.getStatus().feed.state === "connected", 5000, "feed on polling");
    // One try at the stream, not the two silent ones of its own negotiation.
    expect(proxy.intercepted.filter((p) => p === "/api/stream").length).toBe(1);
    await room("feed-follows");
    await waitFor(() => b.events.some((e) => e.type === "room.created" && e.data.roomId === "feed-follows"), 5000, "feed over polling");
  });

  it("keeps trying the event stream, not long polling, while the server itself is down", async () => {
    // 503 for everything, /readyz too: a restart, not a proxy.
    const proxy = await startHttpProxy(Number(new URL(s.url).port), (_req, res) => {
      res.writeHead(503, { "Content-Type": "text/plain" }).end("Service Unavailable");
      return true;
    });
    proxies.push(proxy);
    const b = client(lin, { baseUrl: proxy.url, feedStreams: ["feed", "user:me"], transport: "auto", createWebSocket: () => { throw new Error("no socket"); } });
    b.client.start();
    await waitFor(() => proxy.intercepted.filter((p) => p === "/api/stream").length >= 4, 5000, "several tries");
    expect(b.client.getStatus().feed.transport).toBe("sse");
  });

  it("hears at once when mentions are read on another device, without moving its position", async () => {
    const b = client(lin, { feedStreams: ["feed", "user:me"] });
    const reads: number[] = [];
    b.client.on("read", (r) => reads.push(r.readSeq));
    b.client.start();
    await waitFor(() => b.client.getStatus().feed.state === "connected", 5000, "SSE open");
    await room("read-elsewhere");
    await s.api("/api/rooms/read-elsewhere/messages", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ text: "@Lin look", clientId: "r1" }) });
    await waitFor(() => b.events.some((e) => e.type === "mention" && e.data.roomId === "read-elsewhere"), 5000, "mention");
    const position = b.client.position("user:me");
    const head = b.events.filter((e) => e.type === "mention").at(-1)!.seq;

    // Lin's phone reads it.
    const res = await s.api("/api/notifications/read", { method: "POST", cookie: lin.cookie, body: JSON.stringify({ seq: head }) });
    expect(res.status).toBe(204);
    await waitFor(() => reads.includes(head), 5000, "read marker over SSE");
    expect(b.client.position("user:me")).toBe(position);
    // Someone else's read is not Lin's business.
    await s.api("/api/notifications/read", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ seq: 0 }) });
    await sleep(200);
    expect(reads).toEqual([head]);
  });

  it("moves the feed to long polling when the event stream stays silent", async () => {
    const b = client(lin, {
      feedStreams: ["feed", "user:me"],
      sseFirstByteTimeoutMs: 300,
      failuresBeforeFallback: 1,
      pollWaitS: 2,
      // A buffering proxy: the stream's bytes never arrive.
      fetch: (input, init = {}) => {
        const headers = new Headers(init.headers);
        headers.set("cookie", lin.cookie);
        if (String(input).includes("/api/stream")) return new Promise<Response>(() => {});
        return fetch(input, { ...init, headers });
      },
    });
    b.client.start();
    await waitFor(() => b.client.getStatus().feed.transport === "longpoll" && b.client.getStatus().feed.state === "connected", 5000, "feed on polling");
    await room("feed-c");
    await waitFor(() => b.events.some((e) => e.type === "room.created" && e.data.roomId === "feed-c"), 5000, "feed over polling");
  });
});
