// The browser's events a realtime client follows: going offline and online, and the page
// becoming visible again (a laptop woke up, a tab was brought back). Shared by the tab's own
// client (client.ts) and the tab that shares another's connection (tab-client.ts).

export interface BrowserAware {
  readonly isOffline: boolean;
  setOffline(offline: boolean): void;
  wake(): void;
}

/** Wires `client` to the window's online/offline and the document's visibility; returns the unwiring. */
export function attachToBrowser(client: BrowserAware, win: Window, doc: Document): () => void {
  // `online` also comes without an `offline` before it (a new network, a laptop waking up).
  const online = () => (client.isOffline ? client.setOffline(false) : client.wake());
  const offline = () => client.setOffline(true);
  const visible = () => {
    if (doc.visibilityState === "visible") client.wake();
  };
  win.addEventListener("online", online);
  win.addEventListener("offline", offline);
  doc.addEventListener("visibilitychange", visible);
  return () => {
    win.removeEventListener("online", online);
    win.removeEventListener("offline", offline);
    doc.removeEventListener("visibilitychange", visible);
  };
}
