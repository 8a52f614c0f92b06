// Who is using this tab: asked of the server once (GET /api/session), set by the sign-in form.
import { create } from "zustand";
import { optionalSessionAnswerSchema, sessionAnswerSchema, type User } from "../protocol";
import { api, ApiError, apiNoContent } from "./http";
import { forgetNames, hearNames } from "./people";

/** `unreachable`: the server could not be asked (offline, restarting); try again. */
type SessionStatus = "loading" | "unreachable" | "signed-out" | "signed-in";

interface SessionState {
  status: SessionStatus;
  user: User | null;
  /** Asks the server who we are; a 401 means nobody yet. */
  load(): Promise<void>;
  /** A guest: resolves with an error message for the form, or null once signed in. */
  signIn(name: string): Promise<string | null>;
  /** An account, on this device: the same person as everywhere else. */
  signInAccount(username: string, password: string): Promise<string | null>;
  createAccount(username: string, password: string, name: string): Promise<string | null>;
  /** The guest signed in becomes an account, the same person (protocol 1.8). */
  claimAccount(username: string, password: string): Promise<string | null>;
  /** A new name to go by (protocol 1.9): the error message for the form, or null once changed. */
  rename(name: string): Promise<string | null>;
  signOut(): Promise<void>;
  /** The server no longer knows the session (expired, signed out elsewhere). */
  forget(): void;
}

export const useSession = create<SessionState>()((set) => ({
  status: "loading",
  user: null,

  async load() {
    sessionChannel();
    set((s) => (s.status === "unreachable" ? { status: "loading" } : s));
    try {
      // No session is an answer, not an error (protocol 1.8): the console stays clean.
      const { user } = await api("/api/session?optional=1", optionalSessionAnswerSchema);
      set(user ? { status: "signed-in", user } : { status: "signed-out", user: null });
    } catch (err) {
      const signedOut = err instanceof ApiError && err.status === 401;
      set({ status: signedOut ? "signed-out" : "unreachable", user: null });
    }
  },

  signIn: (name) => signInWith(set, "/api/session", { name }),
  signInAccount: (username, password) => signInWith(set, "/api/session", { username, password }),
  async rename(name) {
    try {
      const { user } = await api("/api/account", sessionAnswerSchema, { method: "PATCH", body: { name } });
      set({ user });
      // The server makes this browser's connection again itself; its other tabs ask who they are.
      sessionChannel()?.postMessage("changed");
      return null;
    } catch (err) {
      return err instanceof ApiError ? err.message : "Could not change your name";
    }
  },

  async claimAccount(username, password) {
    const refused = await signInWith(set, "/api/account/claim", { username, password });
    // The browser's other tabs share the session: they ask again who it is.
    if (refused === null) sessionChannel()?.postMessage("changed");
    return refused;
  },
  createAccount: (username, password, name) => signInWith(set, "/api/account", { username, password, ...(name.trim() ? { name } : {}) }),

  async signOut() {
    await apiNoContent("/api/session", { method: "DELETE" }).catch(() => undefined);
    set({ status: "signed-out", user: null });
  },

  forget() {
    set({ status: "signed-out", user: null });
  },
}));

// My own name is the newest there is of me; signed out, the names heard go with the person.
useSession.subscribe((s, before) => {
  if (s.user && s.user !== before.user) hearNames([s.user]);
  else if (!s.user && before.user) forgetNames();
});

/** Signs in through `path`; the error message for the form, or null once signed in. */
async function signInWith(set: (s: Partial<SessionState>) => void, path: string, body: Record<string, string>): Promise<string | null> {
  try {
    const { user } = await api(path, sessionAnswerSchema, { method: "POST", body });
    set({ status: "signed-in", user });
    return null;
  } catch (err) {
    return err instanceof ApiError ? err.message : "Could not sign in";
  }
}

/**
 * Tells this browser's other tabs that the session's person changed (a guest kept their name):
 * each asks the server again, so their menus stop offering what is done. Made once per tab.
 */
let channel: BroadcastChannel | null | undefined;
function sessionChannel(): BroadcastChannel | null {
  if (channel !== undefined) return channel;
  if (typeof window === "undefined" || typeof BroadcastChannel === "undefined") return (channel = null);
  channel = new BroadcastChannel("rt-session");
  channel.onmessage = () => void useSession.getState().load();
  return channel;
}
