// Presence rules with a manual clock: a person counts once however many connections they have,
// leaves only after the grace, never flickers on a quick reconnect, and lapses when not renewed.
import { beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/state/clock";
import { Presence } from "../../server/state/presence";
import type { User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
const GRACE = 3_000;

let clock: ManualClock;
let frames: Array<{ room: string; members: string[] }>;
let presence: Presence;

beforeEach(() => {
  clock = new ManualClock();
  frames = [];
  presence = new Presence(clock, GRACE, (room) => frames.push({ room, members: presence.members(room).map((m) => m.id) }));
});

describe("presence", () => {
  it("announces a person once however many connections they open", () => {
    presence.add("general", ada, "tab-1");
    presence.add("general", ada, "tab-2");
    presence.add("general", ada, "poll-1");
    expect(frames).toEqual([{ room: "general", members: ["u_ada"] }]);
    expect(presence.members("general")).toEqual([ada]);

    presence.add("general", lin, "tab-3");
    expect(frames.at(-1)).toEqual({ room: "general", members: ["u_ada", "u_lin"] });
    expect(frames).toHaveLength(2);
  });

  it("shows a person as they come back: a guest reconnecting as an account loses the guest mark, at once", () => {
    const guest: User = { ...ada, guest: true };
    presence.add("general", guest, "tab-1");
    presence.remove("general", ada.id, "tab-1");
    presence.add("general", ada, "tab-1b");
    expect(presence.members("general")).toEqual([ada]);
    expect(frames).toHaveLength(2);
    // The same again is no change.
    presence.add("general", { ...ada }, "tab-2");
    expect(frames).toHaveLength(2);
  });

  it("keeps a person while any of their connections remains", () => {
    presence.add("general", ada, "tab-1");
    presence.add("general", ada, "tab-2");
    presence.remove("general", ada.id, "tab-1");
    clock.advance(GRACE * 10);
    expect(frames).toHaveLength(1);
    expect(presence.has("general", ada.id)).toBe(true);
  });

  it("broadcasts the leave only after the grace, and at most 3 s after the last connection left", () => {
    presence.add("general", ada, "tab-1");
    presence.add("general", lin, "tab-2");
    frames.length = 0;
    presence.remove("general", ada.id, "tab-1");
    clock.advance(GRACE - 1);
    expect(frames).toEqual([]);
    expect(presence.has("general", ada.id)).toBe(true);
    clock.advance(1);
    expect(frames).toEqual([{ room: "general", members: ["u_lin"] }]);
    expect(presence.has("general", ada.id)).toBe(false);
  });

  it("sends no presence frame at all for a reconnect within the grace", () => {
    presence.add("general", ada, "tab-1");
    frames.length = 0;
    presence.remove("general", ada.id, "tab-1");
    clock.advance(GRACE - 500);
    presence.add("general", ada, "tab-1-again");
    clock.advance(GRACE * 5);
    expect(frames).toEqual([]);
    expect(presence.members("general")).toEqual([ada]);
    // The new connection's own leave starts a fresh grace.
    presence.remove("general", ada.id, "tab-1-again");
    clock.advance(GRACE);
    expect(frames).toEqual([{ room: "general", members: [] }]);
  });

  it("drops at once on an explicit leave", () => {
    presence.add("general", ada, "tab-1");
    frames.length = 0;
    presence.remove("general", ada.id, "tab-1", { immediate: true });
    expect(frames).toEqual([{ room: "general", members: [] }]);
    expect(presence.roomIds()).toEqual([]);
  });

  it("ignores a connection that was never there, and a second remove of the same one", () => {
    presence.add("general", ada, "tab-1");
    frames.length = 0;
    presence.remove("general", ada.id, "unknown");
    presence.remove("general", lin.id, "tab-1");
    presence.remove("other", ada.id, "tab-1");
    clock.advance(GRACE * 2);
    expect(frames).toEqual([]);
    presence.remove("general", ada.id, "tab-1");
    presence.remove("general", ada.id, "tab-1");
    clock.advance(GRACE);
    expect(frames).toEqual([{ room: "general", members: [] }]);
  });

  it("keeps rooms apart", () => {
    presence.add("general", ada, "tab-1");
    presence.add("design", ada, "tab-1");
    presence.remove("design", ada.id, "tab-1", { immediate: true });
    expect(presence.has("general", ada.id)).toBe(true);
    expect(presence.has("design", ada.id)).toBe(false);
    expect(frames.map((f) => f.room)).toEqual(["general", "design", "design"]);
  });

  describe("touch (a connection that only checks in now and then)", () => {
    it("is present until the TTL passes without another touch, then gone at once", () => {
      presence.touch("general", ada, "poll:s1", 35_000);
      expect(frames).toEqual([{ room: "general", members: ["u_ada"] }]);
      clock.advance(20_000);
      presence.touch("general", ada, "poll:s1", 35_000);
      clock.advance(34_999);
      expect(presence.has("general", ada.id)).toBe(true);
      expect(frames).toHaveLength(1);
      clock.advance(1);
      expect(presence.has("general", ada.id)).toBe(false);
      expect(frames.at(-1)).toEqual({ room: "general", members: [] });
      expect(frames).toHaveLength(2);
    });

    it("lapses at the latest touch's TTL, shorter or longer than the one before", () => {
      presence.touch("general", ada, "poll:s1", 35_000);
      presence.touch("general", ada, "poll:s1", 1_000);
      clock.advance(999);
      expect(presence.has("general", ada.id)).toBe(true);
      clock.advance(1);
      expect(presence.has("general", ada.id)).toBe(false);
    });

    it("a lapse does not remove a person who is still there through another connection", () => {
      presence.add("general", ada, "ws-1");
      presence.touch("general", ada, "poll:s1", 1_000);
      clock.advance(5_000);
      expect(presence.has("general", ada.id)).toBe(true);
      expect(frames).toHaveLength(1);
    });
  });
});

describe("presence bookkeeping (what a mutation run found unpinned)", () => {
  it("lists the rooms with anyone in them, and no others", () => {
    presence.add("general", ada, "tab-1");
    presence.add("random", lin, "tab-2");
    expect(presence.roomIds().sort()).toEqual(["general", "random"]);
    presence.remove("random", lin.id, "tab-2", { immediate: true });
    expect(presence.roomIds()).toEqual(["general"]);
  });

  it("drops at once, with no grace, on an immediate removal", () => {
    presence.add("general", ada, "tab-1");
    frames.length = 0;
    presence.remove("general", ada.id, "tab-1", { immediate: true });
    expect(frames).toEqual([{ room: "general", members: [] }]);
  });

  it("with no grace at all, announces a leave at once, with no timer", () => {
    const now: Presence = new Presence(clock, 0, (room) => {
      frames.push({ room, members: now.members(room).map((m) => m.id) });
    });
    now.add("general", ada, "tab-1");
    frames.length = 0;
    now.remove("general", ada.id, "tab-1");
    expect(frames).toEqual([{ room: "general", members: [] }]);
  });

  it("ignores removing a connection it does not know", () => {
    expect(() => presence.remove("nowhere", ada.id, "tab-1")).not.toThrow();
    presence.add("general", ada, "tab-1");
    presence.remove("general", ada.id, "tab-9");
    clock.advance(GRACE * 2);
    expect(presence.has("general", ada.id)).toBe(true);
  });

  it("lapses each polling connection on its own timer, in different rooms", () => {
    presence.touch("general", ada, "poll-1", 1_000);
    presence.touch("random", lin, "poll-2", 1_000);
    clock.advance(1_000);
    expect(presence.has("general", ada.id)).toBe(false);
    expect(presence.has("random", lin.id)).toBe(false);
  });
});
