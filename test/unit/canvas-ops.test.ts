// The canvas's pure parts (lib/canvas): the fold every reader shares, the client's pending
// changes re-applied over each commit, and undo that takes back only my own work.
import { describe, expect, it } from "vitest";
import { applyOps, boardFrom, emptyBoard, paintOrder, refusal, sameBoard, type Board } from "../../lib/canvas/board";
import { CanvasDoc } from "../../lib/canvas/doc";
import { PendingBoard } from "../../lib/canvas/pending";
import type { CanvasOp, ObjectBody } from "../../lib/protocol";

const note = (over: Partial<ObjectBody> = {}): ObjectBody => ({ kind: "note", x: 0, y: 0, w: 100, h: 80, z: 1, color: "#fde68a", text: "", ...over });
const create = (id: string, over: Partial<ObjectBody> = {}): CanvasOp => ({ op: "create", id, object: note(over) });

describe("the fold", () => {
  it("lets the later write win per property, and leaves the other properties alone", () => {
    const b = applyOps(emptyBoard(), [create("a"), { op: "update", id: "a", set: { x: 5 } }, { op: "update", id: "a", set: { color: "#000000" } }, { op: "update", id: "a", set: { x: 9 } }]);
    expect(b.get("a")).toMatchObject({ x: 9, color: "#000000", y: 0 });
  });

  it("changes nothing for an update or delete of an object that is gone", () => {
    const b = applyOps(emptyBoard(), [create("a"), { op: "delete", id: "a" }]);
    const after = applyOps(b, [{ op: "update", id: "a", set: { x: 1 } }, { op: "delete", id: "a" }]);
    expect(after).toBe(b);
    expect(after.size).toBe(0);
  });

  it("puts a created object whole, and paints by z then id", () => {
    const b = applyOps(emptyBoard(), [create("b", { z: 2 }), create("a", { z: 2 }), create("c", { z: 1 })]);
    expect(paintOrder(b).map((o) => o.id)).toEqual(["c", "a", "b"]);
  });

  it("refuses what the server refuses: unknown objects, existing ids", () => {
    const b = boardFrom([{ ...note(), id: "a" }]);
    expect(refusal(b, [{ op: "update", id: "z", set: { x: 1 } }])?.code).toBe("unknown_object");
    expect(refusal(b, [create("a")])?.code).toBe("object_exists");
    expect(refusal(b, [{ op: "delete", id: "a" }, create("a")])).toBeNull();
    expect(refusal(b, [create("n"), { op: "update", id: "n", set: { x: 1 } }])).toBeNull();
  });
});

describe("pending changes over commits", () => {
  it("shows my change at once, and ends with the server's order once committed", () => {
    const p = new PendingBoard();
    p.committedBatch(1, [create("a")], null);
    p.local({ clientId: "mine", ops: [{ op: "update", id: "a", set: { x: 10 } }] });
    expect(p.view.get("a")?.x).toBe(10);
    // Someone else's write commits first: mine still shows on top of it...
    p.committedBatch(2, [{ op: "update", id: "a", set: { x: 20, color: "#111111" } }], "theirs");
    expect(p.view.get("a")).toMatchObject({ x: 10, color: "#111111" });
    // ...and the server's order puts mine last: the view is the server's board.
    p.committedBatch(3, [{ op: "update", id: "a", set: { x: 10 } }], "mine");
    expect(p.pendingChanges).toHaveLength(0);
    expect(p.view.get("a")).toMatchObject({ x: 10, color: "#111111" });
  });

  it("drops a change a snapshot already holds once it is acknowledged, so it is not applied again over later writes", () => {
    const p = new PendingBoard();
    p.local({ clientId: "mine", ops: [create("a", { x: 1 })] });
    p.acked("mine", 1);
    p.reset(boardFrom([{ ...note({ x: 7 }), id: "a" }]), 2);
    expect(p.pendingChanges).toHaveLength(0);
    expect(p.view.get("a")?.x).toBe(7);
  });
});

describe("undo", () => {
  /** A doc whose changes commit at once, in the order given, onto a shared server board. */
  function twoPeople() {
    let server: Board = emptyBoard();
    let seq = 0;
    const docs: CanvasDoc[] = [];
    let n = 0;
    const make = () => {
      const doc: CanvasDoc = new CanvasDoc({
        newClientId: () => `c${++n}`,
        send: (clientId, ops) => {
          queueMicrotask(() => {
            server = applyOps(server, ops);
            seq++;
            for (const d of docs) d.committed({ stream: "canvas:r", seq, type: "canvas.ops", actor: { id: "x", name: "x" }, at: new Date().toISOString(), data: { ops, clientId } });
          });
          return true;
        },
      });
      docs.push(doc);
      return doc;
    };
    return { ada: make(), lin: make(), server: () => server, settle: () => new Promise((r) => setTimeout(r, 0)) };
  }

  it("undoes only my change, not the later work of someone else on the same object", async () => {
    const { ada, lin, server, settle } = twoPeople();
    ada.change([create("a", { text: "draft" })]);
    await settle();
    ada.change([{ op: "update", id: "a", set: { x: 50, color: "#ff0000" } }]);
    await settle();
    // Lin recolours it after Ada moved it.
    lin.change([{ op: "update", id: "a", set: { color: "#00ff00" } }]);
    await settle();
    expect(ada.undo()).toBe(true);
    await settle();
    // Ada's move is undone; Lin's colour stands.
    expect(server().get("a")).toMatchObject({ x: 0, color: "#00ff00", text: "draft" });
    expect(sameBoard(ada.view, server())).toBe(true);
    expect(sameBoard(lin.view, server())).toBe(true);
    // Redo puts Ada's move back, still not touching the colour.
    expect(ada.redo()).toBe(true);
    await settle();
    expect(server().get("a")).toMatchObject({ x: 50, color: "#00ff00" });
  });

  it("skips a change whose object someone else deleted, and undoes the one before it", async () => {
    const { ada, lin, server, settle } = twoPeople();
    ada.change([create("a")]);
    ada.change([create("b")]);
    await settle();
    ada.change([{ op: "update", id: "b", set: { x: 9 } }]);
    await settle();
    lin.change([{ op: "delete", id: "b" }]);
    await settle();
    // Undoing the move of b (gone) is skipped; so is b's creation; a's creation is undone.
    expect(ada.undo()).toBe(true);
    await settle();
    expect(server().size).toBe(0);
    expect(ada.undo()).toBe(false);
  });

  it("does not go deeper past a change someone else has changed since: that undo changes nothing and says so", async () => {
    const { ada, lin, server, settle } = twoPeople();
    ada.change([create("a", { text: "" })]);
    await settle();
    ada.change([{ op: "update", id: "a", set: { text: "Shared plan" } }]);
    await settle();
    ada.change([{ op: "update", id: "a", set: { x: 50, y: 50 } }]);
    await settle();
    // Lin drags the same note after Ada did: where it is now is Lin's work.
    lin.change([{ op: "update", id: "a", set: { x: 80, y: 90 } }]);
    await settle();
    expect(ada.undo()).toBe("overridden");
    await settle();
    // Nothing changed: not Lin's move, and not Ada's text, older than the move she meant.
    expect(server().get("a")).toMatchObject({ text: "Shared plan", x: 80, y: 90 });
    // The next undo goes on below it.
    expect(ada.undo()).toBe(true);
    await settle();
    expect(server().get("a")).toMatchObject({ text: "", x: 80 });
  });

  it("tells the person on the page why an undo changed nothing, and stops saying it once one does", async () => {
    const { useCanvas } = await import("../../lib/store/canvas");
    const { ada, lin, settle } = twoPeople();
    ada.change([create("a", { text: "" })]);
    await settle();
    ada.change([{ op: "update", id: "a", set: { text: "Shared plan" } }]);
    await settle();
    ada.change([{ op: "update", id: "a", set: { x: 50 } }]);
    await settle();
    lin.change([{ op: "update", id: "a", set: { x: 80 } }]);
    await settle();
    useCanvas.getState().open("r", ada);
    useCanvas.getState().undo();
    expect(useCanvas.getState().notice).toBe("Not undone: someone else has changed it since");
    useCanvas.getState().undo();
    expect(useCanvas.getState().notice).toBeNull();
    useCanvas.getState().close("r");
  });

  it("brings back an object I deleted, with its id and properties", async () => {
    const { ada, server, settle } = twoPeople();
    ada.change([create("a", { text: "keep me", x: 3 })]);
    await settle();
    ada.change([{ op: "delete", id: "a" }]);
    await settle();
    ada.undo();
    await settle();
    expect(server().get("a")).toMatchObject({ text: "keep me", x: 3 });
  });
});

describe("geometry the canvas page uses", () => {
  it("pastes copies with new ids in front, and points copied arrows at the copies", async () => {
    const { pasteOps } = await import("../../lib/canvas/geometry");
    const board = boardFrom([
      { ...note({ z: 5 }), id: "a" },
      { ...note({ z: 1 }), id: "b" },
      { kind: "arrow", x: 0, y: 0, w: 10, h: 10, z: 2, color: "#000000", from: "a", to: "b", id: "ab" },
    ]);
    let n = 0;
    const ops = pasteOps([board.get("a")!, board.get("ab")!], board, () => `new${++n}`);
    expect(ops.map((op) => op.id)).toEqual(["new1", "new2"]);
    const [copyA, copyArrow] = ops.map((op) => (op.op === "create" ? op.object : null));
    expect(copyA).toMatchObject({ x: 24, y: 24, z: 6 });
    // The arrow follows the copy of a, and still ends at b (not copied, still on the board).
    expect(copyArrow).toMatchObject({ from: "new1", to: "b", z: 7 });
    expect(refusal(board, ops)).toBeNull();
  });

  it("runs an arrow on the line between the objects it joins, from and to their edges, wherever they are dragged", async () => {
    const { arrowEnds, newArrow } = await import("../../lib/canvas/geometry");
    const board = boardFrom([{ ...note({ x: 0, y: 0, w: 100, h: 100 }), id: "a" }]);
    const free = { ...newArrow({ x: 200, y: 50 }, { x: 120, y: 10 }, "a", null, board, "#000000"), id: "ar" };
    expect(free).toMatchObject({ x: 120, y: 10, w: 80, h: 40, from: "a" });
    const boxes: Record<string, { x: number; y: number; w: number; h: number }> = { a: { x: 300, y: 300, w: 100, h: 100 } };
    // Toward the free end from a's centre (350, 350), leaving a through its top edge.
    const ends = arrowEnds(free, (id) => boxes[id] ?? null);
    expect(ends.to).toEqual({ x: 120, y: 10 });
    expect(ends.from.y).toBe(300);
    expect(ends.from.x).toBeCloseTo(350 - 230 * (50 / 340), 6);
    // Joining two boxes side by side: from a's right edge to b's left edge, the head outside b.
    const joined = { ...free, to: "b" };
    boxes.b = { x: 600, y: 300, w: 100, h: 100 };
    expect(arrowEnds(joined, (id) => boxes[id] ?? null)).toEqual({ from: { x: 400, y: 350 }, to: { x: 600, y: 350 } });
  });

  it("pinches around the fingers' midpoint: what was under it stays under it, zoomed by how far they spread", async () => {
    const { MAX_ZOOM, pinched, toBoard } = await import("../../lib/canvas/geometry");
    const from = { x: 30, y: -20, zoom: 1 };
    const start = [{ x: 100, y: 200 }, { x: 200, y: 200 }] as const;
    const now = [{ x: 40, y: 260 }, { x: 240, y: 260 }] as const;
    const view = pinched(from, start, now);
    expect(view.zoom).toBe(2);
    expect(toBoard(view, { x: 140, y: 260 })).toEqual(toBoard(from, { x: 150, y: 200 }));
    // Two fingers slid together without spreading pan the view, and no pinch zooms past the limit.
    expect(pinched(from, start, [{ x: 110, y: 210 }, { x: 210, y: 210 }])).toEqual({ x: 40, y: -10, zoom: 1 });
    expect(pinched(from, start, [{ x: 0, y: 200 }, { x: 1000, y: 200 }]).zoom).toBe(MAX_ZOOM);
  });
});
