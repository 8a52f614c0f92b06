// The workspace activity feed: the newest page over HTTP, then live events from SSE.
import { create } from "zustand";
import { eventsPageSchema, type Actor, type RealtimeEvent } from "../protocol";
import { api } from "./http";
import { groupFeed } from "../feed-groups";
import { keepNewest, mergeBySeq, withPreview, type EventOf } from "./events";
import { hearAuthors, hearPage } from "./people";

export type FeedEvent = EventOf<"room.created" | "member.joined" | "message.posted">;

const PAGE = 50;

const isFeedEvent = (e: RealtimeEvent): e is FeedEvent =>
  e.type === "room.created" || e.type === "member.joined" || e.type === "message.posted";
/** A page of the feed stream keeps only what the feed shows. */
const feedPage = (page: { events: RealtimeEvent[]; hasMore: boolean; people?: Actor[] }) => {
  hearPage(page);
  return { events: page.events.filter(isFeedEvent), hasMore: page.hasMore };
};
/**
 * The most feed items a tab keeps: new ones push the oldest out (they stay a page away over
 * HTTP), and "Show older" stops here, so a tab open for a week stays small.
 */
export const MAX_FEED_EVENTS = 500;
/**
 * Items the feed opens with at least, when the log has them: a busy room's burst is one item
 * however many messages it holds, so one page of events can be a single "50 new messages" that
 * hides the rest of the workspace. Older pages are loaded until there are this many (or the feed
 * begins, or MAX_FEED_EVENTS).
 */
export const FIRST_ITEMS = 10;

interface FeedState {
  /** Ascending by seq; the panel shows them newest first. */
  events: FeedEvent[];
  hasMore: boolean;
  status: "idle" | "loading" | "ready" | "error";
  loadingOlder: boolean;
  /**
   * The newest page, merged with what is here (also fills a gap after a reconnect), and older
   * ones while that makes fewer than FIRST_ITEMS items.
   */
  loadLatest(): Promise<void>;
  loadOlder(): Promise<void>;
  receive(event: FeedEvent): void;
  /** Message `seq` of `roomId` was edited (its new `preview`) or deleted (""). */
  messageChanged(roomId: string, seq: number, preview: string): void;
  reset(): void;
}

export const useFeed = create<FeedState>()((set, get) => ({
  events: [],
  hasMore: false,
  status: "idle",
  loadingOlder: false,

  async loadLatest() {
    if (get().status === "idle") set({ status: "loading" });
    try {
      const page = feedPage(await api(`/api/feed?limit=${PAGE}`, eventsPageSchema));
      set((s) => ({
        events: mergeBySeq(s.events, page.events),
        // Only the first page decides whether older ones exist.
        hasMore: s.status === "ready" ? s.hasMore : page.hasMore,
        status: "ready",
      }));
      while (get().hasMore && get().events.length < MAX_FEED_EVENTS && groupFeed(get().events).length < FIRST_ITEMS) {
        const had = get().events.length;
        await get().loadOlder();
        // Nothing came (a load already under way, or the oldest page): the reader pages on by hand.
        if (get().events.length === had) break;
      }
    } catch {
      set((s) => ({ status: s.status === "ready" ? "ready" : "error" }));
    }
  },

  async loadOlder() {
    const { events, loadingOlder, hasMore } = get();
    const oldest = events[0];
    if (loadingOlder || !hasMore || !oldest || events.length >= MAX_FEED_EVENTS) return;
    set({ loadingOlder: true });
    try {
      const page = feedPage(await api(`/api/feed?before=${oldest.seq}&limit=${PAGE}`, eventsPageSchema));
      set((s) => ({ events: mergeBySeq(s.events, page.events), hasMore: page.hasMore }));
    } finally {
      set({ loadingOlder: false });
    }
  },

  receive(event) {
    hearAuthors([event]);
    set((s) => {
      const { list, trimmed } = keepNewest(mergeBySeq(s.events, [event]), MAX_FEED_EVENTS);
      return { events: list, hasMore: s.hasMore || trimmed };
    });
  },

  messageChanged(roomId, seq, preview) {
    const pointers = get().events.filter((e): e is EventOf<"message.posted"> => e.type === "message.posted");
    const changed = withPreview(pointers, roomId, seq, preview);
    if (changed === pointers) return;
    const bySeq = new Map(changed.map((e) => [e.seq, e]));
    set((s) => ({ events: s.events.map((e) => bySeq.get(e.seq) ?? e) }));
  },

  reset() {
    set({ events: [], hasMore: false, status: "idle", loadingOlder: false });
  },
}));
