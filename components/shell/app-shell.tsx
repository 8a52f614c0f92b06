"use client";
import { useEffect, useRef, type ReactNode } from "react";
import { useSession } from "@/lib/store/session";
import { SignIn } from "./sign-in";
import { Workspace } from "./workspace";

/** Every page: asks who is here, then shows the sign-in or the workspace around the page. */
export function AppShell({ children }: { children: ReactNode }) {
  const status = useSession((s) => s.status);
  const user = useSession((s) => s.user);
  // Signed in from the form on this page (not already signed in as it loaded).
  const signedOutBefore = useRef(false);
  if (status === "signed-out") signedOutBefore.current = true;

  useEffect(() => {
    void useSession.getState().load();
  }, []);

  switch (status) {
    case "loading":
      return <p className="flex min-h-dvh items-center justify-center text-sm text-slate-500 dark:text-slate-400">Loading…</p>;
    case "unreachable":
      return (
        <div className="flex min-h-dvh flex-col items-center justify-center gap-3 p-4 text-center">
          <p className="text-sm text-slate-700 dark:text-slate-300">The server cannot be reached right now.</p>
          <button
            type="button"
            onClick={() => void useSession.getState().load()}
            className="rounded-lg border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-900 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 dark:hover:bg-slate-800"
          >
            Try again
          </button>
        </div>
      );
    case "signed-out":
      return <SignIn />;
    case "signed-in":
      return (
        user && (
          <Workspace user={user} arrived={signedOutBefore.current}>
            {children}
          </Workspace>
        )
      );
    default: {
      const unknown: never = status;
      return unknown;
    }
  }
}
