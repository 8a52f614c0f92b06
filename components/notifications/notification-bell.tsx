"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { useNotifications, useUnreadMentions } from "@/lib/store/notifications";
import { MessageLink } from "../room/message-link";
import { BellIcon } from "../ui/icons";
import { useDismiss } from "../ui/use-dismiss";
import { RelativeTime } from "../ui/relative-time";
import { RoomName } from "../rooms/room-name";
import { NameNow } from "../ui/name-now";
import { EmojiText } from "@/components/ui/emoji-text";

/** The bell with its unread badge; opening it lists the mentions and marks them read. */
export function NotificationBell() {
  const unread = useUnreadMentions();
  const mentions = useNotifications((s) => s.mentions);
  const [open, setOpen] = useState(false);
  // What was unread when the list opened stays highlighted while it is open.
  const [readSeqAtOpen, setReadSeqAtOpen] = useState(0);
  const root = useRef<HTMLDivElement>(null);
  const close = useCallback(() => setOpen(false), []);

  useDismiss(root, open, close);

  // New mentions that arrive while the list is open are read as they are seen.
  useEffect(() => {
    if (open && unread > 0) void useNotifications.getState().markAllRead().catch(() => undefined);
  }, [open, unread]);

  const toggle = () => {
    if (!open) setReadSeqAtOpen(useNotifications.getState().readSeq);
    setOpen(!open);
  };

  return (
    <div ref={root} className="relative">
      <button
        type="button"
        onClick={toggle}
        aria-label={unread > 0 ? `Notifications, ${unread} unread` : "Notifications"}
        aria-expanded={open}
        aria-controls="notifications-panel"
        className="relative inline-flex size-9 items-center justify-center rounded-full text-slate-600 dark:text-slate-300 hover:bg-slate-100 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
      >
        <BellIcon />
        {unread > 0 && (
          <span
            aria-hidden
            className="absolute top-0.5 right-0.5 inline-flex h-4 min-w-4 items-center justify-center rounded-full bg-rose-600 px-1 text-[10px] leading-none font-semibold text-white"
          >
            {unread > 99 ? "99+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          id="notifications-panel"
          role="region"
          aria-label="Mentions"
          className="fixed inset-x-2 top-14 z-30 max-h-[70dvh] overflow-y-auto rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 shadow-lg sm:absolute sm:inset-x-auto sm:top-full sm:right-0 sm:mt-2 sm:w-80"
        >
          <h2 className="border-b border-slate-100 dark:border-slate-800 px-4 py-2.5 text-sm font-semibold">Mentions</h2>
          {mentions.length === 0 ? (
            <p className="px-4 py-6 text-center text-sm text-slate-500 dark:text-slate-400">Nobody has mentioned you yet. When someone writes @yourname, it shows up here.</p>
          ) : (
            <ul className="divide-y divide-slate-100 dark:divide-slate-800">
              {[...mentions].reverse().map((m) => (
                <li key={m.seq} className={m.seq > readSeqAtOpen ? "bg-indigo-50/60 dark:bg-indigo-950/60" : undefined}>
                  <MessageLink roomId={m.data.roomId} seq={m.data.seq} onClick={() => setOpen(false)} className="block px-4 py-2.5 hover:bg-slate-50 dark:hover:bg-slate-800">
                    <span className="flex items-baseline justify-between gap-2">
                      <span className="truncate text-sm">
                        <strong className="font-semibold">
                          <NameNow person={m.actor} />
                        </strong> {m.type === "reply" ? "replied to you" : "mentioned you"} in <strong className="font-semibold"><RoomName id={m.data.roomId} /></strong>
                      </span>
                      <RelativeTime at={m.at} />
                    </span>
                    <span className="mt-0.5 line-clamp-2 text-sm wrap-anywhere text-slate-600 dark:text-slate-300">{m.data.preview ? <EmojiText text={m.data.preview} /> : <em>Message deleted</em>}</span>
                  </MessageLink>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
