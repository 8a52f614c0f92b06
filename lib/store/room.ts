// The open room's chat: a window of its history (pages read backwards and forwards, merged by
// seq with live messages), my unsent messages (the client's outbox), who is here and who is
// typing. The window is bounded: a reader paging a long way back or forth keeps only the pages
// near where they are, and the pages dropped are read again when they scroll back.
import { create } from "zustand";
import { eventsPageSchema, roomStream, type Actor, type User } from "../protocol";
import { applyChange, withQuoteDeleted, withQuoteEdited, type ChangeEvent } from "../chat/changes";
import { previewOf } from "../mentions";
import { backoffDelay } from "../realtime/backoff";
import type { OutboxEntry } from "../realtime/types";
import { api, ApiError } from "./http";
import { keepNewest, keepOldest, mergeBySeq, type EventOf } from "./events";
import { hearAuthors, hearNames, hearPage } from "./people";

export type MessageEvent = EventOf<"message">;
/** Someone added to a private room, removed from it, or leaving it (protocol 1.13). */
export type MembershipEvent = EventOf<"membership">;
/** What the conversation shows: messages, and who came and went. */
export type RoomItem = MessageEvent | MembershipEvent;

/** Whether an item is a message (not a line saying who came or went). */
export function isMessageEvent(item: RoomItem): item is MessageEvent {
  return item.type === "message";
}

/** Events one history request asks for (PROTOCOL.md allows up to 200). */
const PAGE = 100;
/** Events read on each side of a linked message when it is outside the window. */
const AROUND = 50;
/** Messages already read shown above the first new one, when a room opens at it. */
const READ_ABOVE = 10;
/**
 * The most messages one open room keeps. Past it, the end away from the reader is dropped:
 * live messages push the oldest out, paging back drops the newest, paging forward the oldest.
 * Dropped messages are a request away, so history is unbounded and the tab is not.
 */
export const MAX_MESSAGES = 600;

interface RoomState {
  roomId: string | null;
  status: "loading" | "ready" | "missing" | "error";
  /** Missing because the person was taken out of it while here (`removed`), not because it never was. */
  removed: boolean;
  /**
   * The window: ascending by seq, one per seq, with no gaps between them. Messages, and (1.13)
   * the lines that say who came and went.
   */
  messages: RoomItem[];
  /**
   * Bumped whenever the list is replaced by a fresh load (the first, a retry, a reload after
   * `reset`, a jump to a linked message or to the latest) rather than extended: what such a
   * load brings is the room as it is, not news.
   */
  epoch: number;
  /** Older messages than the window's exist. */
  hasMore: boolean;
  loadingOlder: boolean;
  /** The last attempt at an older page failed; the reader can ask again. */
  olderFailed: boolean;
  /**
   * Newer messages than the window's exist: the window was read around an old message or
   * dropped its newest end. Live messages wait in `live` until paging forward reaches them.
   */
  hasNewer: boolean;
  loadingNewer: boolean;
  newerFailed: boolean;
  /** Live messages that arrived while the window was away from the live end (the newest MAX_MESSAGES). */
  live: RoomItem[];
  /**
   * The reader is at the newest message (the list says so). A reader scrolled up in a full
   * window keeps it: live messages then wait in `live` rather than push out what they read.
   */
  following: boolean;
  /** The message a link pointed at (`?seq=`): brought into view and highlighted. */
  focusSeq: number | null;
  /** The linked message whose surroundings are loaded: if it is not in the window, it is gone. */
  focusLoaded: number | null;
  /** Loading the linked message's surroundings failed (the network): worth another try. */
  focusFailed: boolean;
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
  /** The page before the oldest shown. */
  loadOlder(): Promise<void>;
  /** The page after the newest shown, while the window is away from the live end. */
  loadNewer(): Promise<void>;
  /** Back to the live end: the newest page, with the live messages that came meanwhile. */
  jumpToLatest(): Promise<void>;
  /** The list: the reader reached (true) or left (false) the newest message. */
  setFollowing(following: boolean): void;
  /** Points at one message (or none): the window is read around it if it is not in it. */
  focus(seq: number | null): void;
  /**
   * More new messages than the first page holds: the window becomes the page after my read
   * position `seq` (with a few read ones above it), away from the live end, so the room opens
   * at the first new message rather than at the first of the newest page.
   */
  startAfter(seq: number): Promise<void>;
  /** The position was too old to resume (`reset`): start again from the newest page. */
  reload(): Promise<void>;
  /** Live messages, in order: one batch per animation frame, paced in a burst (lib/store/bindings.ts). */
  receive(events: RoomItem | readonly RoomItem[]): void;
  /** The room is gone for this person (removed from a private room): nothing of it stays shown. */
  gone(): void;
  /**
   * Edits, deletes and reactions: each folded into the message it points at, if held (one not
   * held comes from history as it is now). A delete also blanks the quotes of the replies to it.
   */
  change(events: ChangeEvent | readonly ChangeEvent[]): void;
  /** The server acknowledged one of my messages: show it as sent until its event arrives. */
  confirm(ack: { clientId: string; seq: number }, me: Actor): void;
  setOutbox(entries: OutboxEntry[]): void;
  setMembers(members: User[]): void;
  setTyping(users: Actor[]): void;
}

const empty = {
  status: "loading",
  removed: false,
  messages: [],
  epoch: 0,
  hasMore: false,
  loadingOlder: false,
  olderFailed: false,
  hasNewer: false,
  loadingNewer: false,
  newerFailed: false,
  live: [],
  following: true,
  focusSeq: null,
  focusLoaded: null,
  focusFailed: false,
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
      const page = await fetchPage(roomId, { limit: PAGE });
      if (get().roomId !== roomId) return null;
      historyFailures = 0;
      const newest = page.events[page.events.length - 1]?.seq ?? 0;
      // Keep live events that arrived while the page was on its way (after a reset).
      set((s) => {
        const end = atLiveEnd(s, page.events);
        return { ...end, hasMore: page.hasMore || end.hasMore, epoch: s.epoch + 1, olderFailed: false, status: "ready" };
      });
      // A link to a message that came before the first page: now its surroundings can be read.
      const { focusSeq, focusLoaded } = get();
      if (focusSeq !== null && focusLoaded !== focusSeq) void loadAround(focusSeq);
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

  async loadOlder() {
    const { roomId, messages, hasMore, loadingOlder } = get();
    const oldest = messages[0];
    if (!roomId || !oldest || !hasMore || loadingOlder) return;
    const epoch = get().epoch;
    set({ loadingOlder: true, olderFailed: false });
    try {
      const page = await fetchPage(roomId, { before: oldest.seq, limit: PAGE });
      if (get().roomId !== roomId || get().epoch !== epoch) return set({ loadingOlder: false });
      set((s) => {
        // The reader is at the top: the newest end is the far one, dropped past the bound.
        const { list, trimmed } = keepOldest(mergeBySeq(s.messages, page.events), MAX_MESSAGES);
        return { messages: list, hasMore: page.hasMore, loadingOlder: false, hasNewer: s.hasNewer || trimmed };
      });
    } catch {
      if (get().roomId === roomId) set({ loadingOlder: false, olderFailed: true });
    }
  },

  async loadNewer() {
    const { roomId, messages, hasNewer, loadingNewer } = get();
    const newest = messages[messages.length - 1];
    if (!roomId || !newest || !hasNewer || loadingNewer) return;
    const epoch = get().epoch;
    set({ loadingNewer: true, newerFailed: false });
    try {
      const page = await fetchPage(roomId, { after: newest.seq, limit: PAGE });
      if (get().roomId !== roomId || get().epoch !== epoch) return set({ loadingNewer: false });
      set((s) => {
        if (!page.hasMore) {
          // The page reaches the head: the window is live again, with what came meanwhile.
          const { messages, hasMore } = atLiveEnd(s, mergeBySeq(s.messages, page.events));
          return { messages, hasMore: s.hasMore || hasMore, hasNewer: false, live: [], loadingNewer: false };
        }
        // The reader is at the bottom: the oldest end is the far one.
        const { list, trimmed } = keepNewest(mergeBySeq(s.messages, page.events), MAX_MESSAGES);
        return { messages: list, hasMore: s.hasMore || trimmed, loadingNewer: false };
      });
    } catch {
      if (get().roomId === roomId) set({ loadingNewer: false, newerFailed: true });
    }
  },

  async jumpToLatest() {
    if (!get().hasNewer) return;
    set({ focusSeq: null, focusLoaded: null });
    await get().loadNewest();
  },

  setFollowing(following) {
    if (get().following !== following) set({ following });
  },

  focus(seq) {
    set({ focusSeq: seq, focusLoaded: null, focusFailed: false });
    // Before the first page, `loadNewest` does this once it is in.
    if (seq !== null && get().status === "ready") void loadAround(seq);
  },

  async startAfter(seq) {
    const roomId = get().roomId;
    if (!roomId) return;
    try {
      const window = await windowAt(roomId, seq, READ_ABOVE, PAGE);
      if (get().roomId !== roomId || get().focusSeq !== null) return;
      useRoom.setState(window);
    } catch {
      // Not loaded: the room stays at its newest page, the older ones a scroll away.
    }
  },

  async reload() {
    set((s) => ({ messages: [], live: [], hasNewer: false, epoch: s.epoch + 1 }));
    await get().loadNewest();
  },

  receive(events) {
    const batch = (Array.isArray(events) ? events : [events]) as readonly RoomItem[];
    const mine = batch.filter((e) => e.stream === stream(get().roomId));
    if (mine.length === 0) return;
    hearAuthors(mine);
    set((s) => {
      if (s.hasNewer || (!s.following && s.messages.length >= MAX_MESSAGES)) {
        // Away from the live end, appending would leave a gap; scrolled up in a full window, it
        // would push out what is being read. Kept until paging forward meets them.
        return { live: keepNewest(mergeBySeq(s.live, mine), MAX_MESSAGES).list, hasNewer: true };
      }
      return withNewest(s, mergeBySeq(s.messages, mine));
    });
  },

  gone() {
    cancelHistoryRetry();
    set({ ...empty, status: "missing", removed: true });
  },

  change(events) {
    const batch = (Array.isArray(events) ? events : [events]) as readonly ChangeEvent[];
    const mine = batch.filter((e) => e.stream === stream(get().roomId));
    if (mine.length === 0) return;
    set((s) => {
      const messages = applyChanges(s.messages, mine);
      const live = applyChanges(s.live, mine);
      return messages === s.messages && live === s.live ? {} : { messages, live };
    });
  },

  confirm({ clientId, seq }, me) {
    const { roomId, outbox, messages, hasNewer } = get();
    // `outbox` holds messages only: a change's ack stands for nothing shown, its event brings it.
    const entry = outbox.find((e) => e.clientId === clientId);
    if (!roomId || !entry || hasNewer || messages.some((m) => m.seq === seq)) return;
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
    hearNames(members);
    set({ members });
  },

  setTyping(users) {
    set({ typing: users });
  },
}));

/**
 * A linked message outside the window: the window becomes a page on each side of it, away from
 * the live end unless the page after reaches the head. Within the window, nothing to load.
 */
async function loadAround(seq: number): Promise<void> {
  const { roomId, messages, hasMore, hasNewer, status } = useRoom.getState();
  if (!roomId) return;
  const oldest = messages[0]?.seq;
  const newest = messages[messages.length - 1]?.seq;
  // Within the window (or, with no older messages, before its first: then it is not there).
  const covered = status === "ready" && oldest !== undefined && newest !== undefined && (seq >= oldest || !hasMore) && (seq <= newest || !hasNewer);
  if (covered) return useRoom.setState({ focusLoaded: seq });
  try {
    const window = await windowAt(roomId, seq, AROUND, AROUND);
    const s = useRoom.getState();
    if (s.roomId !== roomId || s.focusSeq !== seq) return;
    useRoom.setState({ ...window, focusLoaded: seq, focusFailed: false });
  } catch {
    // Not loaded: the room stays as it was, and the reader is offered another try (not told
    // the message is gone: it may well be there).
    if (useRoom.getState().focusSeq === seq) useRoom.setState({ focusFailed: true });
  }
}

/**
 * The window of up to `above` events up to `seq` and `below` after it, away from the live end
 * unless the events after reach the head (then with the live messages that came meanwhile).
 */
async function windowAt(roomId: string, seq: number, above: number, below: number): Promise<Partial<RoomState>> {
  const [before, after] = await Promise.all([fetchPage(roomId, { before: seq + 1, limit: above }), fetchPage(roomId, { after: seq, limit: below })]);
  const s = useRoom.getState();
  const around = mergeBySeq(before.events, after.events);
  const end = after.hasMore ? null : atLiveEnd(s, around);
  return {
    ...(end ?? { messages: around, hasNewer: true, live: s.hasNewer ? s.live : [] }),
    hasMore: before.hasMore || (end?.hasMore ?? false),
    olderFailed: false,
    newerFailed: false,
    epoch: s.epoch + 1,
    status: "ready",
  };
}

/**
 * The window at the live end: `page` (ending at the head as the server knew it) with the live
 * messages that arrived after it — held in `live`, or already appended — kept to the newest
 * MAX_MESSAGES.
 */
function atLiveEnd(s: RoomState, page: RoomItem[]): Pick<RoomState, "messages" | "hasMore" | "hasNewer" | "live"> {
  const newest = page[page.length - 1]?.seq ?? 0;
  const arrived = s.hasNewer ? s.live : s.messages;
  const merged = mergeBySeq(page, arrived.filter((m) => m.seq > newest));
  const { list, trimmed } = keepNewest(merged, MAX_MESSAGES);
  return { messages: list, hasMore: trimmed, hasNewer: false, live: [] };
}

function applyChanges(list: RoomItem[], events: readonly ChangeEvent[]): RoomItem[] {
  let result = list;
  for (const event of events) {
    const target = event.data.seq;
    // The replies quoting it show what the server now stores for them (server/workspace.ts#refreshCopies).
    const quoted = event.type === "message.edited" ? previewOf(event.data.text) : null;
    let changed = false;
    const next = result.map((m) => {
      if (!isMessageEvent(m)) return m;
      let data = m.seq === target ? applyChange(m.data, event) : m.data;
      if (event.type === "message.deleted") data = withQuoteDeleted(data, target);
      else if (quoted !== null) data = withQuoteEdited(data, target, quoted);
      if (data === m.data) return m;
      changed = true;
      return { ...m, data };
    });
    if (changed) result = next;
  }
  return result;
}

/** A message waiting in the outbox (entries stored before frames were kept are messages). */
export function isMessage(entry: OutboxEntry): boolean {
  return entry.frame === undefined || entry.frame.type === "send";
}

/** The list after live messages, kept to the newest MAX_MESSAGES; dropped ones can be paged in again. */
function withNewest(s: RoomState, merged: RoomItem[]): Pick<RoomState, "messages" | "hasMore"> {
  const { list, trimmed } = keepNewest(merged, MAX_MESSAGES);
  return { messages: list, hasMore: s.hasMore || trimmed };
}

function stream(roomId: string | null): string | null {
  return roomId === null ? null : roomStream(roomId);
}

async function fetchPage(roomId: string, at: { before?: number; after?: number; limit: number }) {
  const query = new URLSearchParams({ limit: String(at.limit) });
  if (at.before !== undefined) query.set("before", String(at.before));
  if (at.after !== undefined) query.set("after", String(at.after));
  const page = await api(`/api/rooms/${encodeURIComponent(roomId)}/events?${query}`, eventsPageSchema);
  hearPage(page);
  return { events: page.events.filter((e): e is RoomItem => e.type === "message" || e.type === "membership"), hasMore: page.hasMore };
}
