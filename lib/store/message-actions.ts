// What a person does to a message, as the frames the client's outbox carries until the server
// acknowledges them (sent again after a reconnect with the same clientId, so never applied
// twice). The change shows when its event comes back, on every device at once.
import { randomId } from "../realtime/client";
import { getRealtimeClient } from "./realtime";

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
