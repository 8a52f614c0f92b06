"use client";
import { memo } from "react";
import { mentionSpans } from "@/lib/mentions";
import type { User } from "@/lib/protocol";
import type { OutboxEntry } from "@/lib/realtime/types";
import { getRealtimeClient } from "@/lib/store/realtime";
import type { MessageEvent } from "@/lib/store/room";
import { colorFor } from "@/lib/colors";
import { exactTime } from "../format";
import { Avatar } from "../ui/avatar";
import { MessageTime } from "../ui/relative-time";
import { MessageBody } from "./message-body";

const clock = new Intl.DateTimeFormat("en", { hour: "numeric", minute: "2-digit" });

/** The element id of a message, the target of links to it. */
export function messageElementId(seq: number): string {
  return `m-${seq}`;
}

/**
 * One message. `continues`: the same person's previous message is just above, so no header.
 * `knownNames`: lower-cased names of people this page knows, so "@Grace Hopper" is one mention.
 * `focused`: the message a link pointed at, highlighted.
 */
export const MessageItem = memo(function MessageItem({
  message,
  me,
  continues,
  knownNames,
  focused = false,
}: {
  message: MessageEvent;
  me: User;
  continues: boolean;
  knownNames: ReadonlySet<string>;
  focused?: boolean;
}) {
  const color = colorFor(message.actor.id);
  const spans = mentionSpans(message.data.text, knownNames);
  const myMention = `@${me.name.toLowerCase()}`;
  const mentionsMe = message.actor.id !== me.id && spans.some((s) => s.mention && s.text.toLowerCase() === myMention);
  return (
    <li
      id={messageElementId(message.seq)}
      aria-current={focused ? "true" : undefined}
      className={`group flex scroll-my-4 gap-3 px-4 ${continues ? "py-0.5" : "pt-3 pb-0.5"} ${
        focused ? "bg-indigo-50 ring-2 ring-indigo-300 ring-inset" : mentionsMe ? "bg-amber-50" : "hover:bg-slate-50"
      }`}
    >
      <div className="flex w-8 shrink-0 justify-center">
        {continues ? (
          <time dateTime={message.at} title={exactTime(message.at)} className="invisible pt-0.5 text-[10px] text-slate-400 group-hover:visible">
            {clock.format(new Date(message.at))}
          </time>
        ) : (
          <Avatar name={message.actor.name} color={color} />
        )}
      </div>
      <div className="min-w-0 flex-1">
        {!continues && (
          <p className="flex items-baseline gap-2">
            <bdi className="truncate text-sm font-semibold">{message.actor.name}</bdi>
            <MessageTime at={message.at} />
          </p>
        )}
        <MessageBody text={message.data.text} knownNames={knownNames} mentions={message.data.mentions} />
      </div>
    </li>
  );
});

/** One of my messages not yet acknowledged: pending (offline), sending, or failed. */
export function PendingMessage({ entry, me, knownNames }: { entry: OutboxEntry; me: User; knownNames: ReadonlySet<string> }) {
  const client = () => getRealtimeClient();
  return (
    <li className="flex gap-3 px-4 pt-3 pb-0.5">
      <div className="flex w-8 shrink-0 justify-center">
        <Avatar name={me.name} color={me.color} />
      </div>
      <div className="min-w-0 flex-1">
        <p className="flex items-baseline gap-2">
          <bdi className="truncate text-sm font-semibold">{me.name}</bdi>
          {entry.status !== "failed" && (
            <span className="text-xs text-slate-500">{entry.status === "pending" ? "Pending" : "Sending…"}</span>
          )}
        </p>
        <div className={entry.status === "failed" ? "text-slate-500 line-through decoration-rose-300" : "text-slate-500"}>
          <MessageBody text={entry.text} knownNames={knownNames} />
        </div>
        {entry.status === "failed" && (
          <div role="alert" className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs">
            <span className="text-rose-700">Not sent: {entry.error?.message ?? "the server refused it"}</span>
            <button type="button" onClick={() => client().retry(entry.clientId)} className="font-medium text-indigo-700 hover:underline">
              Retry
            </button>
            <button type="button" onClick={() => client().discard(entry.clientId)} className="font-medium text-slate-600 hover:underline">
              Discard
            </button>
          </div>
        )}
      </div>
    </li>
  );
}
