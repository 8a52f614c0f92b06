"use client";
import Link from "next/link";
import { useEffect, useState } from "react";
import { isMessageEvent, useRoom } from "@/lib/store/room";
import { useRooms } from "@/lib/store/rooms";
import { useSession } from "@/lib/store/session";
import type { User } from "@/lib/protocol";
import { SharedCanvas } from "../canvas/shared-canvas";
import { Inspector } from "../inspector/inspector";
import { ChevronLeftIcon, LockIcon } from "../ui/icons";
import { MembersButton } from "./members-panel";
import { MuteButton } from "./mute-button";
import { ChatPanel } from "./chat-panel";
import { PresenceAvatars } from "./presence-avatars";
import { useRoomConnection } from "./use-room-connection";
import { RoomName } from "../rooms/room-name";

/** A room: its shared canvas and its chat, side by side (stacked on small screens). */
export function RoomView({ roomId, focusSeq = null }: { roomId: string; focusSeq?: number | null }) {
  const me = useSession((s) => s.user);
  // Added back to a private room this page shows as gone: open it afresh.
  const regained = useRooms((s) => s.regained[roomId] ?? 0);
  // The shell renders pages only once someone is signed in.
  // Keyed: another room is a fresh mount (scroll position, counters, canvas), not an update.
  return me && <Room key={`${roomId}:${regained}`} roomId={roomId} me={me} focusSeq={focusSeq} />;
}

function Room({ roomId, me, focusSeq }: { roomId: string; me: User; focusSeq: number | null }) {
  useRoomConnection(roomId, me);
  // A link to one message: the list brings it into view (see MessageList).
  useEffect(() => {
    useRoom.getState().focus(focusSeq);
  }, [roomId, focusSeq]);
  const missing = useRoom((s) => s.roomId === roomId && s.status === "missing");
  const removed = useRoom((s) => s.removed);
  // Only a member ever has a private room listed: the lists say which rooms are private.
  const isPrivate = useRooms((s) => [...s.sidebar, ...s.rooms].some((r) => r.id === roomId && r.private === true));
  // On a phone the canvas and the chat take turns on the screen (side by side or stacked, each
  // would get a strip too small to use); from `sm` up both are always there.
  const [pane, setPane] = useState<"chat" | "canvas">("chat");
  const narrow = useNarrow();
  // While the canvas has the screen, what others write shows on the Chat button as a count.
  const [canvasFrom, setCanvasFrom] = useState(0);
  const unseen = useRoom((s) => (pane === "canvas" ? s.messages.filter((m) => m.seq > canvasFrom && isMessageEvent(m) && m.actor.id !== me.id).length : 0));
  const show = (p: "chat" | "canvas") => {
    if (p === "canvas" && pane !== "canvas") setCanvasFrom(useRoom.getState().messages.reduce((top, m) => Math.max(top, m.seq), 0));
    setPane(p);
  };

  if (missing) {
    return (
      <div className="flex h-full flex-col items-center justify-center gap-3 p-6 text-center">
        {removed ? (
          <>
            <h1 className="text-lg font-semibold">You are no longer in this room</h1>
            <p className="max-w-sm text-sm text-slate-600 dark:text-slate-300">You were removed from it, or you left it on another device. Someone in it can add you back.</p>
          </>
        ) : (
          <h1 className="text-lg font-semibold">There is no room #{roomId}</h1>
        )}
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
          <MuteButton roomId={roomId} />
          <Inspector roomId={roomId} />
        </div>
      </div>
      <div role="group" aria-label="Show" className="flex shrink-0 gap-1 border-b border-slate-200 bg-white p-1 sm:hidden dark:border-slate-700 dark:bg-slate-900">
        {(["chat", "canvas"] as const).map((p) => (
          <button
            key={p}
            type="button"
            aria-pressed={pane === p}
            aria-label={p === "chat" && unseen > 0 ? `Chat, ${unseen === 1 ? "1 new message" : `${unseen} new messages`}` : undefined}
            onClick={() => show(p)}
            className="flex flex-1 items-center justify-center gap-1.5 rounded-md py-1 text-sm font-medium text-slate-600 aria-pressed:bg-slate-100 aria-pressed:text-slate-900 dark:text-slate-300 dark:aria-pressed:bg-slate-800 dark:aria-pressed:text-slate-100"
          >
            {p === "chat" ? "Chat" : "Canvas"}
            {p === "chat" && unseen > 0 && (
              <span aria-hidden className="rounded-full bg-indigo-600 px-1.5 text-[11px] leading-5 font-semibold text-white tabular-nums">
                {unseen > 99 ? "99+" : unseen}
              </span>
            )}
          </button>
        ))}
      </div>
      <div className="flex min-h-0 flex-1 flex-col lg:flex-row">
        <div
          className={`${pane === "canvas" ? "min-h-0 flex-1" : "hidden"} border-slate-200 sm:block sm:h-64 sm:flex-none sm:shrink-0 sm:border-b lg:h-auto lg:flex-1 lg:border-b-0 dark:border-slate-700`}
        >
          <SharedCanvas roomId={roomId} me={me} />
        </div>
        <div className={`${pane === "chat" ? "" : "hidden"} min-h-0 flex-1 sm:block lg:w-96 lg:flex-none lg:border-l lg:border-slate-200 dark:lg:border-slate-700`}>
          <ChatPanel roomId={roomId} me={me} shown={!narrow || pane === "chat"} />
        </div>
      </div>
    </div>
  );
}

/** Where the canvas and the chat stop taking turns (Tailwind's `sm`). */
const PANES_SIDE_BY_SIDE = "(min-width: 40rem)";

/** Whether the window is narrower than that: a phone, where the panes take turns. */
function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(false);
  useEffect(() => {
    const query = window.matchMedia(PANES_SIDE_BY_SIDE);
    const update = () => setNarrow(!query.matches);
    update();
    query.addEventListener("change", update);
    return () => query.removeEventListener("change", update);
  }, []);
  return narrow;
}
