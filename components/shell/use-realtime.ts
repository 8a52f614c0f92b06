"use client";
// Wires the tab's realtime client to the workspace-wide stores while someone is signed in:
// connection status, the activity feed, rooms announced by the feed, unread rooms, mentions, and
// the person's unsent drafts, and what a closed tab of theirs left unsent.
import { useEffect } from "react";
import { useConnection } from "@/lib/store/connection";
import { bindDrafts, useDrafts } from "@/lib/store/drafts";
import { useFeed } from "@/lib/store/feed";
import { useNotifications } from "@/lib/store/notifications";
import { useRooms } from "@/lib/store/rooms";
import { disposeRealtimeClient, getRealtimeClient } from "@/lib/store/realtime";
import { useSession } from "@/lib/store/session";
import { bindUnsent, forgetUnsent } from "@/lib/store/unsent";
import type { User } from "@/lib/protocol";
import { bindWorkspace } from "@/lib/store/bindings";

export function useRealtime(user: User): void {
  useEffect(() => {
    const client = getRealtimeClient();
    let cancelled = false;
    // Every workspace-wide event reaches the stores through the one bindings module.
    const unbind = bindWorkspace(client, user, endSession);
    useDrafts.getState().load(user.id);
    const unbindDrafts = bindDrafts();
    const unbindUnsent = bindUnsent(client, user.id);

    // History first, then live: the client's first SSE connect starts at the head.
    void Promise.allSettled([useFeed.getState().loadLatest(), useNotifications.getState().refresh()]).then(() => {
      if (!cancelled) client.start();
    });

    return () => {
      cancelled = true;
      unbind();
      unbindDrafts();
      unbindUnsent();
    };
  }, [user]);
}

/** Forgets everything about the person who was signed in (sign-out, or the server said so). */
export function endSession(): void {
  forgetUnsent();
  disposeRealtimeClient();
  useFeed.getState().reset();
  useNotifications.getState().reset();
  useRooms.getState().forgetReads();
  useDrafts.getState().load(null);
  useConnection.setState({ status: null });
  useSession.getState().forget();
}
