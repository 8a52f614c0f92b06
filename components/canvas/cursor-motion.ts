// The arithmetic of drawing a remote cursor, apart from the DOM so it can be tested as is:
// where a glide between two server positions is at a given moment, and where the name label
// goes so that it never leaves the canvas.
import type { CursorTarget } from "@/lib/store/cursors";

/** A glide lasts about the gap between updates, within these bounds (the server ticks every 50 ms). */
export const MIN_GLIDE_MS = 50;
export const MAX_GLIDE_MS = 80;
/** Where the label sits relative to the pointer's tip, and its gap when flipped. */
export const LABEL_OFFSET = { x: 14, y: 18 };
export const LABEL_GAP = 4;

export interface Point {
  x: number;
  y: number;
}

/**
 * A straight move from `from` to `to` (where `target` points) over `duration` ms from `start`:
 * in the board's units when the cursor says its point of the board (protocol 1.15, `onBoard`),
 * else in [0,1] of the canvas (a client that says only that).
 */
export interface Glide {
  target: CursorTarget;
  to: Point;
  onBoard: boolean;
  from: Point;
  start: number;
  duration: number;
}

/**
 * The glide towards a new position, starting where the cursor is drawn at `now`. The first
 * position is drawn at once (no glide from the corner); so is every one with reduced motion.
 */
export function glideTo(previous: Glide | undefined, target: CursorTarget, now: number, reducedMotion: boolean): Glide {
  const onBoard = target.board !== undefined;
  const to = target.board ?? { x: target.x, y: target.y };
  // A glide between a board point and a canvas fraction would cross nothing real: it jumps.
  if (!previous || reducedMotion || previous.onBoard !== onBoard) return { target, to, onBoard, from: to, start: now, duration: 0 };
  const gap = target.receivedAt - previous.target.receivedAt;
  return { target, to, onBoard, from: positionAt(previous, now), start: now, duration: clamp(gap, MIN_GLIDE_MS, MAX_GLIDE_MS) };
}

/** Where the glide is at `now`: linear between its ends, at the target once it is over. */
export function positionAt(glide: Glide, now: number): Point {
  const t = glide.duration === 0 ? 1 : clamp((now - glide.start) / glide.duration, 0, 1);
  return {
    x: glide.from.x + (glide.to.x - glide.from.x) * t,
    y: glide.from.y + (glide.to.y - glide.from.y) * t,
  };
}

/** Whether a pointer at `tip` (CSS pixels from the canvas's corner) is on the canvas: off it, it is not drawn. */
export function onCanvas(tip: Point, canvas: { width: number; height: number }): boolean {
  return tip.x >= 0 && tip.y >= 0 && tip.x <= canvas.width && tip.y <= canvas.height;
}

/**
 * Where the label's top-left corner goes for a pointer at `tip` (CSS pixels in the canvas):
 * below and right of it; on the other side of it near an edge; and clamped inside the canvas.
 */
export function labelPosition(tip: Point, label: { width: number; height: number }, canvas: { width: number; height: number }): Point {
  let left = tip.x + LABEL_OFFSET.x;
  if (left + label.width > canvas.width) left = tip.x - label.width - LABEL_GAP;
  let top = tip.y + LABEL_OFFSET.y;
  if (top + label.height > canvas.height) top = tip.y - label.height - LABEL_GAP;
  return {
    x: clamp(left, 0, Math.max(0, canvas.width - label.width)),
    y: clamp(top, 0, Math.max(0, canvas.height - label.height)),
  };
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
