"use client";
// The open room's read position (protocol 1.2). The person has read what they have seen: the
// room open, the tab visible and the conversation scrolled to its bottom. Then, once they have
// looked for READ_AFTER_MS, the position moves to the newest message — here at once, on the
// server and on every other device of theirs (`client.markRead`). Also where the "New
// messages" divider goes: after the position the room had when it opened, if anything by
// others came after it. A room the person marked unread here (protocol 1.11) is not read again
// while it stays open: the divider moves to the mark, and the room waits for them to come back.
import { useCallback, useEffect, useRef, useState } from "react";
import type { User } from "@/lib/protocol";
import { getRealtimeClient } from "@/lib/store/realtime";
import { useRoom } from "@/lib/store/room";
import { useRooms } from "@/lib/store/rooms";

/** How long the newest messages are in view before they count as read: a glance, not a scroll past. */
export const READ_AFTER_MS = 500;

export interface ReadPosition {
  /** The divider goes above the first message by others after this seq; null: no divider. */
  newAfter: number | null;
  /** The conversation reached (true) or left (false) its bottom. */
  onBottom(atBottom: boolean): void;
}

/** `shown` false: the conversation is out of sight (the phone's canvas view), so nothing in it is seen. */
export function useReadPosition(roomId: string, me: User, shown = true): ReadPosition {
  const ready = useRoom((s) => s.roomId === roomId && s.status === "ready");
  const newest = useRoom((s) => (s.roomId === roomId ? (s.messages[s.messages.length - 1]?.seq ?? 0) : 0));
  const [newAfter, setNewAfter] = useState<number | null>(null);
  /** Where the person marked this room unread while here, or null. */
  const held = useRooms((s) => (s.held?.room === roomId ? s.held.readSeq : null));
  /** The position the room had when it opened is known: reads may move it from now on. */
  const [opened, setOpened] = useState(false);
  const atBottom = useRef(true);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // The position as the room opened, before this visit moves it: where the divider goes.
  useEffect(() => {
    if (!ready || opened) return;
    let cancelled = false;
    void useRooms
      .getState()
      .readPosition(roomId)
      .catch(() => null)
      .then(async (readSeq) => {
        if (cancelled) return;
        // Where the person left off: in a room they joined or read before, even one joined while
        // it was empty (0). A room never visited has no such place: it opens at its newest, and a
        // divider above everything would say nothing.
        const from = readSeq !== null && useRooms.getState().reads[roomId]?.counted ? readSeq : null;
        // More new messages than the first page: the room opens at the first of them all.
        const { messages, hasMore, focusSeq } = useRoom.getState();
        if (from !== null && hasMore && focusSeq === null && (messages[0]?.seq ?? 0) > from + 1) await useRoom.getState().startAfter(from);
        if (cancelled) return;
        const firstNew = from === null ? undefined : useRoom.getState().messages.find((m) => m.seq > from && m.actor.id !== me.id);
        setNewAfter(firstNew ? from : null);
        setOpened(true);
        // Joined now: its messages count as unread from here on, as the server counts them.
        useRooms.getState().readUpTo(roomId, 0);
        useRooms.getState().visited(roomId);
      });
    return () => {
      cancelled = true;
    };
  }, [ready, opened, roomId, me.id]);

  // Back from the canvas (a phone shows one at a time), or to the tab from another: what others
  // wrote while the chat was out of sight is new, under the divider, as in a room opened again.
  const tabVisible = useTabVisible();
  const inSight = shown && tabVisible;
  const hiddenAt = useRef<number | null>(null);
  useEffect(() => {
    if (!opened) return;
    if (!inSight) {
      hiddenAt.current ??= useRoom.getState().messages.reduce((top, m) => Math.max(top, m.seq), 0);
      return;
    }
    const from = hiddenAt.current;
    hiddenAt.current = null;
    if (from !== null && useRoom.getState().messages.some((m) => m.seq > from && m.actor.id !== me.id)) setNewAfter(from);
  }, [inSight, opened, me.id]);

  const seeing = useCallback(
    // The store, not this render's `held`: a read already timed must see a mark made since.
    () => opened && shown && useRooms.getState().held?.room !== roomId && atBottom.current && document.visibilityState === "visible",
    [opened, shown, roomId],
  );

  /** Looks again at what the person sees: messages seen for READ_AFTER_MS are read. */
  const check = useCallback(() => {
    const rooms = useRooms.getState();
    rooms.setViewing(seeing() ? roomId : null);
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    if (!seeing()) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      if (!seeing()) return;
      const seq = useRoom.getState().messages.at(-1)?.seq ?? 0;
      if (seq <= (useRooms.getState().reads[roomId]?.readSeq ?? 0)) return;
      useRooms.getState().readUpTo(roomId, seq);
      getRealtimeClient().markRead(roomId, seq);
    }, READ_AFTER_MS);
  }, [roomId, seeing]);

  useEffect(() => {
    check();
  }, [check, newest, held]);

  // Marked unread here: the divider goes above the first new message after the mark. Leaving the
  // room lets it be read again next time.
  useEffect(() => {
    if (held !== null) setNewAfter(held);
  }, [held]);
  useEffect(() => () => useRooms.getState().release(roomId), [roomId]);

  useEffect(() => {
    document.addEventListener("visibilitychange", check);
    return () => {
      document.removeEventListener("visibilitychange", check);
      if (timer.current) clearTimeout(timer.current);
      useRooms.getState().setViewing(null);
    };
  }, [check]);

  const onBottom = useCallback(
    (bottom: boolean) => {
      if (atBottom.current === bottom) return;
      atBottom.current = bottom;
      check();
    },
    [check],
  );

  return { newAfter, onBottom };
}

/** Whether the page's tab is the one shown (`document.visibilityState`), following it as it changes. */
function useTabVisible(): boolean {
  const [visible, setVisible] = useState(() => typeof document === "undefined" || document.visibilityState === "visible");
  useEffect(() => {
    const follow = () => setVisible(document.visibilityState === "visible");
    document.addEventListener("visibilitychange", follow);
    return () => document.removeEventListener("visibilitychange", follow);
  }, []);
  return visible;
}
