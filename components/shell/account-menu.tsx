"use client";
import Link from "next/link";
import { useCallback, useRef, useState } from "react";
import { useSession } from "@/lib/store/session";
import type { User } from "@/lib/protocol";
import { Avatar } from "../ui/avatar";
import { useDismiss } from "../ui/use-dismiss";
import { ThemeSelect } from "./theme-select";
import { DesktopNotificationsToggle } from "./desktop-notifications-toggle";
import { ChangeName } from "./change-name";
import { ClaimAccount } from "./claim-account";
import { Devices } from "./devices";
import { TransportSelect } from "./transport-select";
import { endSession } from "./use-realtime";

/** Who I am, the theme and transport settings, and signing out. */
export function AccountMenu({ user }: { user: User }) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const close = useCallback(() => {
    setOpen(false);
    setConfirming(false);
  }, []);
  useDismiss(root, open, close);

  const signOut = async () => {
    await useSession.getState().signOut();
    endSession();
  };

  return (
    <div ref={root} className="relative">
      <button
        type="button"
        onClick={() => (open ? close() : setOpen(true))}
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
          <ChangeName user={user} />
          {user.guest && <ClaimAccount />}
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
          {confirming ? (
            // A guest signed out cannot come back as the same person: they are told before.
            <div role="alertdialog" aria-labelledby="guest-sign-out" className="mt-3 rounded-lg border border-amber-300 dark:border-amber-700 bg-amber-50 dark:bg-amber-950 p-3">
              <p id="guest-sign-out" className="text-sm text-amber-900 dark:text-amber-100">
                Signed out, this guest is gone: signing in again as <bdi>{user.name}</bdi> makes someone new.
              </p>
              <div className="mt-2 flex gap-2">
                <button type="button" onClick={() => void signOut()} className="flex-1 rounded-lg bg-rose-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-rose-700">
                  Sign out
                </button>
                <button type="button" autoFocus onClick={() => setConfirming(false)} className="flex-1 rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 dark:hover:bg-slate-800">
                  Stay
                </button>
              </div>
            </div>
          ) : (
            <button
              type="button"
              onClick={() => (user.guest ? setConfirming(true) : void signOut())}
              className="mt-3 w-full rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 dark:hover:bg-slate-800"
            >
              Sign out
            </button>
          )}
        </div>
      )}
    </div>
  );
}
