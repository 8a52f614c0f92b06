"use client";
import type { MembershipEvent } from "@/lib/store/room";
import { exactTime } from "../format";
import { NameNow } from "../ui/name-now";

const clock = new Intl.DateTimeFormat("en", { hour: "numeric", minute: "2-digit" });

/**
 * A line of a private room's history saying who came or went (protocol 1.13): "Ada added Lin",
 * "Lin left", "Ada removed Kim"; "You" and "you" for the reader. Each person under the name they
 * go by now.
 */
export function MembershipNotice({ event, meId }: { event: MembershipEvent; meId: string }) {
  const { actor, data } = event;
  const who = (person: { id: string; name: string }, start: boolean) =>
    person.id === meId ? (start ? "You" : "you") : <NameNow person={person} />;
  const target = { id: data.userId, name: data.name };
  return (
    <p className="flex items-baseline justify-center gap-1 px-4 py-1 text-xs text-slate-500 dark:text-slate-400">
      <span className="text-center">
        {data.change === "left" ? (
          <>
            {who(target, true)} left
          </>
        ) : (
          <>
            {who(actor, true)} {data.change} {who(target, false)}
          </>
        )}
      </span>
      <time dateTime={event.at} title={exactTime(event.at)} className="shrink-0">
        · {clock.format(new Date(event.at))}
      </time>
    </p>
  );
}
