"use client";
import { useEffect, useRef, type RefObject } from "react";
import { useFocusKept } from "./use-focus-kept";

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** What Tab can reach inside `root`, in order (hidden ones left out). */
function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);
}

/**
 * A modal drawer's keyboard: while `open`, focus moves into `root` (its first control), Tab and
 * Shift+Tab cycle inside it, a control removed while focused leaves focus in it (`useFocusKept`:
 * give `root` `tabIndex={-1}`), and Escape closes it. When it closes, focus goes back to whatever
 * had it before (the button that opened it). `close` should be stable (a `useCallback`): a new
 * one re-runs the opening.
 */
export function useDrawer(root: RefObject<HTMLElement | null>, open: boolean, close: () => void): void {
  const opener = useRef<HTMLElement | null>(null);
  useFocusKept(root, open);

  useEffect(() => {
    if (!open) return;
    opener.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const el = root.current;
    (el && focusables(el)[0])?.focus();

    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        close();
        return;
      }
      if (e.key !== "Tab" || !root.current) return;
      const inside = focusables(root.current);
      const first = inside[0];
      const last = inside[inside.length - 1];
      if (!first || !last) return e.preventDefault();
      const active = document.activeElement;
      // Focus that escaped (a click on the page behind) comes back at the edge it left from;
      // so does focus on the drawer itself (`useFocusKept`), as Shift+Tab would leave it.
      if (!root.current.contains(active) || active === root.current) {
        e.preventDefault();
        (e.shiftKey ? last : first).focus();
      } else if (e.shiftKey && active === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && active === last) {
        e.preventDefault();
        first.focus();
      }
    };
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("keydown", onKeyDown);
      // Back to the opener unless something outside the drawer has taken focus meanwhile.
      const active = document.activeElement;
      const lost = !active || active === document.body || (root.current?.contains(active) ?? false);
      if (lost && opener.current?.isConnected) opener.current.focus();
      opener.current = null;
    };
  }, [open, root, close]);
}
