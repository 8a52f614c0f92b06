// How a message changes after it was sent (protocol 1.2): an edit, a delete or a reaction is an
// event of its own, later in the room's stream, pointing at the message's seq. Folding those
// events into the message gives its current state. The server folds each change into the
// stored message as it appends it (so history pages read the current state); the pages fold the
// change events they receive (live, or replayed after a reconnect) into the messages they show.
// One function for both, so they cannot disagree.
import { MAX_REACTION_EMOJI, type Actor, type RealtimeEvent } from "../protocol";

export type MessageEvent = Extract<RealtimeEvent, { type: "message" }>;
export type ChangeEvent = Extract<RealtimeEvent, { type: "message.edited" | "message.deleted" | "reaction" }>;
export type MessageData = MessageEvent["data"];

const CHANGE_TYPES: ReadonlySet<string> = new Set(["message.edited", "message.deleted", "reaction"]);

export function isChange(event: RealtimeEvent): event is ChangeEvent {
  return CHANGE_TYPES.has(event.type);
}

/**
 * The message's data after `change`. Applying a change the data already shows changes nothing,
 * so a reader may apply every change it receives, in stream order, whatever it held before.
 * A deleted message takes no more edits or reactions.
 */
export function applyChange(data: MessageData, change: ChangeEvent): MessageData {
  switch (change.type) {
    case "message.deleted":
      return deletedData(data);
    case "message.edited": {
      if (data.deleted) return data;
      const { mentions: _old, ...rest } = data;
      const mentions = change.data.mentions;
      return { ...rest, text: change.data.text, editedAt: change.at, ...(mentions && mentions.length > 0 ? { mentions } : {}) };
    }
    case "reaction":
      if (data.deleted) return data;
      return withReaction(data, change.data.emoji, change.actor, change.data.on);
  }
}

/** What is left of a deleted message: its identity and what it answered, never its text. */
export function deletedData(data: MessageData): MessageData {
  return { text: "", clientId: data.clientId, deleted: true, ...(data.replyTo ? { replyTo: data.replyTo } : {}) };
}

/** A reply whose quoted message was deleted shows it as deleted. */
export function withQuoteDeleted(data: MessageData, deletedSeq: number): MessageData {
  if (data.replyTo?.seq !== deletedSeq || data.replyTo.deleted) return data;
  return { ...data, replyTo: { seq: data.replyTo.seq, actor: data.replyTo.actor, preview: "", deleted: true } };
}

/** A reply whose quoted message was edited quotes its new text (`preview`), as the stored copy does. */
export function withQuoteEdited(data: MessageData, editedSeq: number, preview: string): MessageData {
  if (data.replyTo?.seq !== editedSeq || data.replyTo.deleted || data.replyTo.preview === preview) return data;
  return { ...data, replyTo: { ...data.replyTo, preview } };
}

/** Whether `actor` has reacted with `emoji`. */
export function hasReacted(data: MessageData, emoji: string, actorId: string): boolean {
  return data.reactions?.[emoji]?.some((a) => a.id === actorId) ?? false;
}

/**
 * Whether adding `emoji` would take the message past MAX_REACTION_EMOJI different emoji (one
 * already there can always be added to).
 */
export function reactionsFull(data: MessageData, emoji: string): boolean {
  const reactions = data.reactions ?? {};
  return !(emoji in reactions) && Object.keys(reactions).length >= MAX_REACTION_EMOJI;
}

function withReaction(data: MessageData, emoji: string, actor: Actor, on: boolean): MessageData {
  if (hasReacted(data, emoji, actor.id) === on) return data;
  if (on && reactionsFull(data, emoji)) return data;
  const reactions = { ...(data.reactions ?? {}) };
  const people = reactions[emoji] ?? [];
  if (on) reactions[emoji] = [...people, { id: actor.id, name: actor.name }];
  else if (people.length > 1) reactions[emoji] = people.filter((a) => a.id !== actor.id);
  else delete reactions[emoji];
  const { reactions: _old, ...rest } = data;
  return Object.keys(reactions).length > 0 ? { ...rest, reactions } : rest;
}
