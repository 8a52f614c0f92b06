"use client";
// Wires the tab's realtime client to the workspace-wide stores while someone is signed in:
// connection status, the activity feed, rooms announced by the feed, and mentions.
import { useEffect } from "react";
import { useConnection } from "@/lib/store/connection";
import { useFeed } from "@/lib/store/feed";
import { useNotifications } from "@/lib/store/notifications";
import { disposeRealtimeClient, getRealtimeClient } from "@/lib/store/realtime";
import { useRooms } from "@/lib/store/rooms";
import { useSession } from "@/lib/store/session";
import type { User } from "@/lib/protocol";

export function useRealtime(user: User): void {
  useEffect(() => {
    const client = getRealtimeClient();
    useConnection.setState({ status: client.getStatus(), mode: client.transportMode });

    let cancelled = false;
    let feedConnected = false;
    const offs = [
      client.on("status", (status) => {
        useConnection.getState().setStatus(status);
        // The first SSE connect is live-only from the head, and a reconnect without a position
        // is too: fill whatever happened in between from history (merged by seq).
        const connected = status.feed.state === "connected";
        if (connected && !feedConnected) {
          void useFeed.getState().loadLatest();
          void useNotifications.getState().refresh().catch(() => undefined);
        }
        feedConnected = connected;
      }),
      client.on("event", (event) => {
        switch (event.type) {
          case "room.created":
            useRooms.getState().announce({ id: event.data.roomId, name: event.data.name, createdAt: event.at });
            return useFeed.getState().receive(event);
          case "message.posted":
            useRooms.getState().advance(event.data.roomId, event.data.seq);
            return useFeed.getState().receive(event);
          case "member.joined":
            return useFeed.getState().receive(event);
          case "mention":
            return useNotifications.getState().receive(event);
          case "message":
            return; // the open room's chat listens for these itself
          default: {
            const unknown: never = event;
            return unknown;
          }
        }
      }),
      // Read on another device (or tab): the unread count is the server's, the same everywhere.
      client.on("read", ({ readSeq }) => useNotifications.getState().readUpTo(readSeq)),
      client.on("signedOut", () => endSession()),
    ];

    // History first, then live: the client's first SSE connect starts at the head.
    void Promise.allSettled([useFeed.getState().loadLatest(), useNotifications.getState().refresh()]).then(() => {
      if (!cancelled) client.start();
    });

    return () => {
      cancelled = true;
      for (const off of offs) off();
    };
  }, [user]);
}

/** Forgets everything about the person who was signed in (sign-out, or the server said so). */
export function endSession(): void {
  disposeRealtimeClient();
  useFeed.getState().reset();
  useNotifications.getState().reset();
  useConnection.setState({ status: null });
  useSession.getState().forget();
}
