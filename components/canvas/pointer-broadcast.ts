// My pointer on the canvas → the realtime client, at most once per animation frame: a mouse
// reports 60–120 moves a second and a pen more, but a position nobody can see drawn is not
// worth sending. The client then caps what goes on the wire at 30 Hz.
import { toBoard, type View } from "@/lib/canvas/geometry";
import { BOARD_LIMIT } from "@/lib/protocol";
import type { CursorPos } from "@/lib/realtime/throttles";

/** requestAnimationFrame and its cancel, as a dependency (tests drive frames by hand). */
export interface FrameScheduler {
  request(callback: () => void): number;
  cancel(id: number): void;
}

const animationFrames: FrameScheduler = {
  request: (callback) => requestAnimationFrame(callback),
  cancel: (id) => cancelAnimationFrame(id),
};

export class PointerBroadcast {
  private latest: CursorPos = null;
  private frame = 0;
  /** Where the pointer last was over the canvas, to say its new point of the board when the view moves under it. */
  private at: { clientX: number; clientY: number; box: { left: number; top: number; width: number; height: number } } | null = null;

  constructor(
    private readonly send: (pos: CursorPos) => void,
    private readonly frames: FrameScheduler = animationFrames,
  ) {}

  /**
   * The pointer is at (clientX, clientY) over the canvas's `box`, which shows the board through
   * `view`: sent with the next frame, latest wins, as a fraction of the box and (protocol 1.15)
   * as the point of the board, which is what others draw.
   */
  move(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }, view?: View): void {
    const pos = normalizePointer(clientX, clientY, box);
    if (!pos) return;
    this.at = { clientX, clientY, box };
    this.latest = view ? { ...pos, board: onBoard(toBoard(view, { x: clientX - box.left, y: clientY - box.top })) } : pos;
    if (this.frame !== 0) return;
    this.frame = this.frames.request(() => {
      this.frame = 0;
      if (this.latest) this.send(this.latest);
    });
  }

  /**
   * The board moved under a still pointer (a wheel, a key, a pan): it points at another spot of
   * the board now, which the others are told with the next frame.
   */
  viewMoved(view: View): void {
    if (this.at) this.move(this.at.clientX, this.at.clientY, this.at.box, view);
  }

  /** The pointer left the canvas (or was cancelled): hidden at once, and nothing pending follows. */
  leave(): void {
    this.cancel();
    this.at = null;
    this.latest = null;
    this.send(null);
  }

  /** Drops a pending send (the canvas goes away). */
  cancel(): void {
    if (this.frame !== 0) this.frames.cancel(this.frame);
    this.frame = 0;
  }
}

/**
 * A pointer position as [0,1] of the canvas's box, so people with different window sizes point
 * at the same spot; clamped, since a captured pointer may report positions outside it. Null for
 * a box with no area (not laid out yet).
 */
export function normalizePointer(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }): { x: number; y: number } | null {
  if (box.width <= 0 || box.height <= 0) return null;
  return { x: unit((clientX - box.left) / box.width), y: unit((clientY - box.top) / box.height) };
}

/** A point kept within the board's extent (a view panned far out may look past it). */
function onBoard(p: { x: number; y: number }): { x: number; y: number } {
  return { x: Math.min(BOARD_LIMIT, Math.max(-BOARD_LIMIT, p.x)), y: Math.min(BOARD_LIMIT, Math.max(-BOARD_LIMIT, p.y)) };
}

function unit(n: number): number {
  return Math.min(1, Math.max(0, n));
}
