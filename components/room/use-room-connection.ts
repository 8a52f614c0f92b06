"use client";
// Follows one room while its page is open: the newest page of history first, then
// `client.join(room, newestSeq)` so the live stream continues exactly after it; messages,
// presence, typing, cursors and my outbox flow into the stores. When the history cannot load,
// the room is joined all the same — live messages and sending need no history — and the store
// keeps trying to load it.
import { useEffect } from "react";
import { roomStream, type User } from "@/lib/protocol";
import { cursorStore } from "@/lib/store/cursors";
import { getRealtimeClient } from "@/lib/store/realtime";
import { useRoom } from "@/lib/store/room";

export function useRoomConnection(roomId: string, me: User): void {
  useEffect(() => {
    const client = getRealtimeClient();
    const stream = roomStream(roomId);
    const room = () => useRoom.getState();
    let cancelled = false;

    room().open(roomId);
    room().setOutbox(client.getOutbox());

    const showMembers = (members: User[]) => room().setMembers(members);
    const offs = [
      client.on("event", (event) => {
        if (event.stream === stream && event.type === "message") room().receive(event);
      }),
      client.on("joined", (j) => j.room === roomId && showMembers(j.members)),
      client.on("presence", (p) => p.room === roomId && showMembers(p.members)),
      client.on("typing", (t) => t.room === roomId && room().setTyping(t.users.filter((u) => u.id !== me.id))),
      client.on("cursors", (c) => {
        if (c.room === roomId) cursorStore.getState().apply(c.cursors, c.snapshot, me.id);
      }),
      client.on("reset", (r) => r.stream === stream && void room().reload()),
      client.on("outbox", (entries) => room().setOutbox(entries)),
      client.on("ack", (ack) => ack.room === roomId && room().confirm(ack, me)),
    ];

    void room()
      .loadNewest()
      .then((newest) => {
        if (cancelled || room().status === "missing") return;
        // Without a page, join live: the client takes the room's head from the answer.
        client.join(roomId, newest ?? undefined);
      });

    return () => {
      cancelled = true;
      for (const off of offs) off();
      client.typing(roomId, true);
      // Leaving hides my cursor from the others first, and drops any cursor send still pending.
      client.leave(roomId);
      cursorStore.getState().clear();
      room().close(roomId);
    };
  }, [roomId, me]);
}
