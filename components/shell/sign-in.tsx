"use client";
import { useState, type FormEvent } from "react";
import { useSession } from "@/lib/store/session";

/** The landing: pick a display name; the server remembers it in a session cookie. */
export function SignIn() {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(await useSession.getState().signIn(name));
    setBusy(false);
  };

  return (
    <main className="flex min-h-dvh items-center justify-center p-4">
      <div className="w-full max-w-sm">
        <h1 className="text-2xl font-bold tracking-tight">Realtime Workspace</h1>
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-300">
          Chat, see who is here, share a canvas with live cursors, and follow the workspace as it happens.
        </p>
        <form onSubmit={submit} className="mt-6 rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-5 shadow-sm" noValidate>
          <label htmlFor="display-name" className="block text-sm font-medium">
            Display name
          </label>
          <input
            id="display-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            maxLength={32}
            autoComplete="nickname"
            autoFocus
            required
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "display-name-error" : "display-name-hint"}
            className="mt-1.5 block w-full rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-2 text-sm shadow-xs focus-visible:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500/30"
          />
          {error ? (
            <p id="display-name-error" role="alert" className="mt-1.5 text-sm text-rose-700 dark:text-rose-300">
              {error}
            </p>
          ) : (
            <p id="display-name-hint" className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
              Others see this name beside your messages and cursor. Up to 32 characters.
            </p>
          )}
          <button
            type="submit"
            disabled={busy || name.trim() === ""}
            className="mt-4 w-full rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
          >
            Continue
          </button>
        </form>
      </div>
    </main>
  );
}
