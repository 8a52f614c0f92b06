// Glides other people's cursors between the positions the server sends (at most every 50 ms),
// writing CSS transforms in a requestAnimationFrame loop — React never re-renders per frame.
//
// Each new position starts a linear glide from where the cursor is drawn now, lasting about as
// long as the gap between updates (clamped to 50–80 ms), so a stream of 50 ms ticks reads as
// continuous motion one tick behind — the idea of tldraw's perfect-cursors, with straight
// segments instead of a spline. With `prefers-reduced-motion` cursors jump instead. A cursor that
// says its point of the board (protocol 1.15) glides on the board and is drawn through this
// page's own pan and zoom, so it is on the object its owner points at, whatever either window.
import type { StoreApi } from "zustand/vanilla";
import type { CursorTarget } from "@/lib/store/cursors";
import type { View } from "@/lib/canvas/geometry";
import { glideTo, labelPosition, onCanvas, positionAt, type Glide, type Point } from "./cursor-motion";

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
  private view: View = { x: 0, y: 0, zoom: 1 };
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

  /** This page's pan and zoom: cursors on the board move with it. */
  setView(view: View): void {
    this.view = view;
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
        glide = glideTo(glide, target, now, this.reducedMotion?.matches ?? false);
        this.glides.set(id, glide);
      }
      if (now < glide.start + glide.duration) moving = true;
      const p = positionAt(glide, now);
      this.draw(node, glide.onBoard ? { x: this.view.x + p.x * this.view.zoom, y: this.view.y + p.y * this.view.zoom } : { x: p.x * this.width, y: p.y * this.height });
    }
    if (moving) this.schedule();
  }

  /** Draws the cursor with its tip at `tip`, CSS pixels from the canvas's corner. */
  private draw(node: CursorNode, tip: Point): void {
    // Pointing at a part of the board this page does not show: nothing to draw (its label
    // would otherwise sit in a corner, pointing at nothing).
    const shown = onCanvas(tip, { width: this.width, height: this.height });
    node.root.style.visibility = shown ? "" : "hidden";
    if (!shown) return;
    node.root.style.transform = `translate3d(${tip.x}px, ${tip.y}px, 0)`;
    // The label is a child of the cursor, so it moves by its offset from the tip.
    const label = labelPosition(tip, { width: node.labelWidth, height: node.labelHeight }, { width: this.width, height: this.height });
    node.label.style.transform = `translate3d(${label.x - tip.x}px, ${label.y - tip.y}px, 0)`;
  }
}
