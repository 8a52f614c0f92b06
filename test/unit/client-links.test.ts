// One client, the same calls, over both links: on the WebSocket and on long polling (where every
// frame goes up through `POST /api/poll/frames`), the server sees the same frames in the same
// order and the page gets the same answers — join, send (ack), typing, cursor, leave.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, ServerFrame } from "../../lib/protocol";
import { RealtimeClient } from "../../lib/realtime/client";
import { FakeSockets } from "../helpers/fake-socket";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** What a server answers a frame with, on either link. */
function answer(f: ClientFrame, seq: number): ServerFrame[] {
  if (f.type === "join") return [{ type: "joined", room: f.room, head: 0, members: [{ id: "u_ada", name: "Ada", color: "#e11d48" }] }];
  if (f.type === "send") return [{ type: "ack", clientId: f.clientId, seq }];
  return [];
}

/** A WebSocket server: answers each frame on the socket. */
function wsLink() {
  const sockets = new FakeSockets();
  const seen: ClientFrame[] = [];
  const client = new RealtimeClient({ baseUrl: "http://app.test", transport: "websocket", createWebSocket: sockets.create, fetch: () => Promise.reject(new TypeError("down")) });
  return {
    client,
    seen,
    async connect() {
      sockets.last.open();
      const socket = sockets.last;
      const send = socket.send.bind(socket);
      socket.send = (data: string) => {
        send(data);
        const f = socket.sent.at(-1)!;
        seen.push(f);
        for (const a of answer(f, seen.length)) socket.receive(a);
      };
      // The join sent on open, before the hook above.
      for (const f of socket.sent) (seen.push(f), answer(f, seen.length).forEach((a) => socket.receive(a)));
    },
  };
}

/** A long-polling server: holds each poll, answers each batch of frames in order. */
function pollLink() {
  const seen: ClientFrame[] = [];
  const conns: string[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    if (url.pathname === "/api/poll/frames") {
      const body = JSON.parse(String(init?.body)) as { frames: ClientFrame[]; conn: string };
      conns.push(`${url.searchParams.get("conn")}|${body.conn}`);
      const frames = body.frames.flatMap((f) => (seen.push(f), answer(f, seen.length)));
      return Promise.resolve(new Response(JSON.stringify({ frames }), { status: 200 }));
    }
    if (url.pathname === "/api/poll") conns.push(`${url.searchParams.get("conn")}|poll`);
    return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  };
  const client = new RealtimeClient({ baseUrl: "http://app.test", transport: "longpoll", fetch: fetchImpl, tabId: "t-page1" });
  return { client, seen, conns, connect: async () => undefined };
}

describe.each([
  ["WebSocket", wsLink],
  ["long polling", pollLink],
])("one client over %s", (_name, makeLink) => {
  it("joins, sends (acked), types, moves its cursor and leaves through the same code path", async () => {
    const link = makeLink();
    const { client } = link;
    const acks: number[] = [];
    const members: string[][] = [];
    client.on("ack", (a) => acks.push(a.seq));
    client.on("presence", (p) => members.push(p.members.map((m) => m.id)));
    client.start();
    client.join("general", 0);
    await link.connect();
    await vi.advanceTimersByTimeAsync(0);
    expect(client.getStatus().subscriptions).toEqual({ general: "joined" });

    const entry = client.send("general", "hello")!;
    await vi.advanceTimersByTimeAsync(0);
    client.typing("general");
    client.moveCursor("general", { x: 0.25, y: 0.5 });
    await vi.advanceTimersByTimeAsync(250);
    client.leave("general");
    await vi.advanceTimersByTimeAsync(0);

    expect(link.seen).toEqual([
      { type: "join", room: "general", since: 0 },
      { type: "send", room: "general", text: "hello", clientId: entry.clientId },
      { type: "typing", room: "general" },
      { type: "cursor", room: "general", x: 0.25, y: 0.5 },
      { type: "cursor", room: "general", x: null, y: null },
      { type: "leave", room: "general" },
    ]);
    expect(acks).toEqual([2]);
    expect(client.getOutbox()).toEqual([]);
    expect(members[0]).toEqual(["u_ada"]);
    client.stop();
  });
});

it("sends its page id as `conn` with every batch and every poll", async () => {
  const link = pollLink();
  link.client.start();
  link.client.join("general", 0);
  await vi.advanceTimersByTimeAsync(0);
  expect(link.conns).toContain("t-page1|t-page1");
  expect(link.conns).toContain("t-page1|poll");
  link.client.stop();
});

it("sends nothing through the REST routes: a batch the server refuses is that answer for each of its frames", async () => {
  const paths: string[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    paths.push(`${init?.method ?? "GET"} ${url.pathname}`);
    if (url.pathname === "/api/poll/frames") {
      const body = { error: { code: "invalid_text", message: "Text must be 1-4000 characters" } };
      return Promise.resolve(new Response(JSON.stringify(body), { status: 400 }));
    }
    return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  };
  const client = new RealtimeClient({ baseUrl: "http://app.test", transport: "longpoll", fetch: fetchImpl });
  client.start();
  client.join("general", 0);
  await vi.advanceTimersByTimeAsync(0);
  client.send("general", "hi");
  await vi.advanceTimersByTimeAsync(0);
  // Refused for good (not a "try later" code): the message is marked failed, not sent elsewhere.
  expect(client.getOutbox().map((e) => e.status)).toEqual(["failed"]);
  expect(paths.filter((p) => p.startsWith("POST"))).toEqual(["POST /api/poll/frames", "POST /api/poll/frames"]);
  client.stop();
});
