"use client";
import { useNow } from "@/lib/store/clock";
import { exactTime, relativeTime } from "../format";

/** "5 minutes ago", with the exact time on hover. */
export function RelativeTime({ at, className = "" }: { at: string; className?: string }) {
  const now = useNow();
  return (
    <time dateTime={at} title={exactTime(at)} className={`whitespace-nowrap text-xs text-slate-500 ${className}`}>
      {relativeTime(at, now)}
    </time>
  );
}
