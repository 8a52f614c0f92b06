"use client";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { isMessageEvent, useRoom, type MembershipEvent, type MessageEvent, type RoomItem } from "@/lib/store/room";
import { isDirectMessage } from "@/lib/store/rooms";
import type { User } from "@/lib/protocol";
import type { OutboxEntry } from "@/lib/realtime/types";
import { useNow } from "@/lib/store/clock";
import { dayLabel } from "../format";
import { ArrowDownIcon, CloseIcon } from "../ui/icons";
import { MembershipNotice } from "./membership-notice";
import { MessageItem, PendingMessage } from "./message-item";
import { RoomName } from "../rooms/room-name";
import { useSharedNames } from "./use-shared-names";

/** Within this distance of the bottom the reader counts as following the conversation. */
const PINNED_SLACK_PX = 48;
/** Within this distance of either end of the window the next page that way is fetched. */
const LOAD_MARGIN_PX = 600;
/** Consecutive messages by one person within this window share one header. */
const GROUP_MS = 5 * 60_000;
/** Room above the first row for the line that says what is further up (loading, the beginning). */
const TOP_LINE_PX = 40;
/** The day's pill kept over the top of the view (`StickyDayLabel`), and a little air: a row opened at goes below it. */
const DAY_PILL_PX = 36;
/** Room below the last row for the line that says newer messages are loading. */
const BOTTOM_LINE_PX = 28;
/** Rows rendered beyond each edge of the view: enough for a keyboard or a fling to land on. */
const OVERSCAN = 8;

/**
 * One row of the list: a message (with the day heading and the "New messages" divider that go
 * above it, if any), or one of my messages still in the outbox.
 */
type Row =
  | { kind: "message"; key: string; message: MessageEvent; continues: boolean; day: boolean; divider: boolean }
  | { kind: "notice"; key: string; event: MembershipEvent; day: boolean }
  | { kind: "pending"; key: string; entry: OutboxEntry };

/**
 * The conversation, virtualized: only the rows near the view are in the page, each measured as
 * it renders (markdown, reactions, replies and edits make them any height). The store holds a
 * window of the room's history; scrolling near its top or bottom pages more in from the server,
 * and the rows in view stay where they are as pages go in above or drop out. At the bottom the
 * list follows new messages; scrolled up, a "Jump to latest" button counts them instead. A
 * "New messages" divider goes above the first message by others after `newAfter` (the read
 * position the room opened with); `onBottom` hears the reader reach or leave the newest message.
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
  const live = useRoom((s) => s.live);
  const epoch = useRoom((s) => s.epoch);
  const outbox = useRoom((s) => s.outbox);
  const status = useRoom((s) => s.status);
  const hasMore = useRoom((s) => s.hasMore);
  const hasNewer = useRoom((s) => s.hasNewer);
  const loadingOlder = useRoom((s) => s.loadingOlder);
  const olderFailed = useRoom((s) => s.olderFailed);
  const loadingNewer = useRoom((s) => s.loadingNewer);
  const newerFailed = useRoom((s) => s.newerFailed);
  const focusSeq = useRoom((s) => s.focusSeq);
  const focusLoaded = useRoom((s) => s.focusLoaded);
  const focusFailed = useRoom((s) => s.focusFailed);
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
  const shared = useSharedNames();

  const firstNew = useMemo(
    () => (newAfter === null ? undefined : messages.find((m) => isMessageEvent(m) && m.seq > newAfter && m.actor.id !== me.id)?.seq),
    [messages, newAfter, me.id],
  );
  // My unsent messages follow the newest; away from the live end they would be out of place.
  const rows = useMemo(() => toRows(messages, hasNewer ? [] : outbox, firstNew), [messages, outbox, hasNewer, firstNew]);

  const scroller = useRef<HTMLDivElement>(null);
  /** The reader is at the bottom of the list (not necessarily the live end: see `hasNewer`). */
  const pinned = useRef(true);
  const [scrolledUp, setScrolledUp] = useState(false);
  const [unseen, setUnseen] = useState(0);
  /** The linked message already brought into view, so the reader scrolls freely after. */
  const [shownFocus, setShownFocus] = useState<number | null>(null);
  const focusPending = focusSeq !== null && shownFocus !== focusSeq;

  const getItemKey = useCallback((i: number) => rows[i]?.key ?? i, [rows]);
  const estimateSize = useCallback((i: number) => estimateRow(rows[i]), [rows]);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize,
    getItemKey,
    overscan: OVERSCAN,
    paddingStart: TOP_LINE_PX,
    paddingEnd: BOTTOM_LINE_PX,
    // Chat: rows going in above (older pages) or dropping out keep the row in view where it
    // is; new rows at the end are followed only by a reader already at the end, and only live
    // ones (a page read forward stays below, for the reader to scroll to).
    anchorTo: "end",
    followOnAppend: !focusPending && !hasNewer,
    scrollEndThreshold: PINNED_SLACK_PX,
  });

  const scrollToBottom = useCallback(() => {
    pinned.current = true;
    virtualizer.scrollToEnd();
  }, [virtualizer]);

  /** Reads where the reader is from the box: at its bottom (within the slack) or scrolled up. */
  const settle = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight <= PINNED_SLACK_PX;
    setScrolledUp(!pinned.current);
  }, []);

  // New messages while the reader is scrolled up are counted, not scrolled to. Only live ones
  // count: pages read forward are history, and a fresh load is the room as it is.
  const counted = useRef({ epoch: -1, seq: 0, hasNewer: false, outbox: 0 });
  useLayoutEffect(() => {
    const before = counted.current;
    const newest = Math.max(messages.at(-1)?.seq ?? 0, live.at(-1)?.seq ?? 0);
    const following = pinned.current && !hasNewer;
    if (epoch !== before.epoch) {
      setUnseen(0);
      if (!focusPending && (pinned.current || before.epoch === -1)) scrollToBottom();
    } else if (outbox.length > before.outbox) {
      // I just sent something: follow it down (from far back, to the live end first).
      if (hasNewer) {
        pinned.current = true;
        void useRoom.getState().jumpToLatest();
      } else scrollToBottom();
    } else if (newest > before.seq && !(before.hasNewer && !hasNewer)) {
      const arrived = (hasNewer ? live : messages).filter((m) => isMessageEvent(m) && m.seq > before.seq && m.actor.id !== me.id).length;
      if (arrived > 0 && !following) setUnseen((n) => n + arrived);
    }
    counted.current = { epoch, seq: Math.max(newest, before.epoch === epoch ? before.seq : 0), hasNewer, outbox: outbox.length };
  }, [messages, live, epoch, outbox, hasNewer, me.id, focusPending, scrollToBottom]);

  /** Pages in whatever the view is near: older at the top, newer at the bottom of a window away from the live end. */
  const pageNear = useCallback(() => {
    const el = scroller.current;
    const s = useRoom.getState();
    if (!el || s.status !== "ready") return;
    if (s.hasMore && !s.loadingOlder && !s.olderFailed && el.scrollTop < LOAD_MARGIN_PX) void s.loadOlder();
    const fromEnd = el.scrollHeight - el.scrollTop - el.clientHeight;
    if (s.hasNewer && !s.loadingNewer && !s.newerFailed && fromEnd < LOAD_MARGIN_PX) void s.loadNewer();
  }, []);

  // After each change (a page in, a short page that does not fill the view): more if near an end.
  useEffect(() => {
    if (!focusPending) pageNear();
  }, [status, messages, hasMore, hasNewer, loadingOlder, loadingNewer, focusPending, pageNear]);

  // Where the reader is, told to the store (which holds live messages back from a reader
  // scrolled up) and to the read position (the newest message is in view).
  const atLiveEnd = !scrolledUp && !hasNewer;
  useEffect(() => {
    useRoom.getState().setFollowing(atLiveEnd);
    onBottom?.(atLiveEnd);
    if (atLiveEnd) setUnseen(0);
  }, [atLiveEnd, onBottom]);

  // A link pointed at one message: the store reads the window around it; once loaded it is
  // scrolled to the middle of the view and highlighted. Loaded and not there: it was deleted
  // for real (or never was), and the reader is told rather than left wondering.
  const [unreachable, setUnreachable] = useState<number | null>(null);
  useEffect(() => {
    if (focusSeq === null || !focusPending || focusLoaded !== focusSeq || status !== "ready") return;
    const index = rows.findIndex((r) => r.kind === "message" && r.message.seq === focusSeq);
    setShownFocus(focusSeq);
    if (index < 0) {
      setUnreachable(focusSeq);
      return;
    }
    pinned.current = false;
    setScrolledUp(true);
    setUnreachable(null);
    virtualizer.scrollToIndex(index, { align: "center" });
    // A conversation that fits its box does not scroll, and one whose linked message is among
    // the newest scrolls to its bottom: either way the reader is at the end, and what is in view
    // is read, as if they had scrolled there (a scroll that did happen says so itself).
    // (Not cancelled with the effect: showing the focus re-runs it at once.)
    requestAnimationFrame(() => requestAnimationFrame(settle));
  }, [focusSeq, focusPending, focusLoaded, status, rows, virtualizer, settle]);

  // More new messages than the view holds: the room opens at the first of them, under its
  // divider, as a reader picks up where they left off, rather than at the newest with the rest
  // scrolled past (and counted read). Once per opening, unless a link points elsewhere: the
  // divider comes with the read position, a moment after the first page, before a reader has
  // had time to move (the list's own settling then can leave it a few pixels off the bottom,
  // so where it is says nothing).
  const openedAtNew = useRef(false);
  useEffect(() => {
    if (openedAtNew.current || firstNew === undefined || status !== "ready" || focusSeq !== null) return;
    openedAtNew.current = true;
    const el = scroller.current;
    const index = rows.findIndex((r) => r.kind === "message" && r.message.seq === firstNew);
    if (!el || index < 0) return;
    const divider = virtualizer.measurementsCache[index]?.start;
    // At the bottom the divider is in view, below the day's pill: the room opens there.
    const bottom = el.scrollHeight - el.clientHeight;
    if (divider === undefined || divider - DAY_PILL_PX >= bottom) return;
    pinned.current = false;
    setScrolledUp(true);
    virtualizer.scrollToOffset(Math.max(0, divider - DAY_PILL_PX));
  }, [firstNew, status, focusSeq, rows, virtualizer]);

  // The box changed size (window, keyboard, composer growing): a pinned reader stays at the bottom.
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      if (pinned.current) virtualizer.scrollToEnd();
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [virtualizer]);

  const onScroll = () => {
    settle();
    pageNear();
  };

  const jumpToLatest = () => {
    setUnseen(0);
    if (useRoom.getState().hasNewer) {
      // The newest page replaces the window; the epoch change scrolls to its end.
      pinned.current = true;
      setScrolledUp(false);
      void useRoom.getState().jumpToLatest();
    } else {
      scrollToBottom();
    }
  };

  const items = virtualizer.getVirtualItems();
  // The day of the row at the top of the view, kept over it while that day scrolls by (each day's
  // own heading is a row, and scrolls away with it).
  const topRow = rows[virtualizer.range?.startIndex ?? -1];
  const stickyDay = topRow && topRow.kind !== "pending" && !topRow.day ? (topRow.kind === "message" ? topRow.message.at : topRow.event.at) : null;
  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label="Conversation"
        aria-busy={status === "loading"}
        aria-keyshortcuts="ArrowUp ArrowDown"
        tabIndex={0}
        onKeyDown={moveBetweenMessages}
        className="flex h-full flex-col overflow-y-auto [overflow-anchor:none] [contain:content] focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
      >
        {stickyDay && (
          // A pill in the middle, and nothing else: what is under it on either side (the toolbar of
          // the topmost message) stays in view and takes clicks.
          <div aria-hidden className="pointer-events-none sticky top-0 z-20 h-0 overflow-visible">
            <StickyDayLabel at={stickyDay} />
          </div>
        )}
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
        <div className="relative w-full shrink-0" style={{ height: virtualizer.getTotalSize() }}>
          {status === "ready" && (
            <p className="absolute inset-x-0 top-0 px-4 py-3 text-center text-xs text-slate-500 dark:text-slate-400" style={{ height: TOP_LINE_PX }}>
              {loadingOlder ? (
                "Loading older messages…"
              ) : olderFailed ? (
                <button type="button" onClick={() => void useRoom.getState().loadOlder()} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
                  Could not load older messages — try again
                </button>
              ) : hasMore ? (
                "\u00a0"
              ) : (
                <>
                  This is the beginning of {isDirectMessage(roomId) ? "your conversation with " : ""}
                  <RoomName id={roomId} />.
                </>
              )}
            </p>
          )}
          {/* The rows in view, in the flow of one list moved down to where the first of them starts. */}
          <ol className="absolute inset-x-0 top-0" style={{ transform: `translateY(${items[0]?.start ?? 0}px)` }}>
            {items.map((item) => {
              const row = rows[item.index]!;
              return (
                <li
                  key={item.key}
                  ref={virtualizer.measureElement}
                  data-index={item.index}
                  aria-current={row.kind === "message" && row.message.seq === focusSeq ? "true" : undefined}
                  className="flow-root"
                >
                  {row.kind === "message" ? (
                    <MessageRow row={row} me={me} knownNames={knownNames} shared={shared} focused={row.message.seq === focusSeq} changes={changesBySeq.get(row.message.seq)} />
                  ) : row.kind === "notice" ? (
                    <>
                      {row.day && <DayHeading at={row.event.at} />}
                      <MembershipNotice event={row.event} meId={me.id} />
                    </>
                  ) : (
                    <PendingMessage entry={row.entry} me={me} knownNames={knownNames} shared={shared} />
                  )}
                </li>
              );
            })}
          </ol>
          {hasNewer && (
            <p className="absolute inset-x-0 bottom-0 px-4 py-1.5 text-center text-xs text-slate-500 dark:text-slate-400" style={{ height: BOTTOM_LINE_PX }}>
              {newerFailed ? (
                <button type="button" onClick={() => void useRoom.getState().loadNewer()} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
                  Could not load newer messages — try again
                </button>
              ) : (
                "Loading newer messages…"
              )}
            </p>
          )}
        </div>
      </div>
      {/* Always there, so what appears in it is announced. */}
      <div aria-live="polite" className="pointer-events-none absolute inset-x-3 top-2">
        {focusFailed && focusSeq !== null && (
          <p className="pointer-events-auto flex items-center gap-2 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 shadow-sm">
            <span className="min-w-0 flex-1">Could not load the linked message.</span>
            <button
              type="button"
              onClick={() => useRoom.getState().focus(focusSeq)}
              className="shrink-0 font-medium text-indigo-700 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500"
            >
              Try again
            </button>
          </p>
        )}
        {unreachable !== null && unreachable === focusSeq && (
          <p className="pointer-events-auto flex items-center gap-2 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900 shadow-sm">
            <span className="min-w-0 flex-1">That message no longer exists.</span>
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
      {(scrolledUp || hasNewer) && status === "ready" && (
        <button
          type="button"
          onClick={jumpToLatest}
          className="absolute bottom-3 left-1/2 inline-flex -translate-x-1/2 items-center gap-1 rounded-full bg-indigo-600 px-3 py-1.5 text-xs font-medium whitespace-nowrap text-white shadow-md hover:bg-indigo-700"
        >
          <ArrowDownIcon className="size-3.5" />
          Jump to latest{unseen > 0 && (unseen === 1 ? ", 1 new message" : `, ${unseen} new messages`)}
        </button>
      )}
    </div>
  );
}

/** A message's row: the day heading if it starts a day, the divider if it is the first new one, then the message. */
const MessageRow = memo(function MessageRow({
  row,
  me,
  knownNames,
  shared,
  focused,
  changes,
}: {
  row: Extract<Row, { kind: "message" }>;
  me: User;
  knownNames: ReadonlySet<string>;
  shared: ReadonlySet<string>;
  focused: boolean;
  changes: OutboxEntry[] | undefined;
}) {
  return (
    <>
      {row.day && <DayHeading at={row.message.at} />}
      {row.divider && <NewMessagesDivider />}
      <MessageItem message={row.message} me={me} continues={row.continues} knownNames={knownNames} shared={shared} focused={focused} changes={changes} />
    </>
  );
});

function NewMessagesDivider() {
  return (
    <div role="separator" aria-label="New messages" className="flex items-center gap-2 px-4 py-1 text-xs font-semibold text-rose-700 dark:text-rose-300">
      <span aria-hidden className="h-px flex-1 bg-rose-300 dark:bg-rose-800" />
      New messages
      <span aria-hidden className="h-px flex-1 bg-rose-300 dark:bg-rose-800" />
    </div>
  );
}

function continuesGroup(prev: MessageEvent | undefined, m: MessageEvent): boolean {
  // A reply starts a group of its own: its quote reads as a new turn. A new name does not: both
  // are shown under the name their author goes by now.
  return (
    !!prev &&
    !m.data.replyTo &&
    prev.actor.id === m.actor.id &&
    Date.parse(m.at) - Date.parse(prev.at) < GROUP_MS &&
    dayOf(prev) === dayOf(m)
  );
}

/**
 * A message's local day, worked out once per message: the rows are rebuilt for every batch of
 * new messages, and dates are not cheap to make hundreds of times a frame.
 */
const days = new WeakMap<RoomItem, string>();
function dayOf(m: RoomItem): string {
  let day = days.get(m);
  if (day === undefined) {
    day = new Date(m.at).toDateString();
    days.set(m, day);
  }
  return day;
}

/**
 * The rows for the window. Keys are the messages' seqs (and my pending messages' clientIds), so
 * a row keeps its measured height while pages go in above it.
 */
function toRows(messages: RoomItem[], outbox: OutboxEntry[], firstNew: number | undefined): Row[] {
  const rows: Row[] = messages.map((m, i): Row => {
    const prev = messages[i - 1];
    const day = !prev || dayOf(prev) !== dayOf(m);
    if (!isMessageEvent(m)) return { kind: "notice", key: `n${m.seq}`, event: m, day };
    const divider = m.seq === firstNew;
    return {
      kind: "message",
      key: `m${m.seq}`,
      message: m,
      day,
      divider,
      // After a line saying who came or went, a message starts a group of its own.
      continues: !divider && prev !== undefined && isMessageEvent(prev) && continuesGroup(prev, m),
    };
  });
  for (const entry of outbox) rows.push({ kind: "pending", key: `p${entry.clientId}`, entry });
  return rows;
}

/** A first guess at a row's height, before it is measured: a grouped line, or a message with its header. */
function estimateRow(row: Row | undefined): number {
  if (!row || row.kind === "pending") return 64;
  if (row.kind === "notice") return 28 + (row.day ? 30 : 0);
  return (row.continues ? 24 : 56) + (row.day ? 30 : 0) + (row.divider ? 24 : 0) + (row.message.data.replyTo ? 28 : 0);
}

const DAY_LABEL =
  "flex items-center gap-3 px-4 py-1.5 text-xs font-semibold text-slate-600 dark:text-slate-300 before:h-px before:flex-1 before:bg-slate-200 dark:before:bg-slate-700 after:h-px after:flex-1 after:bg-slate-200 dark:after:bg-slate-700";

/** "Today", "Yesterday" or the date, above the first message of each day. */
function DayHeading({ at }: { at: string }) {
  const now = useNow();
  return <h2 className={DAY_LABEL}>{dayLabel(at, now)}</h2>;
}

/** The same words over the top of the view (hidden from screen readers: the headings are in the list). */
/**
 * ↑ and ↓ move the keyboard's focus from message to message (from the conversation itself: to the
 * last message in view, or the first). A focused message shows its toolbar (React, Reply, Edit,
 * Delete), which Tab enters; without this, keys could never reach them. Keys typed in a box
 * inside a message (the edit box, the picker) are left alone.
 */
function moveBetweenMessages(e: KeyboardEvent<HTMLDivElement>): void {
  if ((e.key !== "ArrowUp" && e.key !== "ArrowDown") || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  const log = e.currentTarget;
  const target = e.target as HTMLElement;
  const onLog = target === log;
  if (!onLog && !target.hasAttribute("data-message")) return;
  const messages = [...log.querySelectorAll<HTMLElement>("[data-message]")];
  let next: HTMLElement | undefined;
  if (onLog) {
    const view = log.getBoundingClientRect();
    const inView = messages.filter((m) => {
      const r = m.getBoundingClientRect();
      return r.bottom > view.top && r.top < view.bottom;
    });
    next = e.key === "ArrowUp" ? inView.at(-1) : inView[0];
  } else {
    next = messages[messages.indexOf(target) + (e.key === "ArrowUp" ? -1 : 1)];
  }
  if (!next) return;
  e.preventDefault();
  next.focus({ preventScroll: true });
  next.scrollIntoView({ block: "nearest" });
}

/** The day of the messages at the top of the view, over them while they scroll by. */
function StickyDayLabel({ at }: { at: string }) {
  const now = useNow();
  return (
    <div className="flex justify-center pt-1.5">
      <span className="rounded-full border border-slate-200 dark:border-slate-700 bg-white/95 dark:bg-slate-900/95 px-3 py-0.5 text-xs font-semibold text-slate-600 dark:text-slate-300 shadow-sm">
        {dayLabel(at, now)}
      </span>
    </div>
  );
}
