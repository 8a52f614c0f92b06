"use client";
import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { MAX_MESSAGES, useRoom, type MessageEvent } from "@/lib/store/room";
import type { User } from "@/lib/protocol";
import type { OutboxEntry } from "@/lib/realtime/types";
import { useNow } from "@/lib/store/clock";
import { dayLabel, sameDay } from "../format";
import { ArrowDownIcon, CloseIcon } from "../ui/icons";
import { MessageItem, messageElementId, PendingMessage } from "./message-item";
import { RoomName } from "../rooms/room-name";

/** Within this distance of the bottom the reader counts as following the conversation. */
const PINNED_SLACK_PX = 48;
/** Within this distance of the top the next older page is fetched. */
const LOAD_OLDER_MARGIN_PX = 400;
/** Consecutive messages by one person within this window share one header. */
const GROUP_MS = 5 * 60_000;

/**
 * The conversation. It stays pinned to the bottom as messages arrive unless the reader has
 * scrolled up; then it counts them in an "N new messages" pill. Scrolling near the top loads
 * older pages, keeping the messages in view where they are. A "New messages" divider goes above
 * the first message by others after `newAfter` (the read position the room opened with);
 * `onBottom` hears the reader reach or leave the bottom (the newest messages are in view).
 */
export function MessageList({
  roomId,
  me,
  newAfter = null,
  onBottom,
}: {
  roomId: string;
  me: User;
  newAfter?: number | null;
  onBottom?: (atBottom: boolean) => void;
}) {
  const messages = useRoom((s) => s.messages);
  const epoch = useRoom((s) => s.epoch);
  const outbox = useRoom((s) => s.outbox);
  const status = useRoom((s) => s.status);
  const hasMore = useRoom((s) => s.hasMore);
  const loadingOlder = useRoom((s) => s.loadingOlder);
  const olderFailed = useRoom((s) => s.olderFailed);
  const atLimit = useRoom((s) => s.atLimit);
  const focusSeq = useRoom((s) => s.focusSeq);
  const members = useRoom((s) => s.members);
  const changes = useRoom((s) => s.changes);
  // My edits, deletes and reactions not yet taken, by the message they change.
  const changesBySeq = useMemo(() => {
    const bySeq = new Map<number, OutboxEntry[]>();
    for (const entry of changes) {
      if (entry.frame && "seq" in entry.frame) bySeq.set(entry.frame.seq, [...(bySeq.get(entry.frame.seq) ?? []), entry]);
    }
    return bySeq;
  }, [changes]);

  // Names this page knows (yours, the people here, the authors above), so a mention of a name
  // with spaces shows whole. The set changes only when a new name appears, not per message.
  const namesKey = useMemo(
    () => [...new Set([me, ...members, ...messages.map((m) => m.actor)].map((u) => u.name.toLowerCase()))].sort().join("\n"),
    [me, members, messages],
  );
  const knownNames = useMemo(() => new Set(namesKey.split("\n")), [namesKey]);

  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const rendered = useRef({ epoch: 0, oldest: 0, newest: 0, outbox: 0, height: 0 });
  const [unseen, setUnseen] = useState(0);

  const days = useMemo(() => splitByDay(messages), [messages]);

  const oldest = messages[0]?.seq ?? 0;
  const newest = messages[messages.length - 1]?.seq ?? 0;
  const firstNew = useMemo(
    () => (newAfter === null ? undefined : messages.find((m) => m.seq > newAfter && m.actor.id !== me.id)?.seq),
    [messages, newAfter, me.id],
  );

  const scrollToBottom = useCallback(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, []);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const before = rendered.current;
    // I just sent something: follow it down.
    if (outbox.length > before.outbox) pinned.current = true;
    if (epoch !== before.epoch) {
      // A fresh load replaced the list (after a reset, say): it is the room as it is now, and
      // whatever was counted before refers to a list that is gone. Nothing on it is news.
      setUnseen(0);
      if (pinned.current) scrollToBottom();
    } else if (pinned.current) {
      scrollToBottom();
    } else {
      // An older page went in above: keep what the reader is looking at in place.
      if (before.oldest > 0 && oldest < before.oldest) el.scrollTop += el.scrollHeight - before.height;
      if (before.newest > 0 && newest > before.newest) {
        const arrived = messages.filter((m) => m.seq > before.newest && m.actor.id !== me.id).length;
        if (arrived > 0) setUnseen((n) => n + arrived);
      }
    }
    rendered.current = { epoch, oldest, newest, outbox: outbox.length, height: el.scrollHeight };
  }, [messages, epoch, outbox, oldest, newest, me.id, scrollToBottom]);

  // Near the top with more to show (or a page too short to scroll): fetch the next older page.
  useEffect(() => {
    const el = scroller.current;
    if (el && status === "ready" && hasMore && !loadingOlder && !olderFailed && el.scrollTop < LOAD_OLDER_MARGIN_PX) {
      void useRoom.getState().loadOlder();
    }
  }, [status, hasMore, loadingOlder, olderFailed, messages]);

  // A link pointed at one message: load back to it if it is older than what is shown, then
  // bring it into view (once per link; the reader scrolls freely after that). Everything from
  // before it is loaded and it is not there: it was deleted for real (or never was), and the
  // reader is told rather than left wondering why nothing happened.
  const shownFocus = useRef<number | null>(null);
  const [unreachable, setUnreachable] = useState<{ seq: number; why: "gone" | "too-old" } | null>(null);
  useEffect(() => {
    const el = scroller.current;
    if (!el || focusSeq === null || status !== "ready" || shownFocus.current === focusSeq) return;
    const target = el.querySelector(`#${messageElementId(focusSeq)}`);
    if (target) {
      pinned.current = false;
      target.scrollIntoView({ block: "center" });
      shownFocus.current = focusSeq;
      setUnreachable(null);
      return;
    }
    const oldestShown = messages[0]?.seq;
    if (oldestShown !== undefined && oldestShown > focusSeq && hasMore && !atLimit) {
      if (loadingOlder || olderFailed) return;
      // Keep the view still while pages go in above; the jump comes once it is there.
      pinned.current = false;
      void useRoom.getState().loadOlder(focusSeq);
      return;
    }
    shownFocus.current = focusSeq;
    setUnreachable({ seq: focusSeq, why: oldestShown !== undefined && oldestShown > focusSeq && atLimit ? "too-old" : "gone" });
  }, [focusSeq, status, messages, hasMore, loadingOlder, olderFailed, atLimit]);

  // The box changed size (window, keyboard, composer growing): a pinned reader stays at the bottom.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      if (pinned.current) scrollToBottom();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [scrollToBottom]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight <= PINNED_SLACK_PX;
    onBottom?.(pinned.current);
    if (pinned.current) setUnseen(0);
    const { hasMore, loadingOlder, olderFailed } = useRoom.getState();
    if (hasMore && !loadingOlder && !olderFailed && el.scrollTop < LOAD_OLDER_MARGIN_PX) void useRoom.getState().loadOlder();
  };

  const jumpToNewest = () => {
    pinned.current = true;
    scrollToBottom();
    setUnseen(0);
  };

  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label="Conversation"
        aria-busy={status === "loading"}
        tabIndex={0}
        className="flex h-full flex-col overflow-y-auto pb-2 [overflow-anchor:none] focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
      >
        <div className="mt-auto" />
        {status === "loading" && <p className="p-4 text-center text-sm text-slate-500 dark:text-slate-400">Loading messages…</p>}
        {status === "error" && (
          <p role="alert" className="p-4 text-center text-sm text-rose-700 dark:text-rose-300">
            Could not load this room’s earlier messages.{" "}
            <button type="button" onClick={() => useRoom.getState().retryHistory()} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
              Try again
            </button>
          </p>
        )}
        {status === "ready" && (
          <p className="px-4 py-3 text-center text-xs text-slate-500 dark:text-slate-400">
            {loadingOlder ? (
              "Loading older messages…"
            ) : olderFailed ? (
              <button type="button" onClick={() => void useRoom.getState().loadOlder()} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
                Could not load older messages — try again
              </button>
            ) : hasMore ? (
              atLimit ? `Only the latest ${MAX_MESSAGES.toLocaleString("en")} messages are shown here.` : "\u00a0"
            ) : (
              <>This is the beginning of <RoomName id={roomId} />.</>
            )}
          </p>
        )}
        {days.map((day) => (
          <section key={day.key}>
            <DayHeading at={messages[day.first]!.at} />
            <ol>
              {messages.slice(day.first, day.end).map((m, i) => (
                <Fragment key={m.seq}>
                  {m.seq === firstNew && <NewMessagesDivider />}
                  <MessageItem
                    message={m}
                    me={me}
                    continues={m.seq !== firstNew && continuesGroup(messages[day.first + i - 1], m)}
                    knownNames={knownNames}
                    focused={m.seq === focusSeq}
                    changes={changesBySeq.get(m.seq)}
                  />
                </Fragment>
              ))}
            </ol>
          </section>
        ))}
        <ol>
          {outbox.map((entry) => (
            <PendingMessage key={entry.clientId} entry={entry} me={me} knownNames={knownNames} />
          ))}
        </ol>
      </div>
      {/* Always there, so what appears in it is announced. */}
      <div aria-live="polite" className="pointer-events-none absolute inset-x-3 top-2">
        {unreachable && unreachable.seq === focusSeq && (
          <p className="pointer-events-auto flex items-center gap-2 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 shadow-sm">
            <span className="min-w-0 flex-1">
              {unreachable.why === "gone" ? "That message no longer exists." : "That message is too far back to show here."}
            </span>
            <button
              type="button"
              onClick={() => setUnreachable(null)}
              aria-label="Dismiss"
              className="inline-flex size-6 shrink-0 items-center justify-center rounded-full hover:bg-amber-100 focus-visible:outline-2 focus-visible:outline-indigo-500"
            >
              <CloseIcon className="size-3.5" />
            </button>
          </p>
        )}
      </div>
      {unseen > 0 && (
        <button
          type="button"
          onClick={jumpToNewest}
          className="absolute bottom-3 left-1/2 inline-flex -translate-x-1/2 items-center gap-1 rounded-full bg-indigo-600 px-3 py-1.5 text-xs font-medium whitespace-nowrap text-white shadow-md hover:bg-indigo-700"
        >
          <ArrowDownIcon className="size-3.5" />
          {unseen === 1 ? "1 new message" : `${unseen} new messages`}
        </button>
      )}
    </div>
  );
}

/** An item of the list like the messages around it (a list holds only items), holding the separator. */
function NewMessagesDivider() {
  return (
    <li>
      <div role="separator" aria-label="New messages" className="flex items-center gap-2 px-4 py-1 text-xs font-semibold text-rose-700 dark:text-rose-300">
        <span aria-hidden className="h-px flex-1 bg-rose-300 dark:bg-rose-800" />
        New messages
        <span aria-hidden className="h-px flex-1 bg-rose-300 dark:bg-rose-800" />
      </div>
    </li>
  );
}

function continuesGroup(prev: MessageEvent | undefined, m: MessageEvent): boolean {
  // A reply starts a group of its own: its quote reads as a new turn.
  return !!prev && !m.data.replyTo && prev.actor.id === m.actor.id && Date.parse(m.at) - Date.parse(prev.at) < GROUP_MS && sameDay(prev.at, m.at);
}

/**
 * The messages' local days, as index ranges [first, end) into `messages`, keyed by the date so
 * a day keeps its elements while older pages go in above it.
 */
function splitByDay(messages: MessageEvent[]): Array<{ key: string; first: number; end: number }> {
  const days: Array<{ key: string; first: number; end: number }> = [];
  messages.forEach((m, i) => {
    const prev = messages[i - 1];
    if (!prev || !sameDay(prev.at, m.at)) days.push({ key: new Date(m.at).toDateString(), first: i, end: i + 1 });
    else days[days.length - 1]!.end = i + 1;
  });
  return days;
}

/** "Today", "Yesterday" or the date, over each day's messages; it stays in view while that day scrolls by. */
function DayHeading({ at }: { at: string }) {
  const now = useNow();
  return (
    <h2 className="sticky top-0 z-10 flex items-center gap-3 bg-white/95 dark:bg-slate-900/95 px-4 py-1.5 text-xs font-semibold text-slate-600 dark:text-slate-300 before:h-px before:flex-1 before:bg-slate-200 dark:before:bg-slate-700 after:h-px after:flex-1 after:bg-slate-200 dark:after:bg-slate-700">
      {dayLabel(at, now)}
    </h2>
  );
}
