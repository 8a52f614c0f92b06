// Drags and selections on a canvas (server/hub/canvas-live.ts): latest wins per object and per
// person, one frame per room per tick, a leaving connection's drags gone, and a bound on what one
// person may hold.
import { describe, expect, it } from "vitest";
import { CanvasLive } from "../../server/hub/canvas-live";
import { MAX_LIVE_OBJECTS, type LiveDragMap, type LiveSelectionMap, type User } from "../../lib/protocol";

const ada: User = { id: "u-ada", name: "Ada", color: "#123456" };
const lin: User = { id: "u-lin", name: "Lin", color: "#654321" };
const box = (x: number) => ({ x, y: 0, w: 10, h: 10 });

function recorder(coalesce = true) {
  const frames: Array<{ room: string; drags: LiveDragMap; selections: LiveSelectionMap; own: unknown }> = [];
  const live = new CanvasLive((room, drags, selections, own) => frames.push({ room, drags, selections, own }), coalesce);
  return { live, frames };
}

describe("canvas drags and selections", () => {
  it("sends the latest box per object once per tick, with the dragger", () => {
    const { live, frames } = recorder();
    for (let x = 0; x < 30; x++) live.update("r", ada, "c1", { n1: box(x) }, undefined);
    live.update("r", ada, "c1", undefined, ["n1"]);
    expect(frames).toHaveLength(0);
    live.flush();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.drags).toEqual({ n1: { ...box(29), by: { id: "u-ada", name: "Ada", color: "#123456" } } });
    expect(frames[0]!.selections).toEqual({ "u-ada": { ids: ["n1"], name: "Ada", color: "#123456" } });
    // Nothing changed: no frame.
    live.flush();
    expect(frames).toHaveLength(1);
    expect(live.stats).toEqual({ inputs: 31, frames: 1 });
  });

  it("takes a leaving connection's drags and selection away, and no one else's", () => {
    const { live, frames } = recorder();
    live.update("r", ada, "c1", { n1: box(1) }, ["n1"]);
    live.update("r", lin, "c2", { n2: box(2) }, ["n2"]);
    live.flush();
    live.leave("r", "u-ada", "c1");
    live.flush();
    expect(frames[1]!.drags).toEqual({ n1: null });
    expect(frames[1]!.selections).toEqual({ "u-ada": null });
    expect(Object.keys(live.snapshot("r").drags)).toEqual(["n2"]);
  });

  it("lets one person hold at most MAX_LIVE_OBJECTS drags; a release makes room", () => {
    const { live } = recorder();
    const many = Object.fromEntries(Array.from({ length: MAX_LIVE_OBJECTS }, (_, i) => [`o${i}`, box(i)]));
    live.update("r", ada, "c1", many, undefined);
    live.update("r", ada, "c1", { extra: box(1) }, undefined);
    expect(Object.keys(live.snapshot("r").drags)).toHaveLength(MAX_LIVE_OBJECTS);
    expect(live.snapshot("r").drags.extra).toBeUndefined();
    live.update("r", ada, "c1", { o0: null, extra: box(1) }, undefined);
    expect(live.snapshot("r").drags.extra).toBeDefined();
  });

  it("relays another instance's changes on this tick without telling them back; forgets an idle room", () => {
    const { live, frames } = recorder();
    live.relay("r", { n9: { ...box(9), by: { id: "u-x", name: "X", color: "#000000" } } }, {});
    live.flush();
    expect(frames[0]!.drags.n9?.x).toBe(9);
    expect(frames[0]!.own).toBeNull();
    live.update("r", ada, "c1", { n1: box(1) }, undefined);
    live.flush();
    expect(frames[1]!.own).toEqual({ drags: { n1: { ...box(1), by: { id: "u-ada", name: "Ada", color: "#123456" } } }, selections: {} });
    live.update("r", ada, "c1", { n1: null }, undefined);
    live.flush();
    expect(live.snapshot("r")).toEqual({ drags: {}, selections: {} });
  });

  it("without coalescing, every input is a frame (the benchmark's baseline)", () => {
    const { live, frames } = recorder(false);
    for (let x = 0; x < 5; x++) live.update("r", ada, "c1", { n1: box(x) }, undefined);
    expect(frames.map((f) => f.drags.n1?.x)).toEqual([0, 1, 2, 3, 4]);
  });
});
