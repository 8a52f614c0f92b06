// Tabs of one browser sharing one connection (lib/realtime/tab-hub.ts): one tab leads and alone
// holds a client; the others' rooms, messages and fault switches reach it, and each tab hears
// only its own rooms, each event once. When the leader goes, with or without a word, the next
// tab takes over and resumes from what the tabs hold, and their waiting messages go once more
// with the same clientIds. Real BroadcastChannels (node's), fake Web Locks, a fake client.
import { afterEach, describe, expect, it } from "vitest";
import type { RealtimeEvent } from "../../lib/protocol";
import { RealtimeClient } from "../../lib/realtime/client";
import { TabHub } from "../../lib/realtime/tab-hub";
import type { SharedClient } from "../../lib/realtime/tab-leader";
import { TAB_CHANNEL, TAB_LEADER_LOCK } from "../../lib/realtime/tab-protocol";
import type { ClientEvents, OutboxEntry, OutboxStorage } from "../../lib/realtime/types";
import { FakeSockets } from "../helpers/fake-socket";
import { FakeLocks, FakeSharedClient } from "../helpers/fake-tabs";

const FEED = ["feed", "user:me"];
const live: { hub: TabHub; channel: BroadcastChannel }[] = [];

afterEach(() => {
  for (const { hub, channel } of live.splice(0)) {
    hub.dispose();
    channel.close();
  }
});

/**
 * Lets the tabs talk it out. Node's BroadcastChannel delivers on a later turn of the event loop,
 * each answer one turn after what it answers: after the wait, a few turns run to the end (a
 * timer on a busy machine can fire before the messages that were due first).
 */
async function settle(ms = 30): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
}

let ids = 0;

/** One browser: its locks, the clients its leaders made, and its tabs. */
function browser(makeClient: () => SharedClient = () => new FakeSharedClient()) {
  const locks = new FakeLocks();
  const clients: SharedClient[] = [];
  const tabs = new Map<string, ReturnType<typeof tab>>();

  function tab(pageId: string, storage?: OutboxStorage, lifecycle?: { win: EventTarget; doc: EventTarget }) {
    const channel = new BroadcastChannel(TAB_CHANNEL);
    const hub = new TabHub(
      {
        locks: locks.forPage(pageId),
        channel,
        pageId,
        createClient: () => {
          const c = makeClient();
          clients.push(c);
          return c;
        },
        lifecycle,
        gatherMs: 5,
        pruneMs: 50,
      },
      { feedStreams: FEED, mode: "auto", storage, newClientId: () => `c-${++ids}` },
    );
    live.push({ hub, channel });
    const heard = record(hub.client);
    return { pageId, hub, client: hub.client, heard, channel };
  }

  return {
    locks,
    clients,
    /** The client of the tab that leads now. */
    get leaderClient() {
      return clients.at(-1) as FakeSharedClient;
    },
    open(pageId: string, storage?: OutboxStorage, lifecycle?: { win: EventTarget; doc: EventTarget }) {
      const t = tab(pageId, storage, lifecycle);
      tabs.set(pageId, t);
      return t;
    },
    /** The tab is gone without a word (closed, crashed): its locks go, its channel is closed. */
    kill(pageId: string) {
      const t = tabs.get(pageId)!;
      t.channel.close();
      locks.kill(pageId);
    },
  };
}

function record(client: TabHub["client"]) {
  const heard = { events: [] as string[], presence: [] as string[], typing: [] as string[], acks: [] as string[], signedOut: 0, statuses: [] as ClientEvents["status"][] };
  client.on("event", (e) => heard.events.push(`${e.stream}#${e.seq}`));
  client.on("presence", (p) => heard.presence.push(`${p.room}:${p.members.map((m) => m.name).join(",")}`));
  client.on("typing", (t) => heard.typing.push(`${t.room}:${t.users.map((u) => u.name).join(",")}`));
  client.on("ack", (a) => heard.acks.push(`${a.clientId}=${a.seq}`));
  client.on("signedOut", () => heard.signedOut++);
  client.on("status", (s) => heard.statuses.push(s));
  return heard;
}

function message(room: string, seq: number, clientId = `other-${seq}`): RealtimeEvent {
  return { stream: `room:${room}`, seq, type: "message", actor: { id: "u_2", name: "Bo" }, at: new Date(0).toISOString(), data: { text: `m${seq}`, clientId } };
}

const bo = { id: "u_2", name: "Bo", color: "#123456" };

function memoryStorage(initial: OutboxEntry[] = []): OutboxStorage & { entries: OutboxEntry[] } {
  const s = {
    entries: initial,
    load: () => s.entries.map((e) => ({ ...e })),
    save: (entries: OutboxEntry[]) => void (s.entries = entries.map((e) => ({ ...e }))),
  };
  return s;
}

describe("tabs sharing one connection", () => {
  it("a follower's read goes through the leader's connection, and every tab hears every room's read position", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const follower = b.open("pb");
    await settle();
    for (const t of [a, follower]) t.client.start();
    follower.client.markRead("design", 7);
    await settle();
    expect(b.leaderClient.calls).toContain("read design 7");

    const heard: Record<string, string[]> = { pa: [], pb: [] };
    a.client.on("roomRead", (r) => heard.pa!.push(`${r.room}=${r.readSeq}`));
    follower.client.on("roomRead", (r) => heard.pb!.push(`${r.room}=${r.readSeq}`));
    // A room no tab follows: its position still counts for the room lists.
    b.leaderClient.emit("roomRead", { room: "ops", readSeq: 3 });
    await settle();
    expect(heard).toEqual({ pa: ["ops=3"], pb: ["ops=3"] });
  });

  it("one tab leads and holds the only client; each tab hears only its own rooms", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t2 = b.open("pb");
    const t3 = b.open("pc");
    await settle();
    expect(b.clients).toHaveLength(1);
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pa");

    for (const t of [a, t2, t3]) t.client.start();
    t2.client.join("design", 4);
    t3.client.join("ops");
    await settle();
    const c = b.leaderClient;
    expect(c.started).toBe(true);
    expect(c.calls).toEqual(expect.arrayContaining(["join design 4", "join ops"]));

    c.emit("event", message("design", 5));
    c.emit("event", message("ops", 9));
    c.emit("presence", { room: "ops", members: [bo] });
    c.emit("typing", { room: "design", users: [bo] });
    c.emit("event", { stream: "feed", seq: 3, type: "room.created", actor: bo, at: new Date(0).toISOString(), data: { roomId: "x", name: "x" } });
    await settle();
    expect(t2.heard.events).toEqual(["room:design#5", "feed#3"]);
    expect(t3.heard.events).toEqual(["room:ops#9", "feed#3"]);
    expect(a.heard.events).toEqual(["feed#3"]);
    expect(t3.heard.presence).toEqual(["ops:Bo"]);
    expect(t2.heard.presence).toEqual([]);
    expect(t2.heard.typing).toEqual(["design:Bo"]);

    // The inspector of every tab says who leads and for how many.
    expect(a.client.getStatus().sharing).toEqual({ role: "leader", tabs: 3 });
    expect(t3.client.getStatus().sharing).toEqual({ role: "follower", tabs: 3 });
    expect(t3.client.getStatus().subscriptions).toEqual({ ops: "joining" });
  });

  it("a follower's message goes through the leader once and is acknowledged in that tab only", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t2 = b.open("pb");
    await settle();
    for (const t of [a, t2]) t.client.start();
    t2.client.join("design", 0);
    a.client.join("design", 0);
    const entry = t2.client.send("design", "hello")!;
    await settle();
    const c = b.leaderClient;
    expect(c.calls.filter((x) => x.startsWith("enqueue"))).toEqual([`enqueue ${entry.clientId}`]);
    expect(t2.client.getOutbox().map((e) => e.status)).toEqual(["sending"]);

    c.ack(entry.clientId, 1);
    c.emit("event", message("design", 1, entry.clientId));
    await settle();
    expect(t2.heard.acks).toEqual([`${entry.clientId}=1`]);
    expect(t2.client.getOutbox()).toEqual([]);
    expect(a.heard.acks).toEqual([]);
    expect(a.heard.events).toEqual(["room:design#1"]);
  });

  it("fault switches and typing in any tab act on the shared connection", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t2 = b.open("pb");
    await settle();
    t2.client.join("design");
    t2.client.typing("design");
    t2.client.moveCursor("design", { x: 0.5, y: 0.5 });
    t2.client.setOffline(true);
    t2.client.dropConnection();
    t2.client.setTransport("longpoll");
    await settle();
    expect(b.leaderClient.calls).toEqual(expect.arrayContaining(["typing design", "cursor design 0.5,0.5", "offline true", "drop", "transport longpoll"]));
    expect(t2.client.isOffline).toBe(true);
    expect(t2.client.transportMode).toBe("longpoll");
    expect(a.client.transportMode).toBe("longpoll");
  });

  it("a room is left when its last tab leaves it; a tab that goes without a word is forgotten", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t2 = b.open("pb");
    const t3 = b.open("pc");
    await settle();
    t2.client.join("design", 1);
    t3.client.join("design", 1);
    await settle();
    const c = b.leaderClient;
    t2.client.leave("design");
    await settle();
    expect(c.calls).not.toContain("leave design");
    b.kill("pc");
    // The leader looks for pages whose lock is gone (after a grace for newcomers).
    await settle(1_200);
    expect(c.calls).toContain("leave design");
    expect(a.client.getStatus().sharing.tabs).toBe(2);
  });

  it("the leader goes: the next tab leads, rejoins from the lowest position the tabs hold, and sends their waiting messages once more", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t2 = b.open("pb");
    const t3 = b.open("pc");
    await settle();
    for (const t of [a, t2, t3]) t.client.start();
    t2.client.join("design", 10);
    t3.client.join("design", 7);
    const pending = t3.client.send("design", "sent while the leader dies")!;
    await settle();
    b.leaderClient.emit("event", { stream: "feed", seq: 20, type: "room.created", actor: bo, at: new Date(0).toISOString(), data: { roomId: "y", name: "y" } });
    await settle();

    b.kill("pa");
    // A message written during the handover.
    const during = t2.client.send("design", "written during the handover")!;
    await settle(60);
    expect(b.clients).toHaveLength(2);
    const next = b.leaderClient;
    expect(next.started).toBe(true);
    expect(next.position("room:design")).toBe(7);
    expect(next.position("feed")).toBe(20);
    const enqueued = next.calls.filter((x) => x.startsWith("enqueue")).sort();
    expect(enqueued).toEqual([`enqueue ${pending.clientId}`, `enqueue ${during.clientId}`].sort());

    // The new connection resumes from seq 7: each tab takes only what it had not seen.
    for (let seq = 8; seq <= 11; seq++) next.emit("event", message("design", seq));
    await settle();
    expect(t3.heard.events.filter((e) => e.startsWith("room:"))).toEqual(["room:design#8", "room:design#9", "room:design#10", "room:design#11"]);
    expect(t2.heard.events.filter((e) => e.startsWith("room:"))).toEqual(["room:design#11"]);
    const leaders = [t2, t3].map((t) => t.client.getStatus().sharing);
    expect(leaders).toEqual(expect.arrayContaining([{ role: "leader", tabs: 2 }, { role: "follower", tabs: 2 }]));
  });

  it("a message stored by a tab before a reload is handed to the leader again", async () => {
    const stored: OutboxEntry = {
      clientId: "c-kept",
      room: "design",
      text: "kept across a reload",
      frame: { type: "send", room: "design", text: "kept across a reload", clientId: "c-kept" },
      status: "pending",
      createdAt: new Date(0).toISOString(),
    };
    const b = browser();
    b.open("pa");
    await settle();
    const t2 = b.open("pb", memoryStorage([stored]));
    t2.client.join("design", 3);
    t2.client.start();
    await settle();
    expect(b.leaderClient.calls.filter((x) => x.startsWith("enqueue"))).toEqual(["enqueue c-kept"]);
  });

  it("signing out in one tab signs out every tab", async () => {
    const b = browser();
    const a = b.open("pa");
    await settle();
    const t2 = b.open("pb");
    const t3 = b.open("pc");
    await settle();
    t3.hub.endSession();
    await settle();
    expect(a.heard.signedOut).toBe(1);
    expect(t2.heard.signedOut).toBe(1);
    expect(b.leaderClient.stopped).toBe(false);
  });

  it("a tab being frozen lets go of the connection, and comes back as a follower when it resumes", async () => {
    const b = browser();
    const doc = new EventTarget();
    const a = b.open("pa", undefined, { win: new EventTarget(), doc });
    await settle();
    const t2 = b.open("pb");
    await settle();
    a.client.join("design", 3);
    t2.client.join("design", 5);
    for (const t of [a, t2]) t.client.start();
    await settle();
    const first = b.leaderClient;

    doc.dispatchEvent(new Event("freeze"));
    await settle(60);
    expect(first.stopped).toBe(true);
    expect(b.locks.holder(TAB_LEADER_LOCK)).toBe("pb");
    expect(t2.client.getStatus().sharing).toEqual({ role: "leader", tabs: 1 });

    doc.dispatchEvent(new Event("resume"));
    await settle(60);
    expect(b.clients).toHaveLength(2);
    // The tab that slept holds less: the room is joined again from its position.
    expect(b.leaderClient.calls).toContain("join design 3");
    expect(a.client.getStatus().sharing).toEqual({ role: "follower", tabs: 2 });
  });

  it("with the real client, three tabs make one socket, and its frames carry every tab's rooms", async () => {
    const sockets = new FakeSockets();
    const unreachable: typeof fetch = () => Promise.reject(new TypeError("fetch failed"));
    const b = browser(() => new RealtimeClient({ baseUrl: "http://app.test", transport: "websocket", createWebSocket: sockets.create, fetch: unreachable, random: () => 0.5 }));
    const tabs = [b.open("pa")];
    await settle();
    tabs.push(b.open("pb"), b.open("pc"));
    tabs[1]!.client.join("design", 2);
    tabs[2]!.client.join("ops", 4);
    for (const t of tabs) t.client.start();
    await settle();
    expect(sockets.count).toBe(1);
    sockets.last.open();
    await settle();
    expect(sockets.last.sentOf("join")).toEqual(expect.arrayContaining([{ type: "join", room: "design", since: 2 }, { type: "join", room: "ops", since: 4 }]));

    // A cursor from a tab goes out as it is: that tab throttled it.
    tabs[1]!.client.moveCursor("design", { x: 0.25, y: 0.75 });
    await settle(60);
    expect(sockets.last.sentOf("cursor")).toEqual([{ type: "cursor", room: "design", x: 0.25, y: 0.75 }]);

    sockets.last.receive({ type: "event", event: message("design", 3) });
    await settle();
    expect(tabs[1]!.heard.events).toEqual(["room:design#3"]);
    expect(tabs[2]!.heard.events).toEqual([]);
    expect(sockets.count).toBe(1);
  });

  it("the real client's feed rewinds to a position a tab holds, and only back", async () => {
    const asked: (string | undefined)[] = [];
    const streams: typeof fetch = (input, init) => {
      if (!String(input).includes("/api/stream")) return Promise.reject(new TypeError("fetch failed"));
      asked.push((init?.headers as Record<string, string> | undefined)?.["Last-Event-ID"]);
      const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new TextEncoder().encode("id: feed=20\n\n")) });
      return Promise.resolve(new Response(body, { headers: { "Content-Type": "text/event-stream" } }));
    };
    const sockets = new FakeSockets();
    const client = new RealtimeClient({ baseUrl: "http://app.test", transport: "websocket", createWebSocket: sockets.create, fetch: streams, feedStreams: ["feed"] });
    try {
      // Before starting, a tab's position is where the first stream starts.
      client.rewind("feed", 12);
      client.start();
      await settle();
      expect(asked).toEqual(["feed=12"]);
      expect(client.position("feed")).toBe(20);
      client.rewind("feed", 25);
      await settle();
      expect(asked).toHaveLength(1);
      client.rewind("feed", 15);
      await settle();
      expect(asked).toEqual(["feed=12", "feed=15"]);
    } finally {
      client.stop();
    }
  });
});
