// The workspace's rooms: listed over HTTP a page at a time (searched on the server), created by
// anyone, announced to others by the feed.
import { create } from "zustand";
import { roomAnswerSchema, roomsAnswerSchema, type RoomInfo } from "../protocol";
import { api, ApiError } from "./http";

interface RoomsState {
  /** The pages loaded so far, merged by id: `general` and the person's rooms first, then A–Z. */
  rooms: RoomInfo[];
  /** What the list is filtered by (a part of a room's name); "" for every room. */
  query: string;
  /** The `after` of the next page; null when the list is complete. */
  next: string | null;
  status: "idle" | "loading" | "ready" | "error";
  loadingMore: boolean;
  /** Loads the first page for `query` (default: the current one). */
  load(query?: string): Promise<void>;
  /** Appends the next page. */
  loadMore(): Promise<void>;
  /** Resolves with the new room, or an error message for the form (409 taken, 429, 400 bad name). */
  create(name: string): Promise<{ room: RoomInfo } | { error: string }>;
  /** A `room.created` from the feed: someone else's new room. */
  announce(room: Pick<RoomInfo, "id" | "name" | "createdAt">): void;
  /** A `message.posted` from the feed: the room's head moved. */
  advance(roomId: string, head: number): void;
}

/** Each load is numbered: an answer to an older one (a query typed over) is dropped. */
let latest = 0;

const pageUrl = (query: string, after: string | null) => {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  if (after) params.set("after", after);
  const text = params.toString();
  return text ? `/api/rooms?${text}` : "/api/rooms";
};

function merge(rooms: RoomInfo[], more: RoomInfo[]): RoomInfo[] {
  const seen = new Set(rooms.map((r) => r.id));
  return [...rooms, ...more.filter((r) => !seen.has(r.id))];
}

export const useRooms = create<RoomsState>()((set, get) => ({
  rooms: [],
  query: "",
  next: null,
  status: "idle",
  loadingMore: false,

  async load(query = get().query) {
    const ticket = ++latest;
    const sameQuery = query === get().query;
    set((s) => ({ query, status: s.status === "idle" || !sameQuery ? "loading" : s.status }));
    try {
      const answer = await api(pageUrl(query, null), roomsAnswerSchema);
      if (ticket !== latest) return;
      set({ rooms: merge([], answer.rooms), next: answer.next ?? null, status: "ready", loadingMore: false });
    } catch {
      if (ticket !== latest) return;
      set((s) => ({ status: s.status === "ready" && sameQuery ? "ready" : "error" }));
    }
  },

  async loadMore() {
    const { next, query, loadingMore } = get();
    if (!next || loadingMore) return;
    const ticket = latest;
    set({ loadingMore: true });
    try {
      const answer = await api(pageUrl(query, next), roomsAnswerSchema);
      if (ticket !== latest) return;
      set((s) => ({ rooms: merge(s.rooms, answer.rooms), next: answer.next ?? null, loadingMore: false }));
    } catch {
      if (ticket === latest) set({ loadingMore: false });
    }
  },

  async create(name) {
    try {
      const { room } = await api("/api/rooms", roomAnswerSchema, { method: "POST", body: { name } });
      get().announce(room);
      return { room };
    } catch (err) {
      return { error: err instanceof ApiError ? err.message : "Could not create the room" };
    }
  },

  announce(room) {
    set((s) => {
      // Only into a complete list it belongs to: past the loaded pages it turns up in its own.
      const fits = s.next === null && room.id.includes(s.query.toLowerCase());
      return !fits || s.rooms.some((r) => r.id === room.id) ? s : { rooms: [...s.rooms, { head: 0, ...room }] };
    });
  },

  advance(roomId, head) {
    set((s) => ({ rooms: s.rooms.map((r) => (r.id === roomId && r.head < head ? { ...r, head } : r)) }));
  },
}));
