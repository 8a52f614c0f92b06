"use client";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { boxOf, hit, initialView, lineColour, newArrow, newShape, newStroke, PALETTE, pasteOps, pinched, spanning, toBoard, within, zoomAt, type Point, type View } from "@/lib/canvas/geometry";
import { frontZ, paintOrder } from "@/lib/canvas/board";
import { mergeText } from "@/lib/canvas/text-merge";
import type { CanvasObject, CanvasOp, DragBox, User } from "@/lib/protocol";
import { randomId } from "@/lib/realtime/client";
import { bindCanvas } from "@/lib/store/bindings";
import { CANVAS_DRAG_STALE_MS, useCanvas } from "@/lib/store/canvas";
import { cursorStore, useCursorIds, useCursorLabel } from "@/lib/store/cursors";
import { getRealtimeClient } from "@/lib/store/realtime";
import { distinctName } from "@/lib/names";
import { useSharedNames } from "../room/use-shared-names";
import { CanvasObjects, type Drawn } from "./canvas-objects";
import { CanvasToolbar, TOOL_KEYS, type Tool } from "./canvas-toolbar";
import { CursorAnimator } from "./cursor-animator";
import { DragBroadcast } from "./drag-broadcast";
import { PointerBroadcast } from "./pointer-broadcast";

/**
 * What a pointer held down on the board is doing (or two fingers, pinching). A drag keeps its
 * latest boxes itself: the drop may come before the render of the last move.
 */
type Gesture =
  | { kind: "pan"; start: Point; from: View; tapClears: boolean }
  | { kind: "move"; start: Point; origin: Map<string, DragBox>; boxes: Record<string, DragBox> | null }
  | { kind: "resize"; id: string; start: Point; origin: DragBox; box: DragBox | null }
  | { kind: "band"; start: Point; keep: Set<string> }
  | { kind: "pen"; points: Point[] }
  | { kind: "arrow"; start: Point; fromId: string | null }
  | { kind: "pinch"; start: [Point, Point]; from: View };

/** Smallest a resized object gets, in board units. */
const MIN_SIZE = 20;

/** How far a finger may slide (px) and still be a tap. */
const TAP_SLOP = 6;

/**
 * The room's shared canvas: objects people work on together (sticky notes, rectangles,
 * ellipses, arrows, drawings), everyone's live drags and selections, and live cursors. My
 * changes show at once and go out as `canvas.ops` through the outbox; in-between drag boxes go
 * as ephemeral `canvas.live`, only the drop being durable. Pan and zoom are my own.
 */
export function SharedCanvas({ roomId, me }: { roomId: string; me: User }) {
  const surface = useRef<HTMLDivElement>(null);
  const [animator] = useState(() => new CursorAnimator(cursorStore));
  const ids = useCursorIds();
  const shared = useSharedNames();

  useEffect(() => animator.start(), [animator]);
  useEffect(() => bindCanvas(getRealtimeClient(), roomId, me), [roomId, me]);

  useLayoutEffect(() => {
    const el = surface.current;
    if (!el) return;
    animator.resize(el.clientWidth, el.clientHeight);
    const observer = new ResizeObserver(() => animator.resize(el.clientWidth, el.clientHeight));
    observer.observe(el);
    return () => observer.disconnect();
  }, [animator]);

  const board = useCanvas((s) => s.board);
  const loaded = useCanvas((s) => s.loaded);
  const drags = useCanvas((s) => s.drags);
  const selections = useCanvas((s) => s.selections);
  const notice = useCanvas((s) => s.notice);
  const canUndo = useCanvas((s) => s.canUndo);
  const canRedo = useCanvas((s) => s.canRedo);
  const store = useCanvas.getState;

  const [tool, setTool] = useState<Tool>("select");
  const [color, setColor] = useState<string>(PALETTE[0].value);
  const [chosen, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [view, setView] = useState<View>(initialView);
  // Others' cursors on the board move with my pan and zoom; mine is sent as a point of the board.
  const viewRef = useRef(view);
  viewRef.current = view;
  useEffect(() => animator.setView(view), [animator, view]);
  const pointer = usePointerBroadcast(roomId, () => viewRef.current);
  // The board moved under a still pointer: it points somewhere else on it now.
  const viewMoved = pointer.viewMoved;
  useEffect(() => viewMoved(view), [viewMoved, view]);
  const [local, setLocal] = useState<Record<string, DragBox>>({});
  const [band, setBand] = useState<DragBox | null>(null);
  const [penPoints, setPenPoints] = useState<Point[] | null>(null);
  const [arrowPreview, setArrowPreview] = useState<{ from: Point; to: Point } | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  /** The text of the note being edited as the edit began: what another person's edit meanwhile is merged against. */
  const editBase = useRef("");
  const beginEdit = (id: string) => {
    editBase.current = useCanvas.getState().board.get(id)?.text ?? "";
    setEditing(id);
  };
  const gesture = useRef<Gesture | null>(null);
  /** Where the fingers on the board are (the first two; a third is ignored), by pointer id. */
  const fingers = useRef(new Map<number, Point>());
  const clipboard = useRef<CanvasObject[]>([]);
  /** The object under the last press: a double click lands on the board, which holds the pointer. */
  const pressed = useRef<string | null>(null);
  const dragOut = useMemo(() => new DragBroadcast((d) => getRealtimeClient().moveOnCanvas(roomId, d)), [roomId]);
  useEffect(() => () => dragOut.cancel(), [dragOut]);

  // What is selected and still on the board (someone may have deleted it).
  const selected = useMemo(() => new Set([...chosen].filter((id) => board.has(id))), [chosen, board]);
  const selectedKey = [...selected].sort().join(",");
  useEffect(() => {
    getRealtimeClient().moveOnCanvas(roomId, undefined, selectedKey ? selectedKey.split(",") : []);
  }, [roomId, selectedKey]);

  useEffect(() => {
    const t = setInterval(() => store().pruneDrags(performance.now() - CANVAS_DRAG_STALE_MS), 1000);
    return () => clearInterval(t);
  }, [store]);

  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => store().setNotice(null), 5000);
    return () => clearTimeout(t);
  }, [notice, store]);

  const boxFor = useCallback(
    (id: string): DragBox | null => {
      const o = board.get(id);
      if (!o) return null;
      return local[id] ?? (drags[id] ? boxOf(drags[id]) : boxOf(o));
    },
    [board, local, drags],
  );
  const drawn: Drawn[] = useMemo(
    () =>
      paintOrder(board).map((o) => {
        const theirs = local[o.id] ? null : drags[o.id];
        return { object: o, box: local[o.id] ?? (theirs ? boxOf(theirs) : boxOf(o)), draggedBy: theirs ? { name: theirs.by.name, color: theirs.by.color } : null };
      }),
    [board, local, drags],
  );

  const change = (ops: CanvasOp[]) => ops.length > 0 && store().change(ops);
  const newId = () => randomId("o");

  const at = (e: { clientX: number; clientY: number }): Point => {
    const r = surface.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  /** A new note or shape centred on `p` (board units), selected; a note opens for typing. */
  const place = (kind: "note" | "rect" | "ellipse", p: Point) => {
    const objectId = newId();
    if (change([{ op: "create", id: objectId, object: newShape(kind, p, board, color) }])) {
      setSelected(new Set([objectId]));
      // After this press has moved the focus (to the board), or the editor would lose it at once.
      if (kind === "note") requestAnimationFrame(() => beginEdit(objectId));
    }
    setTool("select");
  };

  /** The middle of what the board shows, in board units: where the keyboard places things. */
  const middle = (): Point => {
    const el = surface.current;
    return toBoard(view, el ? { x: el.clientWidth / 2, y: el.clientHeight / 2 } : { x: 0, y: 0 });
  };

  /**
   * An object that takes the focus (Tab) while outside what the board shows is brought to its
   * middle by moving the view, as the page must not scroll the board under the pointer.
   */
  const reveal = (id: string) => {
    const el = surface.current;
    const b = boxFor(id);
    if (!el || !b) return;
    const left = view.x + b.x * view.zoom;
    const top = view.y + b.y * view.zoom;
    const inside = left >= 0 && top >= 0 && left + b.w * view.zoom <= el.clientWidth && top + b.h * view.zoom <= el.clientHeight;
    if (inside) return;
    setView((v) => ({ ...v, x: Math.round(el.clientWidth / 2 - (b.x + b.w / 2) * v.zoom), y: Math.round(el.clientHeight / 2 - (b.y + b.h / 2) * v.zoom) }));
  };

  // ---------------------------------------------------------------------------
  // Pointer gestures

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (editing || (e.target as Element).closest("[role=toolbar]")) return;
    const screen = at(e);
    if (e.pointerType === "touch") {
      if (fingers.current.size === 2) return;
      fingers.current.set(e.pointerId, screen);
      // A second finger: whatever the first began is dropped, and the two pinch.
      if (fingers.current.size === 2) {
        drop(gesture.current);
        const [a, b] = [...fingers.current.values()];
        gesture.current = { kind: "pinch", start: [a!, b!], from: view };
        return;
      }
    }
    const p = toBoard(view, screen);
    const target = (e.target as Element).closest("[data-object-id]");
    const id = target?.getAttribute("data-object-id") ?? null;
    pressed.current = id;
    e.currentTarget.setPointerCapture(e.pointerId);
    if (e.button === 1 || tool === "hand") {
      gesture.current = { kind: "pan", start: screen, from: view, tapClears: false };
      return;
    }
    if (tool === "note" || tool === "rect" || tool === "ellipse") return place(tool, p);
    if (tool === "pen") {
      gesture.current = { kind: "pen", points: [p] };
      setPenPoints([p]);
      return;
    }
    if (tool === "arrow") {
      const from = id && board.get(id)?.kind !== "arrow" ? id : null;
      const start = from ? (() => { const b = boxFor(from)!; return { x: b.x + b.w / 2, y: b.y + b.h / 2 }; })() : p;
      gesture.current = { kind: "arrow", start, fromId: from };
      return;
    }
    // Select.
    if ((e.target as Element).closest("[data-handle=resize]") && id) {
      gesture.current = { kind: "resize", id, start: p, origin: boxFor(id)!, box: null };
      return;
    }
    if (id) {
      let next = selected;
      if (e.shiftKey) {
        next = new Set(selected);
        if (next.has(id)) next.delete(id);
        else next.add(id);
      } else if (!selected.has(id)) next = new Set([id]);
      setSelected(next);
      const origin = new Map<string, DragBox>();
      for (const sid of next) {
        const b = boxFor(sid);
        if (b) origin.set(sid, b);
      }
      gesture.current = { kind: "move", start: p, origin, boxes: null };
      return;
    }
    // A finger on the empty board moves the view (as on touch screens everywhere), and a tap there
    // clears the selection; a mouse draws a band.
    if (e.pointerType === "touch") {
      gesture.current = { kind: "pan", start: screen, from: view, tapClears: true };
      return;
    }
    gesture.current = { kind: "band", start: p, keep: e.shiftKey ? new Set(selected) : new Set() };
    if (!e.shiftKey) setSelected(new Set());
  };

  /** Takes back what a gesture showed on the way without keeping any of it. */
  const drop = (g: Gesture | null) => {
    if (g?.kind === "move" || g?.kind === "resize") {
      dragOut.release(g.kind === "move" ? g.origin.keys() : [g.id]);
      setLocal({});
    }
    setBand(null);
    setPenPoints(null);
    setArrowPreview(null);
  };

  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    pointer.onPointerMove(e);
    const g = gesture.current;
    if (!g) return;
    const screen = at(e);
    const p = toBoard(view, screen);
    switch (g.kind) {
      case "pinch": {
        if (!fingers.current.has(e.pointerId)) return;
        fingers.current.set(e.pointerId, screen);
        const [a, b] = [...fingers.current.values()];
        return setView(pinched(g.from, g.start, [a!, b!]));
      }
      case "pan":
        return setView({ ...g.from, x: g.from.x + screen.x - g.start.x, y: g.from.y + screen.y - g.start.y });
      case "move": {
        const dx = Math.round(p.x - g.start.x);
        const dy = Math.round(p.y - g.start.y);
        if (!g.boxes && Math.abs(dx) + Math.abs(dy) < 2) return;
        const boxes: Record<string, DragBox> = {};
        for (const [id, b] of g.origin) boxes[id] = { ...b, x: b.x + dx, y: b.y + dy };
        g.boxes = boxes;
        setLocal(boxes);
        return dragOut.move(boxes);
      }
      case "resize": {
        const box = { ...g.origin, w: Math.max(MIN_SIZE, Math.round(g.origin.w + p.x - g.start.x)), h: Math.max(MIN_SIZE, Math.round(g.origin.h + p.y - g.start.y)) };
        g.box = box;
        setLocal({ [g.id]: box });
        return dragOut.move({ [g.id]: box });
      }
      case "band":
        return setBand(spanning(g.start, p));
      case "pen":
        g.points.push(p);
        return setPenPoints([...g.points]);
      case "arrow":
        return setArrowPreview({ from: g.start, to: p });
    }
  };

  const onPointerUp = (e: PointerEvent<HTMLDivElement>) => {
    // A finger the board never took (a third one, or one put down while editing) ends nothing.
    if (e.pointerType === "touch" && !fingers.current.delete(e.pointerId)) return;
    const g = gesture.current;
    gesture.current = null;
    if (!g) return;
    const screen = at(e);
    const p = toBoard(view, screen);
    switch (g.kind) {
      case "move": {
        if (!g.boxes) return;
        const ops: CanvasOp[] = [];
        for (const [id, b] of Object.entries(g.boxes)) if (board.has(id)) ops.push({ op: "update", id, set: { x: b.x, y: b.y } });
        change(ops);
        dragOut.release(g.origin.keys());
        return setLocal({});
      }
      case "resize": {
        const b = g.box;
        if (b && board.has(g.id)) change([{ op: "update", id: g.id, set: { w: b.w, h: b.h } }]);
        dragOut.release([g.id]);
        return setLocal({});
      }
      case "band": {
        const found = band ? within(board, band) : [];
        setSelected(new Set([...g.keep, ...found]));
        return setBand(null);
      }
      case "pen": {
        const stroke = newStroke(g.points, board, lineColour(color));
        if (stroke) change([{ op: "create", id: newId(), object: stroke }]);
        return setPenPoints(null);
      }
      case "arrow": {
        setArrowPreview(null);
        const target = hit(paintOrder(board), p);
        const toId = target && target.id !== g.fromId ? target.id : null;
        const end = toId ? (() => { const b = boxFor(toId)!; return { x: b.x + b.w / 2, y: b.y + b.h / 2 }; })() : p;
        if (Math.abs(end.x - g.start.x) + Math.abs(end.y - g.start.y) < 8) return;
        change([{ op: "create", id: newId(), object: newArrow(g.start, end, g.fromId, toId, board, lineColour(color)) }]);
        return setTool("select");
      }
      case "pan":
        if (g.tapClears && Math.hypot(screen.x - g.start.x, screen.y - g.start.y) < TAP_SLOP) setSelected(new Set());
        return;
      case "pinch":
        return;
    }
  };

  // Wheel: pan, or zoom with Ctrl (a trackpad's pinch). Not passive, so the page does not scroll.
  useEffect(() => {
    const el = surface.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const r = el.getBoundingClientRect();
      if (e.ctrlKey || e.metaKey) setView((v) => zoomAt(v, Math.exp(-e.deltaY / 300), { x: e.clientX - r.left, y: e.clientY - r.top }));
      else setView((v) => ({ ...v, x: v.x - e.deltaX, y: v.y - e.deltaY }));
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  // ---------------------------------------------------------------------------
  // Actions (toolbar and keys)

  const deleteSelected = () => {
    change([...selected].map((id): CanvasOp => ({ op: "delete", id })));
    setSelected(new Set());
    // The focus was on a deleted object (or on the Delete button, now disabled): left there it
    // would fall to the page, and the next Ctrl+Z would not reach the board.
    surface.current?.focus({ preventScroll: true });
  };
  const bringToFront = () => {
    let z = frontZ(board);
    const ordered = paintOrder(board).filter((o) => selected.has(o.id));
    change(ordered.map((o): CanvasOp => ({ op: "update", id: o.id, set: { z: z++ } })));
  };
  const recolour = (c: string) => {
    setColor(c);
    change([...selected].map((id): CanvasOp => ({ op: "update", id, set: { color: c } })));
  };
  const zoom = (factor: number | null) => {
    const el = surface.current;
    const mid = el ? { x: el.clientWidth / 2, y: el.clientHeight / 2 } : { x: 0, y: 0 };
    setView((v) => (factor === null ? initialView() : zoomAt(v, factor, mid)));
  };
  const paste = () => {
    const copies = pasteOps(clipboard.current, board, newId);
    if (change(copies)) setSelected(new Set(copies.map((op) => op.id)));
    // The next paste lands a step further.
    clipboard.current = clipboard.current.map((o) => ({ ...o, x: o.x + 24, y: o.y + 24 }));
  };

  const onKeyDown = (e: KeyboardEvent<HTMLElement>) => {
    if (editing || (e.target as HTMLElement).tagName === "TEXTAREA" || (e.target as HTMLElement).tagName === "INPUT") return;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === "z") {
      e.preventDefault();
      return e.shiftKey ? store().redo() : store().undo();
    }
    if (mod && key === "y") {
      e.preventDefault();
      return store().redo();
    }
    if (mod && key === "c") {
      clipboard.current = paintOrder(board).filter((o) => selected.has(o.id));
      return;
    }
    if (mod && key === "v") {
      if (clipboard.current.length > 0) e.preventDefault();
      return paste();
    }
    if (mod) return;
    if (e.key === "Delete" || e.key === "Backspace") {
      if (selected.size === 0) return;
      e.preventDefault();
      return deleteSelected();
    }
    if (e.key === "Escape") {
      setSelected(new Set());
      return setTool("select");
    }
    // Enter or Space with a note or shape tool places one in the middle of the view.
    if ((e.key === "Enter" || e.key === " ") && (tool === "note" || tool === "rect" || tool === "ellipse") && (e.target as HTMLElement).tagName !== "BUTTON") {
      e.preventDefault();
      return place(tool, middle());
    }
    // Enter on a toolbar button is the button's.
    if (e.key === "Enter" && selected.size === 1 && (e.target as HTMLElement).tagName !== "BUTTON") {
      const [id] = selected;
      const o = board.get(id!);
      if (o && o.kind !== "arrow" && o.kind !== "stroke") {
        e.preventDefault();
        return beginEdit(o.id);
      }
    }
    const nudge = e.shiftKey ? 1 : 10;
    const arrows: Record<string, [number, number]> = { ArrowLeft: [-nudge, 0], ArrowRight: [nudge, 0], ArrowUp: [0, -nudge], ArrowDown: [0, nudge] };
    const step = arrows[e.key];
    if (step && selected.size > 0) {
      e.preventDefault();
      return change([...selected].map((id): CanvasOp => ({ op: "update", id, set: { x: board.get(id)!.x + step[0], y: board.get(id)!.y + step[1] } })));
    }
    if (e.key === "]") return bringToFront();
    if (e.key === "+" || e.key === "=") return zoom(1.25);
    if (e.key === "-") return zoom(1 / 1.25);
    if (e.key === "0") return zoom(null);
    const t = TOOL_KEYS[key];
    if (t) setTool(t);
  };

  const onEdited = (id: string, typed: string) => {
    setEditing(null);
    const o = useCanvas.getState().board.get(id);
    // Someone else changed the text while I typed: both changes stay (lib/canvas/text-merge.ts).
    // `base` is the text mine was written from: a change the server takes before mine, which this
    // page has not seen yet, is kept as well (protocol 1.16).
    const text = o ? mergeText(editBase.current, typed, o.text ?? "") : typed;
    if (o && text !== (o.text ?? "")) change([{ op: "update", id, set: { text }, base: o.text ?? "" }]);
    surface.current?.querySelector<HTMLElement>(`[data-object-id="${CSS.escape(id)}"]`)?.focus({ preventScroll: true });
  };

  const cursorClass = tool === "hand" ? "cursor-grab" : tool === "select" ? "cursor-default" : "cursor-crosshair";

  return (
    <section aria-label="Shared canvas" className="@container relative h-full min-h-0 bg-white dark:bg-slate-900" onKeyDown={onKeyDown}>
      <CanvasToolbar
        tool={tool}
        onTool={setTool}
        color={color}
        onColor={recolour}
        hasSelection={selected.size > 0}
        onFront={bringToFront}
        onDelete={deleteSelected}
        canUndo={canUndo}
        canRedo={canRedo}
        onUndo={() => store().undo()}
        onRedo={() => store().redo()}
        zoom={view.zoom}
        onZoom={zoom}
      />
      <div
        ref={surface}
        role="group"
        aria-label="Board"
        aria-roledescription="board"
        tabIndex={0}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onPointerLeave={pointer.onPointerLeave}
        onDoubleClick={() => {
          const o = pressed.current ? board.get(pressed.current) : undefined;
          if (o && o.kind !== "arrow" && o.kind !== "stroke") beginEdit(o.id);
        }}
        style={grid(view)}
        className={`relative h-full w-full touch-none overflow-clip bg-[radial-gradient(circle,var(--color-slate-300)_1px,transparent_1px)] outline-none select-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-inset dark:bg-[radial-gradient(circle,var(--color-slate-700)_1px,transparent_1px)] ${cursorClass}`}
      >
        <div className="absolute top-0 left-0 origin-top-left" style={{ transform: `translate(${view.x}px, ${view.y}px) scale(${view.zoom})` }}>
          <CanvasObjects
            drawn={drawn}
            boxFor={boxFor}
            selected={selected}
            selections={selections}
            editing={editing}
            penPoints={penPoints}
            arrowPreview={arrowPreview}
            band={band}
            zoom={view.zoom}
            color={color}
            onEdited={onEdited}
            onFocusObject={(id) => {
              // Focused from the keyboard (a press focuses what it starts a gesture on): selected, and in view.
              if (gesture.current) return;
              if (!selected.has(id)) setSelected(new Set([id]));
              reveal(id);
            }}
          />
        </div>
        <p className="pointer-events-none absolute inset-x-0 bottom-2 truncate px-4 text-center text-xs text-slate-600 dark:text-slate-400">
          {!loaded ? (
            "Loading the board…"
          ) : board.size === 0 ? (
            "Pick a tool to add notes and shapes; everyone here sees them live."
          ) : (
            <>
              {`${board.size} object${board.size === 1 ? "" : "s"} · `}
              <span className="pointer-coarse:hidden">double-click</span>
              <span className="hidden pointer-coarse:inline">double-tap</span> to edit text
            </>
          )}
        </p>
        {ids.map((id) => (
          <RemoteCursor key={id} id={id} animator={animator} shared={shared} />
        ))}
      </div>
      <p aria-live="polite" className="pointer-events-none absolute right-2 bottom-8 z-10 max-w-[60%] truncate text-right text-xs text-amber-800 dark:text-amber-300">
        {notice ?? ""}
      </p>
    </section>
  );
}

/** Board units between the grid's dots at 100%. */
const GRID = 20;

/**
 * The dot grid under the board, moving and scaling with it; zoomed far out it shows every
 * second (fourth…) dot, so the dots stay at least `GRID / 2` px apart.
 */
function grid(view: View): { backgroundSize: string; backgroundPosition: string } {
  let step = GRID * view.zoom;
  while (step < GRID / 2) step *= 2;
  return { backgroundSize: `${step}px ${step}px`, backgroundPosition: `${view.x}px ${view.y}px` };
}

/** Pointer moves → `client.moveCursor`, coalesced to one call per animation frame; `view`: how the board is shown now. */
function usePointerBroadcast(roomId: string, view: () => View) {
  const broadcast = useMemo(() => new PointerBroadcast((pos) => getRealtimeClient().moveCursor(roomId, pos)), [roomId]);
  useEffect(() => () => broadcast.cancel(), [broadcast]);

  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => broadcast.move(e.clientX, e.clientY, e.currentTarget.getBoundingClientRect(), view());
  const onPointerLeave = () => broadcast.leave();
  const viewMoved = useCallback((v: View) => broadcast.viewMoved(v), [broadcast]);

  return { onPointerMove, onPointerLeave, viewMoved };
}

/** Another person's pointer, named as the people here are (with their tag when two share a name). */
function RemoteCursor({ id, animator, shared }: { id: string; animator: CursorAnimator; shared: ReadonlySet<string> }) {
  const cursor = useCursorLabel(id);
  const person = cursor && { name: distinctName({ id, name: cursor.name }, shared), color: cursor.color };
  const root = useRef<HTMLDivElement>(null);
  const label = useRef<HTMLSpanElement>(null);

  const shown = person !== null;
  useLayoutEffect(() => {
    if (!shown || !root.current || !label.current) return;
    animator.attach(id, root.current, label.current);
    return () => animator.detach(id);
  }, [animator, id, shown]);

  useLayoutEffect(() => animator.measure(id), [animator, id, person?.name]);

  if (!person) return null;
  return (
    <div ref={root} role="img" aria-label={`${person.name}'s cursor`} className="pointer-events-none absolute top-0 left-0 z-10 h-5 w-4 will-change-transform">
      <svg viewBox="0 0 16 20" className="block h-5 w-4 drop-shadow-sm" aria-hidden>
        <path d="M1 1v16l4.5-4.2 3 6.2 2.6-1.2-3-6.1H14Z" fill={person.color} stroke="white" strokeWidth="1.5" strokeLinejoin="round" />
      </svg>
      <span
        ref={label}
        className="absolute top-0 left-0 rounded-md px-1.5 py-0.5 text-xs font-medium whitespace-nowrap text-white shadow-sm will-change-transform"
        style={{ backgroundColor: person.color }}
      >
        <bdi>{person.name}</bdi>
      </span>
    </div>
  );
}
