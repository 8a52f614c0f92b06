// The shared canvas's arithmetic, apart from the DOM: gliding a remote cursor between the
// positions the server sends, keeping its label inside the canvas, and sending my pointer at
// most once per animation frame.
import { describe, expect, it } from "vitest";
import { glideTo, LABEL_GAP, LABEL_OFFSET, MAX_GLIDE_MS, MIN_GLIDE_MS, onCanvas, positionAt, labelPosition, type Glide } from "../../components/canvas/cursor-motion";
import { normalizePointer, PointerBroadcast, type FrameScheduler } from "../../components/canvas/pointer-broadcast";
import type { CursorTarget } from "../../lib/store/cursors";
import type { CursorPos } from "../../lib/realtime/throttles";
import { BOARD_LIMIT } from "../../lib/protocol";

const at = (x: number, y: number, receivedAt: number): CursorTarget => ({ x, y, name: "Ada", color: "#e11d48", receivedAt });

describe("gliding between positions", () => {
  it("draws the first position at once, not gliding in from a corner", () => {
    const g = glideTo(undefined, at(0.5, 0.5, 1000), 1000, false);
    expect(positionAt(g, 1000)).toEqual({ x: 0.5, y: 0.5 });
  });

  it("glides from where the cursor is drawn to the new position over the gap between updates", () => {
    const first = glideTo(undefined, at(0, 0, 1000), 1000, false);
    const g = glideTo(first, at(0.6, 0.3, 1060), 1062, false);
    expect(g.duration).toBe(60);
    expect(positionAt(g, 1062)).toEqual({ x: 0, y: 0 });
    const half = positionAt(g, 1092);
    expect(half.x).toBeCloseTo(0.3, 10);
    expect(half.y).toBeCloseTo(0.15, 10);
    expect(positionAt(g, 1122)).toEqual({ x: 0.6, y: 0.3 });
    expect(positionAt(g, 5000)).toEqual({ x: 0.6, y: 0.3 }); // and stays there
  });

  it("turns where it is when a new position comes mid-glide, so the cursor never jumps", () => {
    const first = glideTo(undefined, at(0, 0, 0), 0, false);
    const toRight = glideTo(first, at(1, 0, 50), 50, false);
    const drawn = positionAt(toRight, 75); // halfway
    const toDown = glideTo(toRight, at(0.5, 1, 100), 75, false);
    expect(positionAt(toDown, 75)).toEqual(drawn);
    expect(positionAt(toDown, 75 + toDown.duration)).toEqual({ x: 0.5, y: 1 });
  });

  it("keeps a glide between 50 and 80 ms whatever the gap", () => {
    const first: Glide = glideTo(undefined, at(0, 0, 0), 0, false);
    expect(glideTo(first, at(1, 1, 5), 5, false).duration).toBe(MIN_GLIDE_MS);
    expect(glideTo(first, at(1, 1, 2000), 2000, false).duration).toBe(MAX_GLIDE_MS);
    expect([MIN_GLIDE_MS, MAX_GLIDE_MS]).toEqual([50, 80]);
  });

  it("jumps instead of gliding with reduced motion", () => {
    const first = glideTo(undefined, at(0, 0, 0), 0, true);
    const g = glideTo(first, at(0.8, 0.2, 50), 50, true);
    expect(g.duration).toBe(0);
    expect(positionAt(g, 50)).toEqual({ x: 0.8, y: 0.2 });
  });
});

describe("gliding on the board (protocol 1.15)", () => {
  const onBoard = (x: number, y: number, receivedAt: number): CursorTarget => ({ ...at(0.5, 0.5, receivedAt), board: { x, y } });

  it("glides between points of the board, whatever fraction of the sender's canvas they were", () => {
    const first = glideTo(undefined, onBoard(100, 200, 0), 0, false);
    expect(first.onBoard).toBe(true);
    expect(positionAt(first, 0)).toEqual({ x: 100, y: 200 });
    const g = glideTo(first, onBoard(300, 0, 50), 50, false);
    expect(positionAt(g, 50 + g.duration / 2)).toEqual({ x: 200, y: 100 });
    expect(positionAt(g, 50 + g.duration)).toEqual({ x: 300, y: 0 });
  });

  it("jumps, not glides, between a point of the board and a fraction of the canvas", () => {
    const first = glideTo(undefined, at(0.5, 0.5, 0), 0, false);
    const g = glideTo(first, onBoard(300, 40, 50), 50, false);
    expect(g.duration).toBe(0);
    expect(positionAt(g, 50)).toEqual({ x: 300, y: 40 });
    const back = glideTo(g, at(0.2, 0.1, 100), 100, false);
    expect(back).toMatchObject({ onBoard: false, duration: 0 });
    expect(positionAt(back, 100)).toEqual({ x: 0.2, y: 0.1 });
  });
});

describe("a cursor off this page's part of the board", () => {
  it("is not drawn, nor its label", () => {
    const canvas = { width: 400, height: 300 };
    expect(onCanvas({ x: 0, y: 0 }, canvas)).toBe(true);
    expect(onCanvas({ x: 400, y: 300 }, canvas)).toBe(true);
    expect(onCanvas({ x: -1, y: 10 }, canvas)).toBe(false);
    expect(onCanvas({ x: 10, y: 301 }, canvas)).toBe(false);
  });
});

describe("the name label", () => {
  const canvas = { width: 400, height: 300 };
  const label = { width: 60, height: 20 };

  it("sits below and right of the pointer", () => {
    expect(labelPosition({ x: 100, y: 100 }, label, canvas)).toEqual({ x: 100 + LABEL_OFFSET.x, y: 100 + LABEL_OFFSET.y });
  });

  it("flips to the left near the right edge and above near the bottom", () => {
    expect(labelPosition({ x: 380, y: 290 }, label, canvas)).toEqual({ x: 380 - 60 - LABEL_GAP, y: 290 - 20 - LABEL_GAP });
  });

  it("never leaves the canvas, wherever the pointer is and however long the name", () => {
    for (const tip of [{ x: 0, y: 0 }, { x: 400, y: 300 }, { x: 30, y: 295 }, { x: 395, y: 5 }, { x: 200, y: 150 }]) {
      for (const l of [label, { width: 390, height: 20 }, { width: 500, height: 400 }]) {
        const p = labelPosition(tip, l, canvas);
        expect(p.x, JSON.stringify({ tip, l })).toBeGreaterThanOrEqual(0);
        expect(p.y).toBeGreaterThanOrEqual(0);
        if (l.width <= canvas.width) expect(p.x + l.width).toBeLessThanOrEqual(canvas.width);
        if (l.height <= canvas.height) expect(p.y + l.height).toBeLessThanOrEqual(canvas.height);
      }
    }
  });
});

describe("my pointer", () => {
  /** Animation frames that run only when the test says so. */
  function manualFrames(): FrameScheduler & { run(): void; pending(): number } {
    let next = 1;
    const queued = new Map<number, () => void>();
    return {
      request(cb) {
        queued.set(next, cb);
        return next++;
      },
      cancel(id) {
        queued.delete(id);
      },
      run() {
        const due = [...queued.values()];
        queued.clear();
        for (const cb of due) cb();
      },
      pending: () => queued.size,
    };
  }
  const box = { left: 10, top: 20, width: 200, height: 100 };

  it("goes out once per animation frame, with the latest position", () => {
    const frames = manualFrames();
    const sent: Array<{ x: number; y: number } | null> = [];
    const pointer = new PointerBroadcast((p) => sent.push(p), frames);
    for (let i = 0; i <= 10; i++) pointer.move(10 + i * 10, 70, box);
    expect(sent).toEqual([]);
    frames.run();
    expect(sent).toEqual([{ x: 0.5, y: 0.5 }]);
    frames.run();
    expect(sent).toHaveLength(1); // no move, nothing sent
    pointer.move(210, 120, box);
    frames.run();
    expect(sent).toEqual([{ x: 0.5, y: 0.5 }, { x: 1, y: 1 }]);
  });

  it("is hidden at once when it leaves, and a move still waiting for its frame never follows", () => {
    const frames = manualFrames();
    const sent: Array<{ x: number; y: number } | null> = [];
    const pointer = new PointerBroadcast((p) => sent.push(p), frames);
    pointer.move(60, 45, box);
    pointer.leave();
    expect(frames.pending()).toBe(0);
    frames.run();
    expect(sent).toEqual([null]);
  });

  it("says the point of the board under it through the view's pan and zoom, kept within the board", () => {
    const frames = manualFrames();
    const sent: CursorPos[] = [];
    const pointer = new PointerBroadcast((p) => sent.push(p), frames);
    // Board (0, 0) drawn 50 px right of the canvas's corner, at twice the size.
    pointer.move(110, 70, box, { x: 50, y: 0, zoom: 2 });
    frames.run();
    expect(sent).toEqual([{ x: 0.5, y: 0.5, board: { x: 25, y: 25 } }]);
    pointer.move(110, 70, box, { x: 5e6, y: -5e6, zoom: 1 });
    frames.run();
    expect(sent[1]).toEqual({ x: 0.5, y: 0.5, board: { x: -BOARD_LIMIT, y: BOARD_LIMIT } });
  });

  it("says its new point of the board when the board moves under it without a move of its own, and nothing once it left", () => {
    const frames = manualFrames();
    const sent: CursorPos[] = [];
    const pointer = new PointerBroadcast((p) => sent.push(p), frames);
    pointer.viewMoved({ x: 0, y: 0, zoom: 1 }); // never on the canvas: nothing to say
    frames.run();
    expect(sent).toEqual([]);
    pointer.move(110, 70, box, { x: 0, y: 0, zoom: 1 });
    frames.run();
    pointer.viewMoved({ x: -300, y: 0, zoom: 1 }); // the board scrolled 300 px left under it
    frames.run();
    expect(sent).toEqual([
      { x: 0.5, y: 0.5, board: { x: 100, y: 50 } },
      { x: 0.5, y: 0.5, board: { x: 400, y: 50 } },
    ]);
    pointer.leave();
    pointer.viewMoved({ x: 0, y: 0, zoom: 2 });
    frames.run();
    expect(sent.at(-1)).toBeNull();
  });

  it("is normalized to [0,1] of the canvas, clamped, and ignored before the canvas has a size", () => {
    expect(normalizePointer(60, 45, box)).toEqual({ x: 0.25, y: 0.25 });
    expect(normalizePointer(-50, 500, box)).toEqual({ x: 0, y: 1 });
    expect(normalizePointer(60, 45, { ...box, width: 0 })).toBeNull();
  });
});
