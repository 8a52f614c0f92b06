// What the composer is doing besides typing: answering a message, or (in the list) editing one.
// Shared by the message list (where "Reply" and "Edit" are clicked) and the composer. The
// message a reply answers is part of the room's draft (lib/store/drafts.ts): it is there again
// after a room switch or a reload, as the text is.
import { create } from "zustand";
import { previewOf } from "../mentions";
import { useDrafts, type ReplyTarget } from "./drafts";
import { nameNow } from "./people";
import type { MessageEvent } from "./room";

interface ComposeState {
  /** How many replies were started here: the composer takes the focus at each. */
  repliesStarted: number;
  /** The seq of the message being edited in place, in `room`. */
  editing: { room: string; seq: number } | null;
  startReply(room: string, message: MessageEvent): void;
  cancelReply(room: string): void;
  startEdit(room: string, seq: number): void;
  stopEdit(): void;
}

export const useCompose = create<ComposeState>()((set) => ({
  repliesStarted: 0,
  editing: null,
  startReply(room, message) {
    useDrafts.getState().reply(room, replyTarget(message));
    set((s) => ({ editing: null, repliesStarted: s.repliesStarted + 1 }));
  },
  cancelReply: (room) => useDrafts.getState().reply(room, null),
  startEdit: (room, seq) => set({ editing: { room, seq } }),
  stopEdit: () => set({ editing: null }),
}));

/** The message the room's next message answers, or null. */
export function useReplyTarget(room: string): ReplyTarget | null {
  return useDrafts((s) => s.drafts[room]?.replyTo ?? null);
}

function replyTarget(message: MessageEvent): ReplyTarget {
  return { seq: message.seq, actor: { id: message.actor.id, name: nameNow(message.actor) }, preview: previewOf(message.data.text) };
}
