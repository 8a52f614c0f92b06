// The inspector's memory of frames: a fixed-size ring, so a busy room (cursors at 30 Hz) never
// grows it. Pushing is O(1) and allocates nothing; reading copies out newest first.
import type { FrameLog } from "@/lib/realtime/types";

export const FRAMES_KEPT = 50;

export class FrameRing {
  private readonly slots: (FrameLog | undefined)[];
  private next = 0;
  /** Frames seen since the ring was made, by direction (the ring keeps only the last few). */
  readonly totals = { in: 0, out: 0, bytesIn: 0, bytesOut: 0 };

  constructor(readonly capacity = FRAMES_KEPT) {
    this.slots = new Array<FrameLog | undefined>(capacity);
  }

  push(frame: FrameLog): void {
    this.slots[this.next] = frame;
    this.next = (this.next + 1) % this.capacity;
    if (frame.direction === "in") {
      this.totals.in++;
      this.totals.bytesIn += frame.bytes;
    } else {
      this.totals.out++;
      this.totals.bytesOut += frame.bytes;
    }
  }

  /** The frames kept, newest first. */
  newestFirst(): FrameLog[] {
    const out: FrameLog[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const f = this.slots[(this.next - i + this.capacity) % this.capacity];
      if (!f) break;
      out.push(f);
    }
    return out;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.next = 0;
    this.totals.in = this.totals.out = this.totals.bytesIn = this.totals.bytesOut = 0;
  }
}
