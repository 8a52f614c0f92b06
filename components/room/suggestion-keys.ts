"use client";
import { useId, useState, type KeyboardEvent } from "react";

/** The list above the box, and one of its options (`active`: the one the keys are on). */
export const SUGGESTIONS_CLASS =
  "absolute bottom-full left-0 z-20 mb-1 w-64 overflow-hidden rounded-lg border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 py-1 shadow-lg";
export function suggestionClass(active: boolean): string {
  return `flex cursor-pointer items-center gap-2 px-3 py-1.5 text-sm ${active ? "bg-indigo-50 dark:bg-indigo-950 text-indigo-900 dark:text-indigo-100" : "text-slate-700 dark:text-slate-300"}`;
}

/**
 * The keys and ARIA of a list of suggestions under a message box (people for `@`, emoji for
 * `:`): the box keeps the focus, ↑ and ↓ move through the list, Enter or Tab choose, Escape
 * dismisses. `choose` and `dismiss` say what those mean to the list.
 */
export function useSuggestionKeys<T>(options: readonly T[], choose: (option: T) => void, dismiss: () => void) {
  const [active, setActive] = useState(0);
  const listId = useId();
  const open = options.length > 0;
  const current = Math.min(active, Math.max(0, options.length - 1));
  return {
    open,
    listId,
    /** The option the keys are on. */
    current,
    /** The element id of option `i`, for `aria-activedescendant`. */
    optionId: (i: number) => `${listId}-${i}`,
    /** Back to the first option (after a choice). */
    reset: () => setActive(0),
    /** Props for the box. */
    boxProps: {
      "aria-autocomplete": "list" as const,
      "aria-controls": open ? listId : undefined,
      "aria-activedescendant": open ? `${listId}-${current}` : undefined,
    },
    /** Handles the list's keys; true when the key was the list's (the box must not act on it). */
    onKeyDown(e: KeyboardEvent<HTMLElement>): boolean {
      if (!open) return false;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        setActive((current + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length);
      } else if (e.key === "Enter" || e.key === "Tab") {
        choose(options[current]!);
      } else if (e.key === "Escape") {
        dismiss();
      } else {
        return false;
      }
      e.preventDefault();
      return true;
    },
  };
}
