// The tab's one realtime client: created lazily in the browser, wired to the window once, its
// outbox kept in sessionStorage (so a reload keeps unsent messages) and its transport chosen by
// `?transport=` or the settings control (remembered for the tab). Where the browser can, the
// tabs share one connection (lib/realtime/tab-hub.ts): this tab's client is then a TabClient,
// and the RealtimeClient runs in whichever tab leads.
import { RealtimeClient, randomId } from "../realtime/client";
import { sharingSupported, TabHub } from "../realtime/tab-hub";
import { TAB_CHANNEL } from "../realtime/tab-protocol";
import type { OutboxEntry, OutboxStorage, RealtimeApi, TransportMode } from "../realtime/types";

const OUTBOX_KEY = "rt-outbox";
const TRANSPORT_KEY = "rt-transport";
const TRANSPORT_MODES: readonly TransportMode[] = ["auto", "websocket", "longpoll"];

/** The feed and this person's notifications ride SSE (or long polling when SSE cannot stream). */
export const FEED_STREAMS = ["feed", "user:me"];

let client: RealtimeApi | null = null;
let hub: TabHub | null = null;
let detach: (() => void) | null = null;

export function getRealtimeClient(): RealtimeApi {
  if (typeof window === "undefined") throw new Error("The realtime client lives in the browser only");
  if (!client) {
    client = sharingSupported() ? sharedClient() : new RealtimeClient({ ...connectionOptions(initialTransport()), storage: sessionOutbox });
    detach = client.attachToBrowser();
    if (!navigator.onLine) client.setOffline(true);
  }
  return client;
}

/** Stops and forgets the client (sign-out): the next person gets a fresh one, in every tab. */
export function disposeRealtimeClient(): void {
  detach?.();
  if (hub) hub.endSession();
  else client?.stop();
  client = detach = hub = null;
  sessionStorage.removeItem(OUTBOX_KEY);
}

function connectionOptions(transport: TransportMode) {
  return { transport, feedStreams: FEED_STREAMS, tabId: tabId() };
}

/**
 * The transport this tab's connection uses when this tab leads: its own choice, or the one it
 * last heard the shared connection use (another tab's), so that the choice outlives the tab
 * that made it.
 */
let tabMode: TransportMode = "auto";

/** This tab's side of the browser's shared connection; the real client runs in the leader tab. */
function sharedClient(): RealtimeApi {
  const mode = initialTransport();
  tabMode = mode;
  hub = new TabHub(
    {
      locks: navigator.locks,
      channel: new BroadcastChannel(TAB_CHANNEL),
      pageId: randomId("p"),
      // The tabs' outboxes are their own: the leader's holds only what they hand it.
      createClient: () => new RealtimeClient(connectionOptions(tabMode)),
      lifecycle: { win: window, doc: document },
    },
    { feedStreams: FEED_STREAMS, mode, storage: sessionOutbox, newClientId: () => randomId("c") },
  );
  return hub.client;
}

/**
 * The shared connection uses `mode`, chosen in another tab: this tab keeps it too, should it
 * lead next (the choosing tab closed) or reload.
 */
export function transportHeard(mode: TransportMode): void {
  if (mode === tabMode) return;
  tabMode = mode;
  sessionStorage.setItem(TRANSPORT_KEY, mode);
}

/** Switches transport now and for the rest of this tab's life. */
export function chooseTransport(mode: TransportMode): void {
  tabMode = mode;
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

/** Whether a stored value is an outbox entry (the frame it holds is checked by the server). */
export function isOutboxEntry(value: unknown): value is OutboxEntry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return typeof e.clientId === "string" && typeof e.room === "string" && typeof e.text === "string" && typeof e.createdAt === "string";
}
