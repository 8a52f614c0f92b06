"use client";
import { useState, type FormEvent, type ReactNode } from "react";
import { useSession } from "@/lib/store/session";
import { readableError } from "../format";

type Way = "guest" | "sign-in" | "create";

const WAYS: Array<{ way: Way; label: string }> = [
  { way: "guest", label: "Guest" },
  { way: "sign-in", label: "Sign in" },
  { way: "create", label: "Create account" },
];

/** A text field of the sign-in forms. */
/** A text field of the account forms. */
export const fieldClass =
  "mt-1.5 block w-full rounded-lg border border-slate-300 dark:border-slate-600 px-3 py-2 text-sm shadow-xs focus-visible:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500/60";

/**
 * The landing: three ways in. A guest picks a display name and is a new person in this browser
 * (shown with a guest mark); an account signs in on any device as the same person.
 */
export function SignIn() {
  const [way, setWay] = useState<Way>("guest");
  return (
    <main className="flex min-h-dvh items-center justify-center p-4">
      <div className="w-full max-w-sm">
        <h1 className="text-2xl font-bold tracking-tight">Realtime Workspace</h1>
        <p className="mt-2 text-sm text-slate-600 dark:text-slate-300">
          Chat, see who is here, share a canvas with live cursors, and follow the workspace as it happens.
        </p>
        <div role="tablist" aria-label="How to sign in" className="mt-6 grid grid-cols-3 gap-1 rounded-lg bg-slate-100 dark:bg-slate-800 p-1">
          {WAYS.map((w) => (
            <button
              key={w.way}
              type="button"
              role="tab"
              id={`tab-${w.way}`}
              aria-selected={way === w.way}
              aria-controls={`panel-${w.way}`}
              onClick={() => setWay(w.way)}
              className={`rounded-md px-2 py-1.5 text-sm font-medium ${way === w.way ? "bg-white text-slate-900 shadow-sm dark:bg-slate-900 dark:text-slate-100" : "text-slate-600 hover:text-slate-900 dark:text-slate-300 dark:hover:text-slate-100"}`}
            >
              {w.label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${way}`} aria-labelledby={`tab-${way}`}>
          {way === "guest" && <GuestForm />}
          {way === "sign-in" && <AccountForm create={false} />}
          {way === "create" && <AccountForm create />}
        </div>
      </div>
    </main>
  );
}

function GuestForm() {
  const [name, setName] = useState("");
  return (
    <Form submit={() => useSession.getState().signIn(name)} ready={name.trim() !== ""} action="Continue" errorId="display-name-error">
      {(error) => (
        <>
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
            className={fieldClass}
          />
          {!error && (
            <p id="display-name-hint" className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
              Others see this name, marked as a guest, beside your messages and cursor. Up to 32 characters.
            </p>
          )}
        </>
      )}
    </Form>
  );
}

function AccountForm({ create }: { create: boolean }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const session = useSession.getState();
  const submit = () => (create ? session.createAccount(username, password, name) : session.signInAccount(username, password));
  return (
    <Form submit={submit} ready={username.trim() !== "" && password !== ""} action={create ? "Create account" : "Sign in"} errorId="account-error">
      {(error) => (
        <>
          <CredentialFields create={create} username={username} password={password} onUsername={setUsername} onPassword={setPassword} error={error} />
          {create && (
            <>
              <label htmlFor="account-name" className="mt-3 block text-sm font-medium">
                Display name <span className="font-normal text-slate-500 dark:text-slate-400">(optional)</span>
              </label>
              <input
                id="account-name"
                value={name}
                onChange={(e) => setName(e.target.value)}
                maxLength={32}
                autoComplete="nickname"
                className={fieldClass}
              />
            </>
          )}
        </>
      )}
    </Form>
  );
}

/** A sign-in form: its fields, the server's refusal under them, and one button. */
function Form({
  submit,
  ready,
  action,
  errorId,
  children,
}: {
  submit: () => Promise<string | null>;
  ready: boolean;
  action: string;
  errorId: string;
  children: (error: string | null) => ReactNode;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(await submit());
    setBusy(false);
  };
  return (
    <form onSubmit={onSubmit} className="mt-3 rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-5 shadow-sm" noValidate>
      {children(error)}
      {error && (
        <p id={errorId} role="alert" className="mt-1.5 text-sm text-rose-700 dark:text-rose-300">
          {readableError(error)}
        </p>
      )}
      <button
        type="submit"
        disabled={busy || !ready}
        className="mt-4 w-full rounded-lg bg-indigo-600 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
      >
        {action}
      </button>
    </form>
  );
}

/**
 * A username and a password: as signing in asks for them, or (`create`) as a new account takes
 * them, with their rules beside them. `idPrefix` keeps two such forms on one page apart.
 */
export function CredentialFields({
  create,
  username,
  password,
  onUsername,
  onPassword,
  error,
  idPrefix = "",
}: {
  create: boolean;
  username: string;
  password: string;
  onUsername: (value: string) => void;
  onPassword: (value: string) => void;
  error: string | null;
  idPrefix?: string;
}) {
  const id = (name: string) => `${idPrefix}${name}`;
  return (
    <>
      <label htmlFor={id("username")} className="block text-sm font-medium">
        Username
      </label>
      <input
        id={id("username")}
        value={username}
        onChange={(e) => onUsername(e.target.value)}
        maxLength={32}
        autoComplete="username"
        autoCapitalize="none"
        autoFocus
        required
        aria-invalid={error ? true : undefined}
        aria-describedby={create ? id("username-hint") : undefined}
        className={fieldClass}
      />
      {create && (
        <p id={id("username-hint")} className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
          3–32 letters, digits, <code>_</code>, <code>.</code> or <code>-</code>.
        </p>
      )}
      <label htmlFor={id("password")} className="mt-3 block text-sm font-medium">
        Password
      </label>
      <input
        id={id("password")}
        type="password"
        value={password}
        onChange={(e) => onPassword(e.target.value)}
        autoComplete={create ? "new-password" : "current-password"}
        minLength={create ? 8 : undefined}
        required
        aria-invalid={error ? true : undefined}
        aria-describedby={create ? id("password-hint") : undefined}
        className={fieldClass}
      />
      {create && (
        <p id={id("password-hint")} className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
          At least 8 characters.
        </p>
      )}
    </>
  );
}
