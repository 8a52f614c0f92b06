// The open room's chat: history pages and live messages merged by seq, my unsent messages
// (the client's outbox), who is here and who is typing.
import { create } from "zustand";
import { eventsPageSchema, roomStream, type Actor, type User } from "../protocol";
import { applyChange, withQuoteDeleted, type ChangeEvent } from "../chat/changes";
import { backoffDelay } from "../realtime/backoff";
import type { OutboxEntry } from "../realtime/types";
import { api, ApiError } from "./http";
import { keepNewest, mergeBySeq, type EventOf } from "./events";

export type MessageEvent = EventOf<"message">;

const PAGE = 50;
/** The most one history request may ask for (PROTOCOL.md). */
const MAX_PAGE = 200;
/** Messages shown above a linked one, so it does not sit at the very top. */
const CONTEXT = 10;
/**
 * The most messages one open room keeps. Live messages past it push the oldest out (scrolling
 * up fetches them again); scrolling up stops at it, with a note, so a tab left open for
 * days, or a reader paging back for an hour, never grows without bound.
 */
export const MAX_MESSAGES = 1_000;

interface RoomState {
  roomId: string | null;
  status: "loading" | "ready" | "missing" | "error";
  /** Ascending by seq, one per seq. */
  messages: MessageEvent[];
  /**
   * Bumped whenever the list is replaced by a fresh load (the first, a retry, a reload after
   * `reset`) rather than extended: what such a load brings is the room as it is, not news.
   */
  epoch: number;
  hasMore: boolean;
  loadingOlder: boolean;
  /** The last attempt at an older page failed; the reader can ask again. */
  olderFailed: boolean;
  /** Older messages exist but the list is at MAX_MESSAGES: no more are fetched. */
  atLimit: boolean;
  /** The message a link pointed at (`?seq=`): brought into view and highlighted. */
  focusSeq: number | null;
  members: User[];
  typing: Actor[];
  /** This room's messages still in the client's outbox (pending, sending or failed). */
  outbox: OutboxEntry[];
  /** This room's edits, deletes and reactions still in the outbox, by the seq they change. */
  changes: OutboxEntry[];

  open(roomId: string): void;
  close(roomId: string): void;
  /**
   * Loads the newest page (replacing what is shown); resolves with its newest seq, or null.
   * A failure leaves the room usable (live messages, sending) and tries again with backoff.
   */
  loadNewest(): Promise<number | null>;
  /** "Try again": load the newest page now instead of at the next retry. */
  retryHistory(): void;
  /** The page before the oldest shown; `through`: reach back to that seq in one request when it can. */
  loadOlder(through?: number): Promise<void>;
  /** Points at one message (or none): the list loads back to it and shows it. */
  focus(seq: number | null): void;
  /** The position was too old to resume (`reset`): start again from the newest page. */
  reload(): Promise<void>;
  receive(event: MessageEvent): void;
  /** The room is gone for this person (removed from a private room): nothing of it stays shown. */
  gone(): void;
  /**
   * An edit, delete or reaction: folded into the message it points at, if shown (one not shown
   * comes from history as it is now). A delete also blanks the quotes of the replies to it.
   */
  change(event: ChangeEvent): void;
  /** The server acknowledged one of my messages: show it as sent until its event arrives. */
  confirm(ack: { clientId: string; seq: number }, me: Actor): void;
  setOutbox(entries: OutboxEntry[]): void;
  setMembers(members: User[]): void;
  setTyping(users: Actor[]): void;
}

const empty = {
  status: "loading",
  messages: [],
  epoch: 0,
  hasMore: false,
  loadingOlder: false,
  olderFailed: false,
  atLimit: false,
  focusSeq: null,
  members: [],
  typing: [],
  outbox: [],
  changes: [],
} satisfies Partial<RoomState>;

/** The next automatic try at a room's history that failed to load, and how many failed so far. */
let historyRetry: ReturnType<typeof setTimeout> | null = null;
let historyFailures = 0;

function cancelHistoryRetry(): void {
  if (historyRetry) clearTimeout(historyRetry);
  historyRetry = null;
}

export const useRoom = create<RoomState>()((set, get) => ({
  roomId: null,
  ...empty,

  open(roomId) {
    cancelHistoryRetry();
    historyFailures = 0;
    set({ roomId, ...empty });
  },

  close(roomId) {
    if (get().roomId !== roomId) return;
    cancelHistoryRetry();
    set({ roomId: null, ...empty });
  },

  async loadNewest() {
    const roomId = get().roomId;
    if (!roomId) return null;
    cancelHistoryRetry();
    try {
      const page = await fetchPage(roomId);
      if (get().roomId !== roomId) return null;
      historyFailures = 0;
      const newest = page.events[page.events.length - 1]?.seq ?? 0;
      // Keep live events that arrived while the page was on its way (after a reset).
      set((s) => ({
        messages: mergeBySeq(page.events, s.messages.filter((m) => m.seq > newest)),
        epoch: s.epoch + 1,
        hasMore: page.hasMore,
        status: "ready",
      }));
      return newest;
    } catch (err) {
      if (get().roomId !== roomId) return null;
      if (err instanceof ApiError && err.status === 404) {
        set({ status: "missing" });
        return null;
      }
      set({ status: "error" });
      // Capped, jittered backoff (1 s … 30 s), as the connection itself retries.
      cancelHistoryRetry();
      historyRetry = setTimeout(() => {
        historyRetry = null;
        if (get().roomId === roomId && get().status === "error") void get().loadNewest();
      }, backoffDelay(historyFailures++));
      return null;
    }
  },

  retryHistory() {
    if (get().status === "error") void get().loadNewest();
  },

  async loadOlder(through) {
    const { roomId, messages, hasMore, loadingOlder } = get();
    const oldest = messages[0];
    if (!roomId || !oldest || !hasMore || loadingOlder) return;
    if (messages.length >= MAX_MESSAGES) return set({ atLimit: true });
    set({ loadingOlder: true, olderFailed: false });
    // Reaching for a linked message: the whole way in one request (with some lines of context
    // above it), as far as a request and the bound allow.
    const limit =
      through === undefined ? PAGE : Math.min(MAX_PAGE, MAX_MESSAGES - messages.length, Math.max(PAGE, oldest.seq - through + CONTEXT));
    try {
      const page = await fetchPage(roomId, oldest.seq, limit);
      if (get().roomId !== roomId) return;
      set((s) => ({ messages: mergeBySeq(s.messages, page.events), hasMore: page.hasMore, loadingOlder: false, atLimit: false }));
    } catch {
      if (get().roomId === roomId) set({ loadingOlder: false, olderFailed: true });
    }
  },

  focus(seq) {
    set({ focusSeq: seq });
  },

  async reload() {
    set((s) => ({ messages: [], epoch: s.epoch + 1 }));
    await get().loadNewest();
  },

  receive(event) {
    if (event.stream !== stream(get().roomId)) return;
    set((s) => withNewest(s, mergeBySeq(s.messages, [event])));
  },

  gone() {
    cancelHistoryRetry();
    set({ ...empty, status: "missing" });
  },

  change(event) {
    if (event.stream !== stream(get().roomId)) return;
    const target = event.data.seq;
    set((s) => {
      let changed = false;
      const messages = s.messages.map((m) => {
        let data = m.seq === target ? applyChange(m.data, event) : m.data;
        if (event.type === "message.deleted") data = withQuoteDeleted(data, target);
        if (data === m.data) return m;
        changed = true;
        return { ...m, data };
      });
      return changed ? { messages } : {};
    });
  },

  confirm({ clientId, seq }, me) {
    const { roomId, outbox, messages } = get();
    // `outbox` holds messages only: a change's ack stands for nothing shown, its event brings it.
    const entry = outbox.find((e) => e.clientId === clientId);
    if (!roomId || !entry || messages.some((m) => m.seq === seq)) return;
    const sent: MessageEvent = {
      stream: roomStream(roomId),
      seq,
      type: "message",
      actor: { id: me.id, name: me.name },
      at: new Date().toISOString(),
      data: { text: entry.text.trim(), clientId },
    };
    set((s) => withNewest(s, mergeBySeq(messages, [sent])));
  },

  setOutbox(entries) {
    const roomId = get().roomId;
    // The canvas' changes are the canvas store's (lib/store/canvas.ts), not the chat's.
    const mine = entries.filter((e) => e.room === roomId && e.frame?.type !== "canvas.ops");
    set({ outbox: mine.filter(isMessage), changes: mine.filter((e) => !isMessage(e)) });
  },

  setMembers(members) {
    set({ members });
  },

  setTyping(users) {
    set({ typing: users });
  },
}));

/** A message waiting in the outbox (entries stored before frames were kept are messages). */
export function isMessage(entry: OutboxEntry): boolean {
  return entry.frame === undefined || entry.frame.type === "send";
}

/** The list after a live message, kept to the newest MAX_MESSAGES; dropped ones can be paged in again. */
function withNewest(s: RoomState, merged: MessageEvent[]): Pick<RoomState, "messages" | "hasMore" | "atLimit"> {
  const { list, trimmed } = keepNewest(merged, MAX_MESSAGES);
  return { messages: list, hasMore: s.hasMore || trimmed, atLimit: trimmed ? false : s.atLimit };
}

function stream(roomId: string | null): string | null {
  return roomId === null ? null : roomStream(roomId);
}

async function fetchPage(roomId: string, before?: number, limit = PAGE) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (before !== undefined) query.set("before", String(before));
  const page = await api(`/api/rooms/${encodeURIComponent(roomId)}/events?${query}`, eventsPageSchema);
  return { events: page.events.filter((e): e is MessageEvent => e.type === "message"), hasMore: page.hasMore };
}
