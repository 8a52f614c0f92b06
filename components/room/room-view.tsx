"use client";
import Link from "next/link";
import { useEffect } from "react";
import { useRoom } from "@/lib/store/room";
import { useRooms } from "@/lib/store/rooms";
import { useSession } from "@/lib/store/session";
import type { User } from "@/lib/protocol";
import { SharedCanvas } from "../canvas/shared-canvas";
import { Inspector } from "../inspector/inspector";
import { ChevronLeftIcon, LockIcon } from "../ui/icons";
import { MembersButton } from "./members-panel";
import { ChatPanel } from "./chat-panel";
import { PresenceAvatars } from "./presence-avatars";
import { useRoomConnection } from "./use-room-connection";
import { RoomName } from "../rooms/room-name";

/** A room: its shared canvas and its chat, side by side (stacked on small screens). */
export function RoomView({ roomId, focusSeq = null }: { roomId: string; focusSeq?: number | null }) {
  const me = useSession((s) => s.user);
  // The shell renders pages only once someone is signed in.
  // Keyed: another room is a fresh mount (scroll position, counters, canvas), not an update.
  return me && <Room key={roomId} roomId={roomId} me={me} focusSeq={focusSeq} />;
}

function Room({ roomId, me, focusSeq }: { roomId: string; me: User; focusSeq: number | null }) {
  useRoomConnection(roomId, me);
  // A link to one message: the list brings it into view (see MessageList).
  useEffect(() => {
    useRoom.getState().focus(focusSeq);
  }, [roomId, focusSeq]);
  const missing = useRoom((s) => s.roomId === roomId && s.status === "missing");
  // Only a member ever has a private room listed: the lists say which rooms are private.
  const isPrivate = useRooms((s) => [...s.sidebar, ...s.rooms].some((r) => r.id === roomId && r.private === true));

  if (missing) {
    return (
      <div className="flex h-full flex-col items-center justify-center gap-3 p-6 text-center">
        <h1 className="text-lg font-semibold">There is no room #{roomId}</h1>
        <Link href="/" className="text-sm font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
          See all rooms
        </Link>
      </div>
    );
  }

  return (
    <div className="relative flex h-full flex-col">
      <div className="flex h-12 shrink-0 items-center gap-2 border-b border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 px-3 sm:px-4">
        <Link href="/" aria-label="All rooms" className="-ml-1 rounded p-1 text-slate-500 dark:text-slate-400 hover:bg-slate-100 dark:hover:bg-slate-800 hover:text-slate-700 dark:hover:text-slate-300">
          <ChevronLeftIcon className="size-5" />
        </Link>
        <h1 className="flex min-w-0 items-center gap-1.5 truncate font-semibold">
          {isPrivate && <LockIcon className="size-4 shrink-0" />}
          {isPrivate && <span className="sr-only">Private room</span>}
          <RoomName id={roomId} />
        </h1>
        <div className="ml-auto flex items-center gap-2 sm:gap-3">
          <PresenceAvatars />
          {isPrivate && <MembersButton roomId={roomId} me={me} />}
          <Inspector roomId={roomId} />
        </div>
      </div>
      <div className="flex min-h-0 flex-1 flex-col lg:flex-row">
        <div className="h-44 shrink-0 border-b border-slate-200 dark:border-slate-700 sm:h-64 lg:h-auto lg:flex-1 lg:border-b-0">
          <SharedCanvas roomId={roomId} me={me} />
        </div>
        <div className="min-h-0 flex-1 lg:w-96 lg:flex-none lg:border-l lg:border-slate-200 dark:lg:border-slate-700">
          <ChatPanel roomId={roomId} me={me} />
        </div>
      </div>
    </div>
  );
}
