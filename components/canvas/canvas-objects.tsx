"use client";
// Draws the board's objects in board units, inside the layer that pans and zooms: notes,
// rectangles and ellipses as focusable HTML boxes (their text wraps and reads out), arrows and
// strokes in one SVG beneath. An object someone else is dragging is drawn where their latest
// box puts it, gliding there (CSS transition over the 50 ms tick), outlined in their colour with
// their name; what others have selected is outlined in their colour too.
import { useEffect, useRef, type CSSProperties } from "react";
import { arrowEnds, INK, lineColour, type Point } from "@/lib/canvas/geometry";
import type { CanvasObject, DragBox, LiveSelection } from "@/lib/protocol";
import { focusAtEnd } from "../ui/focus";

export interface Drawn {
  object: CanvasObject;
  box: DragBox;
  /** Someone else dragging it: their name and colour. */
  draggedBy: { name: string; color: string } | null;
}

const KIND_NAMES: Record<CanvasObject["kind"], string> = { note: "Sticky note", rect: "Rectangle", ellipse: "Ellipse", arrow: "Arrow", stroke: "Drawing" };

/** Dark text on light fills, white on dark ones. */
function textColour(fill: string): string {
  const n = parseInt(fill.slice(1), 16);
  const luminance = (0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
  return luminance > 0.55 ? "#0f172a" : "#ffffff";
}

export function objectLabel(o: CanvasObject): string {
  const text = o.text?.trim();
  return text ? `${KIND_NAMES[o.kind]}: ${text}` : KIND_NAMES[o.kind];
}

interface Props {
  drawn: Drawn[];
  boxFor(id: string): DragBox | null;
  selected: ReadonlySet<string>;
  /** Other people's selections, by person. */
  selections: Record<string, LiveSelection>;
  editing: string | null;
  penPoints: Point[] | null;
  arrowPreview: { from: Point; to: Point } | null;
  band: DragBox | null;
  zoom: number;
  color: string;
  onEdited(id: string, text: string): void;
  onFocusObject(id: string): void;
}

export function CanvasObjects(p: Props) {
  const othersSelecting = new Map<string, { name: string; color: string }>();
  for (const sel of Object.values(p.selections)) for (const id of sel.ids) othersSelecting.set(id, { name: sel.name, color: sel.color });
  const lines = p.drawn.filter((d) => d.object.kind === "arrow" || d.object.kind === "stroke");
  const boxes = p.drawn.filter((d) => d.object.kind !== "arrow" && d.object.kind !== "stroke");

  return (
    <>
      <svg className="pointer-events-none absolute top-0 left-0 overflow-visible" width="1" height="1" aria-hidden>
        <defs>
          <marker id="canvas-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0 0 10 5 0 10Z" fill="context-stroke" />
          </marker>
        </defs>
        {lines.map(({ object: o, box, draggedBy }) => {
          const selected = p.selected.has(o.id);
          const outline = draggedBy?.color ?? othersSelecting.get(o.id)?.color ?? (selected ? "#6366f1" : null);
          if (o.kind === "arrow") {
            const { from, to } = arrowEnds(o, p.boxFor);
            return (
              <g key={o.id} data-object-id={o.id} className="pointer-events-auto cursor-pointer">
                <line x1={from.x} y1={from.y} x2={to.x} y2={to.y} stroke="transparent" strokeWidth={14 / p.zoom} />
                {outline && <line x1={from.x} y1={from.y} x2={to.x} y2={to.y} stroke={outline} strokeOpacity={0.4} strokeWidth={8 / p.zoom} />}
                <line x1={from.x} y1={from.y} x2={to.x} y2={to.y} stroke={o.color} className={inkClass(o.color)} strokeWidth={2.5} markerEnd="url(#canvas-arrowhead)" />
              </g>
            );
          }
          const pts = o.points ?? [];
          const sx = o.w > 0 && box.w > 0 ? box.w / o.w : 1;
          const sy = o.h > 0 && box.h > 0 ? box.h / o.h : 1;
          const d = pts.reduce((acc, v, i) => (i % 2 === 0 ? `${acc}${i === 0 ? "M" : "L"}${box.x + v * sx} ` : `${acc}${box.y + v * sy} `), "");
          return (
            <g key={o.id} data-object-id={o.id} className="pointer-events-auto cursor-pointer">
              <path d={d} fill="none" stroke="transparent" strokeWidth={14 / p.zoom} />
              {outline && <path d={d} fill="none" stroke={outline} strokeOpacity={0.35} strokeWidth={8 / p.zoom} strokeLinecap="round" />}
              <path d={d} fill="none" stroke={o.color} className={inkClass(o.color)} strokeWidth={3} strokeLinecap="round" strokeLinejoin="round" />
            </g>
          );
        })}
        {p.penPoints && p.penPoints.length > 1 && (
          <polyline points={p.penPoints.map((q) => `${q.x},${q.y}`).join(" ")} fill="none" stroke={lineColour(p.color)} className={inkClass(lineColour(p.color))} strokeWidth={3} strokeLinecap="round" strokeLinejoin="round" />
        )}
        {p.arrowPreview && (
          <line x1={p.arrowPreview.from.x} y1={p.arrowPreview.from.y} x2={p.arrowPreview.to.x} y2={p.arrowPreview.to.y} stroke={lineColour(p.color)} className={inkClass(lineColour(p.color))} strokeWidth={2.5} strokeDasharray="6 4" markerEnd="url(#canvas-arrowhead)" />
        )}
      </svg>
      {boxes.map(({ object: o, box, draggedBy }) => {
        const selected = p.selected.has(o.id);
        const theirs = othersSelecting.get(o.id);
        const outline = draggedBy?.color ?? theirs?.color;
        const style: CSSProperties = {
          left: box.x,
          top: box.y,
          width: box.w,
          height: box.h,
          zIndex: 1,
          color: textColour(o.kind === "note" ? o.color : o.color),
          fontSize: textSize(o.text ?? "", box.w, box.h),
          // Someone else's drag glides between their boxes (they come every 50 ms at most).
          transition: draggedBy ? "left 60ms linear, top 60ms linear, width 60ms linear, height 60ms linear" : undefined,
          outline: outline ? `3px solid ${outline}` : undefined,
          outlineOffset: 2,
        };
        const shape =
          o.kind === "note"
            ? "rounded-sm shadow-md"
            : o.kind === "ellipse"
              ? "rounded-[50%] border-2 border-slate-500/60"
              : "rounded-md border-2 border-slate-500/60";
        return (
          <div
            key={o.id}
            data-object-id={o.id}
            role="button"
            tabIndex={0}
            aria-pressed={selected}
            aria-label={objectLabel(o)}
            onFocus={() => p.onFocusObject(o.id)}
            className={`absolute flex cursor-move items-center-safe justify-center overflow-hidden p-2 text-center leading-snug break-words whitespace-pre-wrap select-none ${shape} ${selected ? "ring-2 ring-indigo-500 ring-offset-1 dark:ring-offset-slate-900" : ""}`}
            style={{ ...style, backgroundColor: o.color }}
          >
            {p.editing === o.id ? (
              <TextEditor initial={o.text ?? ""} onDone={(text) => p.onEdited(o.id, text)} />
            ) : (
              <span className="pointer-events-none">{o.text}</span>
            )}
            {draggedBy && (
              <span className="pointer-events-none absolute -top-5 left-0 rounded px-1 text-[10px] font-medium whitespace-nowrap text-white" style={{ backgroundColor: draggedBy.color }}>
                <bdi>{draggedBy.name}</bdi>
              </span>
            )}
            {selected && p.selected.size === 1 && (
              // Big enough for a finger where the pointer is one (24 px, as WCAG asks of a target).
              <span data-handle="resize" aria-hidden className="absolute right-0 bottom-0 size-3 cursor-nwse-resize rounded-tl bg-indigo-500 pointer-coarse:size-6" />
            )}
          </div>
        );
      })}
      {p.band && (
        <div
          aria-hidden
          className="pointer-events-none absolute border border-indigo-500 bg-indigo-500/10"
          style={{ left: p.band.x, top: p.band.y, width: p.band.w, height: p.band.h, zIndex: 2 }}
        />
      )}
    </>
  );
}

/** Lines drawn in the ink are light on the dark board (the class wins over the attribute). */
function inkClass(colour: string): string | undefined {
  return colour === INK ? "dark:stroke-slate-300" : undefined;
}

/**
 * A note's text, edited in place. Ctrl/Cmd+Enter, Escape or leaving the box ends the edit and
 * keeps what was typed, as FigJam and Miro do: Escape is how people stop typing, and a note
 * emptied by it would lose the text for everyone. (Undo takes an edit back.)
 */
function TextEditor({ initial, onDone }: { initial: string; onDone(text: string): void }) {
  // Typing goes on after the text (a note is added to, as in FigJam), and the board is not
  // scrolled to show the box: it is where the note is on the board already.
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => focusAtEnd(box.current), []);
  let finished = false;
  const finish = (text: string) => {
    if (finished) return;
    finished = true;
    onDone(text);
  };
  return (
    <textarea
      ref={box}
      aria-label="Text"
      defaultValue={initial}
      maxLength={2000}
      onPointerDown={(e) => e.stopPropagation()}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === "Escape" || (e.key === "Enter" && (e.ctrlKey || e.metaKey))) finish(e.currentTarget.value);
      }}
      onBlur={(e) => finish(e.currentTarget.value)}
      className="h-full w-full resize-none bg-transparent text-center text-sm outline-none"
      style={{ color: "inherit" }}
    />
  );
}

/** Text sizes a box may take, largest first (px): the usual 14, down to what still reads. */
const TEXT_SIZES = [14, 13, 12, 11, 10, 9, 8];

/**
 * The size a box's text is drawn at: 14 px, or less where the text would not fit the box (a
 * sticky note people keep writing on shrinks its text, as on a real one). Estimated, not
 * measured: a character of the sans face is about 0.55 em wide and a line 1.375 em (leading-snug),
 * inside the 8 px padding. What still does not fit at 8 px starts at its first line (safe
 * centring) and is cut at the bottom; the object's name carries the whole text.
 */
export function textSize(text: string, w: number, h: number): number {
  const width = Math.max(1, w - 16);
  const height = Math.max(1, h - 16);
  const paragraphs = text.split("\n");
  for (const size of TEXT_SIZES) {
    const lines = paragraphs.reduce((n, p) => n + Math.max(1, Math.ceil((p.length * 0.55 * size) / width)), 0);
    if (lines * 1.375 * size <= height) return size;
  }
  return TEXT_SIZES[TEXT_SIZES.length - 1]!;
}
