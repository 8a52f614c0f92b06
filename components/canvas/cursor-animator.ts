// Glides other people's cursors between the positions the server sends (at most every 50 ms),
// writing CSS transforms in a requestAnimationFrame loop — React never re-renders per frame.
//
// Each new position starts a linear glide from where the cursor is drawn now, lasting about as
// long as the gap between updates (clamped to 50–80 ms), so a stream of 50 ms ticks reads as
// continuous motion one tick behind — the idea of tldraw's perfect-cursors, with straight
// segments instead of a spline. With `prefers-reduced-motion` cursors jump instead.
import type { StoreApi } from "zustand/vanilla";
import type { CursorTarget } from "@/lib/store/cursors";

const MIN_GLIDE_MS = 50;
const MAX_GLIDE_MS = 80;
/** Where the label sits relative to the pointer's tip, and its gap when flipped. */
const LABEL_OFFSET = { x: 14, y: 18 };
const LABEL_GAP = 4;

interface Glide {
  target: CursorTarget;
  from: { x: number; y: number };
  start: number;
  duration: number;
}

interface CursorNode {
  root: HTMLElement;
  label: HTMLElement;
  labelWidth: number;
  labelHeight: number;
}

export class CursorAnimator {
  private readonly nodes = new Map<string, CursorNode>();
  private readonly glides = new Map<string, Glide>();
  private frame = 0;
  private width = 0;
  private height = 0;
  private readonly reducedMotion: MediaQueryList | null;

  constructor(private readonly store: StoreApi<{ cursors: Record<string, CursorTarget> }>) {
    this.reducedMotion = typeof matchMedia === "function" ? matchMedia("(prefers-reduced-motion: reduce)") : null;
  }

  /** Follows the store until the returned function is called. */
  start(): () => void {
    const unsubscribe = this.store.subscribe(() => this.schedule());
    this.schedule();
    return () => {
      unsubscribe();
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    };
  }

  /** The canvas's size in CSS pixels. */
  resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.schedule();
  }

  /** A cursor's DOM nodes appeared; it is drawn at once (no glide from the corner). */
  attach(id: string, root: HTMLElement, label: HTMLElement): void {
    this.nodes.set(id, { root, label, labelWidth: label.offsetWidth, labelHeight: label.offsetHeight });
    this.tick(performance.now());
  }

  /** The label's text changed: measure it again for the edge flipping. */
  measure(id: string): void {
    const node = this.nodes.get(id);
    if (!node) return;
    node.labelWidth = node.label.offsetWidth;
    node.labelHeight = node.label.offsetHeight;
    this.schedule();
  }

  detach(id: string): void {
    this.nodes.delete(id);
    this.glides.delete(id);
  }

  private schedule(): void {
    if (this.frame === 0) this.frame = requestAnimationFrame(this.onFrame);
  }

  private readonly onFrame = (now: number) => {
    this.frame = 0;
    this.tick(now);
  };

  private tick(now: number): void {
    const targets = this.store.getState().cursors;
    let moving = false;
    for (const [id, node] of this.nodes) {
      const target = targets[id];
      if (!target) continue;
      let glide = this.glides.get(id);
      if (!glide || glide.target !== target) {
        const gap = glide ? target.receivedAt - glide.target.receivedAt : 0;
        glide = {
          target,
          from: glide ? positionAt(glide, now) : target,
          start: now,
          duration: !glide || this.reducedMotion?.matches ? 0 : clamp(gap, MIN_GLIDE_MS, MAX_GLIDE_MS),
        };
        this.glides.set(id, glide);
      }
      if (now < glide.start + glide.duration) moving = true;
      this.draw(node, positionAt(glide, now));
    }
    if (moving) this.schedule();
  }

  private draw(node: CursorNode, p: { x: number; y: number }): void {
    const x = p.x * this.width;
    const y = p.y * this.height;
    node.root.style.transform = `translate3d(${x}px, ${y}px, 0)`;
    // The label stays inside the canvas: flip it to the other side near an edge, then clamp.
    const { labelWidth: w, labelHeight: h } = node;
    let left = x + LABEL_OFFSET.x;
    if (left + w > this.width) left = x - w - LABEL_GAP;
    left = clamp(left, 0, Math.max(0, this.width - w));
    let top = y + LABEL_OFFSET.y;
    if (top + h > this.height) top = y - h - LABEL_GAP;
    top = clamp(top, 0, Math.max(0, this.height - h));
    node.label.style.transform = `translate3d(${left - x}px, ${top - y}px, 0)`;
  }
}

function positionAt(glide: Glide, now: number): { x: number; y: number } {
  const t = glide.duration === 0 ? 1 : clamp((now - glide.start) / glide.duration, 0, 1);
  return {
    x: glide.from.x + (glide.target.x - glide.from.x) * t,
    y: glide.from.y + (glide.target.y - glide.from.y) * t,
  };
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}
