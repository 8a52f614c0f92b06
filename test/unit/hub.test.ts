// The hub as the transports use it, with a fake event log and a manual clock: a commit reaches
// the streams' subscribers, a connection counts (and is counted) only while registered, and
// leaving, watching and unwatching a room change who hears its frames.
import { describe, expect, it } from "vitest";
import type { EventLog } from "../../server/eventlog";
import { CURSOR_IDLE_MS, Hub, type Outgoing, type RoomFrame, type Subscriber } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import { ManualClock } from "../../server/state/clock";
import { TYPING_TTL_MS, roomStream, type RealtimeEvent, type User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
const ROOM = "general";
const S = roomStream(ROOM);

/** An event log in memory whose commits the test makes (`commit`), as the log's onCommit hands them out. */
function fakeLog() {
  const events: RealtimeEvent[] = [];
  let listener: ((events: RealtimeEvent[]) => void) | null = null;
  const log = {
    onCommit: (l: (events: RealtimeEvent[]) => void) => ((listener = l), () => {}),
    head: async () => events.length,
    readAfter: async (_stream: string, after: number, limit: number) => events.slice(after, after + limit),
  };
  return {
    log: log as unknown as EventLog,
    /** Appends one event without telling the hub (another instance's commit). */
    append(): RealtimeEvent[] {
      const seq = events.length + 1;
      const e: RealtimeEvent = { stream: S, seq, type: "message", actor: ada, at: new Date(0).toISOString(), data: { text: `m${seq}`, clientId: `c${seq}` } };
      events.push(e);
      return [e];
    },
    /** Appends one event and hands it to the hub, as a local commit does. */
    commit(): void {
      listener?.(this.append());
    },
  };
}

function connection(user: User, id: string, transport: Subscriber["transport"] = "ws") {
  const heard = { seqs: [] as number[], frames: [] as RoomFrame[] };
  const sub: Subscriber = {
    id,
    user,
    sessionId: `s-${id}`,
    transport,
    onEvent: (_stream: string, out: Outgoing) => void heard.seqs.push(out.seq),
    onRoomFrame: (f) => void heard.frames.push(f),
  };
  return { sub, heard };
}

function world(opts: Partial<ConstructorParameters<typeof Hub>[0]> = {}) {
  const clock = new ManualClock();
  const metrics = createMetrics({ defaultMetrics: false });
  const log = fakeLog();
  const hub = new Hub({ log: log.log, clock, logger: silentLogger, metrics, presenceGraceMs: 1_000, ...opts });
  return { clock, metrics, log, hub };
}

/** Lets the fan-out's promises settle. */
const settle = () => new Promise((r) => setImmediate(r));

describe("durable streams through the hub", () => {
  it("hands every commit to the stream's subscribers, and nothing after they unsubscribe", async () => {
    const { log, hub } = world();
    const a = connection(ada, "a");
    hub.register(a.sub);
    expect(await hub.subscribe(S, a.sub)).toEqual({ head: 0, reset: false });
    expect(hub.isSubscribed(S, a.sub)).toBe(true);
    log.commit();
    await settle();
    expect(a.heard.seqs).toEqual([1]);
    expect(hub.followedStreams()).toEqual(new Map([[S, 1]]));
    hub.unsubscribe(S, a.sub);
    expect(hub.isSubscribed(S, a.sub)).toBe(false);
    log.commit();
    await settle();
    expect(a.heard.seqs).toEqual([1]);
  });

  it("catches up what another instance committed when told its head moved", async () => {
    const { log, hub } = world();
    const a = connection(ada, "a");
    hub.register(a.sub);
    await hub.subscribe(S, a.sub);
    log.append();
    log.append();
    await hub.catchUpHeads(new Map([[S, 2]]));
    await settle();
    expect(a.heard.seqs).toEqual([1, 2]);
  });

  it("a closed connection is let go of everywhere: its streams, its rooms, its count", async () => {
    const { log, hub, metrics, clock } = world();
    const a = connection(ada, "a");
    const l = connection(lin, "l");
    for (const c of [a, l]) {
      hub.register(c.sub);
      hub.enterRoom(ROOM, c.sub);
    }
    await hub.subscribe(S, a.sub);
    hub.unregister(a.sub);
    expect(hub.isSubscribed(S, a.sub)).toBe(false);
    log.commit();
    await settle();
    expect(a.heard.seqs).toEqual([]);
    clock.advance(1_000);
    expect(hub.members(ROOM).map((m) => m.id)).toEqual([lin.id]);
    expect(hub.connections()).toEqual([l.sub]);
    expect((await metrics.connections.get()).values).toEqual([{ labels: { transport: "ws" }, value: 1 }]);
  });
});

describe("the connection registry", () => {
  it("counts open connections per transport, each once however often it is registered or let go of", async () => {
    const { hub, metrics } = world();
    const ws = connection(ada, "a");
    const sse = connection(ada, "b", "sse");
    hub.register(ws.sub);
    hub.register(ws.sub);
    hub.register(sse.sub);
    expect(hub.connections()).toEqual([ws.sub, sse.sub]);
    const count = async () => Object.fromEntries((await metrics.connections.get()).values.map((v) => [v.labels.transport, v.value]));
    expect(await count()).toEqual({ ws: 1, sse: 1 });
    hub.unregister(ws.sub);
    hub.unregister(ws.sub);
    expect(await count()).toEqual({ ws: 0, sse: 1 });
    expect(hub.connections()).toEqual([sse.sub]);
  });

  it("a connection that closed on its way in never counts as present nor hears the room", () => {
    const { hub } = world();
    const l = connection(lin, "l");
    hub.register(l.sub);
    hub.enterRoom(ROOM, l.sub);
    const late = connection(ada, "late");
    hub.register(late.sub);
    hub.unregister(late.sub);
    hub.enterRoom(ROOM, late.sub);
    hub.watch(ROOM, late.sub);
    hub.settleRoom(ROOM);
    expect(hub.members(ROOM).map((m) => m.id)).toEqual([lin.id]);
    expect(late.heard.frames).toEqual([]);
  });

  it("signing a session out closes its connections here, and only its", () => {
    const { hub } = world();
    const closed: string[] = [];
    const forgotten: string[] = [];
    hub.onSignOut((sessionId) => void forgotten.push(sessionId));
    // A connection with no way to be told (the interface makes it optional) is passed over.
    hub.register({ ...connection(ada, "a0").sub, sessionId: "s-a" });
    for (const id of ["a", "b"]) hub.register({ ...connection(ada, id).sub, disconnect: (reason) => void closed.push(`${id}:${reason}`) });
    hub.disconnectSession("s-a", "signed-out");
    expect(closed).toEqual(["a:signed-out"]);
    expect(forgotten).toEqual(["s-a"]);
  });

  it("a moved read marker reaches the person's connections that take it, and no one else's", () => {
    const { hub } = world();
    const reads: string[] = [];
    // Not every transport takes read markers (the SSE feed does, a WebSocket does not).
    hub.register(connection(ada, "ws").sub);
    for (const [user, id] of [[ada, "a"], [lin, "l"]] as const) hub.register({ ...connection(user, id).sub, onRead: (seq) => void reads.push(`${id}:${seq}`) });
    hub.announceRead(ada.id, 7);
    expect(reads).toEqual(["a:7"]);
  });
});

describe("rooms through the hub", () => {
  it("leaving at once takes the person out of the room and out of its frames", () => {
    const { hub } = world();
    const a = connection(ada, "a");
    const l = connection(lin, "l");
    for (const c of [a, l]) {
      hub.register(c.sub);
      hub.enterRoom(ROOM, c.sub);
    }
    hub.settleRoom(ROOM);
    hub.leaveRoom(ROOM, a.sub, { immediate: true });
    hub.settleRoom(ROOM);
    expect(hub.members(ROOM).map((m) => m.id)).toEqual([lin.id]);
    const heard = a.heard.frames.length;
    hub.setTyping(ROOM, lin, true, "l");
    expect(a.heard.frames).toHaveLength(heard);
    expect(l.heard.frames.at(-1)?.type).toBe("typing");
  });

  it("a watcher hears the room without counting as present, until it stops watching", () => {
    const { hub } = world();
    const a = connection(ada, "a");
    const w = connection(lin, "w");
    hub.register(a.sub);
    hub.register(w.sub);
    hub.watch(ROOM, w.sub);
    hub.enterRoom(ROOM, a.sub);
    hub.settleRoom(ROOM);
    expect(hub.members(ROOM).map((m) => m.id)).toEqual([ada.id]);
    expect(w.heard.frames.map((f) => f.type)).toEqual(["presence"]);
    hub.unwatch(ROOM, w.sub);
    hub.setTyping(ROOM, ada, true, "a");
    expect(w.heard.frames).toHaveLength(1);
  });

  it("the room's state, version and announced members as a joining client is shown them", () => {
    const { hub } = world();
    const a = connection(ada, "a");
    hub.register(a.sub);
    expect(hub.roomVersion(ROOM)).toBe(0);
    expect(hub.announcedMembersJson(ROOM, lin)).toBe(JSON.stringify([lin]));
    hub.enterRoom(ROOM, a.sub);
    hub.setTyping(ROOM, ada, true, "a");
    hub.moveCursor(ROOM, ada, { x: 0.5, y: 0.25 }, "a");
    expect(hub.roomState(ROOM)).toEqual({ members: [ada], typing: [{ id: ada.id, name: ada.name }], cursors: { [ada.id]: { x: 0.5, y: 0.25, name: ada.name, color: ada.color } } });
    hub.settleRoom(ROOM);
    expect(hub.roomVersion(ROOM)).toBeGreaterThan(0);
    expect(JSON.parse(hub.announcedMembersJson(ROOM, lin))).toEqual([ada, lin]);
    expect(JSON.parse(hub.announcedMembersJson(ROOM, ada))).toEqual([ada]);
  });

  it("a room where someone types with nobody present shows a joining client just itself", () => {
    const { hub } = world();
    // Typing over HTTP: a person can type in a room without a connection present in it.
    hub.setTyping(ROOM, ada, true);
    hub.settleRoom(ROOM);
    expect(hub.typingUsers(ROOM).map((u) => u.id)).toEqual([ada.id]);
    expect(JSON.parse(hub.announcedMembersJson(ROOM, lin))).toEqual([lin]);
  });

  it("typing goes out at once, as its own frame, with no presence frame for it", () => {
    const { hub } = world();
    const a = connection(ada, "a");
    const l = connection(lin, "l");
    for (const c of [a, l]) {
      hub.register(c.sub);
      hub.enterRoom(ROOM, c.sub);
    }
    hub.settleRoom(ROOM);
    const before = l.heard.frames.length;
    hub.setTyping(ROOM, ada, true, "a");
    hub.setTyping(ROOM, ada, false, "a");
    expect(l.heard.frames.slice(before).map((f) => [f.type, JSON.parse(f.json).users.map((u: User) => u.id)])).toEqual([
      ["typing", [ada.id]],
      ["typing", []],
    ]);
  });

  it("a page present through several connections under one presence id leaves when that id leaves", () => {
    const { hub } = world();
    const polls = [connection(ada, "poll-1"), connection(ada, "poll-2")];
    for (const p of polls) {
      hub.register(p.sub);
      hub.enterRoom(ROOM, p.sub, "page-1");
    }
    expect(hub.members(ROOM).map((m) => m.id)).toEqual([ada.id]);
    hub.leaveRoom(ROOM, polls[1]!.sub, { immediate: true, presenceId: "page-1" });
    expect(hub.members(ROOM)).toEqual([]);
  });

  it("a person's other connection leaving leaves their typing and cursor be", () => {
    const { hub } = world();
    const typingHere = connection(ada, "a1");
    const other = connection(ada, "a2");
    for (const c of [typingHere, other]) {
      hub.register(c.sub);
      hub.enterRoom(ROOM, c.sub);
    }
    hub.setTyping(ROOM, ada, true, "a1");
    hub.moveCursor(ROOM, ada, { x: 0.5, y: 0.5 }, "a1");
    hub.leaveRoom(ROOM, other.sub, { immediate: true });
    expect(hub.typingUsers(ROOM).map((u) => u.id)).toEqual([ada.id]);
    expect(Object.keys(hub.cursorSnapshot(ROOM))).toEqual([ada.id]);
    hub.leaveRoom(ROOM, typingHere.sub, { immediate: true });
    expect(hub.typingUsers(ROOM)).toEqual([]);
    expect(hub.cursorSnapshot(ROOM)).toEqual({});
  });

  it("counts cursor positions received, those replaced before going out, and the frames flushed", async () => {
    const { hub, metrics } = world();
    const a = connection(ada, "a");
    hub.register(a.sub);
    hub.enterRoom(ROOM, a.sub);
    hub.moveCursor(ROOM, ada, { x: 0.1, y: 0.1 }, "a");
    hub.moveCursor(ROOM, ada, { x: 0.2, y: 0.2 }, "a");
    hub.cursors.flush();
    hub.moveCursor(ROOM, ada, { x: 0.3, y: 0.3 }, "a");
    hub.cursors.flush();
    const value = async (c: { get(): Promise<{ values: Array<{ value: number }> }> }) => (await c.get()).values[0]?.value;
    expect([await value(metrics.cursorInputs), await value(metrics.cursorCoalesced), await value(metrics.cursorFrames)]).toEqual([3, 1, 2]);
    expect(a.heard.frames.filter((f) => f.type === "cursors")).toHaveLength(2);
  });

  it("a connection in several rooms that closes leaves each of them", () => {
    const { hub, clock } = world();
    const a = connection(ada, "a");
    hub.register(a.sub);
    for (const room of ["one", "two", "three"]) hub.enterRoom(room, a.sub);
    hub.unregister(a.sub);
    clock.advance(1_000);
    expect(["one", "two", "three"].map((room) => hub.members(room))).toEqual([[], [], []]);
  });

  it("a connection that left one of its rooms still leaves the others when it closes", () => {
    const { hub, clock } = world();
    const a = connection(ada, "a");
    hub.register(a.sub);
    hub.enterRoom("one", a.sub);
    hub.enterRoom("two", a.sub);
    hub.leaveRoom("one", a.sub);
    hub.unwatch("one", a.sub);
    hub.unregister(a.sub);
    clock.advance(1_000);
    expect([hub.members("one"), hub.members("two")]).toEqual([[], []]);
  });

  it("leaving or unwatching a room never entered changes nothing", () => {
    const { hub } = world();
    const a = connection(ada, "a");
    const l = connection(lin, "l");
    hub.register(a.sub);
    hub.register(l.sub);
    hub.enterRoom(ROOM, l.sub);
    hub.leaveRoom("elsewhere", a.sub, { immediate: true });
    hub.unwatch("elsewhere", a.sub);
    hub.leaveRoom(ROOM, a.sub, { immediate: true });
    expect(hub.members(ROOM)).toEqual([lin]);
  });

  it("a watcher that takes no room frames is passed over, and the others still hear", () => {
    const { hub } = world();
    const deaf: Subscriber = { id: "deaf", user: ada, sessionId: "s-deaf", transport: "ws", onEvent() {} };
    const l = connection(lin, "l");
    hub.register(deaf);
    hub.register(l.sub);
    hub.enterRoom(ROOM, deaf);
    hub.enterRoom(ROOM, l.sub);
    hub.settleRoom(ROOM);
    expect(l.heard.frames.map((f) => f.type)).toEqual(["presence"]);
  });

  it("typing with nobody present: its watchers see it start and stop", () => {
    const { hub } = world();
    const w = connection(lin, "w");
    hub.register(w.sub);
    hub.watch(ROOM, w.sub);
    hub.setTyping(ROOM, ada, true);
    hub.setTyping(ROOM, ada, false);
    expect(w.heard.frames.map((f) => [f.type, JSON.parse(f.json).users.length])).toEqual([
      ["typing", 1],
      ["typing", 0],
    ]);
  });

  it("typing lapses after TYPING_TTL_MS without a renewal, or after typingTtlMs when given", () => {
    for (const [ttl, opts] of [[TYPING_TTL_MS, {}], [2_000, { typingTtlMs: 2_000 }]] as const) {
      const { hub, clock } = world(opts);
      hub.setTyping(ROOM, ada, true);
      clock.advance(ttl - 1);
      expect(hub.typingUsers(ROOM).map((u) => u.id)).toEqual([ada.id]);
      clock.advance(1);
      expect(hub.typingUsers(ROOM)).toEqual([]);
    }
  });

  it("a cursor left still is taken away after CURSOR_IDLE_MS, or after cursorIdleMs when given", () => {
    for (const [idle, opts] of [[CURSOR_IDLE_MS, {}], [5_000, { cursorIdleMs: 5_000 }]] as const) {
      const { hub, clock } = world(opts);
      hub.moveCursor(ROOM, ada, { x: 0.5, y: 0.5 });
      clock.advance(idle - 1_000);
      hub.cursors.flush();
      expect(Object.keys(hub.cursorSnapshot(ROOM))).toEqual([ada.id]);
      clock.advance(1_000);
      hub.cursors.flush();
      expect(hub.cursorSnapshot(ROOM)).toEqual({});
    }
  });

  it("with coalescing off, every cursor move is a frame at once", () => {
    const { hub } = world({ coalesceCursors: false });
    const l = connection(lin, "l");
    hub.register(l.sub);
    hub.watch(ROOM, l.sub);
    hub.moveCursor(ROOM, ada, { x: 0.1, y: 0.1 });
    hub.moveCursor(ROOM, ada, { x: 0.2, y: 0.2 });
    expect(l.heard.frames.filter((f) => f.type === "cursors")).toHaveLength(2);
  });
});
