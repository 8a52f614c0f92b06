"use client";
import { memo, useCallback, useRef, useState } from "react";
import { mentionSpans, namedMentionSpans } from "@/lib/mentions";
import { roomOfStream, type User } from "@/lib/protocol";
import type { OutboxEntry, OutboxFrame } from "@/lib/realtime/types";
import { useCompose } from "@/lib/store/compose";
import { deleteMessage, markUnread, react } from "@/lib/store/message-actions";
import { useNameNow } from "@/lib/store/people";
import { getRealtimeClient } from "@/lib/store/realtime";
import type { MessageEvent } from "@/lib/store/room";
import { isDirectMessage } from "@/lib/store/rooms";
import { colorFor } from "@/lib/colors";
import { distinctName } from "@/lib/names";
import { exactTime, readableError } from "../format";
import { Avatar } from "../ui/avatar";
import { MessageTime } from "../ui/relative-time";
import { MessageBody } from "./message-body";
import { MessageEditor } from "./message-editor";
import { ReactionBar, ReactionPicker } from "./reactions";
import { ReplyQuote } from "./reply-quote";
import { useDirectMessage } from "./use-direct-message";

const clock = new Intl.DateTimeFormat("en", { hour: "numeric", minute: "2-digit" });

/** The element id of a message, the target of links to it. */
export function messageElementId(seq: number): string {
  return `m-${seq}`;
}

/**
 * One message. `continues`: the same person's previous message is just above, so no header.
 * `knownNames`: lower-cased names of people this page knows, so "@Grace Hopper" is one mention.
 * `shared`: the names two people here go by (`useSharedNames`), shown with their author's tag.
 * `focused`: the message a link pointed at, highlighted. `changes`: my edits, deletes and
 * reactions of it still in the outbox (saving, or refused).
 */
export const MessageItem = memo(function MessageItem({
  message,
  me,
  continues,
  knownNames,
  shared,
  focused = false,
  changes = NO_CHANGES,
}: {
  message: MessageEvent;
  me: User;
  continues: boolean;
  knownNames: ReadonlySet<string>;
  shared: ReadonlySet<string>;
  focused?: boolean;
  changes?: readonly OutboxEntry[];
}) {
  const room = roomOfStream(message.stream) ?? "";
  const { data } = message;
  const color = colorFor(message.actor.id);
  const mine = message.actor.id === me.id;
  // Under the name its author goes by now, which may not be the one it was written under.
  const author = distinctName({ id: message.actor.id, name: useNameNow(message.actor) }, shared);
  const editing = useCompose((s) => s.editing?.room === room && s.editing.seq === message.seq);
  // An edit of mine on its way (offline, or not yet acknowledged) shows its text at once, as
  // a message on its way does; "Saving…" below says it is not taken yet.
  const pendingEdit = pendingEditOf(changes);
  // Version 1.2 messages say whom they name; older ones are read for `@name` as before.
  const spans = data.mentions ? namedMentionSpans(data.text, data.mentions.map((m) => m.name)) : mentionSpans(data.text, knownNames);
  const myMention = `@${me.name.toLowerCase()}`;
  const mentionsMe = !mine && (data.mentions ? data.mentions.some((m) => m.id === me.id) : spans.some((s) => s.mention && s.text.toLowerCase() === myMention));
  // A <div>: the list's row (an <li>) holds it, with the day heading or divider above it.
  return (
    <div
      id={messageElementId(message.seq)}
      // Reached with ↑ and ↓ in the conversation (MessageList): focused, it shows its toolbar,
      // which Tab then enters.
      tabIndex={-1}
      data-message=""
      className={`group relative flex scroll-my-4 gap-3 px-4 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 ${continues ? "py-0.5" : "pt-3 pb-0.5"} ${
        focused ? "bg-indigo-50 dark:bg-indigo-950 ring-2 ring-indigo-300 dark:ring-indigo-700 ring-inset" : mentionsMe ? "bg-amber-50 dark:bg-amber-400/10" : "hover:bg-slate-50 dark:hover:bg-slate-800"
      }`}
    >
      <div className="flex w-8 shrink-0 justify-center">
        {continues ? (
          <time dateTime={message.at} title={exactTime(message.at)} className="invisible pt-0.5 text-[10px] whitespace-nowrap text-slate-600 dark:text-slate-400 group-hover:visible">
            {clock.format(new Date(message.at))}
          </time>
        ) : (
          <Avatar name={author} color={color} />
        )}
      </div>
      <div className="min-w-0 flex-1">
        {continues ? (
          // No header under the previous one: a screen reader, reading one message at a time,
          // still hears whose it is.
          <span className="sr-only">
            <bdi>{author}</bdi>:{" "}
          </span>
        ) : (
          <p className="flex items-baseline gap-2">
            <bdi className="truncate text-sm font-semibold">{author}</bdi>
            <MessageTime at={message.at} />
          </p>
        )}
        {data.replyTo && <ReplyQuote replyTo={data.replyTo} shared={shared} />}
        {data.deleted ? (
          <p className="text-sm text-slate-500 dark:text-slate-400 italic">This message was deleted</p>
        ) : editing ? (
          <MessageEditor room={room} message={message} />
        ) : (
          <>
            <MessageBody text={pendingEdit?.text ?? data.text} knownNames={knownNames} mentions={pendingEdit ? undefined : data.mentions} />
            {data.editedAt && !pendingEdit && (
              <span className="text-[11px] text-slate-600 dark:text-slate-400" title={`Edited ${exactTime(data.editedAt)}`}>
                (edited)
              </span>
            )}
          </>
        )}
        {data.reactions && !data.deleted && <ReactionBar room={room} seq={message.seq} reactions={data.reactions} meId={me.id} />}
        <PendingChanges entries={changes} />
      </div>
      {!data.deleted && !editing && <MessageActions room={room} message={message} author={author} meId={me.id} />}
    </div>
  );
});

const NO_CHANGES: readonly OutboxEntry[] = [];

/** The newest edit among my changes to a message not refused (a refused one shows what stands). */
function pendingEditOf(changes: readonly OutboxEntry[] = NO_CHANGES): Extract<OutboxFrame, { type: "edit" }> | undefined {
  for (let i = changes.length - 1; i >= 0; i--) {
    const frame = changes[i]!.frame;
    if (frame?.type === "edit" && changes[i]!.status !== "failed") return frame;
  }
  return undefined;
}

/**
 * React, reply, (another's) message them directly and mark unread, (my own) edit and delete: shown on hover and when any of them has focus,
 * so the keyboard reaches them with Tab.
 */
function MessageActions({ room, message, author, meId }: { room: string; message: MessageEvent; author: string; meId: string }) {
  const mine = message.actor.id === meId;
  const openDirectMessage = useDirectMessage();
  const [picking, setPicking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const reactButton = useRef<HTMLButtonElement>(null);
  // Closed from the keyboard (Escape, or an emoji chosen): focus goes back to "React", not
  // to the page. A click elsewhere keeps the focus where it went.
  const closePicker = useCallback((byKeyboard: boolean) => {
    setPicking(false);
    if (byKeyboard) reactButton.current?.focus();
  }, []);
  // A finger needs a bigger target than a pointer: 40 px high on a touch screen.
  const button =
    "rounded px-1.5 py-0.5 text-xs font-medium whitespace-nowrap text-slate-600 dark:text-slate-300 hover:bg-slate-100 dark:hover:bg-slate-800 hover:text-slate-900 dark:hover:text-slate-100 pointer-coarse:min-h-10 pointer-coarse:px-2.5 pointer-coarse:text-sm";
  if (confirming) {
    return (
      <div role="alertdialog" aria-label="Delete message" className="absolute top-0 right-2 z-10 flex items-center gap-2 rounded-md border border-rose-200 dark:border-rose-800 bg-white dark:bg-slate-900 px-2 py-1 text-xs shadow">
        <span>Delete this message for everyone?</span>
        <button
          type="button"
          autoFocus
          onClick={() => {
            deleteMessage(room, message.seq);
            setConfirming(false);
          }}
          className="rounded bg-rose-600 px-2 py-0.5 font-semibold text-white hover:bg-rose-700"
        >
          Delete
        </button>
        <button type="button" onClick={() => setConfirming(false)} className={button}>
          Cancel
        </button>
      </div>
    );
  }
  return (
    <div
      role="toolbar"
      aria-label={`Actions for ${author}'s message`}
      className={`absolute -top-3 right-3 z-10 flex items-center gap-0.5 rounded-md border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-0.5 shadow-sm ${
        picking ? "" : "invisible group-focus-within:visible group-hover:visible"
      }`}
    >
      <button type="button" ref={reactButton} aria-expanded={picking} onClick={() => setPicking((p) => !p)} className={button}>
        React
      </button>
      <button type="button" onClick={() => useCompose.getState().startReply(room, message)} className={button}>
        Reply
      </button>
      {!mine && (
        <>
          {/* In a direct message, the author is the person this conversation is with already. */}
          {!isDirectMessage(room) && (
            <button type="button" onClick={() => void openDirectMessage(message.actor.id)} aria-label={`Message ${author} directly`} className={button}>
              Message
            </button>
          )}
          <button type="button" onClick={() => markUnread(room, message.seq, meId)} className={button}>
            Mark unread
          </button>
        </>
      )}
      {mine && (
        <>
          <button type="button" onClick={() => useCompose.getState().startEdit(room, message.seq)} className={button}>
            Edit
          </button>
          <button type="button" onClick={() => setConfirming(true)} className={`${button} text-rose-700 dark:text-rose-300 hover:text-rose-800 dark:hover:text-rose-200`}>
            Delete
          </button>
        </>
      )}
      {picking && (
        <ReactionPicker
          onClose={closePicker}
          onPick={(emoji, byKeyboard) => {
            react(room, message.seq, emoji, !(message.data.reactions?.[emoji]?.some((a) => a.id === meId) ?? false));
            closePicker(byKeyboard);
          }}
        />
      )}
    </div>
  );
}

/** My changes to this message the server has not taken yet: "Saving…", or why it refused one. */
function PendingChanges({ entries }: { entries: readonly OutboxEntry[] }) {
  if (entries.length === 0) return null;
  const failed = entries.filter((e) => e.status === "failed");
  if (failed.length === 0) return <p className="text-[11px] text-slate-500 dark:text-slate-400">Saving…</p>;
  return (
    <>
      {failed.map((entry) => (
        <div key={entry.clientId} role="alert" className="mt-1 flex flex-wrap items-center gap-x-3 text-xs">
          <span className="text-rose-700 dark:text-rose-300">
            Your {entry.frame?.type === "react" ? "reaction" : entry.frame?.type ?? "change"} was not saved: {entry.error ? readableError(entry.error.message) : "the server refused it"}
          </span>
          <button type="button" onClick={() => getRealtimeClient().retry(entry.clientId)} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
            Retry
          </button>
          <button type="button" onClick={() => getRealtimeClient().discard(entry.clientId)} className="font-medium text-slate-600 dark:text-slate-300 hover:underline">
            Discard
          </button>
        </div>
      ))}
    </>
  );
}

/** One of my messages not yet acknowledged: pending (offline), sending, or failed. */
export function PendingMessage({ entry, me, knownNames, shared }: { entry: OutboxEntry; me: User; knownNames: ReadonlySet<string>; shared: ReadonlySet<string> }) {
  const client = () => getRealtimeClient();
  const author = distinctName(me, shared);
  return (
    <div className="flex gap-3 px-4 pt-3 pb-0.5">
      <div className="flex w-8 shrink-0 justify-center">
        <Avatar name={author} color={me.color} />
      </div>
      <div className="min-w-0 flex-1">
        <p className="flex items-baseline gap-2">
          <bdi className="truncate text-sm font-semibold">{author}</bdi>
          {entry.status !== "failed" && (
            <span className="text-xs text-slate-500 dark:text-slate-400">{entry.status === "pending" ? "Pending" : "Sending…"}</span>
          )}
        </p>
        <div className={entry.status === "failed" ? "text-slate-500 dark:text-slate-400 line-through decoration-rose-300 dark:decoration-rose-700" : "text-slate-500 dark:text-slate-400"}>
          <MessageBody text={entry.text} knownNames={knownNames} />
        </div>
        {entry.status === "failed" && (
          <div role="alert" className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs">
            <span className="text-rose-700 dark:text-rose-300">Not sent: {entry.error ? readableError(entry.error.message) : "the server refused it"}</span>
            <button type="button" onClick={() => client().retry(entry.clientId)} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
              Retry
            </button>
            <button type="button" onClick={() => client().discard(entry.clientId)} className="font-medium text-slate-600 dark:text-slate-300 hover:underline">
              Discard
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
