// One tab's client when the browser's tabs share one connection (lib/realtime/tab-client.ts), on
// its own: what the page does becomes up messages for the leader, and of what the leader
// broadcasts the tab keeps only its own rooms' and canvases' events, each once, with its own
// positions and outbox. The tab hub's tests (tab-hub.test.ts) show it working between real tabs;
// these pin its rules one by one, with the leader played by the test.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RealtimeEvent, StreamName } from "../../lib/protocol";
import { CURSOR_HTTP_INTERVAL_MS, CURSOR_WS_INTERVAL_MS } from "../../lib/realtime/client";
import { TabClient, type TabClientOptions } from "../../lib/realtime/tab-client";
import type { DownBody, UpBody } from "../../lib/realtime/tab-protocol";
import { OUTBOX_LIMIT, type ClientEvents, type ConnectionStatus, type OutboxEntry, type OutboxFrame } from "../../lib/realtime/types";

const EVENT_NAMES: (keyof ClientEvents)[] = [
  "event",
  "joined",
  "reset",
  "presence",
  "typing",
  "cursors",
  "ack",
  "read",
  "roomRead",
  "removed",
  "canvasJoined",
  "canvasSnapshot",
  "canvasLive",
  "outbox",
  "status",
  "error",
  "frame",
  "signedOut",
];

interface Storage {
  entries: OutboxEntry[];
  saves: number;
  load(): OutboxEntry[];
  save(entries: OutboxEntry[]): void;
}

function memoryStorage(initial: OutboxEntry[] = []): Storage {
  const s: Storage = {
    entries: initial,
    saves: 0,
    load: () => s.entries.map((e) => ({ ...e })),
    save: (entries) => {
      s.saves++;
      s.entries = entries.map((e) => ({ ...e }));
    },
  };
  return s;
}

/** A tab whose leader is the test: `up` holds what it told the leader, `heard` what the page heard. */
function tab(o: Partial<Pick<TabClientOptions, "mode" | "feedStreams">> & { stored?: OutboxEntry[] } = {}) {
  const up: UpBody[] = [];
  const heard: [keyof ClientEvents, unknown][] = [];
  const storage = memoryStorage(o.stored);
  let ids = 0;
  const t = {
    up,
    heard,
    storage,
    stops: 0,
    client: null as unknown as TabClient,
    /** What the page heard since the last look. */
    take: () => heard.splice(0),
    /** What was sent up since the last look. */
    sent: () => up.splice(0),
    /** The payloads of the `type` events heard so far. */
    of: <K extends keyof ClientEvents>(type: K) => heard.filter(([n]) => n === type).map(([, p]) => p as ClientEvents[K]),
    down: (body: DownBody) => t.client.handleDown(body),
  };
  t.client = new TabClient({
    feedStreams: o.feedStreams ?? ["feed", "user:me"],
    mode: o.mode ?? "auto",
    storage,
    up: (body) => up.push(body),
    onStop: () => t.stops++,
    newClientId: () => `c-${++ids}`,
  });
  for (const name of EVENT_NAMES) t.client.on(name, (p) => heard.push([name, p]));
  return t;
}

const bo = { id: "u_2", name: "Bo", color: "#123456" };
const AT = new Date(0).toISOString();

function message(room: string, seq: number, clientId = `other-${seq}`): RealtimeEvent {
  return { stream: `room:${room}`, seq, type: "message", actor: bo, at: AT, data: { text: `m${seq}`, clientId } };
}

function feedEvent(stream: StreamName, seq: number): RealtimeEvent {
  return { stream, seq, type: "room.created", actor: bo, at: AT, data: { roomId: `r${seq}`, name: `r${seq}` } };
}

function canvasOps(room: string, seq: number, clientId = `other-${seq}`): RealtimeEvent {
  return { stream: `canvas:${room}`, seq, type: "canvas.ops", actor: bo, at: AT, data: { ops: [{ op: "delete", id: `o${seq}` }], clientId } };
}

const seqs = (t: ReturnType<typeof tab>) => t.of("event").map((e) => `${e.stream}#${e.seq}`);

function sharedStatus(over: Partial<ConnectionStatus> = {}): ConnectionStatus {
  return {
    rooms: { transport: "websocket", state: "connected" },
    feed: { transport: "sse", state: "connected" },
    reconnects: 2,
    rttMs: 40,
    invalidFrames: 1,
    link: "open",
    subscriptions: {},
    sharing: { role: "alone", tabs: 3 },
    ...over,
  };
}

const status = (over: Partial<ConnectionStatus> = {}, mode: "auto" | "websocket" | "longpoll" = "auto", offline = false): DownBody => ({
  type: "status",
  status: sharedStatus(over),
  mode,
  offline,
});

const stored = (clientId: string, status: OutboxEntry["status"], error?: OutboxEntry["error"]): OutboxEntry => ({
  clientId,
  room: "design",
  text: `text ${clientId}`,
  frame: { type: "send", room: "design", text: `text ${clientId}`, clientId },
  status,
  createdAt: AT,
  ...(error ? { error } : {}),
});

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the shared connection's status, as this tab shows it", () => {
  it("before any leader speaks, it is connecting, this tab a follower alone, each followed room joining", () => {
    const t = tab({ mode: "longpoll" });
    t.client.join("design");
    expect(t.client.getStatus()).toEqual({
      rooms: { transport: "websocket", state: "connecting" },
      feed: { transport: "sse", state: "connecting" },
      reconnects: 0,
      rttMs: null,
      invalidFrames: 0,
      link: "connecting",
      subscriptions: { design: "joining" },
      sharing: { role: "follower", tabs: 1 },
    });
    expect(t.client.transportMode).toBe("longpoll");
    expect(t.client.isOffline).toBe(false);
  });

  it("the leader's status shows this tab's own rooms and role, and the tabs sharing it", () => {
    const t = tab();
    t.client.join("design");
    t.client.join("ops");
    t.down(status({ subscriptions: { design: "joined", other: "joined" } }, "websocket", true));
    expect(t.of("status")).toEqual([t.client.getStatus()]);
    expect(t.client.getStatus()).toEqual({ ...sharedStatus(), subscriptions: { design: "joined", ops: "joining" }, sharing: { role: "follower", tabs: 3 } });
    expect(t.client.transportMode).toBe("websocket");
    expect(t.client.isOffline).toBe(true);
  });

  it("the role follows the leadership, and the inspector hears each change once a status is known", () => {
    const t = tab();
    // No status yet: nothing to show, but the role is kept.
    t.client.leaderChanged(true);
    expect(t.of("status")).toEqual([]);
    expect(t.client.getStatus().sharing).toEqual({ role: "leader", tabs: 1 });
    t.down(status());
    t.take();

    t.client.leaderLost();
    expect(t.take().map(([n, p]) => [n, (p as ConnectionStatus).sharing.role])).toEqual([["status", "follower"]]);
    t.client.welcomed(true);
    expect(t.take().map(([n, p]) => [n, (p as ConnectionStatus).sharing.role])).toEqual([["status", "leader"]]);
    // The same role again: nothing to tell.
    t.client.welcomed(true);
    t.client.leaderChanged(true);
    expect(t.of("status")).toEqual([]);
    t.client.welcomed(false);
    expect(t.take().map(([n, p]) => [n, (p as ConnectionStatus).sharing])).toEqual([["status", { role: "follower", tabs: 3 }]]);
    // A leader that is not this tab, after none: the status is told again (null → false).
    t.client.leaderLost();
    t.take();
    t.client.leaderChanged(false);
    expect(t.of("status").map((s) => s.sharing.role)).toEqual(["follower"]);
  });

  it("a transport chosen in this tab before the leader's first status is asked of the shared connection, once", () => {
    const t = tab({ mode: "longpoll" });
    t.down(status({}, "auto"));
    expect(t.sent()).toEqual([{ type: "transport", mode: "longpoll" }]);
    expect(t.client.transportMode).toBe("auto");
    t.down(status({}, "auto"));
    expect(t.sent()).toEqual([]);

    // The leader already has it, or this tab has no choice of its own: nothing to ask.
    const same = tab({ mode: "longpoll" });
    same.down(status({}, "longpoll"));
    expect(same.sent()).toEqual([]);
    const auto = tab({ mode: "auto" });
    auto.down(status({}, "websocket"));
    expect(auto.sent()).toEqual([]);

    // A choice made in the page before any leader counts the same.
    const later = tab();
    later.client.setTransport("websocket");
    expect(later.sent()).toEqual([{ type: "transport", mode: "websocket" }]);
    expect(later.client.transportMode).toBe("websocket");
    later.down(status({}, "auto"));
    expect(later.sent()).toEqual([{ type: "transport", mode: "websocket" }]);
  });

  it("the switches show the choice at once and act on the shared connection", () => {
    const t = tab();
    t.client.setOffline(true);
    // No leader's state to show it in yet.
    expect(t.client.isOffline).toBe(false);
    t.down(status({}, "auto", false));
    t.client.setOffline(true);
    expect(t.client.isOffline).toBe(true);
    t.client.setTransport("longpoll");
    expect(t.client.transportMode).toBe("longpoll");
    t.client.dropConnection();
    t.client.wake();
    t.client.typing("design");
    t.client.typing("design", true);
    t.client.markRead("design", 7);
    expect(t.sent()).toEqual([
      { type: "offline", offline: true },
      { type: "offline", offline: true },
      { type: "transport", mode: "longpoll" },
      { type: "drop" },
      { type: "wake" },
      { type: "typing", room: "design", stop: false },
      { type: "typing", room: "design", stop: true },
      { type: "read", room: "design", seq: 7 },
    ]);
  });

  it("the browser's going offline, coming back and showing the page act on the shared connection", () => {
    const t = tab();
    const win = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: "visible" });
    const detach = t.client.attachToBrowser(win as unknown as Window, doc as unknown as Document);
    win.dispatchEvent(new Event("offline"));
    win.dispatchEvent(new Event("online"));
    doc.dispatchEvent(new Event("visibilitychange"));
    expect(t.sent()).toEqual([{ type: "offline", offline: true }, { type: "wake" }, { type: "wake" }]);
    detach();
    win.dispatchEvent(new Event("offline"));
    expect(t.sent()).toEqual([]);
  });
});

describe("starting, stopping, and what this tab tells each leader", () => {
  it("starts once, and stops once, letting the hub go", () => {
    const t = tab();
    t.client.start();
    t.client.start();
    expect(t.sent().map((b) => [b.type, b.type === "hello" && b.started])).toEqual([["hello", true]]);
    t.client.stop();
    t.client.stop();
    expect(t.stops).toBe(1);
    // Stopped: it neither starts again nor says it has started.
    t.client.start();
    expect(t.sent()).toEqual([]);
    expect(t.client.hello()).toMatchObject({ type: "hello", started: false });
  });

  it("a stopped tab hears nothing more from the leader", () => {
    const t = tab();
    t.client.join("design");
    t.client.stop();
    t.down({ type: "event", event: message("design", 1) });
    t.down({ type: "signedOut" });
    t.down({ type: "read", readSeq: 3 });
    expect(t.take()).toEqual([]);
  });

  it("its hello holds its rooms from their positions, the feed's positions, its waiting frames and its canvases", () => {
    const t = tab({ stored: [stored("c-failed", "failed", { code: "forbidden", message: "no" }), stored("c-wait", "pending")] });
    t.client.join("design", 4);
    t.client.join("ops");
    t.client.openCanvas("design");
    t.down({ type: "event", event: feedEvent("user:u_1", 5) });
    expect(t.client.hello()).toStrictEqual({
      type: "hello",
      started: false,
      rooms: [
        { room: "design", since: 4 },
        { room: "ops", since: undefined },
      ],
      // Only the feed's streams with a position; `user:<id>` is kept as `user:me`.
      feed: { "user:me": 5 },
      outbox: [{ type: "send", room: "design", text: "text c-wait", clientId: "c-wait" }],
      canvases: ["design"],
    });
    t.down({ type: "event", event: feedEvent("feed", 3) });
    expect((t.client.hello() as Extract<UpBody, { type: "hello" }>).feed).toEqual({ feed: 3, "user:me": 5 });
  });

  it("a new leader hears the whole state, and what was on its way through the old one goes again", () => {
    const t = tab();
    t.client.send("design", "one");
    t.client.send("design", "two");
    t.down({ type: "outbox", entries: [{ ...stored("c-1", "sending") }] });
    t.take();
    t.sent();
    const saves = t.storage.saves;

    t.client.leaderChanged(false);
    expect(t.client.getOutbox().map((e) => e.status)).toEqual(["pending", "pending"]);
    expect(t.of("outbox").map((o) => o.map((e) => e.status))).toEqual([["pending", "pending"]]);
    expect(t.storage.saves).toBe(saves + 1);
    expect(t.storage.entries.map((e) => e.status)).toEqual(["pending", "pending"]);
    const [hello] = t.sent();
    expect(hello).toMatchObject({ type: "hello", outbox: [{ clientId: "c-1" }, { clientId: "c-2" }] });

    // Nothing on its way: the outbox did not change.
    t.take();
    t.client.leaderChanged(true);
    expect(t.of("outbox")).toEqual([]);
    expect(t.storage.saves).toBe(saves + 1);
    expect(t.sent().map((b) => b.type)).toEqual(["hello"]);
  });
});

describe("rooms", () => {
  it("joins from the position given, or from the one it holds", () => {
    const t = tab();
    t.client.join("design", 4);
    expect(t.client.position("room:design")).toBe(4);
    t.down({ type: "event", event: message("design", 6) });
    t.client.join("design");
    t.client.join("ops");
    expect(t.sent()).toEqual([
      { type: "join", room: "design", since: 4 },
      { type: "join", room: "design", since: 6 },
      { type: "join", room: "ops", since: undefined },
    ]);
  });

  it("leaving forgets the room's position and events; a room it does not follow is not left", () => {
    const t = tab();
    t.client.leave("design");
    expect(t.sent()).toEqual([]);
    t.client.join("design", 4);
    t.client.leave("design");
    expect(t.client.position("room:design")).toBeUndefined();
    expect(t.sent()).toEqual([
      { type: "join", room: "design", since: 4 },
      { type: "leave", room: "design" },
    ]);
    t.down({ type: "event", event: message("design", 5) });
    t.down({ type: "presence", room: "design", members: [bo] });
    expect(t.take()).toEqual([]);
    t.client.leave("design");
    expect(t.sent()).toEqual([]);
  });

  it("the leader's answer to a join sets where the room starts, unless the tab holds a position", () => {
    const t = tab();
    t.down({ type: "joined", room: "design", head: 9, members: [bo] });
    expect(t.take()).toEqual([]);
    expect(t.client.position("room:design")).toBeUndefined();

    t.client.join("design");
    t.down({ type: "joined", room: "design", head: 9, members: [bo] });
    expect(t.take()).toEqual([
      ["joined", { room: "design", head: 9, members: [bo] }],
      ["presence", { room: "design", members: [bo] }],
    ]);
    expect(t.client.position("room:design")).toBe(9);
    t.client.join("ops", 2);
    t.down({ type: "joined", room: "ops", head: 9, members: [] });
    expect(t.client.position("room:ops")).toBe(2);
  });

  it("presence, typing and cursors are heard for the tab's own rooms only", () => {
    const t = tab();
    t.client.join("design");
    const cursors = { u_2: { x: 0.5, y: 0.25, name: "Bo", color: "#123456" } } as unknown as Extract<DownBody, { type: "cursors" }>["cursors"];
    for (const room of ["design", "ops"]) {
      t.down({ type: "presence", room, members: [bo] });
      t.down({ type: "typing", room, users: [{ id: "u_2", name: "Bo" }] });
      t.down({ type: "cursors", room, cursors, snapshot: true });
    }
    expect(t.take()).toEqual([
      ["presence", { room: "design", members: [bo] }],
      ["typing", { room: "design", users: [{ id: "u_2", name: "Bo" }] }],
      ["cursors", { room: "design", cursors, snapshot: true }],
    ]);
  });

  it("removed from a room: it is no longer followed, nor its canvas shown", () => {
    const t = tab();
    t.client.join("design", 3);
    t.client.openCanvas("design");
    t.down({ type: "removed", room: "design" });
    expect(t.take()).toEqual([["removed", { room: "design" }]]);
    expect(t.client.position("room:design")).toBeUndefined();
    expect(t.client.getStatus().subscriptions).toEqual({});
    t.down({ type: "event", event: message("design", 4) });
    t.down({ type: "event", event: canvasOps("design", 1) });
    expect(t.take()).toEqual([]);
    expect(t.client.hello()).toMatchObject({ rooms: [], canvases: [] });

    // A room the tab only draws in: its canvas closes, and the page hears no removal of a room it did not follow.
    const u = tab();
    u.client.openCanvas("ops");
    u.down({ type: "removed", room: "ops" });
    u.down({ type: "event", event: canvasOps("ops", 1) });
    expect(u.take()).toEqual([]);
    expect(u.client.hello()).toMatchObject({ canvases: [] });
  });
});

describe("events from the leader", () => {
  it("each of the tab's events is heard once, whatever the leader repeats; other rooms' are not", () => {
    const t = tab();
    t.client.join("design", 2);
    for (const seq of [2, 3, 3, 4]) t.down({ type: "event", event: message("design", seq) });
    t.down({ type: "event", event: message("ops", 1) });
    t.down({ type: "event", event: feedEvent("feed", 1) });
    t.down({ type: "event", event: feedEvent("feed", 1) });
    t.down({ type: "event", event: feedEvent("user:u_1", 1) });
    expect(seqs(t)).toEqual(["room:design#3", "room:design#4", "feed#1", "user:u_1#1"]);
    expect(t.client.position("room:design")).toBe(4);
    expect(t.client.position("user:me")).toBe(1);
  });

  it("its own message coming back is its ack; another's message or a reaction is not", () => {
    const t = tab();
    t.client.join("design", 0);
    const mine = t.client.send("design", "hello")!;
    const reaction: OutboxFrame = { type: "react", room: "design", seq: 1, emoji: "👍", on: true, clientId: "c-react" };
    t.client.enqueue(reaction);
    t.take();
    t.down({ type: "event", event: message("design", 1, "someone-else") });
    t.down({ type: "event", event: { stream: "room:design", seq: 2, type: "reaction", actor: bo, at: AT, data: { seq: 1, emoji: "👍", on: true, clientId: "c-react" } } });
    expect(t.of("ack")).toEqual([]);
    expect(t.of("outbox")).toEqual([]);
    t.down({ type: "event", event: message("design", 3, mine.clientId) });
    expect(t.take().map(([n]) => n)).toEqual(["event", "event", "outbox", "ack", "event"]);
    expect(t.client.getOutbox().map((e) => e.clientId)).toEqual(["c-react"]);
  });

  it("the ack of its own frame takes it out of the outbox; another tab's ack is not its own", () => {
    const t = tab();
    t.client.send("design", "one");
    t.client.send("ops", "two");
    t.take();
    t.down({ type: "ack", clientId: "someone-else", room: "design", seq: 4 });
    expect(t.take()).toEqual([]);
    t.down({ type: "ack", clientId: "c-2", room: "ops", seq: 5 });
    expect(t.take()).toEqual([
      ["outbox", [expect.objectContaining({ clientId: "c-1" })]],
      ["ack", { clientId: "c-2", room: "ops", seq: 5 }],
    ]);
    expect(t.storage.entries.map((e) => e.clientId)).toEqual(["c-1"]);
  });

  it("a reset moves the tab's position to the head, for its own rooms and the feed", () => {
    const t = tab();
    t.client.join("design", 3);
    t.down({ type: "reset", stream: "room:ops", head: 40 });
    expect(t.take()).toEqual([]);
    expect(t.client.position("room:ops")).toBeUndefined();
    t.down({ type: "reset", stream: "room:design", head: 40 });
    t.down({ type: "reset", stream: "user:u_1", head: 7 });
    t.down({ type: "reset", stream: "feed", head: 2 });
    expect(t.take()).toEqual([
      ["reset", { stream: "room:design", head: 40 }],
      ["reset", { stream: "user:me", head: 7 }],
      ["reset", { stream: "feed", head: 2 }],
    ]);
    expect([t.client.position("room:design"), t.client.position("user:me"), t.client.position("feed")]).toEqual([40, 7, 2]);
  });

  it("read positions, errors, the frames log and signing out reach the page as they come", () => {
    const t = tab();
    t.down({ type: "leader" });
    t.down({ type: "welcome" });
    t.down({ type: "read", readSeq: 3 });
    t.down({ type: "roomRead", room: "ops", readSeq: 8 });
    t.down({ type: "error", code: "forbidden", message: "Not yours" });
    const frame = { direction: "in" as const, transport: "websocket" as const, type: "event", bytes: 10, at: 1 };
    t.down({ type: "frames", frames: [frame, { ...frame, at: 2 }] });
    t.down({ type: "signedOut" });
    expect(t.take()).toEqual([
      ["read", { readSeq: 3 }],
      ["roomRead", { room: "ops", readSeq: 8 }],
      ["error", { code: "forbidden", message: "Not yours" }],
      ["frame", frame],
      ["frame", { ...frame, at: 2 }],
      ["signedOut", undefined],
    ]);
  });
});

describe("the outbox", () => {
  it("a message is kept, stored, and handed to the leader with a new clientId", () => {
    const t = tab();
    const entry = t.client.send("design", "hello", { replyTo: 3 });
    const frame = { type: "send", room: "design", text: "hello", clientId: "c-1", replyTo: 3 };
    expect(entry).toEqual({ clientId: "c-1", room: "design", text: "hello", frame, status: "pending", createdAt: expect.any(String) });
    expect(t.sent()).toEqual([{ type: "enqueue", frame }]);
    expect(t.of("outbox")).toEqual([[entry]]);
    expect(t.storage.entries).toEqual([entry]);
    // What the page holds is a copy.
    entry!.status = "failed";
    t.client.getOutbox()[0]!.text = "changed";
    expect(t.client.getOutbox()).toEqual([{ ...entry, status: "pending" }]);
  });

  it("a full outbox refuses more, and says so", () => {
    const t = tab();
    for (let i = 0; i < OUTBOX_LIMIT; i++) expect(t.client.send("design", `m${i}`)).not.toBeNull();
    t.take();
    t.sent();
    expect(t.client.send("design", "one too many")).toBeNull();
    expect(t.take()).toEqual([["error", { code: "outbox_full", message: `At most ${OUTBOX_LIMIT} messages can wait to be sent` }]]);
    expect(t.sent()).toEqual([]);
    expect(t.client.getOutbox()).toHaveLength(OUTBOX_LIMIT);
  });

  it("what a reload kept goes again, except what failed, which waits for Retry", () => {
    const t = tab({ stored: [stored("c-a", "sending"), stored("c-b", "failed", { code: "forbidden", message: "no" }), stored("c-c", "pending")] });
    expect(t.client.getOutbox().map((e) => [e.clientId, e.status])).toEqual([
      ["c-a", "pending"],
      ["c-b", "failed"],
      ["c-c", "pending"],
    ]);
  });

  it("a tab without storage keeps its outbox in memory", () => {
    const client = new TabClient({ feedStreams: [], mode: "auto", up: () => undefined, onStop: () => undefined, newClientId: () => "c-1" });
    expect(client.getOutbox()).toEqual([]);
    expect(client.send("design", "hello")).toMatchObject({ clientId: "c-1", status: "pending" });
    expect(client.getOutbox().map((e) => e.text)).toEqual(["hello"]);
  });

  it("each entry takes the status the leader gives it, and the page hears only a change", () => {
    const t = tab();
    t.client.send("design", "one");
    t.client.send("design", "two");
    t.take();
    const saves = t.storage.saves;
    const refused = { code: "forbidden" as const, message: "Not yours" };
    // Another tab's entries, and this tab's as they are: nothing changed.
    t.down({ type: "outbox", entries: [stored("c-1", "pending"), stored("someone-else", "failed", refused)] });
    expect(t.take()).toEqual([]);
    expect(t.storage.saves).toBe(saves);

    t.down({ type: "outbox", entries: [stored("c-1", "failed", refused), stored("c-2", "sending")] });
    expect(t.take()).toEqual([
      [
        "outbox",
        [
          expect.objectContaining({ clientId: "c-1", status: "failed", error: refused }),
          expect.objectContaining({ clientId: "c-2", status: "sending" }),
        ],
      ],
    ]);
    expect(t.storage.entries.map((e) => e.status)).toEqual(["failed", "sending"]);

    // The same status with another reason is a change; so is a reason gone.
    const limited = { code: "rate_limited" as const, message: "Slow down" };
    t.down({ type: "outbox", entries: [stored("c-1", "failed", limited), stored("c-2", "sending")] });
    expect(t.of("outbox")).toEqual([[expect.objectContaining({ clientId: "c-1", error: limited }), expect.anything()]]);
    t.take();
    t.down({ type: "outbox", entries: [stored("c-1", "pending"), stored("c-2", "sending")] });
    const [entries] = t.of("outbox");
    expect(entries![0]).not.toHaveProperty("error");
    expect(entries![0]!.status).toBe("pending");
  });

  it("Retry sends a failed frame again, its reason gone; an unknown one is ignored", () => {
    const t = tab();
    t.client.send("design", "one");
    const refused = { code: "forbidden" as const, message: "Not yours" };
    t.down({ type: "outbox", entries: [stored("c-1", "failed", refused)] });
    t.take();
    t.sent();
    t.client.retry("nobody");
    expect(t.take()).toEqual([]);
    expect(t.sent()).toEqual([]);

    t.client.retry("c-1");
    expect(t.take()).toEqual([["outbox", [expect.objectContaining({ clientId: "c-1", status: "pending" })]]]);
    expect(t.client.getOutbox()[0]).not.toHaveProperty("error");
    expect(t.storage.entries[0]).not.toHaveProperty("error");
    expect(t.sent()).toEqual([{ type: "retry", frame: { type: "send", room: "design", text: "one", clientId: "c-1" } }]);
  });

  it("a discarded frame leaves the outbox, and the leader is told", () => {
    const t = tab();
    t.client.send("design", "one");
    t.client.send("design", "two");
    t.take();
    t.sent();
    t.client.discard("c-1");
    expect(t.take()).toEqual([["outbox", [expect.objectContaining({ clientId: "c-2" })]]]);
    expect(t.storage.entries.map((e) => e.clientId)).toEqual(["c-2"]);
    expect(t.sent()).toEqual([{ type: "discard", clientId: "c-1" }]);
  });
});

describe("cursors", () => {
  it("go for the tab's own rooms, at most one per WebSocket interval, the latest winning", async () => {
    const t = tab();
    t.client.moveCursor("ops", { x: 0.1, y: 0.1 });
    t.client.join("design");
    t.sent();
    t.client.moveCursor("design", { x: 0.1, y: 0.1 });
    vi.advanceTimersByTime(0);
    expect(t.sent()).toEqual([{ type: "cursor", room: "design", pos: { x: 0.1, y: 0.1 } }]);
    t.client.moveCursor("design", { x: 0.2, y: 0.2 });
    t.client.moveCursor("design", { x: 0.3, y: 0.3 });
    vi.advanceTimersByTime(CURSOR_WS_INTERVAL_MS - 1);
    expect(t.sent()).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.sent()).toEqual([{ type: "cursor", room: "design", pos: { x: 0.3, y: 0.3 } }]);
  });

  it("on long polling, at most one per HTTP interval", () => {
    const t = tab();
    t.client.join("design");
    t.down(status({ rooms: { transport: "longpoll", state: "connected" } }));
    t.sent();
    t.client.moveCursor("design", { x: 0.1, y: 0.1 });
    vi.advanceTimersByTime(0);
    t.client.moveCursor("design", { x: 0.2, y: 0.2 });
    vi.advanceTimersByTime(CURSOR_HTTP_INTERVAL_MS - 1);
    expect(t.sent()).toEqual([{ type: "cursor", room: "design", pos: { x: 0.1, y: 0.1 } }]);
    vi.advanceTimersByTime(1);
    expect(t.sent()).toEqual([{ type: "cursor", room: "design", pos: { x: 0.2, y: 0.2 } }]);
  });

  it("leaving a room hides the cursor others see first, and nothing pending follows the leave", () => {
    const t = tab();
    t.client.join("design");
    t.client.moveCursor("design", { x: 0.1, y: 0.1 });
    vi.advanceTimersByTime(0);
    t.client.moveCursor("design", { x: 0.2, y: 0.2 });
    t.sent();
    t.client.leave("design");
    vi.advanceTimersByTime(1_000);
    expect(t.sent()).toEqual([
      { type: "cursor", room: "design", pos: null },
      { type: "leave", room: "design" },
    ]);
  });
});

describe("canvases", () => {
  it("a canvas's events, snapshot and live moves are heard only while it is open", () => {
    const t = tab();
    const live = { type: "canvasLive" as const, room: "design", drags: {}, selections: {}, full: true };
    t.down({ type: "canvasJoined", room: "design", head: 3 });
    t.down({ type: "canvasSnapshot", room: "design", seq: 3, objects: [] });
    t.down(live);
    t.down({ type: "event", event: canvasOps("design", 4) });
    expect(t.take()).toEqual([]);
    expect(t.client.position("canvas:design")).toBeUndefined();

    t.client.openCanvas("design");
    expect(t.sent()).toEqual([{ type: "canvasOpen", room: "design" }]);
    t.down({ type: "canvasJoined", room: "design", head: 3 });
    t.down(live);
    t.down({ type: "event", event: canvasOps("design", 4) });
    expect(t.take()).toEqual([
      ["canvasJoined", { room: "design", head: 3 }],
      ["canvasLive", { room: "design", drags: {}, selections: {}, full: true }],
      ["event", canvasOps("design", 4)],
    ]);
  });

  it("a snapshot sets where the board's operations start, even behind what the tab held", () => {
    const t = tab();
    t.client.openCanvas("design");
    t.down({ type: "event", event: canvasOps("design", 12) });
    const objects = [{ id: "o1", kind: "note" as const, x: 0, y: 0, w: 10, h: 10, z: 0, color: "#123456" }];
    t.down({ type: "canvasSnapshot", room: "design", seq: 10, objects });
    expect(t.client.position("canvas:design")).toBe(10);
    for (const seq of [10, 11]) t.down({ type: "event", event: canvasOps("design", seq) });
    expect(t.take().slice(1)).toEqual([
      ["canvasSnapshot", { room: "design", seq: 10, objects }],
      ["event", canvasOps("design", 11)],
    ]);
  });

  it("its own change coming back is its ack", () => {
    const t = tab();
    t.client.openCanvas("design");
    t.client.enqueue({ type: "canvas.ops", room: "design", ops: [{ op: "delete", id: "o1" }], clientId: "c-ops" });
    t.take();
    t.down({ type: "event", event: canvasOps("design", 1, "c-ops") });
    expect(t.of("ack")).toEqual([{ clientId: "c-ops", room: "design", seq: 1 }]);
    expect(t.client.getOutbox()).toEqual([]);
  });

  it("closing forgets the board's position; a canvas not open is not closed", () => {
    const t = tab();
    t.client.closeCanvas("design");
    expect(t.sent()).toEqual([]);
    t.client.openCanvas("design");
    t.down({ type: "event", event: canvasOps("design", 5) });
    t.client.closeCanvas("design");
    expect(t.client.position("canvas:design")).toBeUndefined();
    expect(t.sent()).toEqual([
      { type: "canvasOpen", room: "design" },
      { type: "canvasClose", room: "design" },
    ]);
    t.take();
    t.down({ type: "event", event: canvasOps("design", 6) });
    expect(t.take()).toEqual([]);
  });

  it("drags and selections go for an open canvas, with only what moved", () => {
    const t = tab();
    const drags = { o1: { x: 1, y: 2, w: 3, h: 4 } };
    t.client.moveOnCanvas("design", drags, ["o1"]);
    expect(t.sent()).toEqual([]);
    t.client.openCanvas("design");
    t.sent();
    t.client.moveOnCanvas("design", drags, ["o1"]);
    t.client.moveOnCanvas("design", drags);
    t.client.moveOnCanvas("design", undefined, []);
    t.client.moveOnCanvas("design");
    expect(t.sent()).toEqual([
      { type: "canvasLive", room: "design", drags, selection: ["o1"] },
      { type: "canvasLive", room: "design", drags },
      { type: "canvasLive", room: "design", selection: [] },
      { type: "canvasLive", room: "design" },
    ]);
  });
});
