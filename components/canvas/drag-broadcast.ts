// My drags → the realtime client as `canvas.live`, latest wins per object: a pointer reports
// 60–120 moves a second, and the server forwards at most one box per object per 50 ms tick, so
// boxes are gathered here and sent at most every CANVAS_LIVE_INTERVAL_MS. A release goes at once
// (after whatever was still waiting), so nobody sees an object hang after its drop.
import type { DragBox } from "@/lib/protocol";

export const CANVAS_LIVE_INTERVAL_MS = 33;

export class DragBroadcast {
  private pending: Record<string, DragBox | null> = {};
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = 0;

  constructor(private readonly send: (drags: Record<string, DragBox | null>) => void) {}

  move(boxes: Record<string, DragBox>): void {
    Object.assign(this.pending, boxes);
    if (this.timer) return;
    const wait = Math.max(0, this.lastSent + CANVAS_LIVE_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  release(ids: Iterable<string>): void {
    for (const id of ids) this.pending[id] = null;
    this.flush();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = {};
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (Object.keys(this.pending).length === 0) return;
    const drags = this.pending;
    this.pending = {};
    this.lastSent = Date.now();
    this.send(drags);
  }
}
