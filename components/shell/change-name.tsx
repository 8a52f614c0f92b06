"use client";
import { useState, type FormEvent } from "react";
import { useSession } from "@/lib/store/session";
import type { User } from "@/lib/protocol";
import { fieldClass } from "./sign-in";

/**
 * The name I go by, changed in place (protocol 1.9): the rooms I am in see the new one at once,
 * on what I write from now on and (protocol 1.10) on what I wrote before.
 */
export function ChangeName({ user }: { user: User }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(user.name);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!editing) {
    return (
      <button
        type="button"
        onClick={() => {
          setName(user.name);
          setError(null);
          setEditing(true);
        }}
        className="mt-1 text-sm font-medium text-indigo-700 dark:text-indigo-300 hover:underline"
      >
        Change name
      </button>
    );
  }

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === user.name) return setEditing(false);
    setBusy(true);
    const refused = await useSession.getState().rename(name);
    setBusy(false);
    setError(refused);
    if (refused === null) setEditing(false);
  };
  return (
    <form onSubmit={onSubmit} aria-label="Change your name" className="mt-2" noValidate>
      <label htmlFor="new-name" className="block text-sm font-medium">
        New display name
      </label>
      <input
        id="new-name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && (e.stopPropagation(), setEditing(false))}
        maxLength={32}
        autoComplete="nickname"
        autoFocus
        aria-invalid={error !== null}
        aria-describedby={error ? "new-name-error" : "new-name-hint"}
        className={fieldClass}
      />
      {error ? (
        <p id="new-name-error" role="alert" className="mt-1.5 text-sm text-rose-700 dark:text-rose-300">
          {error}
        </p>
      ) : (
        <p id="new-name-hint" className="mt-1 text-xs text-slate-500 dark:text-slate-400">
          Everyone sees the new name, on your earlier messages too.
        </p>
      )}
      <div className="mt-2 flex gap-2">
        <button
          type="submit"
          disabled={busy || name.trim() === ""}
          className="flex-1 rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
        >
          Save
        </button>
        <button
          type="button"
          onClick={() => setEditing(false)}
          className="flex-1 rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-1.5 text-sm font-medium hover:bg-slate-50 dark:hover:bg-slate-800"
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
