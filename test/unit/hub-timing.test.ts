// The hub's own timers, on fake time: the cursor tick (a frame at every 50 ms tick while a
// cursor moves — not fewer, not more) and the presence grace when a connection goes away (the
// leave only after the grace; a reconnect after the join's announcement but within the grace
// shows nothing). The event log is not involved: a stub that never commits stands in for it.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EventLog } from "../../server/eventlog";
import { Hub, type RoomFrame, type Subscriber } from "../../server/hub";
import { CURSOR_IDLE_MS } from "../../server/hub/rooms";
import { silentLogger } from "../../server/log";
import { systemClock } from "../../server/state/clock";
import { CURSOR_TICK_MS, PRESENCE_GRACE_MS, type User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
/** Presence changes are announced in batches this long (the hub's announce window). */
const ANNOUNCE_WINDOW_MS = 20;

const noLog = { onCommit: () => {} } as unknown as EventLog;

let hub: Hub;
let next = 0;

/** A connection that keeps every room frame it was sent. */
function subscriber(user: User): Subscriber & { frames: RoomFrame[] } {
  const frames: RoomFrame[] = [];
  return { id: `c${++next}`, user, sessionId: `s-${user.id}`, transport: "ws", frames, onEvent: () => {}, onRoomFrame: (f) => void frames.push(f) };
}

/** A registered connection of `user`, present in `room`. */
function joined(user: User, room: string) {
  const sub = subscriber(user);
  hub.register(sub);
  hub.enterRoom(room, sub);
  return sub;
}

const presenceOf = (sub: { frames: RoomFrame[] }) =>
  sub.frames.filter((f) => f.type === "presence").map((f) => (JSON.parse(f.json) as { members: User[] }).members.map((m) => m.id));

beforeEach(() => {
  vi.useFakeTimers();
  // The system clock reads the (fake) global timers, as the server's hub does.
  hub = new Hub({ log: noLog, clock: systemClock, logger: silentLogger });
});
afterEach(() => {
  hub.stop();
  vi.useRealTimers();
});

describe("the cursor tick", () => {
  it("is 50 ms", () => {
    expect(CURSOR_TICK_MS).toBe(50);
  });

  it("sends a cursors frame at every 50 ms tick while a cursor keeps moving, and none between ticks", async () => {
    const l = joined(lin, "r");
    joined(ada, "r");
    hub.start();
    const cursorFrames = () => l.frames.filter((f) => f.type === "cursors").length;
    for (let tick = 1; tick <= 10; tick++) {
      hub.moveCursor("r", ada, { x: tick / 100, y: 0.5 });
      await vi.advanceTimersByTimeAsync(49);
      expect(cursorFrames(), `nothing before tick ${tick}`).toBe(tick - 1);
      await vi.advanceTimersByTimeAsync(1);
      expect(cursorFrames(), `a frame at tick ${tick}`).toBe(tick);
    }
    const last = JSON.parse(l.frames.at(-1)!.json) as { cursors: Record<string, { x: number }> };
    expect(last.cursors[ada.id]?.x).toBe(0.1);
  });

  it("follows cursorTickMs when one is given", async () => {
    hub = new Hub({ log: noLog, clock: systemClock, logger: silentLogger, cursorTickMs: 20 });
    const l = joined(lin, "r");
    joined(ada, "r");
    hub.start();
    hub.moveCursor("r", ada, { x: 0.1, y: 0.1 });
    await vi.advanceTimersByTimeAsync(20);
    expect(l.frames.filter((f) => f.type === "cursors")).toHaveLength(1);
  });

  it("sends a cursor moved twice within a tick once, at its latest position", async () => {
    const l = joined(lin, "r");
    joined(ada, "r");
    hub.start();
    hub.moveCursor("r", ada, { x: 0.1, y: 0.1 });
    hub.moveCursor("r", ada, { x: 0.2, y: 0.2 });
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    const frames = l.frames.filter((f) => f.type === "cursors").map((f) => (JSON.parse(f.json) as { cursors: Record<string, { x: number }> }).cursors[ada.id]?.x);
    expect(frames).toEqual([0.2]);
  });

  it("keeps no timer while nobody points, and ticks again with the next cursor", async () => {
    const l = joined(lin, "r");
    const a = joined(ada, "r");
    hub.start();
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS * 4);
    expect(vi.getTimerCount(), "a started hub with nothing to send").toBe(0);

    hub.moveCursor("r", ada, { x: 0.1, y: 0.1 }, a.id);
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    expect(l.frames.filter((f) => f.type === "cursors")).toHaveLength(1);
    hub.leaveRoom("r", a, { immediate: true });
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS * 2);
    const gone = JSON.parse(l.frames.filter((f) => f.type === "cursors").at(-1)!.json) as { cursors: Record<string, unknown> };
    expect(gone.cursors[ada.id], "the cursor's leaving was sent").toBeNull();
    expect(vi.getTimerCount(), "once the last cursor is gone").toBe(0);

    joined(ada, "r");
    hub.moveCursor("r", ada, { x: 0.3, y: 0.3 });
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    const back = JSON.parse(l.frames.filter((f) => f.type === "cursors").at(-1)!.json) as { cursors: Record<string, { x: number }> };
    expect(back.cursors[ada.id]?.x).toBe(0.3);
  });

  it("retires a cursor left still past the idle limit, and then stops ticking", async () => {
    const l = joined(lin, "r");
    joined(ada, "r");
    hub.start();
    hub.moveCursor("r", ada, { x: 0.1, y: 0.1 });
    await vi.advanceTimersByTimeAsync(CURSOR_IDLE_MS + 2_000);
    const last = JSON.parse(l.frames.filter((f) => f.type === "cursors").at(-1)!.json) as { cursors: Record<string, unknown> };
    expect(last.cursors[ada.id]).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ticks for a drag on the canvas as for a cursor", async () => {
    const l = joined(lin, "r");
    const a = joined(ada, "r");
    hub.start();
    hub.moveOnCanvas("r", ada, { n1: { x: 1, y: 2, w: 30, h: 20 } }, undefined, a.id);
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    expect(l.frames.filter((f) => f.type === "canvas.live")).toHaveLength(1);
    hub.moveOnCanvas("r", ada, { n1: null }, undefined, a.id);
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS * 2);
    expect(l.frames.filter((f) => f.type === "canvas.live")).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ticks for cursors another instance relays, and for a cursor held when started again", async () => {
    const l = joined(lin, "r");
    hub.start();
    hub.cursors.relay("r", { [ada.id]: { x: 0.4, y: 0.4, name: ada.name, color: ada.color } });
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    const relayed = JSON.parse(l.frames.filter((f) => f.type === "cursors").at(-1)!.json) as { cursors: Record<string, { x: number }> };
    expect(relayed.cursors[ada.id]?.x).toBe(0.4);
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    expect(vi.getTimerCount(), "a relayed batch is sent, and nothing is held here").toBe(0);

    hub.moveCursor("r", lin, { x: 0.5, y: 0.5 });
    hub.stop();
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS * 2);
    expect(l.frames.filter((f) => f.type === "cursors")).toHaveLength(1);
    hub.start();
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    expect(l.frames.filter((f) => f.type === "cursors")).toHaveLength(2);
  });

  it("stops at stop(), even when started twice", async () => {
    const l = joined(lin, "r");
    joined(ada, "r");
    hub.start();
    hub.start();
    hub.moveCursor("r", ada, { x: 0.1, y: 0.1 });
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS);
    expect(l.frames.filter((f) => f.type === "cursors")).toHaveLength(1);
    hub.stop();
    hub.moveCursor("r", ada, { x: 0.2, y: 0.2 });
    await vi.advanceTimersByTimeAsync(CURSOR_TICK_MS * 4);
    expect(l.frames.filter((f) => f.type === "cursors")).toHaveLength(1);
  });
});

describe("presence when a connection goes away", () => {
  it("announces the leave of a dropped connection only once the grace has passed", async () => {
    const l = joined(lin, "r");
    const a = joined(ada, "r");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    expect(presenceOf(l).at(-1)).toEqual([lin.id, ada.id]);
    const before = presenceOf(l).length;

    hub.unregister(a);
    await vi.advanceTimersByTimeAsync(PRESENCE_GRACE_MS - 1);
    expect(presenceOf(l)).toHaveLength(before);
    expect(hub.members("r").map((m) => m.id)).toEqual([lin.id, ada.id]);
    await vi.advanceTimersByTimeAsync(1 + ANNOUNCE_WINDOW_MS);
    expect(presenceOf(l).slice(before)).toEqual([[lin.id]]);
    expect(hub.members("r").map((m) => m.id)).toEqual([lin.id]);
  });

  it("shows nothing for a reconnect that comes after the announce batch but within the grace", async () => {
    const l = joined(lin, "r");
    const a = joined(ada, "r");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    const before = presenceOf(l).length;

    hub.unregister(a);
    // Well past the announce window: a leave made at once would have gone out by now.
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS * 10);
    joined(ada, "r");
    await vi.advanceTimersByTimeAsync(PRESENCE_GRACE_MS * 2);
    expect(presenceOf(l)).toHaveLength(before);
    expect(hub.members("r").map((m) => m.id)).toEqual([lin.id, ada.id]);
  });
});

describe("announcement batches", () => {
  it("changes within 20 ms of the first go out as one frame; a change after it waits its own 20 ms", async () => {
    const w = subscriber(lin);
    hub.register(w);
    hub.watch("r", w);
    joined(ada, "r");
    await vi.advanceTimersByTimeAsync(5);
    joined(lin, "r");
    await vi.advanceTimersByTimeAsync(16);
    expect(presenceOf(w)).toEqual([[ada.id, lin.id]]);
    const kay = { id: "u_kay", name: "Kay", color: "#0d9488" };
    joined(kay, "r");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS - 1);
    expect(presenceOf(w)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(presenceOf(w)).toEqual([[ada.id, lin.id], [ada.id, lin.id, kay.id]]);
  });

  it("a room's first change waits its own 20 ms, even just after another room's batch went out", async () => {
    const w = subscriber(lin);
    hub.register(w);
    for (const room of ["r1", "r2", "r3"]) hub.watch(room, w);
    joined(ada, "r1");
    await vi.advanceTimersByTimeAsync(5);
    joined(ada, "r2");
    await vi.advanceTimersByTimeAsync(16); // r1 and r2 went out together at 20 ms
    joined(ada, "r3");
    const r3 = () => w.frames.filter((f) => f.type === "presence" && f.room === "r3");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS - 1);
    expect(r3()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(r3()).toHaveLength(1);
  });

  it("announces nothing once stopped", async () => {
    const w = subscriber(lin);
    hub.register(w);
    hub.watch("r", w);
    joined(ada, "r");
    hub.stop();
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS * 5);
    expect(presenceOf(w)).toEqual([]);
  });

  it("leaves no timer running once a room's changes are announced", async () => {
    joined(ada, "r");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a room everyone left, watchers too, is announced empty once the grace is over", async () => {
    const a = joined(ada, "r");
    const l = joined(lin, "r");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    expect(hub.announcedMembers("r").map((m) => m.id)).toEqual([ada.id, lin.id]);
    hub.unregister(a);
    hub.unregister(l);
    await vi.advanceTimersByTimeAsync(PRESENCE_GRACE_MS + ANNOUNCE_WINDOW_MS);
    expect(hub.members("r")).toEqual([]);
    expect(hub.announcedMembers("r")).toEqual([]);
  });
});

describe("announcing a big room", () => {
  /**
   * Connections watching `room` (a big room's audience), one of them counted, so that with the
   * two people who join the tests' rooms `n` watch it in all.
   */
  function audience(room: string, n: number) {
    const counted = subscriber(lin);
    hub.register(counted);
    hub.watch(room, counted);
    for (let i = 1; i < n - 2; i++) {
      const sub = subscriber(lin);
      hub.register(sub);
      hub.watch(room, sub);
    }
    return counted;
  }

  it("announces a room of 600 watchers at most every 120 ms (0.2 ms per watcher)", async () => {
    const w = audience("big", 600);
    joined(ada, "big");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    expect(presenceOf(w)).toEqual([[ada.id]]);
    joined(lin, "big");
    await vi.advanceTimersByTimeAsync(119);
    expect(presenceOf(w)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(presenceOf(w)).toEqual([[ada.id], [ada.id, lin.id]]);
  });

  it("announces however big a room at least every 250 ms", async () => {
    const w = audience("huge", 2_000);
    joined(ada, "huge");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    joined(lin, "huge");
    // The window is over at 250 ms; the next 20 ms batch after it announces.
    await vi.advanceTimersByTimeAsync(259);
    expect(presenceOf(w)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(presenceOf(w)).toEqual([[ada.id], [ada.id, lin.id]]);
  });

  it("a room of a hundred watchers or fewer keeps the plain 20 ms window", async () => {
    const w = audience("small", 100);
    joined(ada, "small");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    joined(lin, "small");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    expect(presenceOf(w)).toEqual([[ada.id], [ada.id, lin.id]]);
  });

  it("a typing change does not push back the room's next presence announcement", async () => {
    const w = audience("big", 600);
    joined(ada, "big");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    await vi.advanceTimersByTimeAsync(80);
    hub.setTyping("big", ada, true, "x");
    joined(lin, "big");
    await vi.advanceTimersByTimeAsync(40);
    expect(presenceOf(w)).toEqual([[ada.id], [ada.id, lin.id]]);
  });

  it("a big room that emptied announces its next arrival without waiting out a window", async () => {
    const w = audience("big", 600);
    const a = joined(ada, "big");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    hub.leaveRoom("big", a, { immediate: true });
    await vi.advanceTimersByTimeAsync(120);
    expect(presenceOf(w)).toEqual([[ada.id], []]);
    joined(lin, "big");
    await vi.advanceTimersByTimeAsync(ANNOUNCE_WINDOW_MS);
    expect(presenceOf(w)).toEqual([[ada.id], [], [lin.id]]);
  });
});
