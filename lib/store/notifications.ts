// Mentions of me: the unread count, the dropdown's list and the toasts.
// The read marker lives on the server (the same on every device); tabs of this browser also
// tell each other at once over a BroadcastChannel.
import { create } from "zustand";
import { notificationsAnswerSchema } from "../protocol";
import { api, apiNoContent } from "./http";
import { notifyDesktop } from "../desktop-notifications";
import { messageHref } from "../message-links";
import { keepNewest, mergeBySeq, withPreview, type EventOf } from "./events";
import { hearAuthors, hearPage } from "./people";
import { useRoom } from "./room";
import { useRooms } from "./rooms";

/** What reaches a person's notifications: someone named them, or (version 1.2) answered them. */
export type MentionEvent = EventOf<"mention"> | EventOf<"reply">;

const LIMIT = 50;
/**
 * The most mentions a tab keeps (the newest). The unread count needs only the newest seq and
 * the read marker, so it stays exact however many were dropped.
 */
export const MAX_MENTIONS = 100;
const CHANNEL = "rt-notifications";
const TOAST_MS = 6_000;

interface Toast {
  id: number;
  mention: MentionEvent;
}

interface NotificationsState {
  /** Ascending by seq. */
  mentions: MentionEvent[];
  readSeq: number;
  toasts: Toast[];
  refresh(): Promise<void>;
  /** A live mention: counted, and announced by a toast. */
  receive(mention: MentionEvent): void;
  /** Message `seq` of `roomId` was edited (its new `preview`) or deleted (""): the list and the toasts show it. */
  messageChanged(roomId: string, seq: number, preview: string): void;
  /** The person is out of `roomId` (removed, or left): what was said there is no longer theirs to read. */
  forgetRoom(roomId: string): void;
  /** Marks everything up to the newest mention read, here, on the server and in other tabs. */
  markAllRead(): Promise<void>;
  /** Another tab (or a refresh) says these are read. */
  readUpTo(seq: number): void;
  dismissToast(id: number): void;
  reset(): void;
}

/** How far the person has read each room (lib/store/rooms.ts), as far as this page knows. */
type RoomReads = Readonly<Record<string, { readSeq: number }>>;

/**
 * Whether a mention waits for the person: it is after the bell's read marker, and its message
 * is after their read position in its room. Reading the room past it (here, or on another
 * device: positions are the server's) reads the mention, as opening the bell does. A mention in
 * a message since deleted (its preview blanked) waits for no one, as in Slack: it is still
 * listed, as deleted, but not counted.
 */
export function mentionUnread(m: MentionEvent, readSeq: number, rooms: RoomReads): boolean {
  return m.seq > readSeq && (rooms[m.data.roomId]?.readSeq ?? 0) < m.data.seq && m.data.preview !== "";
}

export function unreadCount(s: Pick<NotificationsState, "mentions" | "readSeq">, rooms: RoomReads): number {
  // Counted, not subtracted: a person's stream also carries their private rooms' messages.
  return s.mentions.filter((m) => mentionUnread(m, s.readSeq, rooms)).length;
}

/**
 * The mentions waiting for the person in each room, by room id, until the room is read past
 * them: opening the bell reads the bell, not the rooms, as in Slack. A muted room's messages are
 * not news, but a mention there still is (protocol 1.12).
 */
export function unreadByRoom(s: Pick<NotificationsState, "mentions">, rooms: RoomReads): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of s.mentions) if (mentionUnread(m, 0, rooms)) counts[m.data.roomId] = (counts[m.data.roomId] ?? 0) + 1;
  return counts;
}

/** The mentions waiting for the person, kept current with the bell's marker and their rooms' reads. */
export function useUnreadMentions(): number {
  const rooms = useRooms((s) => s.reads);
  return useNotifications((s) => unreadCount(s, rooms));
}

let nextToastId = 1;
let channel: BroadcastChannel | null = null;

function readChannel(): BroadcastChannel | null {
  if (!channel && typeof BroadcastChannel !== "undefined") channel = new BroadcastChannel(CHANNEL);
  return channel;
}

export const useNotifications = create<NotificationsState>()((set, get) => ({
  mentions: [],
  readSeq: 0,
  toasts: [],

  async refresh() {
    const answer = await api(`/api/notifications?limit=${LIMIT}`, notificationsAnswerSchema);
    hearPage(answer);
    const page = { events: answer.events.filter((e): e is MentionEvent => e.type === "mention" || e.type === "reply"), readSeq: answer.readSeq };
    set((s) => ({
      mentions: keepNewest(mergeBySeq(s.mentions, page.events), MAX_MENTIONS).list,
      // A tab may have read more than a refresh that started earlier knows about.
      readSeq: Math.max(s.readSeq, page.readSeq),
    }));
  },

  receive(mention) {
    hearAuthors([mention]);
    const known = get().mentions.some((m) => m.seq === mention.seq);
    set((s) => ({ mentions: keepNewest(mergeBySeq(s.mentions, [mention]), MAX_MENTIONS).list }));
    if (known || mention.seq <= get().readSeq) return;
    // No toast for the room being read: the message is in front of the reader already.
    if (readingRoom(mention.data.roomId)) return;
    const what = mention.type === "reply" ? "replied to you" : "mentioned you";
    notifyDesktop(`${mention.actor.name} ${what}`, mention.data.preview || "Message deleted", messageHref(mention.data.roomId, mention.data.seq), `${mention.data.roomId}:${mention.data.seq}`);
    const id = nextToastId++;
    set((s) => ({ toasts: [...s.toasts, { id, mention }].slice(-3) }));
    setTimeout(() => get().dismissToast(id), TOAST_MS);
  },

  messageChanged(roomId, seq, preview) {
    set((s) => {
      const mentions = withPreview(s.mentions, roomId, seq, preview);
      const toasted = s.toasts.map((t) => t.mention);
      const shown = withPreview(toasted, roomId, seq, preview);
      if (mentions === s.mentions && shown === toasted) return s;
      return { mentions, toasts: s.toasts.map((t, i) => ({ ...t, mention: shown[i]! })) };
    });
  },

  forgetRoom(roomId) {
    set((s) =>
      s.mentions.some((m) => m.data.roomId === roomId) || s.toasts.some((t) => t.mention.data.roomId === roomId)
        ? { mentions: s.mentions.filter((m) => m.data.roomId !== roomId), toasts: s.toasts.filter((t) => t.mention.data.roomId !== roomId) }
        : s,
    );
  },

  async markAllRead() {
    const newest = get().mentions[get().mentions.length - 1]?.seq ?? 0;
    if (newest <= get().readSeq) return;
    get().readUpTo(newest);
    readChannel()?.postMessage({ readSeq: newest });
    await apiNoContent("/api/notifications/read", { method: "POST", body: { seq: newest } });
  },

  readUpTo(seq) {
    set((s) => (seq > s.readSeq ? { readSeq: seq, toasts: s.toasts.filter((t) => t.mention.seq > seq) } : s));
  },

  dismissToast(id) {
    set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
  },

  reset() {
    set({ mentions: [], readSeq: 0, toasts: [] });
  },
}));

/** Applies reads announced by this browser's other tabs; returns the unsubscribe. */
export function listenForReadsInOtherTabs(): () => void {
  const ch = readChannel();
  if (!ch) return () => {};
  const onMessage = (ev: MessageEvent<unknown>) => {
    const seq = (ev.data as { readSeq?: unknown } | null)?.readSeq;
    if (typeof seq === "number") useNotifications.getState().readUpTo(seq);
  };
  ch.addEventListener("message", onMessage);
  return () => ch.removeEventListener("message", onMessage);
}

/** Whether `roomId` is open in this tab and the tab is in view. */
function readingRoom(roomId: string): boolean {
  return useRoom.getState().roomId === roomId && typeof document !== "undefined" && document.visibilityState === "visible";
}
