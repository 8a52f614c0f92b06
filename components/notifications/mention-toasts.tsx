"use client";
import { useNotifications } from "@/lib/store/notifications";
import { useRooms } from "@/lib/store/rooms";
import { MessageLink } from "../room/message-link";
import { CloseIcon } from "../ui/icons";
import { RoomName } from "../rooms/room-name";
import { NameNow } from "../ui/name-now";
import { EmojiText } from "@/components/ui/emoji-text";

/**
 * "Ada mentioned you in #general", for a few seconds, top right under the room's header (whose
 * buttons stay in reach): at the bottom it would cover the composer's Send button just when the
 * reader may want to answer.
 */
export function MentionToasts() {
  // A mention read meanwhile (its room read past it, here or elsewhere) is not news any more.
  const rooms = useRooms((s) => s.reads);
  const toasts = useNotifications((s) => s.toasts).filter(({ mention }) => (rooms[mention.data.roomId]?.readSeq ?? 0) < mention.data.seq);
  const dismiss = useNotifications((s) => s.dismissToast);
  return (
    <div aria-live="polite" className="pointer-events-none fixed top-28 right-3 left-3 z-40 flex flex-col items-end gap-2 sm:left-auto">
      {toasts.map(({ id, mention }) => (
        <div
          key={id}
          className="pointer-events-auto flex w-full max-w-sm items-start gap-3 rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-3 shadow-lg"
        >
          <MessageLink roomId={mention.data.roomId} seq={mention.data.seq} onClick={() => dismiss(id)} className="min-w-0 flex-1">
            <p className="text-sm font-medium">
              <NameNow person={mention.actor} /> {mention.type === "reply" ? "replied to you" : "mentioned you"} in <RoomName id={mention.data.roomId} />
            </p>
            <p className="mt-0.5 line-clamp-2 text-sm wrap-anywhere text-slate-600 dark:text-slate-300">{mention.data.preview ? <EmojiText text={mention.data.preview} /> : <em>Message deleted</em>}</p>
          </MessageLink>
          <button
            type="button"
            onClick={() => dismiss(id)}
            aria-label="Dismiss"
            className="rounded p-1 text-slate-400 hover:bg-slate-100 dark:hover:bg-slate-800 hover:text-slate-600 dark:hover:text-slate-300"
          >
            <CloseIcon />
          </button>
        </div>
      ))}
    </div>
  );
}
