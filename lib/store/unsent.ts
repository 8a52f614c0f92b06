// What a tab had not sent when it closed. A tab's outbox lives in its sessionStorage, which a
// reload keeps and closing the tab loses: a message written offline, or in the second before the
// tab was closed, would go with it. So a closing tab leaves its unsent frames on the device, per
// person (localStorage), and the next tab of theirs takes them into its own outbox and sends
// them, whichever room it shows (the client joins a room for its frames until they are taken):
// one already open (it hears of them through the `storage` event) or the next one opened. Each
// keeps its clientId, so the server appends it once however many tabs try (a reloaded tab still
// has it too). They go when the person's session ends on this device, as drafts do.
import { frameOf } from "../realtime/outbox";
import type { OutboxEntry, RealtimeApi } from "../realtime/types";
import { isOutboxEntry } from "./realtime";

const KEY_PREFIX = "rt-unsent:";
const storageKey = (userId: string) => `${KEY_PREFIX}${userId}`;

/** Whose session this tab last served: the one whose frames go when a session ends. */
let lastUserId: string | null = null;

/**
 * While `userId` is signed in here: this tab leaves its unsent frames as it closes, and takes
 * those other tabs left, now and whenever one closes. Returns the unbinding.
 */
export function bindUnsent(client: RealtimeApi, userId: string): () => void {
  lastUserId = userId;
  const leave = () => {
    const unsent = client.getOutbox();
    if (unsent.length === 0) return;
    const left = read(userId);
    const known = new Set(left.map((e) => e.clientId));
    write(userId, [...left, ...unsent.filter((e) => !known.has(e.clientId))]);
  };
  const onStorage = (e: StorageEvent) => {
    if (e.key === storageKey(userId) && e.newValue !== null) take(client, userId);
  };
  take(client, userId);
  window.addEventListener("pagehide", leave);
  window.addEventListener("storage", onStorage);
  return () => {
    window.removeEventListener("pagehide", leave);
    window.removeEventListener("storage", onStorage);
  };
}

/**
 * The person's session ended on this device (here, in another tab, or by the server): what
 * their closed tabs left goes too.
 */
export function forgetUnsent(): void {
  if (lastUserId) storage()?.removeItem(storageKey(lastUserId));
  lastUserId = null;
}

/** Moves the frames left on the device into this tab's outbox (those it holds already stay once). */
function take(client: RealtimeApi, userId: string): void {
  const left = read(userId);
  if (left.length === 0) return;
  const held = new Set(client.getOutbox().map((e) => e.clientId));
  // The outbox may be full: what it cannot take stays left, for later.
  write(userId, left.filter((e) => !held.has(e.clientId) && client.enqueue(frameOf(e)) === null));
}

function read(userId: string): OutboxEntry[] {
  try {
    const parsed: unknown = JSON.parse(storage()?.getItem(storageKey(userId)) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter(isOutboxEntry) : [];
  } catch {
    return [];
  }
}

function write(userId: string, entries: OutboxEntry[]): void {
  try {
    if (entries.length === 0) storage()?.removeItem(storageKey(userId));
    else storage()?.setItem(storageKey(userId), JSON.stringify(entries));
  } catch {
    // Storage full or refused: what is unsent lives as long as its tab does, as before.
  }
}

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null;
  }
}
