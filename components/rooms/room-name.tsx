"use client";
import { useRooms } from "@/lib/store/rooms";

/**
 * "#Mobile_Team": a room's name as its creator wrote it, wherever a room is named by its id
 * (the lower-cased name); the id until some answer has named the room.
 */
export function RoomName({ id }: { id: string }) {
  const name = useRooms((s) => s.names[id] ?? id);
  return <>#{name}</>;
}
