// The cursor pipeline's server half with a manual clock: latest wins within a tick, only what
// changed is sent, a cursor that leaves or idles becomes null, and coalescing can be turned off.
import { beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/state/clock";
import { CursorCoalescer } from "../../server/state/cursors";
import type { CursorMap, User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
const IDLE = 30_000;

let clock: ManualClock;
let frames: Array<{ room: string; cursors: CursorMap }>;
/** What each flush offered the other instances (this instance's own changes), null when nothing. */
let own: Array<CursorMap | null>;
let cursors: CursorCoalescer;

function make(coalesce?: boolean): CursorCoalescer {
  return new CursorCoalescer(
    clock,
    (room, c, mine) => {
      frames.push({ room, cursors: c });
      own.push(mine);
    },
    { idleMs: IDLE, coalesce },
  );
}

beforeEach(() => {
  clock = new ManualClock();
  frames = [];
  own = [];
  cursors = make();
});

/** One 50 ms tick of the hub. */
function tick(): void {
  clock.advance(50);
  cursors.flush();
}

describe("cursor coalescing", () => {
  it("sends a cursor again when only its point of the board moved: the board moved under a still pointer (1.15)", () => {
    cursors.update("general", ada, { x: 0.5, y: 0.5, board: { x: 100, y: 50 } });
    tick();
    cursors.update("general", ada, { x: 0.5, y: 0.5, board: { x: 140, y: 50 } });
    tick();
    cursors.update("general", ada, { x: 0.5, y: 0.5, board: { x: 140, y: 50 } });
    tick();
    expect(frames.map((f) => f.cursors[ada.id]?.board)).toEqual([
      { x: 100, y: 50 },
      { x: 140, y: 50 },
    ]);
  });


  it("turns N inputs in one tick into one frame holding the latest position", () => {
    for (let i = 1; i <= 20; i++) cursors.update("general", ada, { x: i / 100, y: 1 - i / 100 });
    expect(frames).toEqual([]);
    tick();
    expect(frames).toEqual([{ room: "general", cursors: { u_ada: { x: 0.2, y: 0.8, name: "Ada", color: "#e11d48" } } }]);
    expect(cursors.stats).toMatchObject({ inputs: 20, coalesced: 19, frames: 1 });
  });

  it("sends only the cursors that changed since the last frame", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.1 });
    cursors.update("general", lin, { x: 0.5, y: 0.5 });
    tick();
    expect(Object.keys(frames[0]!.cursors).sort()).toEqual(["u_ada", "u_lin"]);
    cursors.update("general", lin, { x: 0.6, y: 0.5 });
    tick();
    expect(frames[1]).toEqual({ room: "general", cursors: { u_lin: { x: 0.6, y: 0.5, name: "Lin", color: "#2563eb" } } });
  });

  it("does not resend a cursor that moved back to where it was last sent", () => {
    cursors.update("general", ada, { x: 0.3, y: 0.3 });
    tick();
    cursors.update("general", ada, { x: 0.9, y: 0.9 });
    cursors.update("general", ada, { x: 0.3, y: 0.3 });
    tick();
    cursors.update("general", ada, { x: 0.3, y: 0.3 });
    tick();
    expect(frames).toHaveLength(1);
  });

  it("sends nothing on a tick with no input", () => {
    cursors.update("general", ada, { x: 0.3, y: 0.3 });
    tick();
    tick();
    tick();
    expect(frames).toHaveLength(1);
  });

  it("keeps rooms apart: one frame per room that changed", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.2 });
    cursors.update("design", ada, { x: 0.3, y: 0.4 });
    cursors.update("design", lin, { x: 0.5, y: 0.6 });
    tick();
    expect(frames.map((f) => [f.room, Object.keys(f.cursors).sort()])).toEqual([
      ["general", ["u_ada"]],
      ["design", ["u_ada", "u_lin"]],
    ]);
  });

  it("sends null for a cursor that left, once, and nothing for one never sent", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.1 });
    cursors.update("general", lin, { x: 0.2, y: 0.2 });
    tick();
    cursors.remove("general", ada.id);
    tick();
    expect(frames[1]).toEqual({ room: "general", cursors: { u_ada: null } });
    cursors.remove("general", ada.id);
    tick();
    expect(frames).toHaveLength(2);
    expect(cursors.snapshot("general")).toEqual({ u_lin: { x: 0.2, y: 0.2, name: "Lin", color: "#2563eb" } });

    // Moved and left within one tick: the others never saw it, so they are told nothing.
    cursors.update("design", ada, { x: 0.4, y: 0.4 });
    cursors.remove("design", ada.id);
    tick();
    expect(frames).toHaveLength(2);
  });

  it("takes a cursor away only when the connection it came from leaves", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.1 }, "tab-1");
    tick();
    cursors.remove("general", ada.id, "tab-2"); // Ada's other tab closed
    tick();
    expect(frames).toHaveLength(1);
    cursors.update("general", ada, { x: 0.2, y: 0.2 }, "tab-2"); // now she points from the other tab
    cursors.remove("general", ada.id, "tab-1");
    tick();
    expect(frames[1]).toEqual({ room: "general", cursors: { u_ada: { x: 0.2, y: 0.2, name: "Ada", color: "#e11d48" } } });
    cursors.remove("general", ada.id, "tab-2");
    tick();
    expect(frames[2]).toEqual({ room: "general", cursors: { u_ada: null } });
    // Without a source (over HTTP, the idle sweep) it goes whatever its connection.
    cursors.update("general", lin, { x: 0.5, y: 0.5 }, "tab-3");
    tick();
    cursors.remove("general", lin.id);
    tick();
    expect(frames[4]).toEqual({ room: "general", cursors: { u_lin: null } });
  });

  it("retires a cursor idle for 30 s with null, and keeps a moving one", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.1 });
    cursors.update("general", lin, { x: 0.2, y: 0.2 });
    tick();
    for (let t = 0; t < IDLE - 1_000; t += 1_000) {
      clock.advance(1_000);
      cursors.update("general", lin, { x: (t % 7_000) / 10_000, y: 0.2 });
      cursors.flush();
    }
    expect(frames.some((f) => f.cursors.u_ada === null)).toBe(false);
    for (let i = 0; i < 40; i++) tick(); // 2 s more: Ada is past 30 s idle
    const gone = frames.filter((f) => f.cursors.u_ada === null);
    expect(gone).toHaveLength(1);
    expect(gone[0]!.cursors).not.toHaveProperty("u_lin", null);
    expect(cursors.snapshot("general")).not.toHaveProperty("u_ada");
    expect(cursors.snapshot("general")).toHaveProperty("u_lin");
  });

  it("sends every input at once when coalescing is off", () => {
    cursors = make(false);
    for (let i = 1; i <= 5; i++) cursors.update("general", ada, { x: i / 10, y: 0.5 });
    expect(frames.map((f) => f.cursors.u_ada?.x)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    cursors.remove("general", ada.id);
    expect(frames.at(-1)).toEqual({ room: "general", cursors: { u_ada: null } });
    cursors.flush();
    expect(frames).toHaveLength(6);
  });

  it("gives a newcomer everyone's current cursor", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.1 });
    cursors.update("general", lin, { x: 0.2, y: 0.2 });
    cursors.update("general", lin, { x: 0.25, y: 0.2 });
    expect(cursors.snapshot("general")).toEqual({
      u_ada: { x: 0.1, y: 0.1, name: "Ada", color: "#e11d48" },
      u_lin: { x: 0.25, y: 0.2, name: "Lin", color: "#2563eb" },
    });
    expect(cursors.snapshot("empty")).toEqual({});
  });
});

describe("batches relayed from other instances", () => {
  const kai: User = { id: "u_kai", name: "Kai", color: "#16a34a" };
  const at = (u: User, x: number, y: number) => ({ x, y, name: u.name, color: u.color });

  it("ride this instance's tick: one frame per room per tick for every source, latest wins", () => {
    cursors.update("general", ada, { x: 0.1, y: 0.1 });
    cursors.relay("general", { u_lin: at(lin, 0.2, 0.2) });
    cursors.relay("general", { u_kai: at(kai, 0.3, 0.3) });
    cursors.relay("general", { u_lin: at(lin, 0.25, 0.2) });
    expect(frames).toEqual([]);
    tick();
    expect(frames).toEqual([
      { room: "general", cursors: { u_ada: at(ada, 0.1, 0.1), u_lin: at(lin, 0.25, 0.2), u_kai: at(kai, 0.3, 0.3) } },
    ]);
    // Only our own change goes back out to the other instances.
    expect(own).toEqual([{ u_ada: at(ada, 0.1, 0.1) }]);
  });

  it("send a relayed-only tick with nothing for the other instances, and never resend it", () => {
    cursors.relay("design", { u_lin: at(lin, 0.5, 0.5), u_kai: null });
    tick();
    tick();
    expect(frames).toEqual([{ room: "design", cursors: { u_lin: at(lin, 0.5, 0.5), u_kai: null } }]);
    expect(own).toEqual([null]);
  });

  it("keep a person's cursor shown when their tab elsewhere lets go while their tab here still points", () => {
    cursors.update("general", ada, { x: 0.4, y: 0.4 });
    tick();
    // Ada's other tab, on another instance, hides its cursor: the one here is still live.
    cursors.relay("general", { u_ada: null, u_lin: at(lin, 0.2, 0.2) });
    tick();
    expect(frames[1]).toEqual({ room: "general", cursors: { u_lin: at(lin, 0.2, 0.2), u_ada: at(ada, 0.4, 0.4) } });
    // Announced to the other instances again, so their viewers see it back.
    expect(own[1]).toEqual({ u_ada: at(ada, 0.4, 0.4) });
    // A null for someone with no cursor here passes through as it is.
    cursors.relay("general", { u_lin: null });
    tick();
    expect(frames[2]).toEqual({ room: "general", cursors: { u_lin: null } });
  });

  it("go out at once when coalescing is off", () => {
    cursors = make(false);
    cursors.relay("general", { u_lin: at(lin, 0.5, 0.5) });
    expect(frames).toEqual([{ room: "general", cursors: { u_lin: at(lin, 0.5, 0.5) } }]);
    expect(own).toEqual([null]);
  });
});

describe("cursor bookkeeping (what a mutation run found unpinned)", () => {
  it("counts an input as coalesced only when it replaces one not yet flushed", () => {
    cursors.update("r", ada, { x: 0.1, y: 0.1 });
    expect(cursors.stats.coalesced).toBe(0);
    cursors.update("r", ada, { x: 0.2, y: 0.2 });
    expect(cursors.stats.coalesced).toBe(1);
    tick();
    cursors.update("r", ada, { x: 0.3, y: 0.3 });
    expect(cursors.stats.coalesced).toBe(1);
  });

  it("sends a move along one axis only", () => {
    cursors.update("r", ada, { x: 0.1, y: 0.1 });
    tick();
    cursors.update("r", ada, { x: 0.1, y: 0.2 });
    tick();
    expect(frames.at(-1)).toEqual({ room: "r", cursors: { [ada.id]: { x: 0.1, y: 0.2, name: "Ada", color: ada.color } } });
    cursors.update("r", ada, { x: 0.3, y: 0.2 });
    tick();
    expect(frames.at(-1)?.cursors[ada.id]).toMatchObject({ x: 0.3, y: 0.2 });
    expect(frames).toHaveLength(3);
  });

  it("holds a removal for the next tick, and ignores removing a cursor nobody has", () => {
    expect(() => cursors.remove("nowhere", ada.id)).not.toThrow();
    cursors.update("r", ada, { x: 0.1, y: 0.1 }, "tab-1");
    tick();
    cursors.remove("r", ada.id);
    expect(frames).toHaveLength(1);
    // Removed but not yet flushed: another removal from a named source is a no-op, not a crash.
    expect(() => cursors.remove("r", ada.id, "tab-1")).not.toThrow();
    tick();
    expect(frames.at(-1)).toEqual({ room: "r", cursors: { [ada.id]: null } });
  });

  it("relays another instance's cursor for someone also pointing here as theirs, not as ours", () => {
    cursors.update("r", ada, { x: 0.1, y: 0.1 });
    tick();
    own.length = 0;
    const elsewhere = { x: 0.9, y: 0.9, name: "Ada", color: ada.color };
    cursors.relay("r", { [ada.id]: elsewhere });
    tick();
    expect(frames.at(-1)).toEqual({ room: "r", cursors: { [ada.id]: elsewhere } });
    expect(own).toEqual([null]);
  });

  it("looks for idle cursors once a second, not on every tick", () => {
    cursors = new CursorCoalescer(clock, (room, c) => frames.push({ room, cursors: c }), { idleMs: 1_500 });
    cursors.update("r", ada, { x: 0.1, y: 0.1 });
    clock.advance(1_000);
    cursors.flush();
    expect(cursors.snapshot("r")).toHaveProperty(ada.id);
    // Idle for 1.6 s, but the last look was 0.6 s ago.
    clock.advance(600);
    cursors.flush();
    expect(cursors.snapshot("r")).toHaveProperty(ada.id);
    // A second after the last look: gone.
    clock.advance(400);
    cursors.flush();
    expect(cursors.snapshot("r")).toStrictEqual({});
  });

  it("retires a cursor idle for exactly the limit", () => {
    cursors = new CursorCoalescer(clock, (room, c) => frames.push({ room, cursors: c }), { idleMs: 2_000 });
    cursors.update("r", ada, { x: 0.1, y: 0.1 });
    clock.advance(1_000);
    cursors.flush();
    clock.advance(1_000);
    cursors.flush();
    expect(cursors.snapshot("r")).toStrictEqual({});
  });

  it("keeps a flushed cursor in the snapshot, and forgets a room once nothing is left in it", () => {
    expect(cursors.snapshot("nowhere")).toStrictEqual({});
    cursors.update("r", ada, { x: 0.1, y: 0.1 });
    tick();
    expect(cursors.snapshot("r")).toStrictEqual({ [ada.id]: { x: 0.1, y: 0.1, name: "Ada", color: ada.color } });
    expect(cursors.roomCount).toBe(1);
    cursors.remove("r", ada.id);
    // Removed but not yet sent as null: still tracked.
    expect(cursors.roomCount).toBe(1);
    tick();
    expect(cursors.roomCount).toBe(0);
    // A relayed batch keeps the room until it went out with a tick.
    cursors.relay("q", { [lin.id]: { x: 0.5, y: 0.5, name: "Lin", color: lin.color } });
    expect(cursors.roomCount).toBe(1);
    tick();
    expect(cursors.roomCount).toBe(0);
  });
});
