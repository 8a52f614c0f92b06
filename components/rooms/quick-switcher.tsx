"use client";
// The quick switcher: Ctrl+K (⌘K on a Mac) anywhere opens a dialog to jump to a room by typing
// part of its name. The rooms the page knows show at once; the server's search
// (`GET /api/rooms?q=`) adds the rest as it answers. Arrow keys move, Enter opens, Escape
// closes, and focus goes back where it was.
import { useRouter } from "next/navigation";
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { roomsAnswerSchema, type RoomInfo } from "@/lib/protocol";
import { api } from "@/lib/store/http";
import { useRooms } from "@/lib/store/rooms";
import { unreadLabel } from "./room-sidebar";

/** Typing pauses this long before the server is asked. */
const SEARCH_DEBOUNCE_MS = 150;
/** Rooms shown at most: a switcher, not a directory. */
const MAX_SHOWN = 20;

export function QuickSwitcher() {
  const [open, setOpen] = useState(false);
  /** What had focus before the dialog opened: it gets it back. */
  const returnFocus = useRef<HTMLElement | null>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        if (!open) returnFocus.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        setOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  const close = () => {
    setOpen(false);
    // After the dialog is gone, so the focus lands on the page and stays.
    queueMicrotask(() => returnFocus.current?.focus());
  };

  return open ? <SwitcherDialog onClose={close} /> : null;
}

function SwitcherDialog({ onClose }: { onClose: () => void }) {
  const router = useRouter();
  const ids = useId();
  const sidebar = useRooms((s) => s.sidebar);
  const listed = useRooms((s) => s.rooms);
  const reads = useRooms((s) => s.reads);
  const muted = useRooms((s) => s.muted);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<RoomInfo[]>([]);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => input.current?.focus(), []);

  // Ask the server once typing pauses; an answer to a query typed over is dropped.
  useEffect(() => {
    const q = query.trim().replace(/^#/, "");
    if (!q) return setFound([]);
    let cancelled = false;
    const t = setTimeout(() => {
      void api(`/api/rooms?q=${encodeURIComponent(q)}&limit=${MAX_SHOWN}`, roomsAnswerSchema)
        .then((answer) => !cancelled && setFound(answer.rooms))
        .catch(() => undefined);
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(t);
    };
  }, [query]);

  const matches = useMemo(() => {
    const q = query.trim().replace(/^#/, "").toLowerCase();
    const seen = new Set<string>();
    const out: RoomInfo[] = [];
    for (const room of [...sidebar, ...listed, ...found]) {
      if (seen.has(room.id) || !room.name.toLowerCase().includes(q)) continue;
      seen.add(room.id);
      out.push(room);
    }
    return out.slice(0, MAX_SHOWN);
  }, [query, sidebar, listed, found]);

  const current = Math.min(active, Math.max(0, matches.length - 1));
  const go = (room: RoomInfo | undefined) => {
    if (!room) return;
    onClose();
    router.push(`/rooms/${room.id}`);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        return setActive((current + 1) % Math.max(1, matches.length));
      case "ArrowUp":
        e.preventDefault();
        return setActive((current - 1 + matches.length) % Math.max(1, matches.length));
      case "Enter":
        e.preventDefault();
        return go(matches[current]);
      case "Escape":
        e.preventDefault();
        return onClose();
      case "Tab":
        // The input is the dialog's one control: focus stays in the dialog.
        return e.preventDefault();
    }
  };

  const listId = `${ids}-rooms`;
  const optionId = (i: number) => `${ids}-room-${i}`;

  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center bg-slate-900/30 p-4 pt-[15vh]" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div role="dialog" aria-modal="true" aria-labelledby={`${ids}-title`} className="w-full max-w-md overflow-hidden rounded-xl bg-white dark:bg-slate-900 shadow-2xl" onKeyDown={onKeyDown}>
        <h2 id={`${ids}-title`} className="sr-only">
          Switch to a room
        </h2>
        <input
          ref={input}
          type="text"
          role="combobox"
          aria-label="Find a room"
          aria-expanded={matches.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={matches.length > 0 ? optionId(current) : undefined}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          maxLength={40}
          placeholder="Jump to a room…"
          autoComplete="off"
          className="block w-full border-b border-slate-200 dark:border-slate-700 px-4 py-3 text-sm outline-none"
        />
        <ul id={listId} role="listbox" aria-label="Rooms found" className="max-h-80 overflow-y-auto py-1">
          {matches.map((room, i) => {
            // A muted room's messages are not news (protocol 1.12).
            const unread = muted[room.id] ? 0 : (reads[room.id]?.unread ?? 0);
            return (
              <li
                key={room.id}
                id={optionId(i)}
                role="option"
                aria-selected={i === current}
                onMouseMove={() => setActive(i)}
                onClick={() => go(room)}
                className={`flex cursor-pointer items-center gap-2 px-4 py-2 text-sm ${i === current ? "bg-indigo-50 dark:bg-indigo-950 text-indigo-900 dark:text-indigo-100" : "text-slate-700 dark:text-slate-300"} ${unread > 0 ? "font-semibold" : ""}`}
              >
                <span className="min-w-0 flex-1 truncate">#{room.name}</span>
                {unread > 0 && <span className="shrink-0 text-xs text-indigo-700 dark:text-indigo-300">{unreadLabel(unread)} unread</span>}
              </li>
            );
          })}
        </ul>
        {matches.length === 0 && <p className="px-4 pb-3 text-sm text-slate-500 dark:text-slate-400">No room names contain “{query}”.</p>}
      </div>
    </div>
  );
}
