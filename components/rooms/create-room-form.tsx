"use client";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { useRooms } from "@/lib/store/rooms";
import { readableError } from "../format";

/** A new room: its name is also its address (/rooms/<name>, lower-cased). */
export function CreateRoomForm() {
  const router = useRouter();
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [secret, setSecret] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const result = await useRooms.getState().create(name.trim(), secret ? "private" : "public");
    setBusy(false);
    if ("error" in result) return setError(readableError(result.error));
    setError(null);
    setName("");
    router.push(`/rooms/${result.room.id}`);
  };

  return (
    <form onSubmit={submit} noValidate className="rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-4 shadow-sm">
      <label htmlFor="room-name" className="block text-sm font-medium">
        Room name
      </label>
      <div className="mt-1.5 flex gap-2">
        <input
          id="room-name"
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setError(null);
          }}
          maxLength={40}
          placeholder="design-review"
          autoComplete="off"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "room-name-error" : "room-name-hint"}
          className="block min-w-0 flex-1 rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-2 text-sm focus-visible:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500/60"
        />
        <button
          type="submit"
          disabled={busy || name.trim() === ""}
          className="shrink-0 rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
        >
          Create room
        </button>
      </div>
      <label className="mt-2 flex items-center gap-2 text-sm">
        <input type="checkbox" checked={secret} onChange={(e) => setSecret(e.target.checked)} className="size-4" />
        Private: only people you add can see it
      </label>
      {error ? (
        <p id="room-name-error" role="alert" className="mt-1.5 text-sm text-rose-700 dark:text-rose-300">
          {error}
        </p>
      ) : (
        <p id="room-name-hint" className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
          Letters, digits, “-” and “_”, up to 40.
        </p>
      )}
    </form>
  );
}
