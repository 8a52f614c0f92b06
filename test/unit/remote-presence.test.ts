// Presence across instances during a rolling deploy, with a manual clock and an in-memory bus
// between real hubs: an instance that drains says goodbye, and the people it served — who
// reconnect elsewhere, each after their own jittered delay — never blink out of the room.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
