"use client";
// The canvas's tools and actions: what a click on the board makes, the colour, and what to do
// with the selection. Every control is a labelled button (with its key in the title), so the
// canvas works from the keyboard and reads out in a screen reader; what a narrow canvas has no
// room for opens from a button, as a row below it.
import { useCallback, useId, useRef, useState, type ReactNode } from "react";
import { PALETTE } from "@/lib/canvas/geometry";
import { useDismiss } from "../ui/use-dismiss";

export type Tool = "select" | "hand" | "note" | "rect" | "ellipse" | "arrow" | "pen";

const TOOLS: { tool: Tool; label: string; key: string; icon: ReactNode }[] = [
  { tool: "select", label: "Select", key: "V", icon: <path d="M5 3v15l4-4 3 7 2-1-3-7h6Z" /> },
  { tool: "hand", label: "Pan", key: "H", icon: <path d="M8 12V5a1.5 1.5 0 0 1 3 0v6m0-7a1.5 1.5 0 0 1 3 0v7m0-5a1.5 1.5 0 0 1 3 0v8a6 6 0 0 1-6 6h-1a6 6 0 0 1-5-3l-2-4a1.5 1.5 0 0 1 2.6-1.5L8 15" /> },
  { tool: "note", label: "Sticky note", key: "N", icon: <path d="M4 4h16v11l-5 5H4ZM15 20v-5h5" /> },
  { tool: "rect", label: "Rectangle", key: "R", icon: <rect x="4" y="6" width="16" height="12" rx="1" /> },
  { tool: "ellipse", label: "Ellipse", key: "E", icon: <ellipse cx="12" cy="12" rx="8" ry="6" /> },
  { tool: "arrow", label: "Arrow", key: "A", icon: <path d="M5 19 19 5m0 0h-8m8 0v8" /> },
  { tool: "pen", label: "Pen", key: "P", icon: <path d="M4 20c4-1 5-6 8-9s6-4 8-7M4 20l2-5" /> },
];

export const TOOL_KEYS: Record<string, Tool> = Object.fromEntries(TOOLS.map((t) => [t.key.toLowerCase(), t.tool]));

interface Props {
  tool: Tool;
  onTool(tool: Tool): void;
  color: string;
  onColor(color: string): void;
  hasSelection: boolean;
  onFront(): void;
  onDelete(): void;
  canUndo: boolean;
  canRedo: boolean;
  onUndo(): void;
  onRedo(): void;
  zoom: number;
  onZoom(factor: number | null): void;
}

const button =
  "flex size-7 items-center justify-center rounded text-slate-600 hover:bg-slate-100 disabled:opacity-40 dark:text-slate-300 dark:hover:bg-slate-700 aria-pressed:bg-indigo-100 aria-pressed:text-indigo-700 dark:aria-pressed:bg-indigo-900 dark:aria-pressed:text-indigo-200 aria-expanded:bg-slate-100 dark:aria-expanded:bg-slate-700";

function Glyph({ children }: { children: ReactNode }) {
  return (
    <svg viewBox="0 0 24 24" className="size-4" aria-hidden fill="none" stroke="currentColor" strokeWidth={2} strokeLinecap="round" strokeLinejoin="round">
      {children}
    </svg>
  );
}

const Divider = () => <span className="mx-1 h-5 w-px shrink-0 bg-slate-200 dark:bg-slate-600" aria-hidden />;

/**
 * One line of icons however narrow the canvas: the tools always, the colour behind one button,
 * and undo and redo, the selection's actions and the zoom where the canvas is wide enough (a
 * container query), behind More where it is not.
 */
export function CanvasToolbar(p: Props) {
  const history = (
    <>
      <button type="button" className={button} aria-label="Undo" title="Undo (Ctrl+Z)" disabled={!p.canUndo} onClick={p.onUndo}>
        <Glyph>
          <path d="M9 14 4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3" />
        </Glyph>
      </button>
      <button type="button" className={button} aria-label="Redo" title="Redo (Ctrl+Shift+Z)" disabled={!p.canRedo} onClick={p.onRedo}>
        <Glyph>
          <path d="m15 14 5-5-5-5m5 5H9a5 5 0 0 0 0 10h3" />
        </Glyph>
      </button>
    </>
  );
  const selection = (
    <>
      <button type="button" className={button} aria-label="Bring to front" title="Bring to front (])" disabled={!p.hasSelection} onClick={p.onFront}>
        <Glyph>
          <rect x="8" y="8" width="12" height="12" rx="1" />
          <path d="M4 16V5a1 1 0 0 1 1-1h11" />
        </Glyph>
      </button>
      <button type="button" className={button} aria-label="Delete selected" title="Delete (Delete)" disabled={!p.hasSelection} onClick={p.onDelete}>
        <Glyph>
          <path d="M4 7h16M9 7V4h6v3m-8 0 1 13h8l1-13" />
        </Glyph>
      </button>
    </>
  );
  const zoom = (
    <>
      <button type="button" className={button} aria-label="Zoom out" title="Zoom out (-)" onClick={() => p.onZoom(1 / 1.25)}>
        <Glyph>
          <path d="M5 12h14" />
        </Glyph>
      </button>
      <button type="button" className="h-7 min-w-11 rounded px-1 text-xs text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-700" aria-label={`${Math.round(p.zoom * 100)}%, reset zoom`} title="Reset zoom (0)" onClick={() => p.onZoom(null)}>
        {Math.round(p.zoom * 100)}%
      </button>
      <button type="button" className={button} aria-label="Zoom in" title="Zoom in (+)" onClick={() => p.onZoom(1.25)}>
        <Glyph>
          <path d="M5 12h14M12 5v14" />
        </Glyph>
      </button>
    </>
  );
  const colour = PALETTE.find((c) => c.value === p.color) ?? PALETTE[0];

  return (
    <div
      role="toolbar"
      aria-label="Canvas tools"
      className="absolute top-2 left-2 z-10 flex max-w-[calc(100%-1rem)] flex-wrap items-center gap-0.5 rounded-lg border border-slate-200 bg-white/95 p-1 shadow-sm dark:border-slate-700 dark:bg-slate-800/95"
    >
      {TOOLS.map((t) => (
        <button key={t.tool} type="button" className={button} aria-label={t.label} title={`${t.label} (${t.key})`} aria-pressed={p.tool === t.tool} onClick={() => p.onTool(t.tool)}>
          <Glyph>{t.icon}</Glyph>
        </button>
      ))}
      <Divider />
      <Popover label={`Colour: ${colour.name}`} panelLabel="Colours" face={<Swatch value={colour.value} />}>
        {(close) =>
          PALETTE.map((c) => (
            <button
              key={c.value}
              type="button"
              aria-label={`Colour ${c.name}`}
              title={`Colour ${c.name}`}
              aria-pressed={p.color === c.value}
              onClick={() => {
                p.onColor(c.value);
                close();
              }}
              className="flex size-7 items-center justify-center rounded aria-pressed:ring-2 aria-pressed:ring-indigo-500"
            >
              <Swatch value={c.value} />
            </button>
          ))
        }
      </Popover>
      <span className="hidden @sm:contents">
        <Divider />
        {history}
      </span>
      <span className="hidden @xl:contents">
        <Divider />
        {selection}
        <Divider />
        {zoom}
      </span>
      <span className="contents @xl:hidden">
        <Divider />
        <Popover label="More" panelLabel="More tools" face={<Glyph><path d="M5 12h.01M12 12h.01M19 12h.01" strokeWidth={3} /></Glyph>}>
          {() => (
            <>
              <span className="contents @sm:hidden">
                {history}
                <Divider />
              </span>
              {selection}
              <Divider />
              {zoom}
            </>
          )}
        </Popover>
      </span>
    </div>
  );
}

const Swatch = ({ value }: { value: string }) => <span className="size-4 rounded-full border border-slate-400" style={{ backgroundColor: value }} />;

/**
 * A toolbar button that opens a row of more buttons below it. A press outside or Escape closes
 * it; Escape from inside, or `close` from a button that is done, gives the focus back to it.
 */
function Popover({ label, panelLabel, face, children }: { label: string; panelLabel: string; face: ReactNode; children(close: () => void): ReactNode }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const panel = useId();
  const dismiss = useCallback(() => setOpen(false), []);
  useDismiss(root, open, dismiss);
  const close = () => {
    setOpen(false);
    opener.current?.focus();
  };

  return (
    <div
      ref={root}
      className="relative"
      onKeyDown={(e) => {
        if (e.key !== "Escape" || !open) return;
        // Not to the board too, where Escape would drop the selection.
        e.stopPropagation();
        close();
      }}
    >
      <button ref={opener} type="button" className={button} aria-label={label} title={label} aria-expanded={open} aria-controls={panel} onClick={() => setOpen(!open)}>
        {face}
      </button>
      {open && (
        <div
          id={panel}
          role="group"
          aria-label={panelLabel}
          className="absolute top-full right-0 mt-2 flex items-center gap-0.5 rounded-lg border border-slate-200 bg-white p-1 shadow-md dark:border-slate-700 dark:bg-slate-800"
        >
          {children(close)}
        </div>
      )}
    </div>
  );
}
