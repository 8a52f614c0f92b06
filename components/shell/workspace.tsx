"use client";
import Link from "next/link";
import { useState, type MouseEvent, type ReactNode } from "react";
import type { User } from "@/lib/protocol";
import { ActivityFeed } from "../feed/activity-feed";
import { MentionToasts } from "../notifications/mention-toasts";
import { NotificationBell } from "../notifications/notification-bell";
import { useNotificationSync, useUnreadTitle } from "../notifications/use-notification-sync";
import { ActivityIcon } from "../ui/icons";
import { AccountMenu } from "./account-menu";
import { ConnectionBadge } from "./connection-badge";
import { useRealtime } from "./use-realtime";

/** The signed-in frame: header, the page, and the activity feed (a drawer on small screens). */
export function Workspace({ user, children }: { user: User; children: ReactNode }) {
  useRealtime(user);
  useNotificationSync();
  useUnreadTitle();
  const [feedOpen, setFeedOpen] = useState(false);

  // Following a link in the drawer closes it.
  const closeOnLink = (e: MouseEvent) => {
    if ((e.target as Element).closest("a")) setFeedOpen(false);
  };

  return (
    <div className="flex h-dvh flex-col">
      <header className="flex h-14 shrink-0 items-center gap-2 border-b border-slate-200 bg-white px-3 sm:gap-3 sm:px-4">
        <Link href="/" className="flex shrink-0 items-center gap-2 font-bold tracking-tight">
          <span aria-hidden className="inline-flex size-7 items-center justify-center rounded-lg bg-indigo-600 text-xs text-white">
            RW
          </span>
          <span className="hidden md:inline">Realtime Workspace</span>
          <span className="sr-only md:hidden">Realtime Workspace</span>
        </Link>
        <div className="ml-auto flex min-w-0 items-center gap-1.5 sm:gap-2">
          <ConnectionBadge />
          <NotificationBell />
          <button
            type="button"
            onClick={() => setFeedOpen(!feedOpen)}
            aria-expanded={feedOpen}
            aria-controls="activity-panel"
            aria-label="Activity"
            className="inline-flex size-9 items-center justify-center rounded-full text-slate-600 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 xl:hidden"
          >
            <ActivityIcon />
          </button>
          <AccountMenu user={user} />
        </div>
      </header>
      <div className="relative flex min-h-0 flex-1">
        <main className="min-w-0 flex-1">{children}</main>
        <aside
          id="activity-panel"
          aria-label="Activity feed"
          onClick={closeOnLink}
          className={`${feedOpen ? "absolute inset-y-0 right-0 z-20 flex w-full max-w-sm shadow-xl" : "hidden"} flex-col border-l border-slate-200 bg-white xl:static xl:flex xl:w-80 xl:shadow-none`}
        >
          <ActivityFeed />
        </aside>
      </div>
      <MentionToasts />
    </div>
  );
}
