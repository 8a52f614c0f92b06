// The leader tab on its own (lib/realtime/tab-leader.ts), on fake time: what the shared client
// is asked when the tabs say hello, join, leave, send and close; what every tab (or the one that
// asked) hears of the client; when the connection starts; and how tabs that went away without a
// word are forgotten. A fake client records its calls; the broadcast and the page locks are
// plain functions.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DragBox, RealtimeEvent } from "../../lib/protocol";
import { FRAMES_BATCH_MS, GATHER_MS, PRUNE_MS, TabLeader } from "../../lib/realtime/tab-leader";
import type { DownBody, UpBody } from "../../lib/realtime/tab-protocol";
import type { FrameLog, OutboxFrame } from "../../lib/realtime/types";
import { pass, settle } from "../helpers/fake-time";
import { FakeSharedClient } from "../helpers/fake-tabs";

const GATHER = 20;
/** The leader's own page. */
const LEADER = "leader-page";
const PRUNE = 500;
/** How long a page is known before a missing page lock counts (tab-leader.ts's PRUNE_GRACE_MS). */
const GRACE = 1_000;

/** The fake client, also recording what a canvas move carried and how often it was stopped. */
class Client extends FakeSharedClient {
  stops = 0;
  moves: unknown[] = [];
  override stop(): void {
    this.stops++;
    super.stop();
  }
  override moveOnCanvas(room: string, drags?: Record<string, DragBox | null>, selection?: string[]): void {
    this.moves.push({ room, drags, selection });
    super.moveOnCanvas(room);
  }
}

interface Sent {
  body: DownBody;
  to?: string;
}

function leader(o: { gatherMs?: number | null; pruneMs?: number | null; client?: Client } = {}) {
  const client = o.client ?? new Client();
  const sent: Sent[] = [];
  const locks = { alive: new Set<string>(), fails: false, asked: 0, slow: false, answers: [] as ((alive: Set<string>) => void)[] };
  const l = new TabLeader({
    client,
    self: LEADER,
    broadcast: (body, to) => sent.push(to === undefined ? { body } : { body, to }),
    alivePages: async () => {
      locks.asked++;
      if (locks.fails) throw new Error("no locks");
      if (locks.slow) return new Promise<Set<string>>((resolve) => locks.answers.push(resolve));
      return new Set(locks.alive);
    },
    ...(o.gatherMs === null ? {} : { gatherMs: o.gatherMs ?? GATHER }),
    ...(o.pruneMs === null ? {} : { pruneMs: o.pruneMs ?? PRUNE }),
  });
  return {
    l,
    client,
    sent,
    locks,
    /** The down messages sent since the last call (and forgets them). */
    take(): Sent[] {
      return sent.splice(0);
    },
    /** The types of what went to every tab, and to one page as `type>page`. */
    types(): string[] {
      return sent.splice(0).map((s) => (s.to === undefined ? s.body.type : `${s.body.type}>${s.to}`));
    },
    calls(): string[] {
      return client.calls.splice(0);
    },
    /** The last status every tab heard. */
    status() {
      const all = sent.filter((s) => s.body.type === "status");
      return all.at(-1)?.body as Extract<DownBody, { type: "status" }> | undefined;
    },
  };
}

function hello(o: Partial<Extract<UpBody, { type: "hello" }>> = {}): UpBody {
  return { type: "hello", started: true, rooms: [], feed: {}, outbox: [], ...o };
}

function frame(clientId: string, room = "design"): OutboxFrame {
  return { type: "send", room, text: `text of ${clientId}`, clientId };
}

function message(room: string, seq: number): RealtimeEvent {
  return { stream: `room:${room}`, seq, type: "message", actor: { id: "u_2", name: "Bo" }, at: new Date(0).toISOString(), data: { text: `m${seq}`, clientId: `c${seq}` } };
}

const bo = { id: "u_2", name: "Bo", color: "#123456" };

function logOf(type: string): FrameLog {
  return { direction: "in", transport: "websocket", type, bytes: 10, at: 0 };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the leader's first moments", () => {
  it("says it leads, and connects once the tabs had time to say hello, if one of them started", async () => {
    const t = leader();
    expect(t.types()).toEqual(["leader"]);
    t.l.handle("pa", hello({ started: false }));
    t.l.handle("pb", hello({ started: true }));
    await pass(GATHER - 1);
    expect(t.client.started).toBe(false);
    await pass(1);
    expect(t.client.started).toBe(true);
    t.l.stop();
  });

  it("does not connect while no tab started, and connects when one starts later", async () => {
    const t = leader();
    t.l.handle("pa", hello({ started: false }));
    await pass(GATHER * 2);
    expect(t.client.started).toBe(false);
    t.l.handle("pa", hello({ started: true }));
    expect(t.client.started).toBe(true);
    t.l.stop();
  });

  it("a tab that started stays started when a later hello says otherwise", async () => {
    const t = leader();
    t.l.handle("pa", hello({ started: true }));
    t.l.handle("pa", hello({ started: false }));
    await pass(GATHER);
    expect(t.client.started).toBe(true);
    t.l.stop();
  });

  it("connects only once however many tabs started", async () => {
    const t = leader();
    let starts = 0;
    t.client.start = () => {
      starts++;
      t.client.started = true;
    };
    t.l.handle("pa", hello());
    t.l.handle("pb", hello());
    await pass(GATHER);
    t.l.handle("pc", hello());
    t.l.handle("pa", hello());
    expect(starts).toBe(1);
    t.l.stop();
  });

  it("without a gathering time given, listens for the tabs for GATHER_MS", async () => {
    const t = leader({ gatherMs: null });
    t.l.handle("pa", hello());
    await pass(GATHER_MS - 1);
    expect(t.client.started).toBe(false);
    await pass(1);
    expect(t.client.started).toBe(true);
    t.l.stop();
  });

  it("without a pruning period given, looks for gone tabs every PRUNE_MS", async () => {
    const t = leader({ pruneMs: null });
    await pass(PRUNE_MS - 1);
    expect(t.locks.asked).toBe(0);
    await pass(1);
    expect(t.locks.asked).toBe(1);
    await pass(PRUNE_MS);
    expect(t.locks.asked).toBe(2);
    t.l.stop();
  });
});

describe("what every tab hears of the shared client", () => {
  it("each event of the client goes to every tab as it came", () => {
    const t = leader();
    t.l.handle("pa", hello());
    t.take();
    const c = t.client;
    const event = message("design", 5);
    c.emit("event", event);
    c.emit("joined", { room: "design", head: 5, members: [bo] });
    c.emit("presence", { room: "design", members: [bo] });
    c.emit("typing", { room: "design", users: [bo] });
    c.emit("cursors", { room: "design", cursors: {}, snapshot: true });
    c.emit("reset", { stream: "feed", head: 9 });
    c.emit("ack", { clientId: "c1", room: "design", seq: 6 });
    c.emit("read", { readSeq: 4 });
    c.emit("roomRead", { room: "design", readSeq: 3 });
    c.emit("removed", { room: "secret" });
    c.emit("canvasJoined", { room: "design", head: 2 });
    c.emit("canvasSnapshot", { room: "design", seq: 2, objects: [] });
    c.emit("canvasLive", { room: "design", drags: {}, selections: {}, full: true });
    c.emit("error", { code: "forbidden", message: "no" });
    c.emit("outbox", []);
    c.emit("signedOut", undefined);
    expect(t.take()).toEqual([
      { body: { type: "event", event } },
      { body: { type: "joined", room: "design", head: 5, members: [bo] } },
      { body: { type: "presence", room: "design", members: [bo] } },
      { body: { type: "typing", room: "design", users: [bo] } },
      { body: { type: "cursors", room: "design", cursors: {}, snapshot: true } },
      { body: { type: "reset", stream: "feed", head: 9 } },
      { body: { type: "ack", clientId: "c1", room: "design", seq: 6 } },
      { body: { type: "read", readSeq: 4 } },
      { body: { type: "roomRead", room: "design", readSeq: 3 } },
      { body: { type: "removed", room: "secret" } },
      { body: { type: "canvasJoined", room: "design", head: 2 } },
      { body: { type: "canvasSnapshot", room: "design", seq: 2, objects: [] } },
      { body: { type: "canvasLive", room: "design", drags: {}, selections: {}, full: true } },
      { body: { type: "error", code: "forbidden", message: "no" } },
      { body: { type: "outbox", entries: [] } },
      { body: { type: "signedOut" } },
    ]);
    t.l.stop();
  });

  it("the status says the leader leads, for how many tabs, with the client's mode and offline switch", () => {
    const t = leader();
    t.take();
    t.client.emit("status", t.client.getStatus());
    // No tab said anything yet: the leader's own counts.
    expect(t.status()).toEqual({
      type: "status",
      status: { ...t.client.getStatus(), sharing: { role: "leader", tabs: 1 } },
      mode: "auto",
      offline: false,
    });
    t.l.handle("pa", hello({ started: false }));
    t.l.handle("pb", hello({ started: false }));
    t.l.handle("pc", { type: "offline", offline: true });
    t.l.handle("pc", { type: "transport", mode: "longpoll" });
    expect(t.status()).toEqual({
      type: "status",
      status: { ...t.client.getStatus(), sharing: { role: "leader", tabs: 3 } },
      mode: "longpoll",
      offline: true,
    });
    t.l.stop();
  });

  it("alone, tells only its own page; once another tab says hello, every tab; after its bye, itself again", async () => {
    const t = leader();
    t.l.handle(LEADER, hello());
    t.take();
    t.client.emit("event", message("design", 1));
    t.client.emit("frame", logOf("event"));
    await pass(FRAMES_BATCH_MS);
    expect(t.types()).toEqual([`event>${LEADER}`, `frames>${LEADER}`]);
    t.l.handle("pa", hello());
    t.take();
    t.client.emit("event", message("design", 2));
    t.client.emit("frame", logOf("event"));
    await pass(FRAMES_BATCH_MS);
    expect(t.types()).toEqual(["event", "frames"]);
    t.l.handle("pa", { type: "bye" });
    // The count every tab hears is its own alone now.
    expect(t.take()).toEqual([{ body: expect.objectContaining({ type: "status" }), to: LEADER }]);
    t.client.emit("event", message("design", 3));
    // A sign-out reaches tabs that have not said hello too: the cookie is the whole browser's.
    t.client.emit("signedOut", undefined);
    expect(t.types()).toEqual([`event>${LEADER}`, "signedOut"]);
    t.l.stop();
  });

  it("a tab first heard of makes every tab hear a new count; one heard of already does not", () => {
    const t = leader();
    t.take();
    t.l.handle("pa", { type: "join", room: "design" });
    expect(t.types()).toEqual(["status"]);
    t.l.handle("pa", { type: "join", room: "ops" });
    expect(t.types()).toEqual([]);
    t.l.stop();
  });

  it("the frames log goes out in batches", async () => {
    const t = leader();
    t.l.handle("pa", hello());
    t.take();
    t.client.emit("frame", logOf("join"));
    t.client.emit("frame", logOf("event"));
    await pass(FRAMES_BATCH_MS - 1);
    expect(t.take()).toEqual([]);
    t.client.emit("frame", logOf("ack"));
    await pass(1);
    expect(t.take()).toEqual([{ body: { type: "frames", frames: [logOf("join"), logOf("event"), logOf("ack")] } }]);
    t.client.emit("frame", logOf("presence"));
    await pass(FRAMES_BATCH_MS);
    expect(t.take()).toEqual([{ body: { type: "frames", frames: [logOf("presence")] } }]);
    await pass(FRAMES_BATCH_MS * 3);
    expect(t.take()).toEqual([]);
    t.l.stop();
  });
});

describe("a tab's hello", () => {
  it("is answered to that tab: welcome, the shared outbox, who types in its rooms; then every tab hears the count", () => {
    const t = leader();
    t.l.handle("pa", hello({ rooms: [{ room: "design" }, { room: "ops" }, { room: "quiet" }] }));
    t.client.emit("typing", { room: "design", users: [bo] });
    t.client.emit("typing", { room: "ops", users: [] });
    t.client.emit("typing", { room: "lobby", users: [bo] });
    t.l.handle("pa", { type: "enqueue", frame: frame("c1") });
    t.take();
    t.l.handle("pb", hello({ rooms: [{ room: "design" }, { room: "ops" }, { room: "lobby" }, { room: "quiet" }] }));
    const sent = t.take();
    expect(sent.map((s) => (s.to === undefined ? s.body.type : `${s.body.type}>${s.to}`))).toEqual([
      "status",
      "welcome>pb",
      "outbox>pb",
      "typing>pb",
      "typing>pb",
      "status",
    ]);
    expect(sent[2]!.body).toEqual({ type: "outbox", entries: t.client.getOutbox() });
    expect((sent[2]!.body as Extract<DownBody, { type: "outbox" }>).entries.map((e) => e.clientId)).toEqual(["c1"]);
    expect(sent.slice(3, 5).map((s) => s.body)).toEqual([
      { type: "typing", room: "design", users: [bo] },
      { type: "typing", room: "lobby", users: [bo] },
    ]);
    t.l.stop();
  });

  it("joins the rooms it follows, each from the lowest position the tabs or the connection hold", () => {
    const t = leader();
    t.l.handle("pa", hello({ rooms: [{ room: "design", since: 10 }, { room: "ops" }] }));
    expect(t.calls()).toEqual(["join design 10", "join ops"]);
    // The connection holds design at 10: a tab holding less rejoins from there, one holding more
    // does not move it back up, one that holds nothing joins from where the connection is.
    t.l.handle("pb", hello({ rooms: [{ room: "design", since: 7 }] }));
    t.l.handle("pc", hello({ rooms: [{ room: "design", since: 12 }] }));
    t.l.handle("pd", hello({ rooms: [{ room: "design" }] }));
    expect(t.calls()).toEqual(["join design 7", "join design 7", "join design 7"]);
    t.l.stop();
  });

  it("joins a room it knows for the tab again only when the tab holds less than the connection", () => {
    const t = leader();
    t.l.handle("pa", hello({ rooms: [{ room: "design", since: 10 }, { room: "ops" }] }));
    t.calls();
    // The same, and more than the connection: nothing to do.
    t.l.handle("pa", hello({ rooms: [{ room: "design", since: 10 }, { room: "ops" }] }));
    t.l.handle("pa", hello({ rooms: [{ room: "design", since: 11 }, { room: "ops" }] }));
    t.l.handle("pa", hello({ rooms: [{ room: "design" }, { room: "ops" }] }));
    expect(t.calls()).toEqual([]);
    t.l.handle("pa", hello({ rooms: [{ room: "design", since: 9 }, { room: "ops" }] }));
    expect(t.calls()).toEqual(["join design 9"]);
    // The connection holds no position in ops yet: a tab that holds one joins from it.
    t.l.handle("pa", hello({ rooms: [{ room: "design", since: 9 }, { room: "ops", since: 4 }] }));
    expect(t.calls()).toEqual(["join ops 4"]);
    t.l.stop();
  });

  it("leaves the rooms the tab no longer follows, unless another tab follows them", () => {
    const t = leader();
    t.l.handle("pa", hello({ rooms: [{ room: "design" }, { room: "ops" }, { room: "lobby" }] }));
    t.l.handle("pb", hello({ rooms: [{ room: "ops" }] }));
    t.calls();
    t.l.handle("pa", hello({ rooms: [{ room: "lobby" }] }));
    expect(t.calls()).toEqual(["leave design"]);
    t.l.stop();
  });

  it("moves the feed back to the lowest position a tab holds", () => {
    const t = leader();
    t.l.handle("pa", hello({ feed: { feed: 20, "user:me": 4 } }));
    t.l.handle("pb", hello({ feed: { feed: 12 } }));
    expect(t.calls()).toEqual(["rewind feed 20", "rewind user:me 4", "rewind feed 12"]);
    expect(t.client.position("feed")).toBe(12);
    t.l.stop();
  });

  it("opens the tab's canvases from a snapshot, closes those it no longer shows, and leaves the others be", () => {
    const t = leader();
    t.l.handle("pa", hello({ canvases: ["design", "ops"] }));
    expect(t.calls()).toEqual(["openCanvas design fresh", "openCanvas ops fresh"]);
    t.l.handle("pa", hello({ canvases: ["ops", "lobby"] }));
    expect(t.calls()).toEqual(["closeCanvas design", "openCanvas lobby fresh"]);
    // A hello of an older page says nothing of canvases: it shows none.
    t.l.handle("pa", hello());
    expect(t.calls()).toEqual(["closeCanvas ops", "closeCanvas lobby"]);
    t.l.stop();
  });

  it("hands in the tab's waiting frames, each once", () => {
    const t = leader();
    t.l.handle("pa", hello({ outbox: [frame("c1"), frame("c2")] }));
    t.l.handle("pa", hello({ outbox: [frame("c1"), frame("c2"), frame("c3")] }));
    expect(t.calls()).toEqual(["enqueue c1", "enqueue c2", "enqueue c3"]);
    t.l.stop();
  });
});

describe("what a tab does", () => {
  it("a join from a tab joins from the lowest position the connection or the tab holds", () => {
    const t = leader();
    t.l.handle("pa", { type: "join", room: "design", since: 8 });
    t.l.handle("pb", { type: "join", room: "design", since: 5 });
    t.l.handle("pc", { type: "join", room: "design", since: 9 });
    t.l.handle("pd", { type: "join", room: "design" });
    t.l.handle("pa", { type: "join", room: "ops" });
    expect(t.calls()).toEqual(["join design 8", "join design 5", "join design 5", "join design 5", "join ops"]);
    t.l.stop();
  });

  it("a room is left when the last tab following it leaves, and a leave of a room not followed does nothing", () => {
    const t = leader();
    t.l.handle("pa", { type: "join", room: "design" });
    t.l.handle("pb", { type: "join", room: "design" });
    t.calls();
    t.l.handle("pb", { type: "leave", room: "ops" });
    t.l.handle("pa", { type: "leave", room: "design" });
    expect(t.calls()).toEqual([]);
    t.l.handle("pa", { type: "leave", room: "design" });
    expect(t.calls()).toEqual([]);
    t.l.handle("pb", { type: "leave", room: "design" });
    expect(t.calls()).toEqual(["leave design"]);
    t.l.stop();
  });

  it("who types in a room left by every tab is forgotten: a tab that joins it later is not told", () => {
    const t = leader();
    t.l.handle("pa", { type: "join", room: "design" });
    t.client.emit("typing", { room: "design", users: [bo] });
    t.l.handle("pa", { type: "leave", room: "design" });
    t.take();
    t.l.handle("pb", hello({ rooms: [{ room: "design" }] }));
    expect(t.types()).toEqual(["status", "welcome>pb", "outbox>pb", "status"]);
    t.l.stop();
  });

  it("who types is kept while another tab still follows the room", () => {
    const t = leader();
    t.l.handle("pa", { type: "join", room: "design" });
    t.l.handle("pb", { type: "join", room: "design" });
    t.client.emit("typing", { room: "design", users: [bo] });
    t.l.handle("pa", { type: "leave", room: "design" });
    t.take();
    t.l.handle("pc", hello({ rooms: [{ room: "design" }] }));
    expect(t.types()).toEqual(["status", "welcome>pc", "outbox>pc", "typing>pc", "status"]);
    t.l.stop();
  });

  it("a frame is handed to the shared outbox once; a retry of one it holds retries it, of one it lost enqueues it", () => {
    const t = leader();
    t.l.handle("pa", { type: "enqueue", frame: frame("c1") });
    t.l.handle("pb", { type: "enqueue", frame: frame("c1") });
    t.l.handle("pa", { type: "retry", frame: frame("c1") });
    t.l.handle("pa", { type: "retry", frame: frame("c2") });
    t.l.handle("pa", { type: "discard", clientId: "c1" });
    t.l.handle("pa", { type: "enqueue", frame: frame("c1") });
    expect(t.calls()).toEqual(["enqueue c1", "retry c1", "enqueue c2", "discard c1", "enqueue c1"]);
    t.l.stop();
  });

  it("typing, a cursor, reading, a canvas move and the page's switches act on the shared connection", () => {
    const t = leader();
    t.l.handle("pa", { type: "typing", room: "design", stop: false });
    t.l.handle("pa", { type: "cursor", room: "design", pos: { x: 0.5, y: 0.25 } });
    t.l.handle("pa", { type: "cursor", room: "design", pos: null });
    t.l.handle("pa", { type: "typing", room: "design", stop: true });
    t.l.handle("pa", { type: "read", room: "design", seq: 7 });
    t.l.handle("pa", { type: "canvasLive", room: "design", drags: { o1: { x: 1, y: 2, w: 3, h: 4 } }, selection: ["o1"] });
    t.l.handle("pa", { type: "transport", mode: "websocket" });
    t.l.handle("pa", { type: "drop" });
    t.l.handle("pa", { type: "offline", offline: true });
    t.l.handle("pa", { type: "offline", offline: false });
    t.l.handle("pa", { type: "wake" });
    expect(t.calls()).toEqual([
      "typing design",
      "cursor design 0.5,0.25",
      "cursor design null",
      "typing design stop",
      "read design 7",
      "moveOnCanvas design",
      "transport websocket",
      "drop",
      "offline true",
      "offline false",
      "wake",
    ]);
    expect(t.client.moves).toEqual([{ room: "design", drags: { o1: { x: 1, y: 2, w: 3, h: 4 } }, selection: ["o1"] }]);
    t.l.stop();
  });

  it("a cursor goes out at once; a tab that leaves a room it pointed in hides its cursor there", () => {
    const t = leader();
    t.l.handle("pa", { type: "join", room: "design" });
    t.l.handle("pa", { type: "join", room: "ops" });
    t.l.handle("pb", { type: "join", room: "design" });
    t.l.handle("pa", { type: "cursor", room: "design", pos: { x: 0.5, y: 0.25 } });
    t.l.handle("pa", { type: "cursor", room: "ops", pos: { x: 0.1, y: 0.1 } });
    t.l.handle("pa", { type: "cursor", room: "ops", pos: null });
    t.calls();
    // Another tab still follows design: only the cursor goes.
    t.l.handle("pa", { type: "leave", room: "design" });
    expect(t.calls()).toEqual(["cursor design null"]);
    // The cursor in ops was hidden already.
    t.l.handle("pa", { type: "leave", room: "ops" });
    expect(t.calls()).toEqual(["leave ops"]);
    t.l.stop();
  });

  it("a canvas opens from a snapshot for each tab, and closes when the last tab showing it closes it", () => {
    const t = leader();
    t.l.handle("pa", { type: "canvasOpen", room: "design" });
    t.l.handle("pb", { type: "canvasOpen", room: "design" });
    expect(t.calls()).toEqual(["openCanvas design fresh", "openCanvas design fresh"]);
    t.l.handle("pa", { type: "canvasClose", room: "design" });
    t.l.handle("pa", { type: "canvasClose", room: "design" });
    t.l.handle("pc", { type: "canvasClose", room: "design" });
    expect(t.calls()).toEqual([]);
    t.l.handle("pb", { type: "canvasClose", room: "design" });
    expect(t.calls()).toEqual(["closeCanvas design"]);
    t.l.stop();
  });
});

describe("a tab that goes", () => {
  it("with a bye: its rooms, cursors and canvases no other tab has are let go, and the count drops", () => {
    const t = leader();
    t.l.handle("pa", hello({ rooms: [{ room: "design" }, { room: "ops" }], canvases: ["design", "ops"] }));
    t.l.handle("pb", hello({ rooms: [{ room: "ops" }], canvases: ["ops"] }));
    t.l.handle("pa", { type: "cursor", room: "design", pos: { x: 1, y: 1 } });
    t.calls();
    t.take();
    t.l.handle("pa", { type: "bye" });
    expect(t.calls()).toEqual(["closeCanvas design", "cursor design null", "leave design"]);
    expect(t.types()).toEqual(["status"]);
    expect(t.status()).toBeUndefined();
    t.l.handle("pb", { type: "bye" });
    expect(t.calls()).toEqual(["closeCanvas ops", "leave ops"]);
    // No tab left: the leader's own page still counts as one.
    const last = t.take().at(-1)!.body as Extract<DownBody, { type: "status" }>;
    expect(last.status.sharing).toEqual({ role: "leader", tabs: 1 });
    t.l.stop();
  });

  it("a bye from a tab never heard of changes nothing", () => {
    const t = leader();
    t.l.handle("pa", hello({ rooms: [{ room: "design" }] }));
    t.calls();
    t.take();
    t.l.handle("pz", { type: "bye" });
    expect(t.take()).toEqual([]);
    expect(t.calls()).toEqual([]);
    // It was not counted either.
    t.l.handle("pb", hello());
    const statuses = t.take().filter((s) => s.body.type === "status");
    expect((statuses.at(-1)!.body as Extract<DownBody, { type: "status" }>).status.sharing.tabs).toBe(2);
    t.l.stop();
  });

  it("without a word: forgotten once its page lock is gone, after a grace for newcomers", async () => {
    const t = leader();
    t.locks.alive = new Set(["pa"]);
    t.l.handle("pa", hello({ rooms: [{ room: "lobby" }] }));
    t.l.handle("pb", hello({ rooms: [{ room: "design" }] }));
    t.calls();
    // The first looks come within the grace: pb may not hold its lock yet.
    await pass(PRUNE);
    await pass(PRUNE);
    expect(t.calls()).toEqual([]);
    await pass(PRUNE);
    expect(t.calls()).toEqual(["leave design"]);
    expect(t.status()!.status.sharing.tabs).toBe(1);
    await pass(PRUNE);
    expect(t.calls()).toEqual([]);
    t.l.stop();
  });

  it("a page is forgotten only when it was known for longer than the grace", async () => {
    const t = leader({ pruneMs: GRACE });
    t.l.handle("pb", hello({ rooms: [{ room: "design" }] }));
    t.calls();
    // Exactly the grace: not yet.
    await pass(GRACE);
    expect(t.calls()).toEqual([]);
    await pass(GRACE);
    expect(t.calls()).toEqual(["leave design"]);
    t.l.stop();
  });

  it("when the page locks cannot be read, no tab is forgotten", async () => {
    const t = leader();
    t.locks.fails = true;
    t.l.handle("pb", hello({ rooms: [{ room: "design" }] }));
    t.calls();
    await pass(PRUNE * 4);
    expect(t.locks.asked).toBe(4);
    expect(t.calls()).toEqual([]);
    t.l.stop();
  });

  it("a look at the page locks that answers after the leader stepped down changes nothing", async () => {
    const t = leader();
    t.locks.slow = true;
    t.l.handle("pb", hello({ rooms: [{ room: "design" }] }));
    t.calls();
    await pass(PRUNE * 3);
    t.l.stop();
    for (const answer of t.locks.answers) answer(new Set());
    await settle();
    expect(t.calls()).toEqual([]);
  });
});

describe("stepping down", () => {
  it("stops the client once, and the tabs hear nothing more of it", async () => {
    const t = leader();
    t.l.handle("pa", hello({ started: false, rooms: [{ room: "design" }] }));
    t.take();
    t.calls();
    t.client.emit("frame", logOf("join"));
    t.l.stop();
    t.l.stop();
    expect(t.client.stops).toBe(1);
    t.client.emit("event", message("design", 1));
    t.client.emit("status", t.client.getStatus());
    t.client.emit("signedOut", undefined);
    // Not the frames queued before, nor a status, nor a late start.
    await pass(FRAMES_BATCH_MS + GATHER + PRUNE * 4);
    expect(t.take()).toEqual([]);
    expect(t.locks.asked).toBe(0);
    t.l.handle("pa", hello({ started: true }));
    t.l.handle("pa", { type: "join", room: "ops" });
    t.l.handle("pa", { type: "bye" });
    expect(t.take()).toEqual([]);
    expect(t.calls()).toEqual([]);
    expect(t.client.started).toBe(false);
  });

  it("a tab that started before the leader steps down does not make it connect afterwards", async () => {
    const t = leader();
    t.l.handle("pa", hello({ started: true }));
    t.l.stop();
    await pass(GATHER * 2);
    expect(t.client.started).toBe(false);
  });
});
