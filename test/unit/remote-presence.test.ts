// Presence across instances during a rolling deploy, with a manual clock and an in-memory bus
// between real hubs: an instance that drains says goodbye, and the people it served — who
// reconnect elsewhere, each after their own jittered delay — never blink out of the room.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { EphemeralBus, EphemeralMessage } from "../../server/backplane/ephemeral";
import { EventLog } from "../../server/eventlog";
import { Hub, type RoomFrame, type Subscriber } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { ManualClock } from "../../server/state/clock";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import type { User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
const kay: User = { id: "u_kay", name: "Kay", color: "#0d9488" };
const GRACE = 3_000;
const SPREAD = 5_000;
const ROOM = "general";
/** For hubs that need no log: presence and cursors never touch it. */
const noLog = { onCommit: () => {} } as unknown as EventLog;

/** Pub/sub between hubs in this process: every message reaches every other member at once. */
class MemoryBusNetwork {
  private readonly members = new Map<string, (msg: EphemeralMessage) => void>();
  /** What a departed instance's process might still send after its goodbye. */
  deliver(msg: EphemeralMessage): void {
    for (const [id, onMessage] of this.members) if (id !== msg.i) onMessage(msg);
  }
  bus(id: string): EphemeralBus {
    return {
      publish: (msg) => this.deliver(msg),
      start: async (onMessage, onConnected) => {
        this.members.set(id, onMessage);
        onConnected();
      },
      stop: async () => void this.members.delete(id),
    };
  }
}

function person(user: User, id: string): Subscriber {
  return { id, user, sessionId: `s-${id}`, transport: "ws", onEvent() {} };
}

/** A connection of that person opens on `hub` and enters the room. */
function enter(hub: Hub, sub: Subscriber): void {
  hub.register(sub);
  hub.enterRoom(ROOM, sub);
}

let testDb: TestDatabase;
let clock: ManualClock;
let network: MemoryBusNetwork;
let hubs: Hub[];

beforeAll(async () => {
  testDb = await createTestDatabase("pglite");
});
afterAll(async () => {
  await testDb?.drop();
});

async function hub(id: string): Promise<Hub> {
  const h = new Hub({
    log: new EventLog(testDb.db),
    clock,
    logger: silentLogger,
    instanceId: id,
    presenceGraceMs: GRACE,
    // Heartbeats are real-time timers: keep them out of this test's way.
    presenceHeartbeatMs: 3_600_000,
  });
  await h.attachBus(network.bus(id));
  hubs.push(h);
  return h;
}

/** Everyone's name in the room as `viewer` shows it, after announcing what changed. */
function seenBy(viewer: Hub, ...changed: Hub[]): string[] {
  for (const h of changed) h.settleRoom(ROOM);
  viewer.settleRoom(ROOM);
  return viewer.members(ROOM).map((m) => m.name).sort();
}

beforeEach(() => {
  clock = new ManualClock();
  network = new MemoryBusNetwork();
  for (const h of hubs ?? []) h.stop();
  hubs = [];
});

describe("presence across a rolling deploy", () => {
  it("keeps a drained instance's people present while they reconnect elsewhere, and lets go of those who don't", async () => {
    const draining = await hub("A");
    const viewer = await hub("B");
    const next = await hub("C");
    const frames: string[][] = [];
    const watcher: Subscriber = {
      ...person(kay, "kay-1"),
      onRoomFrame: (f: RoomFrame) => {
        if (f.type === "presence") frames.push((JSON.parse(f.json) as { members: User[] }).members.map((m) => m.name).sort());
      },
    };
    viewer.register(watcher);
    viewer.watch(ROOM, watcher);
    enter(draining, person(ada, "ada-1"));
    enter(draining, person(lin, "lin-1"));
    expect(seenBy(viewer, draining)).toEqual(["Ada", "Lin"]);

    draining.stop({ reconnectSpreadMs: SPREAD });
    expect(seenBy(viewer)).toEqual(["Ada", "Lin"]);
    // Ada comes back through another instance after her suggested delay; Lin closed the tab.
    clock.advance(SPREAD - 1);
    enter(next, person(ada, "ada-2"));
    expect(seenBy(viewer, next)).toEqual(["Ada", "Lin"]);

    clock.advance(GRACE + 1);
    expect(seenBy(viewer)).toEqual(["Ada"]);
    // One frame when they arrived, one when Lin left: Ada never disappeared.
    expect(frames).toEqual([["Ada", "Lin"], ["Ada"]]);
  });

  it("clears a drained instance's typing at once", async () => {
    const draining = await hub("A");
    const viewer = await hub("B");
    enter(draining, person(ada, "ada-1"));
    draining.setTyping(ROOM, ada, true, "ada-1");
    draining.settleRoom(ROOM);
    expect(viewer.typingUsers(ROOM).map((u) => u.name)).toEqual(["Ada"]);
    draining.stop({ reconnectSpreadMs: SPREAD });
    expect(viewer.typingUsers(ROOM)).toEqual([]);
    expect(seenBy(viewer)).toEqual(["Ada"]);
  });

  it("ignores whatever an instance sends after its goodbye (no ghost for three heartbeats)", async () => {
    const draining = await hub("A");
    const viewer = await hub("B");
    enter(draining, person(ada, "ada-1"));
    expect(seenBy(viewer, draining)).toEqual(["Ada"]);
    draining.stop({ reconnectSpreadMs: SPREAD });
    clock.advance(SPREAD + GRACE + 1);
    expect(seenBy(viewer)).toEqual([]);
    // A presence grace still running in the old process announces one last change.
    network.deliver({ t: "room", i: "A", room: ROOM, state: { members: [ada, lin], typing: [] } });
    network.deliver({ t: "state", i: "A", rooms: { [ROOM]: { members: [ada], typing: [] } } });
    expect(seenBy(viewer)).toEqual([]);
  });
});

/** A connection on `hub` that keeps the cursor frames it hears and how it was told to close. */
function viewerOn(hub: Hub, user: User, id: string) {
  const seen = { cursors: [] as Array<Record<string, unknown>>, closed: [] as string[], reads: [] as number[] };
  const sub: Subscriber = {
    ...person(user, id),
    onRoomFrame: (f: RoomFrame) => {
      if (f.type === "cursors") seen.cursors.push((JSON.parse(f.json) as { cursors: Record<string, unknown> }).cursors);
    },
    disconnect: (reason) => void seen.closed.push(reason),
    onRead: (readSeq) => void seen.reads.push(readSeq),
  };
  hub.register(sub);
  hub.watch(ROOM, sub);
  return { sub, seen };
}

describe("the peer protocol", () => {
  it("shows a cursor moved on another instance on the next tick, hides it when hidden there, and drops it when that instance says goodbye", async () => {
    const a = await hub("A");
    const b = await hub("B");
    const { seen } = viewerOn(b, kay, "kay-1");
    enter(a, person(ada, "ada-1"));
    a.moveCursor(ROOM, ada, { x: 0.25, y: 0.75 }, "ada-1");
    a.cursors.flush();
    expect(seen.cursors).toEqual([]); // out with B's own tick, not as a frame of its own
    b.cursors.flush();
    expect(seen.cursors).toEqual([{ [ada.id]: { x: 0.25, y: 0.75, name: "Ada", color: ada.color } }]);
    expect(b.cursorSnapshot(ROOM)).toEqual({ [ada.id]: { x: 0.25, y: 0.75, name: "Ada", color: ada.color } });

    a.hideCursor(ROOM, ada.id, "ada-1");
    a.cursors.flush();
    b.cursors.flush();
    expect(seen.cursors.at(-1)).toEqual({ [ada.id]: null });
    expect(b.cursorSnapshot(ROOM)).toEqual({});

    a.moveCursor(ROOM, ada, { x: 0.5, y: 0.5 }, "ada-1");
    a.cursors.flush();
    b.cursors.flush();
    expect(b.cursorSnapshot(ROOM)).toHaveProperty(ada.id);
    a.stop({ reconnectSpreadMs: SPREAD });
    b.cursors.flush();
    expect(seen.cursors.at(-1)).toEqual({ [ada.id]: null });
    expect(b.cursorSnapshot(ROOM)).toEqual({});
  });

  it("a sign-out on one instance closes that session's connections on every instance, and only those", async () => {
    const a = await hub("A");
    const b = await hub("B");
    const forgotten: string[] = [];
    b.onSignOut((sessionId) => void forgotten.push(sessionId));
    const here = viewerOn(a, ada, "ada-1");
    const there = viewerOn(b, ada, "ada-1");
    const other = viewerOn(b, lin, "lin-1");
    a.disconnectSession("s-ada-1", "signed-out");
    expect(here.seen.closed).toEqual(["signed-out"]);
    expect(there.seen.closed).toEqual(["signed-out"]);
    expect(other.seen.closed).toEqual([]);
    expect(forgotten).toEqual(["s-ada-1"]);
  });

  it("a read marker moved on one instance reaches that person's connections on every instance, and only theirs", async () => {
    const a = await hub("A");
    const b = await hub("B");
    const here = viewerOn(a, ada, "ada-1");
    const there = viewerOn(b, ada, "ada-2");
    const other = viewerOn(b, lin, "lin-1");
    a.announceRead(ada.id, 42);
    expect(here.seen.reads).toEqual([42]);
    expect(there.seen.reads).toEqual([42]);
    expect(other.seen.reads).toEqual([]);
  });

  it("an instance joining late is told everyone's presence and typing at once", async () => {
    const a = await hub("A");
    enter(a, person(ada, "ada-1"));
    a.setTyping(ROOM, ada, true, "ada-1");
    const late = await hub("B");
    expect(late.members(ROOM).map((m) => m.name)).toEqual(["Ada"]);
    expect(late.typingUsers(ROOM).map((u) => u.name)).toEqual(["Ada"]);
    // A's own change reaches B as it happens too, replacing what B had for that room.
    a.setTyping(ROOM, ada, false);
    a.settleRoom(ROOM);
    expect(late.typingUsers(ROOM)).toEqual([]);
  });

  it("keeps a departed instance's people no longer than a minute, however long it asks", async () => {
    const a = await hub("A");
    const viewer = await hub("B");
    enter(a, person(ada, "ada-1"));
    a.settleRoom(ROOM);
    network.deliver({ t: "bye", i: "A", keepMs: 3_600_000 });
    clock.advance(60_000 - 1);
    expect(seenBy(viewer)).toEqual(["Ada"]);
    clock.advance(1);
    expect(seenBy(viewer)).toEqual([]);
  });

  it("a goodbye that names no window keeps its people for the default reconnect spread plus the grace", async () => {
    const a = await hub("A");
    const viewer = await hub("B");
    enter(a, person(ada, "ada-1"));
    a.settleRoom(ROOM);
    network.deliver({ t: "bye", i: "A" });
    clock.advance(5_000 + GRACE - 1);
    expect(seenBy(viewer)).toEqual(["Ada"]);
    clock.advance(1);
    expect(seenBy(viewer)).toEqual([]);
  });
});

describe("what an instance's heartbeat and goodbye change", () => {
  it("a room missing from an instance's next heartbeat is announced without its people", async () => {
    const viewer = await hub("B");
    const frames: string[][] = [];
    const watcher: Subscriber = {
      ...person(kay, "kay-1"),
      onRoomFrame: (f: RoomFrame) => {
        if (f.type === "presence") frames.push((JSON.parse(f.json) as { members: User[] }).members.map((m) => m.name));
      },
    };
    viewer.register(watcher);
    viewer.watch(ROOM, watcher);
    network.deliver({ t: "state", i: "Z", rooms: { [ROOM]: { members: [ada], typing: [] } } });
    viewer.settleRoom(ROOM);
    network.deliver({ t: "state", i: "Z", rooms: {} });
    viewer.settleRoom(ROOM);
    expect(frames).toEqual([["Ada"], []]);
  });

  it("an instance that said goodbye answers nobody: one starting after it does not show its people", async () => {
    const draining = await hub("A");
    enter(draining, person(ada, "ada-1"));
    draining.settleRoom(ROOM);
    draining.stop({ reconnectSpreadMs: SPREAD });
    const late = await hub("C");
    expect(late.members(ROOM)).toEqual([]);
  });

  it("remembers the last thousand instances that said goodbye, and lets an older one speak again", async () => {
    const viewer = await hub("B");
    for (let i = 0; i <= 1_000; i++) network.deliver({ t: "bye", i: `old-${i}` });
    network.deliver({ t: "room", i: "old-1", room: ROOM, state: { members: [lin], typing: [] } });
    expect(seenBy(viewer)).toEqual([]);
    network.deliver({ t: "room", i: "old-0", room: ROOM, state: { members: [ada], typing: [] } });
    expect(seenBy(viewer)).toEqual(["Ada"]);
  });

  it("a stopped instance's heartbeat stops with it", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const h = new Hub({ log: noLog, clock, logger: silentLogger, instanceId: "A", presenceHeartbeatMs: 1_000 });
    await h.attachBus(network.bus("A"));
    expect(vi.getTimerCount()).toBe(1);
    h.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("the peer protocol, more", () => {
  it("the goodbye's window is the instance's own presence grace after the reconnect spread", async () => {
    const draining = new Hub({ log: noLog, clock, logger: silentLogger, instanceId: "A", presenceGraceMs: 500, presenceHeartbeatMs: 3_600_000 });
    hubs.push(draining);
    await draining.attachBus(network.bus("A"));
    const viewer = await hub("B");
    enter(draining, person(ada, "ada-1"));
    draining.settleRoom(ROOM);
    draining.stop({ reconnectSpreadMs: SPREAD });
    clock.advance(SPREAD + 500 - 1);
    expect(seenBy(viewer)).toEqual(["Ada"]);
    clock.advance(1);
    expect(seenBy(viewer)).toEqual([]);
  });

  it("an instance with people in other rooms only adds nobody to this one", async () => {
    const viewer = await hub("B");
    network.deliver({ t: "state", i: "Z", rooms: { elsewhere: { members: [ada], typing: [ada] } } });
    expect(viewer.members(ROOM)).toEqual([]);
    expect(viewer.typingUsers(ROOM)).toEqual([]);
  });

  it("a person present here and on another instance is shown as this instance has them", async () => {
    const viewer = await hub("B");
    enter(viewer, person(ada, "ada-1"));
    network.deliver({ t: "state", i: "Z", rooms: { [ROOM]: { members: [{ ...ada, name: "Ada (old name)" }], typing: [] } } });
    expect(viewer.members(ROOM).map((m) => m.name)).toEqual(["Ada"]);
  });

  it("keeps each person's cursor from an instance, whichever tick brought it", async () => {
    const viewer = await hub("B");
    const at = (user: User, x: number) => ({ x, y: 0.5, name: user.name, color: user.color });
    network.deliver({ t: "cursors", i: "Z", room: ROOM, cursors: { [ada.id]: at(ada, 0.1) } });
    network.deliver({ t: "cursors", i: "Z", room: ROOM, cursors: { [lin.id]: at(lin, 0.2) } });
    expect(viewer.cursorSnapshot(ROOM)).toEqual({ [ada.id]: at(ada, 0.1), [lin.id]: at(lin, 0.2) });
  });

  it("a drained instance's typing goes out as a frame at once", async () => {
    const draining = await hub("A");
    const viewer = await hub("B");
    const typing: string[][] = [];
    const watcher: Subscriber = {
      ...person(kay, "kay-1"),
      onRoomFrame: (f: RoomFrame) => {
        if (f.type === "typing") typing.push((JSON.parse(f.json) as { users: User[] }).users.map((u) => u.name));
      },
    };
    viewer.register(watcher);
    viewer.watch(ROOM, watcher);
    enter(draining, person(ada, "ada-1"));
    draining.setTyping(ROOM, ada, true, "ada-1");
    viewer.settleRoom(ROOM);
    draining.stop({ reconnectSpreadMs: SPREAD });
    viewer.settleRoom(ROOM);
    expect(typing).toEqual([["Ada"], []]);
  });
});

describe("an instance that stops announcing itself", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("is forgotten three heartbeats after its last word, its people and cursors with it", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const HEARTBEAT = 1_000;
    const viewer = new Hub({ log: noLog, clock, logger: silentLogger, instanceId: "B", presenceGraceMs: GRACE, presenceHeartbeatMs: HEARTBEAT });
    hubs.push(viewer);
    await viewer.attachBus(network.bus("B"));
    const { seen } = viewerOn(viewer, kay, "kay-1");
    // A process that crashed right after saying this: it never speaks again.
    network.deliver({ t: "state", i: "Z", rooms: { [ROOM]: { members: [ada], typing: [] } } });
    network.deliver({ t: "cursors", i: "Z", room: ROOM, cursors: { [ada.id]: { x: 0.1, y: 0.1, name: "Ada", color: ada.color } } });
    expect(seenBy(viewer)).toEqual(["Ada"]);
    clock.advance(3 * HEARTBEAT - 1);
    vi.advanceTimersByTime(HEARTBEAT);
    expect(seenBy(viewer)).toEqual(["Ada"]);
    clock.advance(1);
    vi.advanceTimersByTime(HEARTBEAT);
    expect(seenBy(viewer)).toEqual([]);
    viewer.cursors.flush();
    expect(seen.cursors.at(-1)).toEqual({ [ada.id]: null });
    expect(viewer.cursorSnapshot(ROOM)).toEqual({});
  });

  it("an instance that keeps announcing itself on its heartbeat is kept", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const HEARTBEAT = 1_000;
    const make = async (id: string) => {
      const h = new Hub({ log: noLog, clock, logger: silentLogger, instanceId: id, presenceGraceMs: GRACE, presenceHeartbeatMs: HEARTBEAT });
      hubs.push(h);
      await h.attachBus(network.bus(id));
      return h;
    };
    const a = await make("A");
    const viewer = await make("B");
    enter(a, person(ada, "ada-1"));
    a.settleRoom(ROOM);
    for (let beat = 0; beat < 10; beat++) {
      clock.advance(HEARTBEAT);
      vi.advanceTimersByTime(HEARTBEAT);
    }
    expect(seenBy(viewer)).toEqual(["Ada"]);
  });

  it("a stopped instance's heartbeat stops with it", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const h = new Hub({ log: noLog, clock, logger: silentLogger, instanceId: "A", presenceHeartbeatMs: 1_000 });
    await h.attachBus(network.bus("A"));
    expect(vi.getTimerCount()).toBe(1);
    h.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
