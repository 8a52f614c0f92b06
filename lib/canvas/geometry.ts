// The canvas's geometry, apart from React: the view (pan and zoom, each person's own), boxes and
// hit tests, where an arrow runs, new objects' defaults, and a paste's copies. Pure functions,
// so the component stays about events and the rules stay testable.
import { frontZ, type Board } from "./board";
import type { CanvasKind, CanvasObject, CanvasOp, DragBox, ObjectBody } from "../protocol";

export interface View {
  /** Where board (0, 0) is on the screen, in CSS pixels from the canvas's corner. */
  x: number;
  y: number;
  zoom: number;
}

export const MIN_ZOOM = 0.25;
export const MAX_ZOOM = 4;
export const initialView = (): View => ({ x: 0, y: 0, zoom: 1 });

export interface Point {
  x: number;
  y: number;
}

/** A point on the screen (relative to the canvas) in board units. */
export function toBoard(view: View, p: Point): Point {
  return { x: (p.x - view.x) / view.zoom, y: (p.y - view.y) / view.zoom };
}

/** Zooms by `factor` keeping the board point under `at` (screen) where it is. */
export function zoomAt(view: View, factor: number, at: Point): View {
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.zoom * factor));
  const b = toBoard(view, at);
  return { zoom, x: at.x - b.x * zoom, y: at.y - b.y * zoom };
}

/**
 * The view two fingers make, pinching from where they went down (`start`, on the screen) to where
 * they are: zoomed by how much further apart they are, the board point under their midpoint
 * going along with it.
 */
export function pinched(from: View, start: readonly [Point, Point], now: readonly [Point, Point]): View {
  const middle = ([a, b]: readonly [Point, Point]) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
  const apart = ([a, b]: readonly [Point, Point]) => Math.max(1, Math.hypot(a.x - b.x, a.y - b.y));
  const [was, is] = [middle(start), middle(now)];
  const zoomed = zoomAt(from, apart(now) / apart(start), was);
  return { zoom: zoomed.zoom, x: zoomed.x + is.x - was.x, y: zoomed.y + is.y - was.y };
}

export function boxOf(o: Pick<CanvasObject, "x" | "y" | "w" | "h">): DragBox {
  return { x: o.x, y: o.y, w: o.w, h: o.h };
}

/** The box spanned by two corners, whichever way they were dragged. */
export function spanning(a: Point, b: Point): DragBox {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y) };
}

export function intersects(a: DragBox, b: DragBox): boolean {
  return a.x <= b.x + b.w && b.x <= a.x + a.w && a.y <= b.y + b.h && b.y <= a.y + a.h;
}

/** The objects a rubber band touches (arrows and strokes by their boxes too). */
export function within(board: Board, band: DragBox): string[] {
  return [...board.values()].filter((o) => intersects(band, boxOf(o))).map((o) => o.id);
}

/** The topmost object under `p` (board units), arrows aside: they are picked by their line. */
export function hit(objects: readonly CanvasObject[], p: Point): CanvasObject | null {
  for (let i = objects.length - 1; i >= 0; i--) {
    const o = objects[i]!;
    if (o.kind === "arrow") continue;
    if (p.x >= o.x && p.x <= o.x + o.w && p.y >= o.y && p.y <= o.y + o.h) return o;
  }
  return null;
}

export const centre = (b: DragBox): Point => ({ x: b.x + b.w / 2, y: b.y + b.h / 2 });

/**
 * Where an arrow runs: along the line between the centres of the objects it joins, from the
 * edge of the one it starts at to the edge of the one it ends at, so that its head shows where
 * it points (wherever either is being dragged); a free end where it was drawn.
 */
export function arrowEnds(arrow: CanvasObject, boxFor: (id: string) => DragBox | null): { from: Point; to: Point } {
  const a = arrow.from ? boxFor(arrow.from) : null;
  const b = arrow.to ? boxFor(arrow.to) : null;
  // A free end is in `points` ([x0, y0, x1, y1] relative to the box), else the box's corners.
  const [x0, y0, x1, y1] = arrow.points ?? [0, 0, arrow.w, arrow.h];
  const from = a ? centre(a) : { x: arrow.x + (x0 ?? 0), y: arrow.y + (y0 ?? 0) };
  const to = b ? centre(b) : { x: arrow.x + (x1 ?? arrow.w), y: arrow.y + (y1 ?? arrow.h) };
  return { from: a ? edgeToward(a, to) : from, to: b ? edgeToward(b, from) : to };
}

/** Where the line from the centre of `box` toward `point` leaves the box (its centre when `point` is inside). */
function edgeToward(box: DragBox, point: Point): Point {
  const c = centre(box);
  const dx = point.x - c.x;
  const dy = point.y - c.y;
  const scale = Math.min(dx === 0 ? Infinity : box.w / 2 / Math.abs(dx), dy === 0 ? Infinity : box.h / 2 / Math.abs(dy));
  // Overlapping boxes: the other end is inside this one, and the arrow has no length to lose.
  return scale >= 1 ? c : { x: c.x + dx * scale, y: c.y + dy * scale };
}

export const PALETTE = [
  { name: "Yellow", value: "#fde68a" },
  { name: "Blue", value: "#bfdbfe" },
  { name: "Green", value: "#bbf7d0" },
  { name: "Pink", value: "#fbcfe8" },
  { name: "Purple", value: "#ddd6fe" },
  { name: "Slate", value: "#475569" },
] as const;

/**
 * What a drawing or an arrow is drawn in when the first colour (a note's yellow) is picked:
 * the ink, dark on the light board and light on the dark one (canvas-objects.tsx).
 */
export const INK = "#334155";

/** The colour a line takes from the picked one: the ink for the first, else the colour itself. */
export function lineColour(picked: string): string {
  return picked === PALETTE[0].value ? INK : picked;
}

const DEFAULT_SIZE: Record<Exclude<CanvasKind, "arrow" | "stroke">, { w: number; h: number }> = {
  note: { w: 160, h: 120 },
  rect: { w: 160, h: 100 },
  ellipse: { w: 140, h: 100 },
};

/** A new note, rectangle or ellipse centred on `at`, in front of everything. */
export function newShape(kind: "note" | "rect" | "ellipse", at: Point, board: Board, color: string): ObjectBody {
  const { w, h } = DEFAULT_SIZE[kind];
  return { kind, x: Math.round(at.x - w / 2), y: Math.round(at.y - h / 2), w, h, z: frontZ(board), color, text: "" };
}

/** A stroke through `points` (board units): its box, and the points relative to the box. */
export function newStroke(points: readonly Point[], board: Board, color: string): ObjectBody | null {
  if (points.length < 2) return null;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  // At most the protocol's bound: a long stroke keeps every other point.
  let pts = points;
  while (pts.length * 2 > 2000) pts = pts.filter((_, i) => i % 2 === 0);
  return {
    kind: "stroke",
    x,
    y,
    w: Math.max(...xs) - x,
    h: Math.max(...ys) - y,
    z: frontZ(board),
    color,
    points: pts.flatMap((p) => [Math.round((p.x - x) * 10) / 10, Math.round((p.y - y) * 10) / 10]),
  };
}

/** An arrow from `start` to `end` (board units), joined to the objects there, if any. */
export function newArrow(start: Point, end: Point, fromId: string | null, toId: string | null, board: Board, color: string): ObjectBody {
  const box = spanning(start, end);
  const body: ObjectBody = {
    kind: "arrow",
    ...box,
    z: frontZ(board),
    color,
    points: [start.x - box.x, start.y - box.y, end.x - box.x, end.y - box.y],
  };
  if (fromId) body.from = fromId;
  if (toId && toId !== fromId) body.to = toId;
  return body;
}

/** Copies of `objects` with new ids, shifted by `offset`; arrows between copied objects follow them. */
export function pasteOps(objects: readonly CanvasObject[], board: Board, newId: () => string, offset = 24): CanvasOp[] {
  const ids = new Map(objects.map((o) => [o.id, newId()]));
  let z = frontZ(board);
  return objects.map((o): CanvasOp => {
    const { id, from, to, ...rest } = o;
    const body: ObjectBody = { ...rest, x: o.x + offset, y: o.y + offset, z: z++ };
    const f = from !== undefined ? (ids.get(from) ?? (board.has(from) ? from : undefined)) : undefined;
    const t = to !== undefined ? (ids.get(to) ?? (board.has(to) ? to : undefined)) : undefined;
    if (f !== undefined) body.from = f;
    if (t !== undefined) body.to = t;
    return { op: "create", id: ids.get(id)!, object: body };
  });
}
