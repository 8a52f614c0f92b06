"use client";
// Follows one room while its page is open: the newest page of history first, then
// `client.join(room, newestSeq)` so the live stream continues exactly after it; messages,
// presence, typing, cursors and my outbox flow into the stores. When the history cannot load,
// the room is joined all the same — live messages and sending need no history — and the store
// keeps trying to load it.
import { useEffect } from "react";
import type { User } from "@/lib/protocol";
import { bindRoom } from "@/lib/store/bindings";
import { cursorStore } from "@/lib/store/cursors";
import { getRealtimeClient } from "@/lib/store/realtime";
import { useRoom } from "@/lib/store/room";

export function useRoomConnection(roomId: string, me: User): void {
  useEffect(() => {
    const client = getRealtimeClient();
    const room = () => useRoom.getState();
    let cancelled = false;

    room().open(roomId);
    // Every event of the room reaches the stores through the one bindings module.
    const unbind = bindRoom(client, roomId, me);

    void room()
      .loadNewest()
      .then((newest) => {
        if (cancelled || room().status === "missing") return;
        // Without a page, join live: the client takes the room's head from the answer.
        client.join(roomId, newest ?? undefined);
      });

    return () => {
      cancelled = true;
      unbind();
      client.typing(roomId, true);
      // Leaving hides my cursor from the others first, and drops any cursor send still pending.
      client.leave(roomId);
      cursorStore.getState().clear();
      room().close(roomId);
    };
  }, [roomId, me]);
}
