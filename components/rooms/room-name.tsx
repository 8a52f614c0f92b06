"use client";
import type { RoomInfo } from "@/lib/protocol";
import { colorFor } from "@/lib/colors";
import { useNameNow } from "@/lib/store/people";
import { useRoomLabel } from "@/lib/store/rooms";
import { Avatar } from "../ui/avatar";
import { LockIcon } from "../ui/icons";

/**
 * "#Mobile_Team": a room's name as its creator wrote it, wherever a room is named by its id
 * (the lower-cased name); the id until some answer has named the room. A private room or a
 * direct message, named after the other person ("Lin", as they go by now), has no `#`, as in
 * the sidebar.
 */
export function RoomName({ id }: { id: string }) {
  return <>{useRoomLabel(id)}</>;
}

/**
 * A room as the lists show it: "#name"; a lock and the bare name for a private room; the other
 * person's avatar and name for a direct message. `className` sizes it in its row.
 */
export function ListedRoomName({ room, className = "" }: { room: Pick<RoomInfo, "name" | "private" | "with">; className?: string }) {
  if (!room.private) return <span className={`min-w-0 truncate ${className}`}>#{room.name}</span>;
  return (
    <span className={`flex min-w-0 items-center gap-1.5 ${className}`}>
      {room.with ? <ListedPerson person={room.with} /> : <LockIcon className="size-3.5 shrink-0" />}
      {!room.with && <bdi className="truncate">{room.name}</bdi>}
    </span>
  );
}

/** A direct message's other person in a list: their avatar and the name they go by now. */
function ListedPerson({ person }: { person: { id: string; name: string } }) {
  const name = useNameNow(person);
  return (
    <>
      <Avatar name={name} color={colorFor(person.id)} size="xs" />
      <bdi className="truncate">{name}</bdi>
    </>
  );
}
