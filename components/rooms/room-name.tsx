"use client";
import { roomLabel, useRooms } from "@/lib/store/rooms";

/**
 * "#Mobile_Team": a room's name as its creator wrote it, wherever a room is named by its id
 * (the lower-cased name); the id until some answer has named the room. A private room or a
 * direct message has no `#` ("Ada, Lin"), as in the sidebar.
 */
export function RoomName({ id }: { id: string }) {
  const label = useRooms((s) => roomLabel(s, id));
  return <>{label}</>;
}
