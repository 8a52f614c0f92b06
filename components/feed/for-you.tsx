"use client";
import { mentionUnread, useNotifications, type MentionEvent } from "@/lib/store/notifications";
import { useRooms } from "@/lib/store/rooms";
import { MessageLink } from "../room/message-link";
import { RelativeTime } from "../ui/relative-time";
import { RoomName } from "../rooms/room-name";
import { NameNow } from "../ui/name-now";
import { EmojiText } from "@/components/ui/emoji-text";

/** Enough to see what is waiting; the bell lists the rest. */
const SHOWN = 5;

/**
 * What is addressed to me — mentions and replies, newest first — above the workspace's
 * activity, the unread ones marked (read: under the bell's marker, or in a room read past it).
 */
export function ForYou() {
  const mentions = useNotifications((s) => s.mentions);
  const readSeq = useNotifications((s) => s.readSeq);
  const rooms = useRooms((s) => s.reads);
  if (mentions.length === 0) return null;
  return (
    <section aria-labelledby="for-you-heading" className="border-b border-slate-200 dark:border-slate-700 bg-slate-50/60 dark:bg-slate-800/60">
      <h3 id="for-you-heading" className="px-4 pt-3 text-xs font-semibold tracking-wide text-slate-500 dark:text-slate-400 uppercase">
        For you
      </h3>
      <ol aria-label="For you" className="divide-y divide-slate-100 dark:divide-slate-800">
        {mentions
          .slice(-SHOWN)
          .toReversed()
          .map((m) => (
            <ForYouItem key={m.seq} event={m} unread={mentionUnread(m, readSeq, rooms)} />
          ))}
      </ol>
    </section>
  );
}

function ForYouItem({ event, unread }: { event: MentionEvent; unread: boolean }) {
  const did = event.type === "reply" ? "replied to you" : "mentioned you";
  return (
    <li className="flex gap-2 px-4 py-2.5 text-sm">
      <span aria-hidden className={`mt-1.5 size-2 shrink-0 rounded-full ${unread ? "bg-indigo-600" : "bg-transparent"}`} />
      <div className="min-w-0 flex-1">
        <p className={`wrap-anywhere ${unread ? "text-slate-900 dark:text-slate-100" : "text-slate-600 dark:text-slate-300"}`}>
          {unread && <span className="sr-only">Unread: </span>}
          <strong className="font-semibold">
            <NameNow person={event.actor} />
          </strong>{" "}
          {did} in <RoomName id={event.data.roomId} />
        </p>
        <MessageLink
          roomId={event.data.roomId}
          seq={event.data.seq}
          className="line-clamp-2 wrap-anywhere text-slate-600 dark:text-slate-300 hover:text-indigo-700 dark:hover:text-indigo-300 hover:underline"
        >
          {event.data.preview ? <EmojiText text={event.data.preview} /> : <em>Message deleted</em>}
        </MessageLink>
        <RelativeTime at={event.at} />
      </div>
    </li>
  );
}
