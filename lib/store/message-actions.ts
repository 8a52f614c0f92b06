// What a person does to a message, as the frames the client's outbox carries until the server
// acknowledges them (sent again after a reconnect with the same clientId, so never applied
// twice). The change shows when its event comes back, on every device at once.
import { randomId } from "../realtime/client";
import { getRealtimeClient } from "./realtime";
import { isMessageEvent, useRoom } from "./room";
import { useRooms } from "./rooms";

/** `mentions`: the people the text names, by id; empty, the server reads `@name`s itself. */
export function editMessage(room: string, seq: number, text: string, mentions: string[]): boolean {
  const named = mentions.length > 0 ? { mentions } : {};
  return getRealtimeClient().enqueue({ type: "edit", room, seq, text, ...named, clientId: randomId("e") }) !== null;
}

export function deleteMessage(room: string, seq: number): boolean {
  return getRealtimeClient().enqueue({ type: "delete", room, seq, clientId: randomId("d") }) !== null;
}

/** Adds `emoji` to the message, or takes it back (`on: false`). */
export function react(room: string, seq: number, emoji: string, on: boolean): boolean {
  return getRealtimeClient().enqueue({ type: "react", room, seq, emoji, on, clientId: randomId("r") }) !== null;
}

/**
 * Marks the message `seq` and everything after it unread (protocol 1.11), as Slack does: the
 * room's read position goes back to just before it, here at once and on every device of mine
 * once the server has it. This page stops reading the room while it stays open (`hold`): the
 * person comes back to it to read it.
 */
export function markUnread(room: string, seq: number, meId: string): void {
  const readSeq = seq - 1;
  // What this page holds of the room counts now; the server's count follows with its answer.
  const { roomId, messages } = useRoom.getState();
  const unread = roomId === room ? messages.filter((m) => isMessageEvent(m) && m.seq > readSeq && m.actor.id !== meId && !m.data.deleted).length : undefined;
  const rooms = useRooms.getState();
  rooms.hold(room, readSeq);
  rooms.markedUnread(room, readSeq, unread);
  getRealtimeClient().markRead(room, readSeq, true);
}
