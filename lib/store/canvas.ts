// The open room's shared canvas (protocol 1.3): the board I see (the server's, with my changes
// not yet committed on top), other people's drags and selections, and my undo history. The
// board itself lives in a CanvasDoc (lib/canvas/doc.ts); this store re-renders the canvas when
// it changes. Events reach it only through lib/store/bindings.ts (`bindCanvas`).
import { create } from "zustand";
import { CanvasDoc } from "../canvas/doc";
import { emptyBoard, type Board } from "../canvas/board";
import type { CanvasOp, LiveDragMap, LiveDrag, LiveSelection, LiveSelectionMap } from "../protocol";

export interface CanvasState {
  roomId: string | null;
  doc: CanvasDoc | null;
  /** What I see: committed board and my pending changes. */
  board: Board;
  /** Whether the server's board has arrived (a snapshot). */
  loaded: boolean;
  /** Other people's drags in progress, by object id. */
  drags: Record<string, LiveDrag & { receivedAt: number }>;
  /** Other people's selections, by person id. */
  selections: Record<string, LiveSelection>;
  /** The last change the server refused, for the canvas to say so. */
  notice: string | null;
  canUndo: boolean;
  canRedo: boolean;

  open(roomId: string, doc: CanvasDoc): void;
  close(roomId: string): void;
  /** The doc changed (a change of mine, a commit, a snapshot): show it. */
  refresh(): void;
  change(ops: CanvasOp[]): boolean;
  undo(): void;
  redo(): void;
  live(drags: LiveDragMap, selections: LiveSelectionMap, full: boolean, selfId: string): void;
  setNotice(notice: string | null): void;
  /**
   * Forgets drags not moved since `before` (performance.now()): a `null` that never came (its
   * dragger's instance went down mid-drag) must not leave a note hanging where it was dragged.
   */
  pruneDrags(before: number): void;
}

/** A drag not moved for this long is shown at its committed place again. */
export const CANVAS_DRAG_STALE_MS = 5_000;

export const useCanvas = create<CanvasState>()((set, get) => ({
  roomId: null,
  doc: null,
  board: emptyBoard(),
  loaded: false,
  drags: {},
  selections: {},
  notice: null,
  canUndo: false,
  canRedo: false,

  open(roomId, doc) {
    set({ roomId, doc, board: doc.view, loaded: doc.loaded, drags: {}, selections: {}, notice: null, canUndo: false, canRedo: false });
  },

  close(roomId) {
    if (get().roomId !== roomId) return;
    set({ roomId: null, doc: null, board: emptyBoard(), loaded: false, drags: {}, selections: {}, notice: null });
  },

  refresh() {
    const doc = get().doc;
    if (!doc) return;
    set({ board: doc.view, loaded: doc.loaded, canUndo: doc.history.canUndo, canRedo: doc.history.canRedo });
  },

  change(ops) {
    const doc = get().doc;
    if (!doc) return false;
    const ok = doc.change(ops) !== null;
    get().refresh();
    return ok;
  },

  undo() {
    const done = get().doc?.undo();
    if (done === "overridden") set({ notice: "Not undone: someone else has changed it since" });
    else if (done && get().notice !== null) set({ notice: null });
    get().refresh();
  },

  redo() {
    const done = get().doc?.redo();
    if (done === "overridden") set({ notice: "Not redone: someone else has changed it since" });
    else if (done && get().notice !== null) set({ notice: null });
    get().refresh();
  },

  live(drags, selections, full, selfId) {
    const now = performance.now();
    set((s) => {
      const nextDrags = full ? {} : { ...s.drags };
      for (const [id, drag] of Object.entries(drags)) {
        if (!drag || drag.by.id === selfId) delete nextDrags[id];
        else nextDrags[id] = { ...drag, receivedAt: now };
      }
      const nextSelections = full ? {} : { ...s.selections };
      for (const [id, sel] of Object.entries(selections)) {
        if (!sel || id === selfId) delete nextSelections[id];
        else nextSelections[id] = sel;
      }
      return { drags: nextDrags, selections: nextSelections };
    });
  },

  setNotice(notice) {
    set({ notice });
  },

  pruneDrags(before) {
    const drags = get().drags;
    const stale = Object.keys(drags).filter((id) => drags[id]!.receivedAt < before);
    if (stale.length === 0) return;
    const next = { ...drags };
    for (const id of stale) delete next[id];
    set({ drags: next });
  },
}));
