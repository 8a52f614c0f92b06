"use client";
import { useState } from "react";
import { useRooms } from "@/lib/store/rooms";
import { BellIcon, BellOffIcon } from "../ui/icons";

/**
 * Mutes the room for me, on every device (protocol 1.12): its messages stop counting as unread
 * and a direct message stops popping up; a mention of me still does. A toggle: pressed while muted.
 */
export function MuteButton({ roomId }: { roomId: string }) {
  const muted = useRooms((s) => s.muted[roomId] === true);
  const [error, setError] = useState<string | null>(null);
  const toggle = async () => {
    setError(null);
    setError(await useRooms.getState().mute(roomId, !muted));
  };
  return (
    <>
      {error && (
        <span role="alert" className="hidden text-xs text-rose-700 sm:inline dark:text-rose-300">
          {error}
        </span>
      )}
      <button
        type="button"
        aria-pressed={muted}
        aria-label="Mute room"
        title={muted ? "Muted: new messages here are not counted as unread" : "Mute: stop counting new messages here as unread"}
        onClick={() => void toggle()}
        className="inline-flex size-8 items-center justify-center rounded-full text-slate-500 hover:bg-slate-100 hover:text-slate-700 focus-visible:outline-2 focus-visible:outline-indigo-500 aria-pressed:text-indigo-700 dark:text-slate-400 dark:hover:bg-slate-800 dark:hover:text-slate-200 dark:aria-pressed:text-indigo-300"
      >
        {muted ? <BellOffIcon /> : <BellIcon className="size-4" />}
      </button>
    </>
  );
}
