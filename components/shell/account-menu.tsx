"use client";
import Link from "next/link";
import { useCallback, useRef, useState } from "react";
import { useSession } from "@/lib/store/session";
import type { User } from "@/lib/protocol";
import { Avatar } from "../ui/avatar";
import { useDismiss } from "../ui/use-dismiss";
import { ThemeSelect } from "./theme-select";
import { DesktopNotificationsToggle } from "./desktop-notifications-toggle";
import { Devices } from "./devices";
import { TransportSelect } from "./transport-select";
import { endSession } from "./use-realtime";

/** Who I am, the theme and transport settings, and signing out. */
export function AccountMenu({ user }: { user: User }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(root, open, close);

  const signOut = async () => {
    await useSession.getState().signOut();
    endSession();
  };

  return (
    <div ref={root} className="relative">
      <button
        type="button"
        onClick={() => setOpen(!open)}
        aria-expanded={open}
        aria-controls="account-panel"
        // Starts with the name shown on the button, so speaking what you see finds it.
        aria-label={`${user.name}: account and settings`}
        className="inline-flex items-center gap-2 rounded-full p-0.5 hover:bg-slate-100 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 sm:pr-3"
      >
        <Avatar name={user.name} color={user.color} />
        <bdi className="hidden max-w-32 truncate text-sm font-medium sm:inline">{user.name}</bdi>
      </button>
      {open && (
        <div
          id="account-panel"
          role="region"
          aria-label="Account and settings"
          className="absolute top-full right-0 z-30 mt-2 w-64 rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-4 shadow-lg"
        >
          <p className="text-sm text-slate-600 dark:text-slate-300">
            Signed in as <strong className="font-semibold text-slate-900 dark:text-slate-100">
              <bdi>{user.name}</bdi>
            </strong>
            {user.guest && <span className="ml-1.5 rounded bg-slate-100 px-1.5 py-0.5 text-xs font-medium text-slate-700">guest</span>}
          </p>
          {user.guest && <p className="mt-1 text-xs text-slate-500 dark:text-slate-400">A guest lives in this browser only. Create an account to sign in anywhere as yourself.</p>}
          {!user.guest && <Devices />}
          <DesktopNotificationsToggle />
          <div className="mt-3 border-t border-slate-100 dark:border-slate-800 pt-3">
            <ThemeSelect />
          </div>
          <div className="mt-3 border-t border-slate-100 dark:border-slate-800 pt-3">
            <TransportSelect />
            <p className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">Auto uses WebSocket and SSE, and falls back to long polling where a proxy blocks them.</p>
          </div>
          <Link
            href="/ops"
            onClick={close}
            className="mt-3 block border-t border-slate-100 dark:border-slate-800 pt-3 text-sm font-medium text-indigo-700 dark:text-indigo-300 hover:underline"
          >
            Ops dashboard
          </Link>
          <button
            type="button"
            onClick={() => void signOut()}
            className="mt-3 w-full rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 dark:hover:bg-slate-800"
          >
            Sign out
          </button>
        </div>
      )}
    </div>
  );
}
