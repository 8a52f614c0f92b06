"use client";
import Link from "next/link";
import { useLayoutEffect, useRef, useState } from "react";
import { useConnection } from "@/lib/store/connection";
import { MAX_FEED_EVENTS, useFeed, type FeedEvent } from "@/lib/store/feed";
import { colorFor } from "@/lib/colors";
import { connectionLabel } from "../format";
import { Avatar } from "../ui/avatar";
import { ArrowUpIcon } from "../ui/icons";
import { messageHref } from "../room/message-link";
import { RelativeTime } from "../ui/relative-time";

/** Scrolled further than this from the top, the reader is looking at older items. */
const TOP_SLACK_PX = 24;

/** The workspace's activity, newest first, live over SSE. */
export function ActivityFeed() {
  const events = useFeed((s) => s.events);
  const status = useFeed((s) => s.status);
  const hasMore = useFeed((s) => s.hasMore);
  const loadingOlder = useFeed((s) => s.loadingOlder);
  const channel = useConnection((s) => s.status?.feed);

  const scroller = useRef<HTMLDivElement>(null);
  const atTop = useRef(true);
  const seen = useRef({ newest: 0, height: 0 });
  const [unseen, setUnseen] = useState(0);

  const newest = events[events.length - 1]?.seq ?? 0;

  // New items go on top: keep what the reader is looking at still, and count what they missed.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const before = seen.current;
    if (before.newest > 0 && newest > before.newest && !atTop.current) {
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
  };

  const jumpToTop = () => {
    scroller.current?.scrollTo({ top: 0, behavior: "smooth" });
    setUnseen(0);
  };

  return (
    <section aria-labelledby="activity-heading" className="flex h-full min-h-0 flex-col">
      <header className="flex items-center justify-between gap-2 border-b border-slate-200 px-4 py-3">
        <h2 id="activity-heading" className="text-sm font-semibold">
          Activity
        </h2>
        {channel && <span className="text-xs text-slate-500">{connectionLabel(channel)}</span>}
      </header>
      <div className="relative min-h-0 flex-1">
        <div ref={scroller} onScroll={onScroll} className="h-full overflow-y-auto [overflow-anchor:none]">
          {status === "loading" && <p className="px-4 py-6 text-sm text-slate-500">Loading activity…</p>}
          {status === "error" && <p className="px-4 py-6 text-sm text-rose-700">Could not load the activity feed.</p>}
          {status === "ready" && events.length === 0 && (
            <p className="px-4 py-6 text-sm text-slate-500">Nothing has happened yet. Create a room or say hello in #general.</p>
          )}
          <ol aria-label="Activity" className="divide-y divide-slate-100">
            {events.toReversed().map((event) => (
              <FeedItem key={event.seq} event={event} />
            ))}
          </ol>
          {hasMore && events.length < MAX_FEED_EVENTS && (
            <div className="p-3 text-center">
              <button
                type="button"
                onClick={() => void useFeed.getState().loadOlder()}
                disabled={loadingOlder}
                className="text-sm font-medium text-indigo-700 hover:underline disabled:text-slate-400"
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

function FeedItem({ event }: { event: FeedEvent }) {
  const color = colorFor(event.actor.id);
  return (
    <li className="flex gap-3 px-4 py-3">
      <Avatar name={event.actor.name} color={color} size="sm" />
      <div className="min-w-0 flex-1 text-sm">
        <p className="wrap-anywhere text-slate-700">
          <FeedSentence event={event} />
        </p>
        <RelativeTime at={event.at} />
      </div>
    </li>
  );
}

function FeedSentence({ event }: { event: FeedEvent }) {
  // <bdi>: a name in a right-to-left script (or with stray direction marks) cannot reorder the
  // rest of the sentence around it.
  const who = (
    <strong className="font-semibold text-slate-900">
      <bdi>{event.actor.name}</bdi>
    </strong>
  );
  const room = <RoomLink roomId={event.data.roomId} />;
  switch (event.type) {
    case "room.created":
      return (
        <>
          {who} created {room}
        </>
      );
    case "member.joined":
      return (
        <>
          {who} joined {room}
        </>
      );
    case "message.posted":
      return (
        <>
          {who} in {room}:{" "}
          <Link href={messageHref(event.data.roomId, event.data.seq)} className="text-slate-600 hover:text-indigo-700 hover:underline">
            {event.data.preview}
          </Link>
        </>
      );
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

function RoomLink({ roomId }: { roomId: string }) {
  return (
    <Link href={`/rooms/${roomId}`} className="font-medium text-indigo-700 hover:underline">
      #{roomId}
    </Link>
  );
}
