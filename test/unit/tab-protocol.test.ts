// The messages tabs exchange to share one connection: every message a tab or the leader sends
// is one the other side reads (each type, and each value its enums allow), and what is not one
// is refused. A tab that could not read its leader's message would silently miss what it says.
import { describe, expect, it } from "vitest";
import { pageLockName, TAB_CHANNEL, TAB_LEADER_LOCK, tabMessageSchema, type DownBody, type UpBody } from "../../lib/realtime/tab-protocol";

const ada = { id: "u_ada", name: "Ada", color: "#123456" };
/** A member.joined event's data, as the protocol's own schema has it. */
const MEMBER_JOINED = { roomId: "general" };
const send = { type: "send", room: "general", text: "hi", clientId: "c1" } as const;
const channelStates = ["idle", "connecting", "connected", "reconnecting", "offline", "signed-out"] as const;
const links = ["idle", "connecting", "open", "fallback-poll", "backoff", "offline", "signed-out"] as const;
const modes = ["auto", "websocket", "longpoll"] as const;

const up: UpBody[] = [
  { type: "hello", started: true, rooms: [{ room: "general", since: 3 }, { room: "random" }], feed: { feed: 9, "user:me": 0 }, outbox: [send], canvases: ["general"] },
  { type: "hello", started: false, rooms: [], feed: {}, outbox: [] },
  { type: "canvasOpen", room: "general" },
  { type: "canvasClose", room: "general" },
  { type: "canvasLive", room: "general", drags: { o1: { x: 1, y: 2, w: 3, h: 4 }, o2: null }, selection: ["o1"] },
  { type: "canvasLive", room: "general" },
  { type: "join", room: "general", since: 0 },
  { type: "join", room: "general" },
  { type: "leave", room: "general" },
  { type: "enqueue", frame: send },
  { type: "retry", frame: send },
  { type: "discard", clientId: "c1" },
  { type: "typing", room: "general", stop: false },
  { type: "cursor", room: "general", pos: { x: 0.5, y: 0.25 } },
  { type: "cursor", room: "general", pos: null },
  { type: "read", room: "general", seq: 4 },
  ...modes.map((mode) => ({ type: "transport", mode }) as const),
  { type: "drop" },
  { type: "offline", offline: true },
  { type: "wake" },
  { type: "bye" },
];

const status = (i: number) => ({
  rooms: { transport: i % 2 ? "longpoll" : "websocket", state: channelStates[i % channelStates.length]! },
  feed: { transport: i % 2 ? "sse" : "longpoll", state: channelStates[(i + 1) % channelStates.length]! },
  reconnects: i,
  rttMs: i % 2 ? null : 12,
  invalidFrames: 0,
  link: links[i]!,
  subscriptions: { general: "joined" },
  sharing: { role: (["alone", "leader", "follower"] as const)[i % 3]!, tabs: 2 },
});

// Typed loosely: each is checked against the schema itself below.
const down = [
  { type: "leader" },
  { type: "welcome" },
  { type: "event", event: { seq: 1, stream: "room:general", type: "member.joined", actor: { id: "u_ada", name: "Ada" }, at: "2026-12-05T10:00:00.000Z", data: MEMBER_JOINED } as never },
  { type: "joined", room: "general", head: 3, members: [ada] },
  { type: "presence", room: "general", members: [] },
  { type: "typing", room: "general", users: [{ id: "u_ada", name: "Ada" }] },
  { type: "cursors", room: "general", cursors: { u_ada: { x: 0.1, y: 0.2, name: "Ada", color: "#123456" }, u_lin: null } as never, snapshot: true },
  { type: "reset", stream: "room:general", head: 3 },
  { type: "ack", clientId: "c1", room: "general", seq: 4 },
  { type: "read", readSeq: 4 },
  { type: "roomRead", room: "general", readSeq: 4 },
  { type: "removed", room: "general" },
  { type: "canvasJoined", room: "general", head: 0 },
  { type: "canvasSnapshot", room: "general", seq: 0, objects: [] },
  { type: "canvasLive", room: "general", drags: {}, selections: {}, full: false },
  { type: "error", code: "forbidden", message: "no" },
  ...(["pending", "sending", "failed"] as const).map(
    (s) =>
      ({
        type: "outbox",
        entries: [{ clientId: "c1", room: "general", text: "hi", frame: send, status: s, createdAt: "2026-12-05T10:00:00.000Z", error: { code: "network", message: "offline" } }],
      }) as const,
  ),
  { type: "outbox", entries: [{ clientId: "c2", room: "general", text: "old", status: "failed", createdAt: "x", error: { code: "rate_limited", message: "slow" } }] },
  ...links.map((_, i) => ({ type: "status", status: status(i), mode: modes[i % 3]!, offline: i === 5 }) as DownBody),
  {
    type: "frames",
    frames: (["websocket", "sse", "longpoll", "http"] as const).flatMap((transport) =>
      (["in", "out"] as const).map((direction) => ({ direction, transport, type: "send", bytes: 10, at: 1 })),
    ),
  },
  { type: "frames", frames: [{ direction: "in", transport: "websocket", type: "?", bytes: 3, at: 2, invalid: "not JSON" }] },
  { type: "signedOut" },
] as unknown as DownBody[];

describe("the tabs' messages", () => {
  it.each(up.map((body) => [body.type, body] as const))("a tab's %s reaches its leader as sent", (_type, body) => {
    const parsed = tabMessageSchema.safeParse({ dir: "up", from: "page-1", body });
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data).toEqual({ dir: "up", from: "page-1", body });
  });

  it.each(down.map((body, i) => [`${body.type} #${i}`, body] as const))("the leader's %s reaches its tabs as sent", (_name, body) => {
    for (const message of [
      { dir: "down", from: "page-1", body },
      { dir: "down", from: "page-1", to: "page-2", body },
    ]) {
      const parsed = tabMessageSchema.safeParse(message);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data).toEqual(message);
    }
  });

  it("refuses what is not one of them", () => {
    const refused = [
      { dir: "sideways", from: "p", body: { type: "bye" } },
      { dir: "up", from: "p", body: { type: "leader" } }, // a down message sent up
      { dir: "down", from: "p", body: { type: "hello" } },
      { dir: "up", from: "p", body: { type: "join", room: "general", since: -1 } },
      { dir: "up", from: "p", body: { type: "join", room: "general", since: 1.5 } },
      { dir: "up", from: "p", body: { type: "hello", started: true, rooms: [], feed: { feed: -1 }, outbox: [] } },
      { dir: "up", from: "p", body: { type: "enqueue", frame: { type: "join", room: "general" } } }, // no clientId: no outbox frame
      { dir: "up", from: "p", body: { type: "transport", mode: "carrier-pigeon" } },
      { dir: "down", from: "p", body: { type: "outbox", entries: [{ clientId: "c", room: "r", text: "", status: "lost", createdAt: "x" }] } },
      { dir: "down", from: "p", body: { type: "frames", frames: [{ direction: "up", transport: "websocket", type: "x", bytes: 1, at: 1 }] } },
    ];
    for (const message of refused) expect(tabMessageSchema.safeParse(message).success, JSON.stringify(message)).toBe(false);
  });

  it("names its channel and locks by the protocol's version, and a page's lock by its id", () => {
    expect([TAB_CHANNEL, TAB_LEADER_LOCK]).toEqual(["rt-tabs-v3", "rt-tabs-leader-v3"]);
    expect(pageLockName("abc")).toBe("rt-page:abc");
  });
});
