"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useMemo } from "react";
import { UNREAD_COUNT_CAP, type RoomInfo } from "@/lib/protocol";
import { useShallow } from "zustand/react/shallow";
import { useDrafts } from "@/lib/store/drafts";
import { unreadByRoom, useNotifications } from "@/lib/store/notifications";
import { usePeople } from "@/lib/store/people";
import { useRooms } from "@/lib/store/rooms";
import { BellIcon, BellOffIcon, CloseIcon, PencilIcon } from "../ui/icons";
import { NewMessage } from "./new-message";
import { ListedRoomName } from "./room-name";

/**
 * The counts come with the room list and move live (the feed's messages, the person's reads
 * on any device); this asks the server again when the tab comes back, and this often, for a
 * long-polling tab (reads reach it only through the list) or a missed announcement.
 */
const REFRESH_MS = 30_000;

/** "99+" at the cap: the server stops counting there. */
export function unreadLabel(unread: number): string {
  return unread >= UNREAD_COUNT_CAP ? "99+" : String(unread);
}

/**
 * The person's rooms (the room list's first page: `general`, the rooms they joined, then
 * A–Z), each with its unread count: bold with a badge while something is unread, a pencil
 * where an unsent draft waits (in the rooms not open), and a bell that mutes it. `onClose`: it is an open drawer, with a
 * button that closes it.
 */
export function RoomSidebar({ onClose }: { onClose?: () => void }) {
  const listed = useRooms((s) => s.sidebar);
  // A direct message goes by its other person's name as they go by it now (a rename is heard
  // before the next refresh of the list).
  const names = usePeople((s) => s.names);
  const rooms = useMemo(
    () => listed.map((r) => (r.with && names.has(r.with.id) && names.get(r.with.id) !== r.with.name ? { ...r, with: { ...r.with, name: names.get(r.with.id)! } } : r)),
    [listed, names],
  );
  const status = useRooms((s) => s.sidebarStatus);
  const reads = useRooms((s) => s.reads);
  const muted = useRooms((s) => s.muted);
  const mentions = useNotifications((s) => s.mentions);
  const mentioned = useMemo(() => unreadByRoom({ mentions }, reads), [mentions, reads]);
  // The rooms with a draft: the sidebar draws again when they change, not at every keystroke in
  // the composer (each one is a new draft text).
  const draftRooms = useDrafts(useShallow((s) => Object.keys(s.drafts)));
  const drafts = useMemo(() => new Set(draftRooms), [draftRooms]);
  const pathname = usePathname();
  const openRoom = /^\/rooms\/([^/]+)/.exec(pathname)?.[1]?.toLowerCase() ?? null;

  useEffect(() => {
    const refresh = () => void useRooms.getState().loadSidebar();
    const onVisible = () => {
      if (document.visibilityState === "visible") refresh();
    };
    refresh();
    window.addEventListener("focus", refresh);
    document.addEventListener("visibilitychange", onVisible);
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      window.removeEventListener("focus", refresh);
      document.removeEventListener("visibilitychange", onVisible);
      clearInterval(timer);
    };
  }, []);

  return (
    <div className="flex h-full flex-col">
      <div className="flex h-10 shrink-0 items-center justify-between px-3">
        <h2 className="text-xs font-semibold tracking-wide text-slate-500 dark:text-slate-400 uppercase">Rooms</h2>
        <kbd className="hidden rounded border border-slate-200 dark:border-slate-700 px-1.5 text-[10px] text-slate-500 dark:text-slate-400 md:inline" title="Switch rooms">
          Ctrl K
        </kbd>
        {onClose && (
          <button
            type="button"
            onClick={onClose}
            aria-label="Close rooms"
            className="-mr-1 inline-flex size-8 items-center justify-center rounded-full text-slate-500 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 md:hidden"
          >
            <CloseIcon />
          </button>
        )}
      </div>
      {status === "loading" && <p className="px-3 text-sm text-slate-500 dark:text-slate-400">Loading…</p>}
      {status === "error" && <p className="px-3 text-sm text-rose-700 dark:text-rose-300">Could not load your rooms.</p>}
      <ul className="min-h-0 flex-1 space-y-0.5 overflow-y-auto px-2 pb-3">
        {rooms.map((room) => {
          // A muted room's messages are not news (protocol 1.12): no count, and its name fades;
          // a mention of the person is, there as anywhere, and turns the badge red.
          const quiet = muted[room.id] === true;
          const mentions = mentioned[room.id] ?? 0;
          const unread = quiet ? mentions : Math.max(mentions, reads[room.id]?.unread ?? 0);
          const label = unreadLabel(unread);
          const current = room.id === openRoom;
          const draft = !current && drafts.has(room.id);
          return (
            <li key={room.id} className="group relative">
              <Link
                href={`/rooms/${room.id}`}
                aria-current={current ? "page" : undefined}
                aria-label={rowLabel(room, { muted: quiet, draft, unread: quiet ? 0 : unread, mentions })}
                className={`flex items-center gap-2 rounded-md py-1.5 pr-9 pl-2 text-sm ${current ? "bg-indigo-50 dark:bg-indigo-950 text-indigo-900 dark:text-indigo-100" : "hover:bg-slate-100 dark:hover:bg-slate-800"} ${unread > 0 ? "font-semibold text-slate-900 dark:text-slate-100" : quiet ? "text-slate-500 dark:text-slate-400" : "text-slate-600 dark:text-slate-300"}`}
              >
                <ListedRoomName room={room} className="flex-1" />
                {draft && <PencilIcon className="size-3.5 shrink-0 text-slate-400 dark:text-slate-500" />}
                {/* A space between the name and the count, as the label reads them ("#x, 3 unread"). */}
                {unread > 0 && " "}
                {unread > 0 && (
                  <span aria-hidden className={`shrink-0 rounded-full px-1.5 text-[11px] leading-5 font-semibold text-white tabular-nums ${mentions > 0 ? "bg-rose-600" : "bg-indigo-600"}`}>
                    {label}
                  </span>
                )}
              </Link>
              <MuteToggle roomId={room.id} name={shownLabel(room)} muted={quiet} />
            </li>
          );
        })}
      </ul>
      <NewMessage onOpened={onClose} />
    </div>
  );
}

/**
 * Mutes or unmutes a room from the list (protocol 1.12), as the bell in its header does: shown
 * while the room is muted (the struck bell), and on hover or focus otherwise.
 */
function MuteToggle({ roomId, name, muted }: { roomId: string; name: string; muted: boolean }) {
  return (
    <button
      type="button"
      aria-pressed={muted}
      aria-label={`Mute ${name}`}
      title={muted ? `Muted: unmute ${name}` : `Mute ${name}`}
      onClick={() => void useRooms.getState().mute(roomId, !muted)}
      className={`absolute top-1/2 right-1.5 inline-flex size-6 -translate-y-1/2 items-center justify-center rounded text-slate-400 hover:bg-slate-200 hover:text-slate-700 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-slate-500 dark:hover:bg-slate-700 dark:hover:text-slate-200 ${muted ? "" : "invisible group-focus-within:visible group-hover:visible"}`}
    >
      {muted ? <BellOffIcon className="size-3.5" /> : <BellIcon className="size-3.5" />}
    </button>
  );
}

/** A room as its name reads in a sentence: "#design", "launch", or the other person's name. */
function shownLabel(room: RoomInfo): string {
  if (room.with) return room.with.name;
  return room.private ? room.name : `#${room.name}`;
}

/** A row as it is read out: "#design, muted, a mention of you", "launch, private, draft, 3 unread". */
function rowLabel(room: RoomInfo, s: { muted: boolean; draft: boolean; unread: number; mentions: number }): string {
  const parts = [sidebarLabel(room)];
  if (s.muted) parts.push("muted");
  if (s.draft) parts.push("draft");
  if (s.unread > 0) parts.push(`${unreadLabel(s.unread)} unread`);
  if (s.mentions > 0) parts.push(s.mentions === 1 ? "a mention of you" : `${s.mentions} mentions of you`);
  return parts.join(", ");
}

/** How the sidebar reads a room out: "#design", "launch, private", "Lin, direct message". */
function sidebarLabel(room: RoomInfo): string {
  if (room.with) return `${room.with.name}, direct message`;
  return room.private ? `${room.name}, private` : `#${room.name}`;
}
