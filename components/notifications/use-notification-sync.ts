"use client";
// Keeps the unread count true across tabs and devices: the read marker is the server's. Reads
// arrive live over the event stream (`read`, see use-realtime); this browser's tabs also tell
// each other; and the marker is asked again when the tab comes back and every 30 s, for a
// long-polling tab or a missed announcement.
import { usePathname } from "next/navigation";
import { useEffect } from "react";
import { listenForReadsInOtherTabs, useNotifications, useUnreadMentions } from "@/lib/store/notifications";
import { roomsWithUnread, useRooms } from "@/lib/store/rooms";

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

/**
 * "(N) Realtime Workspace" while anything waits for the person, where N counts each unread
 * mention and each room with unread messages: "(3) …" is, say, one mention and two rooms. Rooms
 * count once however many messages wait in them, so the number says how many places to look.
 */
export function useUnreadTitle(): void {
  const mentions = useUnreadMentions();
  const rooms = useRooms(roomsWithUnread);
  const unread = mentions + rooms;
  // Again after each navigation, in case the page's metadata set the title back.
  const pathname = usePathname();
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${TITLE}` : TITLE;
  }, [unread, pathname]);
}
