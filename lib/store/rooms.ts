// The workspace's rooms: listed over HTTP, created by anyone, announced to others by the feed.
import { create } from "zustand";
import { roomAnswerSchema, roomsAnswerSchema, type RoomInfo } from "../protocol";
import { api, ApiError } from "./http";

interface RoomsState {
  rooms: RoomInfo[];
  status: "idle" | "loading" | "ready" | "error";
  load(): Promise<void>;
  /** Resolves with the new room, or an error message for the form (409 taken, 400 bad name). */
  create(name: string): Promise<{ room: RoomInfo } | { error: string }>;
  /** A `room.created` from the feed: someone else's new room. */
  announce(room: Pick<RoomInfo, "id" | "name" | "createdAt">): void;
  /** A `message.posted` from the feed: the room's head moved. */
  advance(roomId: string, head: number): void;
}

export const useRooms = create<RoomsState>()((set, get) => ({
  rooms: [],
  status: "idle",

  async load() {
    if (get().status === "idle") set({ status: "loading" });
    try {
      const { rooms } = await api("/api/rooms", roomsAnswerSchema);
      set({ rooms, status: "ready" });
    } catch {
      set((s) => ({ status: s.status === "ready" ? "ready" : "error" }));
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
    set((s) => (s.rooms.some((r) => r.id === room.id) ? s : { rooms: [...s.rooms, { head: 0, ...room }] }));
  },

  advance(roomId, head) {
    set((s) => ({ rooms: s.rooms.map((r) => (r.id === roomId && r.head < head ? { ...r, head } : r)) }));
  },
}));
