"use client";
import Link from "next/link";
import { useLayoutEffect, useMemo, useRef, useState } from "react";
import type { Actor } from "@/lib/protocol";
import { groupFeed, keepKeys, messagesShown, type FeedItem as Item } from "@/lib/feed-groups";
import { useConnection } from "@/lib/store/connection";
import { MAX_FEED_EVENTS, useFeed } from "@/lib/store/feed";
import { usePeople } from "@/lib/store/people";
import { colorFor } from "@/lib/colors";
import { distinctName, sharedNames } from "@/lib/names";
import { connectionLabel, peoplePieces } from "../format";
import { Avatar } from "../ui/avatar";
import { ArrowUpIcon, CloseIcon } from "../ui/icons";
import { scrollBehavior } from "../ui/motion";
import { useFocusKept } from "../ui/use-focus-kept";
import { MessageLink } from "../room/message-link";
import { RelativeTime } from "../ui/relative-time";
import { ForYou } from "./for-you";
import { RoomName } from "../rooms/room-name";
import { EmojiText } from "@/components/ui/emoji-text";

/** Scrolled further than this from the top, the reader is looking at older items. */
const TOP_SLACK_PX = 24;

/**
 * The workspace's activity, newest first, live over SSE. `onClose`: it is an open drawer, with a
 * button that closes it.
 */
export function ActivityFeed({ onClose }: { onClose?: () => void }) {
  const events = useFeed((s) => s.events);
  const status = useFeed((s) => s.status);
  const hasMore = useFeed((s) => s.hasMore);
  const loadingOlder = useFeed((s) => s.loadingOlder);
  const channel = useConnection((s) => s.status?.feed);

  const scroller = useRef<HTMLDivElement>(null);
  const panel = useRef<HTMLElement>(null);
  // A keyboard's focus on "3 new" or "Show older activity" stays in the feed as the button goes.
  useFocusKept(panel);
  const atTop = useRef(true);
  const seen = useRef({ newest: 0, height: 0 });
  const [unseen, setUnseen] = useState(0);

  // Keys kept across regroupings (see keepKeys), bounded as the events are.
  const keys = useRef(new Map<number, string>());
  const items = useMemo(() => {
    if (keys.current.size > 4 * MAX_FEED_EVENTS) keys.current.clear();
    return keepKeys(groupFeed(events), keys.current);
  }, [events]);
  // Two people of one name anywhere in the feed (guests may share one) are told apart by their
  // tags in every item, not only where both are named together.
  const names = usePeople((s) => s.names);
  const shared = useMemo(() => sharedNames(events.map((e) => ({ id: e.actor.id, name: names.get(e.actor.id) ?? e.actor.name }))), [events, names]);

  const newest = events[events.length - 1]?.seq ?? 0;

  // New items go on top: keep what the reader is looking at still, and count what they missed.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const before = seen.current;
    // At the top, new items simply show. Nothing is measured then: reading the height here
    // lays the page out once per event, which in a burst is most of a frame.
    if (atTop.current) {
      seen.current = { newest, height: -1 };
      return;
    }
    if (before.newest > 0 && newest > before.newest && before.height >= 0) {
      el.scrollTop += el.scrollHeight - before.height;
      setUnseen((n) => n + events.filter((e) => e.seq > before.newest).length);
    }
    seen.current = { newest, height: el.scrollHeight };
  }, [events, newest]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atTop.current = el.scrollTop <= TOP_SLACK_PX;
    if (atTop.current) setUnseen(0);
    // Leaving the top: the height new items will be measured against.
    else if (seen.current.height < 0) seen.current = { ...seen.current, height: el.scrollHeight };
  };

  const jumpToTop = () => {
    scroller.current?.scrollTo({ top: 0, behavior: scrollBehavior() });
    setUnseen(0);
  };

  return (
    // tabIndex -1: where the focus goes when the control holding it goes (`useFocusKept`).
    <section ref={panel} tabIndex={-1} aria-labelledby="activity-heading" className="flex h-full min-h-0 flex-col focus:outline-none">
      <header className="flex items-center justify-between gap-2 border-b border-slate-200 dark:border-slate-700 px-4 py-3">
        <h2 id="activity-heading" className="text-sm font-semibold">
          Activity
        </h2>
        <div className="flex items-center gap-2">
          {channel && <span className="text-xs text-slate-500 dark:text-slate-400">{connectionLabel(channel)}</span>}
          {onClose && (
            <button
              type="button"
              onClick={onClose}
              aria-label="Close activity"
              className="-mr-1 inline-flex size-8 items-center justify-center rounded-full text-slate-500 hover:bg-slate-100 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 xl:hidden"
            >
              <CloseIcon />
            </button>
          )}
        </div>
      </header>
      <div className="relative min-h-0 flex-1">
        <div ref={scroller} onScroll={onScroll} className="h-full overflow-y-auto [overflow-anchor:none] [contain:content]">
          {status === "loading" && <p className="px-4 py-6 text-sm text-slate-500 dark:text-slate-400">Loading activity…</p>}
          {status === "error" && <p className="px-4 py-6 text-sm text-rose-700 dark:text-rose-300">Could not load the activity feed.</p>}
          <ForYou />
          {status === "ready" && events.length === 0 && (
            <p className="px-4 py-6 text-sm text-slate-500 dark:text-slate-400">Nothing has happened yet. Create a room or say hello in #general.</p>
          )}
          <ol aria-label="Activity" className="divide-y divide-slate-100 dark:divide-slate-800">
            {items.map((item) => (
              <FeedItem key={item.key} item={item} shared={shared} more={hasMore && item.kind !== "room.created" && item.events[0]!.seq === events[0]?.seq} />
            ))}
          </ol>
          {hasMore && events.length < MAX_FEED_EVENTS && (
            <div className="p-3 text-center">
              {/* aria-disabled, not disabled: a disabled button drops the keyboard's focus to the page. */}
              <button
                type="button"
                onClick={() => void useFeed.getState().loadOlder()}
                aria-disabled={loadingOlder}
                className="text-sm font-medium text-indigo-700 hover:underline aria-disabled:text-slate-400 dark:text-indigo-300"
              >
                {loadingOlder ? "Loading…" : "Show older activity"}
              </button>
            </div>
          )}
        </div>
        {unseen > 0 && (
          <button
            type="button"
            onClick={jumpToTop}
            className="absolute top-2 left-1/2 inline-flex -translate-x-1/2 items-center gap-1 rounded-full bg-indigo-600 px-3 py-1 text-xs font-medium text-white shadow-md hover:bg-indigo-700"
          >
            <ArrowUpIcon className="size-3.5" />
            {unseen} new
          </button>
        )}
      </div>
    </section>
  );
}

/** `more`: the item reaches back to the oldest event loaded, and older ones exist: its count is at least. */
function FeedItem({ item, more, shared }: { item: Item; more: boolean; shared: ReadonlySet<string> }) {
  // Everyone under the name they go by now (protocol 1.10), not the one the event was written under.
  const names = usePeople((s) => s.names);
  const nameOf = (p: Actor) => distinctName({ id: p.id, name: names.get(p.id) ?? p.name }, shared);
  // A burst of messages is told by those still there: deleted ones are no news.
  const shown = item.kind === "messages" ? messagesShown(item) : null;
  const people = (item.kind === "room.created" ? [item.event.actor] : item.kind === "rounds" ? [item.person] : (shown?.people ?? item.people)).map((p) => ({ id: p.id, name: nameOf(p) }));
  const at = item.kind === "room.created" ? item.event.at : (shown?.latest ?? item.events[item.events.length - 1]!).at;
  return (
    <li className="flex gap-3 px-4 py-3">
      <span className="flex shrink-0 -space-x-2">
        {people.slice(0, 3).map((p) => (
          <Avatar key={p.id} name={p.name} color={colorFor(p.id)} size="sm" />
        ))}
      </span>
      <div className="min-w-0 flex-1 text-sm">
        <FeedSentence item={item} more={more} people={people} nameOf={nameOf} />
        <RelativeTime at={at} />
      </div>
    </li>
  );
}

// <bdi>: a name in a right-to-left script (or with stray direction marks) cannot reorder the
// rest of the sentence around it.
function Who({ name }: { name: string }) {
  return (
    <strong className="font-semibold text-slate-900 dark:text-slate-100">
      <bdi>{name}</bdi>
    </strong>
  );
}

/** The people of an item, under the names `FeedItem` gives them (tagged where two share one). */
function People({ people }: { people: Actor[] }) {
  return <>{peoplePieces(people).map((piece, i) => (typeof piece === "string" ? piece : <Who key={i} name={piece.name} />))}</>;
}

/** `people`: the item's people under their names now; `nameOf`: anyone's. */
function FeedSentence({ item, more, people, nameOf }: { item: Item; more: boolean; people: Actor[]; nameOf: (person: Actor) => string }) {
  const sentence = "wrap-anywhere text-slate-700 dark:text-slate-300";
  switch (item.kind) {
    case "room.created":
      return (
        <p className={sentence}>
          <Who name={nameOf(item.event.actor)} /> created <RoomLink roomId={item.event.data.roomId} />
        </p>
      );
    case "joins":
      return (
        <p className={sentence}>
          <People people={people} /> joined <RoomLink roomId={item.roomId} />
        </p>
      );
    case "rounds":
      return (
        <p className={sentence}>
          <People people={people} /> joined{" "}
          {item.roomIds.map((roomId, i) => (
            <span key={roomId}>
              {i === 0 ? "" : i === item.roomIds.length - 1 ? " and " : ", "}
              <RoomLink roomId={roomId} />
            </span>
          ))}
        </p>
      );
    case "messages": {
      const { count, latest } = messagesShown(item);
      const preview = (
        <MessageLink roomId={latest.data.roomId} seq={latest.data.seq} className="text-slate-600 dark:text-slate-300 hover:text-indigo-700 dark:hover:text-indigo-300 hover:underline">
          {latest.data.preview ? <EmojiText text={latest.data.preview} /> : <em>Message deleted</em>}
        </MessageLink>
      );
      if (count === 1) {
        return (
          <p className={sentence}>
            <Who name={nameOf(latest.actor)} /> in <RoomLink roomId={item.roomId} />: {preview}
          </p>
        );
      }
      return (
        <>
          <p className={sentence}>
            <strong className="font-semibold text-slate-900 dark:text-slate-100">{`${count}${more ? "+" : ""} new messages`}</strong> in <RoomLink roomId={item.roomId} /> from{" "}
            <People people={people} />
          </p>
          <p className="mt-0.5 line-clamp-2 wrap-anywhere text-slate-600 dark:text-slate-300">
            <bdi>{nameOf(latest.actor)}</bdi>: {preview}
          </p>
        </>
      );
    }
    default: {
      const unknown: never = item;
      return unknown;
    }
  }
}

export function RoomLink({ roomId }: { roomId: string }) {
  return (
    <Link href={`/rooms/${roomId}`} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
      <RoomName id={roomId} />
    </Link>
  );
}
