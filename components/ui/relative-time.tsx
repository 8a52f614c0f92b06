"use client";
import { useNow } from "@/lib/store/clock";
import { exactTime, messageTime, relativeTime } from "../format";

/** "5 minutes ago", with the exact time on hover. */
export function RelativeTime({ at, className = "" }: { at: string; className?: string }) {
  const now = useNow();
  return (
    <time dateTime={at} title={exactTime(at)} className={`whitespace-nowrap text-xs text-slate-600 dark:text-slate-400 ${className}`}>
      {relativeTime(at, now)}
    </time>
  );
}

/** A message's time: relative today, absolute before ("Mon 2:05 PM"), the exact time on hover. */
export function MessageTime({ at }: { at: string }) {
  const now = useNow();
  return (
    <time dateTime={at} title={exactTime(at)} className="whitespace-nowrap text-xs text-slate-600 dark:text-slate-400">
      {messageTime(at, now)}
    </time>
  );
}
