"use client";
// The part of the window a person can see. An on-screen keyboard covers the bottom of the page
// without resizing it on most phones (Safari, Chrome by default): the visual viewport shrinks,
// the layout viewport does not, and a full-height layout leaves the composer under the keys.
// This hook keeps `--visible-height` on the root element at the visual viewport's height, so the
// workspace (`h-[var(--visible-height,100dvh)]`) ends where the keyboard begins.
import { useEffect } from "react";

export function useVisualViewportHeight(): void {
  useEffect(() => {
    const viewport = window.visualViewport;
    if (!viewport) return;
    const root = document.documentElement;
    let frame: number | null = null;
    const update = () => {
      frame = null;
      // Equal to the window's height when no keyboard is up: then the CSS default stands.
      const covered = window.innerHeight - viewport.height > 1;
      if (covered) root.style.setProperty("--visible-height", `${Math.round(viewport.height)}px`);
      else root.style.removeProperty("--visible-height");
      // Safari scrolls the page to show the focused field; with the page this short it need not.
      if (covered && window.scrollY !== 0) window.scrollTo(0, 0);
    };
    // Resizes come many per second while the keyboard slides: one update a frame.
    const schedule = () => {
      if (frame === null) frame = requestAnimationFrame(update);
    };
    viewport.addEventListener("resize", schedule);
    viewport.addEventListener("scroll", schedule);
    update();
    return () => {
      viewport.removeEventListener("resize", schedule);
      viewport.removeEventListener("scroll", schedule);
      if (frame !== null) cancelAnimationFrame(frame);
      root.style.removeProperty("--visible-height");
    };
  }, []);
}
