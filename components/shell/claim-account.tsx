"use client";
import { useState, type FormEvent } from "react";
import { useSession } from "@/lib/store/session";
import { readableError } from "../format";
import { CredentialFields } from "./sign-in";

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
      <div className="mt-2">
        <CredentialFields create idPrefix="claim-" username={username} password={password} onUsername={setUsername} onPassword={setPassword} error={error} />
      </div>
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
