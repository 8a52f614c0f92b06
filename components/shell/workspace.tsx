"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useCallback, useEffect, useRef, useState, type MouseEvent, type ReactNode } from "react";
import type { User } from "@/lib/protocol";
import { ActivityFeed } from "../feed/activity-feed";
import { QuickSwitcher } from "../rooms/quick-switcher";
import { HeaderSearch } from "../search/search-box";
import { RoomSidebar } from "../rooms/room-sidebar";
import { MentionToasts } from "../notifications/mention-toasts";
import { NotificationBell } from "../notifications/notification-bell";
import { useNotificationSync, useUnreadTitle } from "../notifications/use-notification-sync";
import { ActivityIcon, MenuIcon } from "../ui/icons";
import { useDrawer } from "../ui/use-drawer";
import { AccountMenu } from "./account-menu";
import { ConnectionBadge } from "./connection-badge";
import { useRealtime } from "./use-realtime";
import { useVisualViewportHeight } from "./use-visual-viewport";
import { roomsWithUnread, useRooms } from "@/lib/store/rooms";

/** Where the sidebar and the feed stop being drawers (Tailwind's `md` and `xl`). */
const ROOMS_INLINE = "(min-width: 48rem)";
const FEED_INLINE = "(min-width: 80rem)";

/** Closes a drawer once the window is wide enough to show its content inline. */
function useCloseWhenInline(query: string, open: boolean, close: () => void): void {
  useEffect(() => {
    if (!open) return;
    const media = window.matchMedia(query);
    if (media.matches) return close();
    const onChange = () => media.matches && close();
    media.addEventListener("change", onChange);
    return () => media.removeEventListener("change", onChange);
  }, [query, open, close]);
}

/**
 * The signed-in frame: header, the rooms sidebar, the page, and the activity feed (the sidebar
 * and the feed are modal drawers on small screens, over a backdrop that closes them).
 */
export function Workspace({ user, arrived = false, children }: { user: User; arrived?: boolean; children: ReactNode }) {
  useRealtime(user);
  // Just signed in: the form that had the focus is gone, and a keyboard would start again from
  // the top of the page; it goes on in the page instead (a room's composer may take it first).
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    if (!arrived) return;
    const frame = requestAnimationFrame(() => {
      if (document.activeElement === document.body || document.activeElement === null) main.current?.focus({ preventScroll: true });
    });
    return () => cancelAnimationFrame(frame);
  }, [arrived]);
  useNotificationSync();
  useUnreadTitle();
  useVisualViewportHeight();
  const [feedOpen, setFeedOpen] = useState(false);
  const [roomsOpen, setRoomsOpen] = useState(false);
  // Rooms with unread messages (not muted, not the one on the page), as the page title counts them.
  const openRoom = /^\/rooms\/([^/]+)/.exec(usePathname())?.[1]?.toLowerCase() ?? null;
  const roomsWaiting = useRooms((s) => roomsWithUnread(s, openRoom));
  const closeFeed = useCallback(() => setFeedOpen(false), []);
  const closeRooms = useCallback(() => setRoomsOpen(false), []);
  const feedPanel = useRef<HTMLElement>(null);
  const roomsPanel = useRef<HTMLDivElement>(null);
  useDrawer(feedPanel, feedOpen, closeFeed);
  useDrawer(roomsPanel, roomsOpen, closeRooms);
  useCloseWhenInline(FEED_INLINE, feedOpen, closeFeed);
  useCloseWhenInline(ROOMS_INLINE, roomsOpen, closeRooms);

  // Following a link in a drawer closes it.
  const closeOnLink = (close: () => void) => (e: MouseEvent) => {
    if ((e.target as Element).closest("a")) close();
  };

  return (
    <div className="flex h-[var(--visible-height,100dvh)] flex-col">
      {/* The first Tab on a page: past the header, the sidebar and their links to what the page is for. */}
      <a
        href="#main"
        className="sr-only rounded-lg bg-indigo-600 px-3 py-2 text-sm font-semibold text-white focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50"
      >
        Skip to content
      </a>
      <header className="flex h-14 shrink-0 items-center gap-1.5 border-b border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 px-2 sm:gap-3 sm:px-4">
        <button
          type="button"
          onClick={() => {
            setFeedOpen(false);
            setRoomsOpen(!roomsOpen);
          }}
          aria-expanded={roomsOpen}
          aria-controls="room-sidebar"
          aria-label={roomsWaiting > 0 ? `Rooms, ${roomsWaiting === 1 ? "1 with unread messages" : `${roomsWaiting} with unread messages`}` : "Rooms"}
          className="relative inline-flex size-9 shrink-0 items-center justify-center rounded-full text-slate-600 dark:text-slate-300 hover:bg-slate-100 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 md:hidden"
        >
          <MenuIcon />
          {/* The sidebar is behind this button on a phone: what waits in it shows here. */}
          {roomsWaiting > 0 && <span aria-hidden className="absolute top-1 right-1 size-2.5 rounded-full bg-indigo-600 ring-2 ring-white dark:ring-slate-900" />}
        </button>
        <Link href="/" className="flex shrink-0 items-center gap-2 font-bold tracking-tight">
          <span aria-hidden className="inline-flex size-7 items-center justify-center rounded-lg bg-indigo-600 text-xs text-white">
            RW
          </span>
          <span className="hidden md:inline">Realtime Workspace</span>
          <span className="sr-only md:hidden">Realtime Workspace</span>
        </Link>
        <HeaderSearch />
        <div className="ml-auto flex min-w-0 items-center gap-1 sm:gap-2">
          <ConnectionBadge />
          <NotificationBell />
          <button
            type="button"
            onClick={() => {
              setRoomsOpen(false);
              setFeedOpen(!feedOpen);
            }}
            aria-expanded={feedOpen}
            aria-controls="activity-panel"
            aria-label="Activity"
            className="inline-flex size-9 items-center justify-center rounded-full text-slate-600 dark:text-slate-300 hover:bg-slate-100 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 xl:hidden"
          >
            <ActivityIcon />
          </button>
          <AccountMenu user={user} />
        </div>
      </header>
      <div className="relative flex min-h-0 flex-1">
        {(roomsOpen || feedOpen) && (
          <div
            aria-hidden
            data-testid="drawer-backdrop"
            onClick={roomsOpen ? closeRooms : closeFeed}
            className={`absolute inset-0 z-10 bg-slate-900/30 ${roomsOpen ? "md:hidden" : "xl:hidden"}`}
          />
        )}
        {/* A dialog around the landmark: open on a phone, the sidebar is still "Your rooms". */}
        <div
          ref={roomsPanel}
          id="room-sidebar"
          role={roomsOpen ? "dialog" : undefined}
          aria-modal={roomsOpen || undefined}
          tabIndex={roomsOpen ? -1 : undefined}
          aria-label={roomsOpen ? "Rooms" : undefined}
          onClick={closeOnLink(closeRooms)}
          className={`${roomsOpen ? "absolute inset-y-0 left-0 z-20 block w-full max-w-xs shadow-xl focus:outline-none" : "hidden"} border-r border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 md:static md:block md:w-60 md:shrink-0 md:shadow-none`}
        >
          <nav aria-label="Your rooms" className="h-full">
            <RoomSidebar onClose={roomsOpen ? closeRooms : undefined} />
          </nav>
        </div>
        <main ref={main} id="main" tabIndex={-1} className="min-w-0 flex-1 outline-none">
          {children}
        </main>
        <aside
          ref={feedPanel}
          id="activity-panel"
          aria-label="Activity feed"
          role={feedOpen ? "dialog" : undefined}
          aria-modal={feedOpen || undefined}
          tabIndex={feedOpen ? -1 : undefined}
          onClick={closeOnLink(closeFeed)}
          className={`${feedOpen ? "absolute inset-y-0 right-0 z-20 flex w-full max-w-sm shadow-xl focus:outline-none" : "hidden"} flex-col border-l border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 xl:static xl:flex xl:w-80 xl:shadow-none`}
        >
          <ActivityFeed onClose={feedOpen ? closeFeed : undefined} />
        </aside>
      </div>
      <MentionToasts />
      <QuickSwitcher />
    </div>
  );
}
