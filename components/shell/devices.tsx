"use client";
import { useEffect, useState, type FormEvent } from "react";
import { sessionsAnswerSchema, type SessionsAnswer } from "@/lib/protocol";
import { api, ApiError, apiNoContent } from "@/lib/store/http";
import { useNow } from "@/lib/store/clock";
import { readableError, relativeTime } from "../format";

type Device = SessionsAnswer["sessions"][number];

const since = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });
/** The server notes a device's activity every 5 minutes at most: anything closer is "just now". */
const ACTIVITY_GRAIN_MS = 5 * 60_000;

/** "Chrome on Linux"-ish from a User-Agent: enough to tell one's own devices apart. */
export function deviceName(userAgent: string | null): string {
  if (!userAgent) return "Unknown device";
  const browser = /Edg\//.test(userAgent) ? "Edge" : /Firefox\//.test(userAgent) ? "Firefox" : /Chrom(e|ium)\//.test(userAgent) ? "Chrome" : /Safari\//.test(userAgent) ? "Safari" : null;
  const system = /Android/.test(userAgent) ? "Android" : /iPhone|iPad/.test(userAgent) ? "iOS" : /Mac OS X/.test(userAgent) ? "macOS" : /Windows/.test(userAgent) ? "Windows" : /Linux/.test(userAgent) ? "Linux" : null;
  return browser && system ? `${browser} on ${system}` : (browser ?? system ?? userAgent.slice(0, 40));
}

/**
 * What tells a device from the person's others of the same browser: "This device", or when it
 * was last active; and when it signed in. "Active 3 hours ago · signed in Dec 6, 2026, 9:12 AM".
 */
export function deviceActivity(device: Pick<Device, "current" | "createdAt" | "lastSeenAt">, now: number): string {
  const signedIn = `signed in ${since.format(new Date(device.createdAt))}`;
  if (device.current) return `This device · ${signedIn}`;
  const seen = device.lastSeenAt ?? device.createdAt;
  const active = now - Date.parse(seen) < ACTIVITY_GRAIN_MS ? "just now" : relativeTime(seen, now);
  return `Active ${active} · ${signedIn}`;
}

/**
 * An account's signed-in devices, each of which can be signed out from here (its connections
 * close at once, on every server), and the password, whose change signs out all the others.
 */
export function Devices() {
  const [devices, setDevices] = useState<Device[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  const load = () =>
    api("/api/sessions", sessionsAnswerSchema).then(
      (answer) => setDevices(answer.sessions),
      () => setError("Could not load your devices"),
    );
  useEffect(() => void load(), []);

  const signOut = async (id: string) => {
    await apiNoContent(`/api/sessions/${encodeURIComponent(id)}`, { method: "DELETE" }).catch(() => undefined);
    await load();
  };

  return (
    <section aria-label="Signed-in devices" className="mt-3 border-t border-slate-100 pt-3 dark:border-slate-800">
      <h3 className="text-xs font-semibold tracking-wide text-slate-600 uppercase dark:text-slate-300">Devices</h3>
      {error && <p className="mt-1 text-xs text-rose-700 dark:text-rose-300">{error}</p>}
      <ul className="mt-1.5 space-y-1.5">
        {devices?.map((d) => (
          <li key={d.id} className="flex items-center justify-between gap-2 text-xs">
            <span className="min-w-0">
              <span className="block truncate font-medium">{deviceName(d.userAgent)}</span>
              <span className="block text-slate-600 dark:text-slate-400">{deviceActivity(d, now)}</span>
            </span>
            {!d.current && (
              <button
                type="button"
                onClick={() => void signOut(d.id)}
                aria-label={`Sign out ${deviceName(d.userAgent)} (${deviceActivity(d, now)})`}
                className="shrink-0 rounded border border-slate-300 px-2 py-0.5 font-medium hover:bg-slate-50 dark:border-slate-600 dark:hover:bg-slate-800"
              >
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <PasswordForm onChanged={() => void load()} />
    </section>
  );
}

function PasswordForm({ onChanged }: { onChanged: () => void }) {
  const [open, setOpen] = useState(false);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await apiNoContent("/api/account/password", { method: "POST", body: { current, password: next } });
      setNote({ ok: true, text: "Password changed; your other devices are signed out" });
      setCurrent("");
      setNext("");
      onChanged();
    } catch (err) {
      setNote({ ok: false, text: err instanceof ApiError ? readableError(err.message) : "Could not change the password" });
    }
  };
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} className="mt-2 text-xs font-medium text-indigo-700 hover:underline dark:text-indigo-300">
        Change password
      </button>
    );
  }
  const field = "mt-1 block w-full rounded border border-slate-300 px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900";
  return (
    <form onSubmit={submit} className="mt-2 space-y-1.5 text-xs">
      <label className="block">
        Current password
        <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} className={field} />
      </label>
      <label className="block">
        New password
        <input type="password" autoComplete="new-password" minLength={8} value={next} onChange={(e) => setNext(e.target.value)} className={field} />
      </label>
      {note && (
        <p role={note.ok ? undefined : "alert"} aria-live="polite" className={note.ok ? "text-emerald-700 dark:text-emerald-300" : "text-rose-700 dark:text-rose-300"}>
          {note.text}
        </p>
      )}
      <button type="submit" disabled={!current || next.length < 8} className="rounded bg-indigo-600 px-2 py-1 font-semibold text-white disabled:bg-indigo-300">
        Change password
      </button>
    </form>
  );
}
