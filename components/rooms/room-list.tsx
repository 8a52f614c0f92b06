"use client";
import Link from "next/link";
import { useEffect, useState } from "react";
import { useRooms } from "@/lib/store/rooms";
import { CreateRoomForm } from "./create-room-form";
import { ListedRoomName } from "./room-name";
import { unreadLabel } from "./room-sidebar";

/** How long typing in the search box pauses before the server is asked. */
const SEARCH_DEBOUNCE_MS = 250;

/**
 * The landing once signed in: the rooms a page at a time (`general` and the person's own
 * first, then A–Z), a search by name answered by the server, and a form for a new room.
 */
export function RoomList() {
  const rooms = useRooms((s) => s.rooms);
  const status = useRooms((s) => s.status);
  const next = useRooms((s) => s.next);
  const loadingMore = useRooms((s) => s.loadingMore);
  const query = useRooms((s) => s.query);
  const reads = useRooms((s) => s.reads);
  const muted = useRooms((s) => s.muted);
  const [typed, setTyped] = useState(query);

  useEffect(() => {
    void useRooms.getState().load();
  }, []);

  // Ask the server once typing pauses; the store drops answers to queries typed over.
  useEffect(() => {
    const wanted = typed.trim().replace(/^#/, "");
    if (wanted === useRooms.getState().query) return;
    const t = setTimeout(() => void useRooms.getState().load(wanted), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [typed]);

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-2xl space-y-6 p-4 sm:p-6">
        <div>
          <h1 className="text-xl font-bold tracking-tight">Rooms</h1>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-300">Each room has a chat and a shared canvas. Open one, or start your own.</p>
        </div>
        <CreateRoomForm />
        <section aria-labelledby="rooms-heading" className="space-y-3">
          <h2 id="rooms-heading" className="sr-only">
            All rooms
          </h2>
          <div role="search">
            <label htmlFor="room-search" className="sr-only">
              Search rooms
            </label>
            <input
              id="room-search"
              type="search"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
              maxLength={40}
              placeholder="Search rooms by name"
              autoComplete="off"
              className="block w-full rounded-lg border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-900 px-3 py-2 text-sm focus-visible:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500/60"
            />
          </div>
          {status === "loading" && <p className="text-sm text-slate-500 dark:text-slate-400">{query ? "Searching…" : "Loading rooms…"}</p>}
          {status === "error" && <p className="text-sm text-rose-700 dark:text-rose-300">Could not load the rooms.</p>}
          {status === "ready" && rooms.length === 0 && (
            <p className="text-sm text-slate-500 dark:text-slate-400">{query ? `No room names contain “${query}”.` : "No rooms yet."}</p>
          )}
          {rooms.length > 0 && (
            <ul aria-label="Rooms" aria-busy={status === "loading"} className="divide-y divide-slate-100 dark:divide-slate-800 overflow-hidden rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 shadow-sm">
              {rooms.map((room) => (
                <li key={room.id}>
                  <Link href={`/rooms/${room.id}`} className="flex items-center justify-between gap-3 px-4 py-3 hover:bg-slate-50 dark:hover:bg-slate-800">
                    <ListedRoomName room={room} className="font-medium" />
                    <span className="shrink-0 text-xs text-slate-500 dark:text-slate-400">
                      {roomNote(room.head, reads[room.id]?.unread ?? 0, muted[room.id] === true)}
                    </span>
                  </Link>
                </li>
              ))}
            </ul>
          )}
          {next !== null && status === "ready" && (
            <button
              type="button"
              onClick={() => void useRooms.getState().loadMore()}
              disabled={loadingMore}
              className="w-full rounded-lg border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-900 px-4 py-2 text-sm font-medium text-slate-700 dark:text-slate-300 hover:bg-slate-50 dark:hover:bg-slate-800 disabled:text-slate-400"
            >
              {loadingMore ? "Loading…" : "Load more rooms"}
            </button>
          )}
        </section>
      </div>
    </div>
  );
}

/**
 * What a listed room says beside its name. Its `head` counts its events (edits, deletes and
 * reactions too), not its messages, so it tells only an empty room; the rest is whether the
 * person muted it, or what is new to them.
 */
function roomNote(head: number, unread: number, muted: boolean): string {
  if (head === 0) return "No messages yet";
  // A muted room's messages are not news (protocol 1.12).
  if (muted) return "Muted";
  return unread > 0 ? `${unreadLabel(unread)} unread` : "";
}
