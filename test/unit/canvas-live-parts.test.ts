// The live canvas's smaller rules (server/hub/canvas-live.ts), beyond canvas-live.test.ts: what a
// release, an emptied selection and a leave put on the wire (and in the part told to the other
// instances), who may release or take over a drag, how the per-person bound counts, which
// connection's leave takes what, and what a room shows once its frame has gone.
import { describe, expect, it } from "vitest";
import { CanvasLive } from "../../server/hub/canvas-live";
import { MAX_LIVE_OBJECTS, type LiveDragMap, type LiveSelectionMap, type User } from "../../lib/protocol";

const ada: User = { id: "u-ada", name: "Ada", color: "#123456" };
const lin: User = { id: "u-lin", name: "Lin", color: "#654321" };
const box = (x: number) => ({ x, y: 0, w: 10, h: 10 });
const byAda = { id: "u-ada", name: "Ada", color: "#123456" };
const byLin = { id: "u-lin", name: "Lin", color: "#654321" };

type Own = { drags: LiveDragMap; selections: LiveSelectionMap } | null;

function recorder(coalesce = true) {
  const frames: Array<{ room: string; drags: LiveDragMap; selections: LiveSelectionMap; own: Own }> = [];
  const live = new CanvasLive((room, drags, selections, own) => frames.push({ room, drags, selections, own }), coalesce);
  return { live, frames };
}

/** `count` objects `${prefix}0`… at once. */
const objects = (prefix: string, count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, box(i)]));

describe("releasing a drag", () => {
  it("sends the release as null to the room and to the other instances, and the object is no longer held", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", { n1: box(1), n2: box(2) }, undefined);
    live.flush();
    live.update("r", ada, "c1", { n1: null }, undefined);
    live.flush();
    expect(frames).toHaveLength(2);
    expect(frames[1]).toStrictEqual({ room: "r", drags: { n1: null }, selections: {}, own: { drags: { n1: null }, selections: {} } });
    expect(live.snapshot("r")).toStrictEqual({ drags: { n2: { ...box(2), by: byAda } }, selections: {} });
  });

  it("ignores a release of someone else's drag, or of an object no one drags", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, undefined);
    live.flush();
    live.update("r", lin, "c2", { n1: null, nowhere: null }, undefined);
    live.flush();
    expect(frames).toHaveLength(1);
    expect(live.snapshot("r").drags).toStrictEqual({ n1: { ...box(1), by: byAda } });
  });
});

describe("the bound on one person's drags", () => {
  it("counts only that person's drags, not anyone else's in the room", () => {
    const { live } = recorder();
    live.update("r", lin, "c2", { l0: box(0) }, undefined);
    live.update("r", ada, "c1", objects("a", MAX_LIVE_OBJECTS), undefined);
    expect(Object.values(live.snapshot("r").drags).filter((d) => d?.by.id === "u-ada")).toHaveLength(MAX_LIVE_OBJECTS);
  });

  it("counts drags already held, however many inputs brought them", () => {
    const { live } = recorder();
    live.update("r", ada, "c1", objects("a", MAX_LIVE_OBJECTS - 1), undefined);
    live.update("r", ada, "c1", { x1: box(1), x2: box(2) }, undefined);
    const held = Object.keys(live.snapshot("r").drags);
    expect(held).toHaveLength(MAX_LIVE_OBJECTS);
    expect(held).toContain("x1");
    expect(held).not.toContain("x2");
  });

  it("still lets a person at the bound move what they hold", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", objects("a", MAX_LIVE_OBJECTS), undefined);
    live.flush();
    live.update("r", ada, "c1", { a0: box(500) }, undefined);
    live.flush();
    expect(frames[1]!.drags).toStrictEqual({ a0: { ...box(500), by: byAda } });
    expect(live.snapshot("r").drags.a0?.x).toBe(500);
  });

  it("lets someone take over another's object, which then counts as theirs, but not past their bound", () => {
    const { live, frames } = recorder();
    live.update("r", lin, "c2", { n1: box(1), n2: box(2) }, undefined);
    live.update("r", ada, "c1", { n1: box(11) }, undefined);
    live.flush();
    expect(frames[0]!.drags.n1).toStrictEqual({ ...box(11), by: byAda });
    // Ada now holds n1, so she has room for only MAX - 1 more.
    live.update("r", ada, "c1", objects("a", MAX_LIVE_OBJECTS), undefined);
    const drags = live.snapshot("r").drags;
    expect(Object.values(drags).filter((d) => d?.by.id === "u-ada")).toHaveLength(MAX_LIVE_OBJECTS);
    // At her bound, she cannot take Lin's n2 either.
    live.update("r", ada, "c1", { n2: box(22) }, undefined);
    expect(live.snapshot("r").drags.n2).toStrictEqual({ ...box(2), by: byLin });
  });
});

describe("selections", () => {
  it("a selection alone is a frame, told to the other instances too, and is in the snapshot", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", undefined, ["n1", "n2"]);
    live.flush();
    const sel = { ids: ["n1", "n2"], name: "Ada", color: "#123456" };
    expect(frames).toStrictEqual([{ room: "r", drags: {}, selections: { "u-ada": sel }, own: { drags: {}, selections: { "u-ada": sel } } }]);
    live.flush();
    expect(frames).toHaveLength(1);
    expect(live.snapshot("r")).toStrictEqual({ drags: {}, selections: { "u-ada": sel } });
  });

  it("an empty selection clears the person's selection, once", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", undefined, ["n1"]);
    live.flush();
    live.update("r", ada, "c1", undefined, []);
    live.flush();
    expect(frames[1]).toStrictEqual({ room: "r", drags: {}, selections: { "u-ada": null }, own: { drags: {}, selections: { "u-ada": null } } });
    expect(live.snapshot("r")).toStrictEqual({ drags: {}, selections: {} });
    // Clearing what is not there says nothing.
    live.update("r", ada, "c1", undefined, []);
    live.flush();
    expect(frames).toHaveLength(2);
  });
});

describe("a connection leaving", () => {
  it("takes only its own connection's drags and selection: the same person's other tab keeps theirs", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, ["n1"]);
    live.update("r", ada, "c2", { n2: box(2) }, undefined);
    live.flush();
    live.leave("r", "u-ada", "c1");
    live.flush();
    expect(frames[1]).toStrictEqual({ room: "r", drags: { n1: null }, selections: { "u-ada": null }, own: { drags: { n1: null }, selections: { "u-ada": null } } });
    expect(live.snapshot("r")).toStrictEqual({ drags: { n2: { ...box(2), by: byAda } }, selections: {} });
  });

  it("leaves a selection last made from another connection in place", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, ["n1"]);
    live.update("r", ada, "c2", undefined, ["n2"]);
    live.flush();
    live.leave("r", "u-ada", "c1");
    live.flush();
    expect(frames[1]!.selections).toStrictEqual({});
    expect(frames[1]!.drags).toStrictEqual({ n1: null });
    expect(live.snapshot("r").selections).toStrictEqual({ "u-ada": { ids: ["n2"], name: "Ada", color: "#123456" } });
  });

  it("takes only the leaving person's drags, even among drags that came with no connection", () => {
    const { live, frames } = recorder();
    live.update("r", ada, undefined, { n1: box(1) }, undefined);
    live.update("r", lin, undefined, { n2: box(2) }, undefined);
    live.flush();
    live.leave("r", "u-ada", undefined);
    live.flush();
    expect(frames[1]!.drags).toStrictEqual({ n1: null });
    expect(live.snapshot("r").drags).toStrictEqual({ n2: { ...box(2), by: byLin } });
  });

  it("with nothing held, or in a room with nothing live, sends nothing", () => {
    const { live, frames } = recorder();
    live.leave("elsewhere", "u-ada", "c1");
    live.update("r", lin, "c2", { n1: box(1) }, ["n1"]);
    live.flush();
    live.leave("r", "u-ada", "c1");
    live.flush();
    expect(frames).toHaveLength(1);
  });
});

describe("the tick", () => {
  it("coalesces by default: changes wait for the tick", () => {
    const frames: LiveDragMap[] = [];
    const live = new CanvasLive((_room, drags) => frames.push(drags));
    live.update("r", ada, "c1", { n1: box(1) }, undefined);
    live.update("r", ada, "c1", { n1: box(2) }, undefined);
    expect(frames).toHaveLength(0);
    live.flush();
    expect(frames).toStrictEqual([{ n1: { ...box(2), by: byAda } }]);
  });

  it("a leave and another instance's changes wait for the tick too, and go out with the room's other changes in one frame", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, undefined);
    live.flush();
    live.leave("r", "u-ada", "c1");
    live.relay("r", { n9: { ...box(9), by: { id: "u-x", name: "X", color: "#000000" } } }, {});
    live.update("r", lin, "c2", undefined, ["n9"]);
    expect(frames).toHaveLength(1);
    live.flush();
    expect(frames).toHaveLength(2);
    expect(frames[1]!.drags).toStrictEqual({ n1: null, n9: { ...box(9), by: { id: "u-x", name: "X", color: "#000000" } } });
    expect(frames[1]!.selections).toStrictEqual({ "u-lin": { ids: ["n9"], name: "Lin", color: "#654321" } });
  });

  it("keeps a room whose people still hold only drags, or only a selection", () => {
    const { live } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, undefined);
    live.update("s", ada, "c1", undefined, ["n1"]);
    live.flush();
    live.flush();
    expect(Object.keys(live.snapshot("r").drags)).toEqual(["n1"]);
    expect(Object.keys(live.snapshot("s").selections)).toEqual(["u-ada"]);
  });

  it("forgets a room at the tick once nothing is held in it: memory follows activity", () => {
    const { live } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, ["n1"]);
    live.update("s", lin, "c2", { n2: box(2) }, undefined);
    live.flush();
    expect(live.activeRooms).toBe(2);
    live.update("r", ada, "c1", { n1: null }, []);
    live.leave("s", "u-lin", "c2");
    expect(live.activeRooms).toBe(2); // the releases are still to be sent
    live.flush();
    expect(live.activeRooms).toBe(0);
  });

  it("a room no one has touched shows nothing", () => {
    const { live } = recorder();
    expect(live.snapshot("nowhere")).toStrictEqual({ drags: {}, selections: {} });
  });
});

describe("without coalescing", () => {
  it("a leave and a relay are each a frame at once", () => {
    const { live, frames } = recorder(false);
    live.update("r", ada, "c1", { n1: box(1) }, undefined);
    live.leave("r", "u-ada", "c1");
    live.relay("r", {}, { "u-x": { ids: ["n9"], name: "X", color: "#000000" } });
    expect(frames.map((f) => [f.drags, f.selections])).toStrictEqual([
      [{ n1: { ...box(1), by: byAda } }, {}],
      [{ n1: null }, {}],
      [{}, { "u-x": { ids: ["n9"], name: "X", color: "#000000" } }],
    ]);
  });
});
