// Other people's cursors on the open room's canvas: where each one is heading.
// A vanilla store on purpose: cursor frames arrive up to 20 times a second per person, and the
// canvas reads them in its animation loop (a transient subscription) — React re-renders only
// when someone's cursor appears or disappears.
import { createStore } from "zustand/vanilla";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import type { CursorMap, CursorState } from "../protocol";

export interface CursorTarget extends CursorState {
  /** When this position arrived (performance.now()), to time the glide to it. */
  receivedAt: number;
}

interface CursorsState {
  cursors: Record<string, CursorTarget>;
  /**
   * Applies a `cursors` frame. `snapshot`: the frame holds every cursor in the room (a poll
   * answer, or a WebSocket frame marked `full`), so those missing from it are gone — however
   * many `null`s this page never heard. `null`: that cursor left. `selfId` is never drawn.
   */
  apply(frame: CursorMap, snapshot: boolean, selfId: string | undefined): void;
  clear(): void;
}

/** A store of its own (tests, a second canvas); the page uses `cursorStore`. */
export function createCursorStore() {
  return createStore<CursorsState>()((set) => ({
    cursors: {},

    apply(frame, snapshot, selfId) {
      const now = performance.now();
      set((s) => {
        const next: Record<string, CursorTarget> = snapshot ? {} : { ...s.cursors };
        for (const [id, cursor] of Object.entries(frame)) {
          if (id === selfId || !cursor) {
            delete next[id];
            continue;
          }
          const prev = s.cursors[id];
          // Unchanged (a snapshot repeats still cursors): keep the object, so no glide restarts.
          const still = prev && prev.x === cursor.x && prev.y === cursor.y && prev.board?.x === cursor.board?.x && prev.board?.y === cursor.board?.y;
          next[id] = still && prev.name === cursor.name && prev.color === cursor.color ? prev : { ...cursor, receivedAt: now };
        }
        return { cursors: next };
      });
    },

    clear() {
      set({ cursors: {} });
    },
  }));
}

export const cursorStore = createCursorStore();

/** The ids of the cursors to draw; changes only when one appears or disappears. */
export function useCursorIds(): string[] {
  return useStore(cursorStore, useShallow((s) => Object.keys(s.cursors)));
}

/** A cursor's label (name and colour); re-renders only when those change. */
export function useCursorLabel(id: string): { name: string; color: string } | null {
  return useStore(
    cursorStore,
    useShallow((s) => {
      const c = s.cursors[id];
      return c ? { name: c.name, color: c.color } : null;
    }),
  );
}
