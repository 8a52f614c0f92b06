"use client";
import { useEffect, type RefObject } from "react";

/**
 * Focus on a control inside `root` stays inside when the control goes away (a "3 new" button
 * pressed, an item that left a list): the browser would drop it to the page, and a keyboard or
 * screen reader would start again from the top of it. It goes to `root` itself instead (focusable
 * by script: `tabIndex={-1}`), from where Tab goes on to what is inside.
 */
export function useFocusKept(root: RefObject<HTMLElement | null>, on = true): void {
  useEffect(() => {
    const el = root.current;
    if (!on || !el) return;
    /** What had focus inside `root` last, while it still may. */
    let focused: Element | null = null;
    const keep = (was: Element | null) => {
      const active = document.activeElement;
      if (was && !was.isConnected && (!active || active === document.body)) el.focus({ preventScroll: true });
    };
    const onFocusIn = (e: FocusEvent) => (focused = e.target as Element);
    const onFocusOut = (e: FocusEvent) => {
      const left = e.target as Element;
      queueMicrotask(() => {
        // Still there: the focus was moved on purpose (elsewhere, or to the page by a click).
        if (left.isConnected) {
          if (focused === left) focused = null;
        } else {
          // Removed: some browsers say so with a focusout, others with nothing (the watch below).
          keep(left);
        }
      });
    };
    const watch = new MutationObserver(() => keep(focused));
    el.addEventListener("focusin", onFocusIn);
    el.addEventListener("focusout", onFocusOut);
    watch.observe(el, { childList: true, subtree: true });
    return () => {
      watch.disconnect();
      el.removeEventListener("focusin", onFocusIn);
      el.removeEventListener("focusout", onFocusOut);
    };
  }, [root, on]);
}
