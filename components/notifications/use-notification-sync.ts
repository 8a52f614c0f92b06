"use client";
// Keeps the unread count true across tabs and devices: the read marker is the server's. Reads
// arrive live over the event stream (`read`, see use-realtime); this browser's tabs also tell
// each other; and the marker is asked again when the tab comes back and every 30 s, for a
// long-polling tab or a missed announcement.
import { usePathname } from "next/navigation";
import { useEffect } from "react";
import { listenForReadsInOtherTabs, unreadCount, useNotifications } from "@/lib/store/notifications";

const REFRESH_MS = 30_000;
const TITLE = "Realtime Workspace";

export function useNotificationSync(): void {
  useEffect(() => {
    const refresh = () => void useNotifications.getState().refresh().catch(() => undefined);
    const onVisible = () => {
      if (document.visibilityState === "visible") refresh();
    };
    window.addEventListener("focus", refresh);
    document.addEventListener("visibilitychange", onVisible);
    const timer = setInterval(refresh, REFRESH_MS);
    const stopListening = listenForReadsInOtherTabs();
    return () => {
      window.removeEventListener("focus", refresh);
      document.removeEventListener("visibilitychange", onVisible);
      clearInterval(timer);
      stopListening();
    };
  }, []);
}

/** "(2) Realtime Workspace" while there are unread mentions. */
export function useUnreadTitle(): void {
  const unread = useNotifications(unreadCount);
  // Again after each navigation, in case the page's metadata set the title back.
  const pathname = usePathname();
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${TITLE}` : TITLE;
  }, [unread, pathname]);
}
