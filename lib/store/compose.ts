// What the composer is doing besides typing: answering a message, or (in the list) editing one.
// Shared by the message list (where "Reply" and "Edit" are clicked) and the composer.
import { create } from "zustand";
import type { MessageEvent } from "./room";

interface ComposeState {
  /** The message the next one answers, in `room`. */
  replyTo: { room: string; message: MessageEvent } | null;
  /** The seq of the message being edited in place, in `room`. */
  editing: { room: string; seq: number } | null;
  startReply(room: string, message: MessageEvent): void;
  cancelReply(): void;
  startEdit(room: string, seq: number): void;
  stopEdit(): void;
}

export const useCompose = create<ComposeState>()((set) => ({
  replyTo: null,
  editing: null,
  startReply: (room, message) => set({ replyTo: { room, message }, editing: null }),
  cancelReply: () => set({ replyTo: null }),
  startEdit: (room, seq) => set({ editing: { room, seq } }),
  stopEdit: () => set({ editing: null }),
}));
