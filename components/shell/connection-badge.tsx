"use client";
import { useConnection } from "@/lib/store/connection";
import { badgeParts, channelsDescription } from "../format";

const DOT = {
  connected: "bg-emerald-500",
  connecting: "bg-amber-400 motion-safe:animate-pulse",
  reconnecting: "bg-amber-400 motion-safe:animate-pulse",
  // Not started yet: about to connect, and said so ("connecting"), so the dot says it too.
  idle: "bg-amber-400 motion-safe:animate-pulse",
  offline: "bg-slate-400",
  "signed-out": "bg-slate-400",
} as const;

/**
 * Which transport carries the rooms, and whether it is up: "WebSocket · connected"; the activity
 * feed's state beside it while the feed is not up with them (its full state in the tooltip).
 * On a phone the header has room for the dot and the state's word alone ("Connected"), on the
 * narrowest for the dot alone; the full state stays in the badge's name and tooltip.
 */
export function ConnectionBadge() {
  const rooms = useConnection((s) => s.status?.rooms);
  const feed = useConnection((s) => s.status?.feed);
  const state = rooms?.state ?? "connecting";
  const parts = rooms ? badgeParts(rooms, feed) : { transport: null, state: "Connecting…", feed: null };
  return (
    <span
      role="status"
      title={rooms && feed ? channelsDescription({ rooms, feed }) : undefined}
      className="inline-flex h-7 min-w-0 items-center gap-1.5 rounded-full border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 px-2 text-xs font-medium whitespace-nowrap text-slate-700 dark:text-slate-300 sm:px-2.5"
    >
      <span aria-hidden className={`size-2 shrink-0 rounded-full ${DOT[state]}`} />
      <span className="truncate first-letter:uppercase max-[359px]:hidden sm:first-letter:normal-case">
        {parts.transport && <span className="hidden sm:inline">{parts.transport} · </span>}
        {/* "Connecting" on a phone, as the pulsing dot says: the room a longer word takes is not there. */}
        {parts.state === "reconnecting" ? (
          <>
            <span className="hidden sm:inline">re</span>connecting
          </>
        ) : (
          parts.state
        )}
        {parts.feed && <span className="hidden sm:inline"> · {parts.feed}</span>}
      </span>
    </span>
  );
}
