// My pointer on the canvas → the realtime client, at most once per animation frame: a mouse
// reports 60–120 moves a second and a pen more, but a position nobody can see drawn is not
// worth sending. The client then caps what goes on the wire at 30 Hz.
import type { Point } from "./cursor-motion";

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
  private latest: Point | null = null;
  private frame = 0;

  constructor(
    private readonly send: (pos: Point | null) => void,
    private readonly frames: FrameScheduler = animationFrames,
  ) {}

  /** The pointer is at (clientX, clientY) over the canvas's `box`: sent with the next frame, latest wins. */
  move(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }): void {
    const pos = normalizePointer(clientX, clientY, box);
    if (!pos) return;
    this.latest = pos;
    if (this.frame !== 0) return;
    this.frame = this.frames.request(() => {
      this.frame = 0;
      if (this.latest) this.send(this.latest);
    });
  }

  /** The pointer left the canvas (or was cancelled): hidden at once, and nothing pending follows. */
  leave(): void {
    this.cancel();
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
export function normalizePointer(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }): Point | null {
  if (box.width <= 0 || box.height <= 0) return null;
  return { x: unit((clientX - box.left) / box.width), y: unit((clientY - box.top) / box.height) };
}

function unit(n: number): number {
  return Math.min(1, Math.max(0, n));
}
