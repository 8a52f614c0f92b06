// Typing indicators with a manual clock: start, renew, stop and server-side expiry.
import { beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/state/clock";
import { Typing } from "../../server/state/typing";
import { TYPING_TTL_MS, type Actor } from "../../lib/protocol";

const ada: Actor = { id: "u_ada", name: "Ada" };
const lin: Actor = { id: "u_lin", name: "Lin" };

let clock: ManualClock;
let frames: Array<{ room: string; users: string[] }>;
let typing: Typing;

beforeEach(() => {
  clock = new ManualClock();
  frames = [];
  typing = new Typing(clock, TYPING_TTL_MS, (room, users) => frames.push({ room, users: users.map((u) => u.id) }));
});

describe("typing", () => {
  it("lasts 5 s by default", () => {
    expect(TYPING_TTL_MS).toBe(5_000);
  });

  it("announces a start, and nothing more for a renew", () => {
    typing.start("general", ada);
    expect(frames).toEqual([{ room: "general", users: ["u_ada"] }]);
    typing.start("general", ada);
    typing.start("general", ada);
    expect(frames).toHaveLength(1);
    typing.start("general", lin);
    expect(frames.at(-1)).toEqual({ room: "general", users: ["u_ada", "u_lin"] });
    expect(typing.users("general")).toEqual([ada, lin]);
  });

  it("expires 5 s after the last start or renew", () => {
    typing.start("general", ada);
    clock.advance(3_000);
    typing.start("general", ada); // the client renews every 3 s while typing
    clock.advance(4_999);
    expect(typing.users("general")).toEqual([ada]);
    expect(frames).toHaveLength(1);
    clock.advance(1);
    expect(typing.users("general")).toEqual([]);
    expect(frames.at(-1)).toEqual({ room: "general", users: [] });
    expect(frames).toHaveLength(2);
  });

  it("stops at once, and the cancelled expiry never fires a second frame", () => {
    typing.start("general", ada);
    typing.start("general", lin);
    typing.stop("general", ada.id);
    expect(frames.at(-1)).toEqual({ room: "general", users: ["u_lin"] });
    const count = frames.length;
    clock.advance(4_000);
    expect(frames).toHaveLength(count);
    clock.advance(1_000); // Lin's own expiry
    expect(frames.at(-1)).toEqual({ room: "general", users: [] });
    expect(frames).toHaveLength(count + 1);
  });

  it("says nothing when someone who is not typing stops", () => {
    typing.stop("general", ada.id);
    typing.start("general", ada);
    typing.stop("other", ada.id);
    typing.stop("general", lin.id);
    expect(frames).toEqual([{ room: "general", users: ["u_ada"] }]);
  });

  it("can start again after a stop or an expiry", () => {
    typing.start("general", ada);
    typing.stop("general", ada.id);
    typing.start("general", ada);
    clock.advance(TYPING_TTL_MS);
    typing.start("general", ada);
    expect(frames.map((f) => f.users)).toEqual([["u_ada"], [], ["u_ada"], [], ["u_ada"]]);
  });

  it("puts only id and name on the wire, even when given a whole user", () => {
    typing.start("general", { id: "u_kai", name: "Kai", color: "#000000" } as Actor);
    expect(typing.users("general")).toEqual([{ id: "u_kai", name: "Kai" }]);
  });

  it("keeps rooms apart", () => {
    typing.start("general", ada);
    typing.start("design", ada);
    typing.stop("design", ada.id);
    expect(typing.users("general")).toEqual([ada]);
    expect(typing.users("design")).toEqual([]);
  });

  it("is cleared by the connection it came from leaving, not by the person's other tabs", () => {
    typing.start("general", ada, "tab-1");
    typing.stop("general", ada.id, "tab-2");
    expect(typing.users("general")).toEqual([ada]);
    typing.start("general", ada, "tab-2"); // now typing in the second tab
    typing.stop("general", ada.id, "tab-1");
    expect(typing.users("general")).toEqual([ada]);
    typing.stop("general", ada.id, "tab-2");
    expect(typing.users("general")).toEqual([]);
    typing.start("general", ada, "tab-1");
    typing.stop("general", ada.id); // a stop frame or a send, from any tab
    expect(typing.users("general")).toEqual([]);
    expect(frames.map((f) => f.users)).toEqual([["u_ada"], [], ["u_ada"], []]);
  });
});

describe("typing bookkeeping (what a mutation run found unpinned)", () => {
  it("lists the rooms where anyone is typing, and forgets a room when the last one stops", () => {
    typing.start("general", ada);
    typing.start("random", lin);
    expect(typing.roomIds().sort()).toEqual(["general", "random"]);
    typing.stop("random", lin.id);
    expect(typing.roomIds()).toEqual(["general"]);
  });
});
