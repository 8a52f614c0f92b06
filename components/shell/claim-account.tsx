"use client";
import { useState, type FormEvent } from "react";
import { useSession } from "@/lib/store/session";
import { readableError } from "../format";
import { input } from "./sign-in";

/**
 * A guest keeps who they are: a username and a password make this same person an account
 * (their messages, rooms and name with it), able to sign in on any device (protocol 1.8).
 */
export function ClaimAccount() {
  const [open, setOpen] = useState(false);
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!open) {
    return (
      <div className="mt-1">
        <p className="text-xs text-slate-500 dark:text-slate-400">A guest lives in this browser only, and is gone once signed out.</p>
        <button type="button" onClick={() => setOpen(true)} className="mt-1.5 text-sm font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
          Keep this name: create an account
        </button>
      </div>
    );
  }

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(await useSession.getState().claimAccount(username, password));
    setBusy(false);
  };
  return (
    <form onSubmit={onSubmit} aria-label="Create an account" className="mt-2" noValidate>
      <p className="text-xs text-slate-500 dark:text-slate-400">You stay who you are here, and can sign in anywhere with these.</p>
      <label htmlFor="claim-username" className="mt-2 block text-sm font-medium">
        Username
      </label>
      <input
        id="claim-username"
        value={username}
        onChange={(e) => setUsername(e.target.value)}
        maxLength={32}
        autoComplete="username"
        autoCapitalize="none"
        autoFocus
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "claim-error" : undefined}
        className={input}
      />
      <label htmlFor="claim-password" className="mt-2 block text-sm font-medium">
        Password
      </label>
      <input
        id="claim-password"
        type="password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        autoComplete="new-password"
        minLength={8}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "claim-error" : "claim-password-hint"}
        className={input}
      />
      {!error && (
        <p id="claim-password-hint" className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          At least 8 characters.
        </p>
      )}
      {error && (
        <p id="claim-error" role="alert" className="mt-1.5 text-sm text-rose-700 dark:text-rose-300">
          {readableError(error)}
        </p>
      )}
      <button
        type="submit"
        disabled={busy || username.trim() === "" || password === ""}
        className="mt-3 w-full rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
      >
        Create account
      </button>
    </form>
  );
}
