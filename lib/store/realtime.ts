// The tab's one RealtimeClient: created lazily in the browser, wired to the window once, its
// outbox kept in sessionStorage (so a reload keeps unsent messages) and its transport chosen by
// `?transport=` or the settings control (remembered for the tab).
import { RealtimeClient, randomId } from "../realtime/client";
import type { OutboxEntry, OutboxStorage, TransportMode } from "../realtime/types";

const OUTBOX_KEY = "rt-outbox";
const TRANSPORT_KEY = "rt-transport";
const TRANSPORT_MODES: readonly TransportMode[] = ["auto", "websocket", "longpoll"];

/** The feed and this person's notifications ride SSE (or long polling when SSE cannot stream). */
export const FEED_STREAMS = ["feed", "user:me"];

let client: RealtimeClient | null = null;
let detach: (() => void) | null = null;

export function getRealtimeClient(): RealtimeClient {
  if (typeof window === "undefined") throw new Error("The realtime client lives in the browser only");
  if (!client) {
    client = new RealtimeClient({
      transport: initialTransport(),
      feedStreams: FEED_STREAMS,
      storage: sessionOutbox,
      tabId: tabId(),
    });
    detach = client.attachToBrowser();
    if (!navigator.onLine) client.setOffline(true);
  }
  return client;
}

/** Stops and forgets the client (sign-out): the next person gets a fresh one. */
export function disposeRealtimeClient(): void {
  detach?.();
  client?.stop();
  client = detach = null;
  sessionStorage.removeItem(OUTBOX_KEY);
}

/** Switches transport now and for the rest of this tab's life. */
export function chooseTransport(mode: TransportMode): void {
  sessionStorage.setItem(TRANSPORT_KEY, mode);
  // Drop a `?transport=` that would otherwise force the old choice again on reload.
  const url = new URL(window.location.href);
  if (url.searchParams.has("transport")) {
    url.searchParams.delete("transport");
    window.history.replaceState(window.history.state, "", url);
  }
  getRealtimeClient().setTransport(mode);
}

function isTransportMode(value: string | null): value is TransportMode {
  return TRANSPORT_MODES.includes(value as TransportMode);
}

/** `?transport=` wins (and is remembered for the tab); then the tab's last choice; then auto. */
function initialTransport(): TransportMode {
  const fromUrl = new URLSearchParams(window.location.search).get("transport");
  if (isTransportMode(fromUrl)) {
    sessionStorage.setItem(TRANSPORT_KEY, fromUrl);
    return fromUrl;
  }
  const remembered = sessionStorage.getItem(TRANSPORT_KEY);
  return isTransportMode(remembered) ? remembered : "auto";
}

/** Kept across reloads, so a reloaded tab's long poll replaces its old one instead of lingering. */
function tabId(): string {
  let id = sessionStorage.getItem("rt-tab");
  if (!id) {
    id = randomId("t");
    sessionStorage.setItem("rt-tab", id);
  }
  return id;
}

const sessionOutbox: OutboxStorage = {
  load() {
    try {
      const parsed: unknown = JSON.parse(sessionStorage.getItem(OUTBOX_KEY) ?? "[]");
      return Array.isArray(parsed) ? parsed.filter(isOutboxEntry) : [];
    } catch {
      return [];
    }
  },
  save(entries) {
    try {
      if (entries.length === 0) sessionStorage.removeItem(OUTBOX_KEY);
      else sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(entries));
    } catch {
      // Storage full or disabled: the outbox still works for this page's lifetime.
    }
  },
};

function isOutboxEntry(value: unknown): value is OutboxEntry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.clientId === "string" && typeof e.room === "string" && typeof e.text === "string" && typeof e.createdAt === "string";
}
