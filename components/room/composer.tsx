"use client";
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { previewOf } from "@/lib/mentions";
import { MAX_MESSAGE_CHARS } from "@/lib/protocol";
import { useCompose, useReplyTarget } from "@/lib/store/compose";
import { distinctName } from "@/lib/names";
import { useDrafts } from "@/lib/store/drafts";
import { usePeople } from "@/lib/store/people";
import { getRealtimeClient } from "@/lib/store/realtime";
import { isMessageEvent, useRoom } from "@/lib/store/room";
import { useRoomLabel } from "@/lib/store/rooms";
import { useSession } from "@/lib/store/session";
import { charactersLeft } from "../format";
import { focusAtEnd } from "../ui/focus";
import { CloseIcon, SendIcon } from "../ui/icons";
import { useBoxSuggestions } from "./box-suggestions";
import { useSharedNames } from "./use-shared-names";
import { EmojiText } from "@/components/ui/emoji-text";

const MAX_HEIGHT_PX = 160;
/** The count of characters left shows from here on, before the limit is reached. */
const COUNT_FROM = 200;

/**
 * The message box: Enter sends, Shift+Enter starts a new line; typing is announced to others.
 * `@` offers people to mention, `:` emoji by name; ↑ in an empty box edits my last message; a reply being written
 * shows what it answers above the box (Escape drops it). What is typed and not sent is the
 * room's draft: it is there again after a room switch or a reload.
 */
export function Composer({ roomId }: { roomId: string }) {
  // Messages wait in the outbox until the room is joined, which follows the first try at its
  // history, whether or not that worked.
  const ready = useRoom((s) => s.roomId === roomId && (s.status === "ready" || s.status === "error"));
  const [text, setText] = useState(() => useDrafts.getState().drafts[roomId]?.text ?? "");
  const [notice, setNotice] = useState<string | null>(null);
  // Enter pressed before the room was ready: the message goes as soon as it is.
  const [waiting, setWaiting] = useState(false);
  const box = useRef<HTMLTextAreaElement>(null);
  const replyTo = useReplyTarget(roomId);
  // Named as the message answered is named in the list: under their name now, a namesake here with their tag.
  const shared = useSharedNames();
  const replyName = usePeople((s) => (replyTo ? s.names.get(replyTo.actor.id) : undefined)) ?? replyTo?.actor.name ?? "";
  const replyingTo = replyTo ? distinctName({ id: replyTo.actor.id, name: replyName }, shared) : "";
  // What it says now: edited since Reply was pressed, the bar shows the new text.
  const answered = useRoom((s) => (replyTo ? s.messages.find((m) => m.seq === replyTo.seq) : undefined));
  const replyPreview = answered && isMessageEvent(answered) ? previewOf(answered.data.text) : (replyTo?.preview ?? "");
  const suggestions = useBoxSuggestions(roomId, text, setText, box);

  const roomName = useRoomLabel(roomId);

  // A room opened: ready to type, with a mouse or trackpad, after any draft. Not with a finger:
  // focus would raise the on-screen keyboard over the conversation the person came to read.
  useEffect(() => {
    if (window.matchMedia("(pointer: fine)").matches) focusAtEnd(box.current);
  }, [roomId]);

  // This device's drafts are read as the workspace starts, which may be just after this first
  // render (a reload): the room's draft fills the box then, unless typing has begun.
  const draftsOf = useDrafts((s) => s.userId);
  useEffect(() => {
    const draft = useDrafts.getState().drafts[roomId]?.text;
    if (!draft) return;
    setText((current) => (current === "" ? draft : current));
    if (document.activeElement === box.current) requestAnimationFrame(() => focusAtEnd(box.current));
  }, [roomId, draftsOf]);
  // Whatever the box holds is the draft; sent or emptied, there is none.
  useEffect(() => useDrafts.getState().write(roomId, text), [roomId, text]);

  // Answering a message: the box is where the answer goes (not for a reply restored with its
  // draft, which a phone's keyboard would cover the conversation for).
  const repliesStarted = useCompose((s) => s.repliesStarted);
  const repliesAtMount = useRef(repliesStarted);
  useLayoutEffect(() => {
    if (repliesStarted !== repliesAtMount.current) box.current?.focus();
  }, [repliesStarted]);
  // The server counts the trimmed text (lib/protocol messageTextSchema), so the count does too.
  const left = MAX_MESSAGE_CHARS - text.trim().length;
  const tooLong = left < 0;
  const empty = text.trim() === "";

  // Grow with the text, up to a limit. Empty, it is one line, however long the placeholder
  // (which the browser counts in its height: "Message" and a long room name wrap).
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = "auto";
    if (text !== "") el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  const send = () => {
    if (empty || tooLong) return;
    if (!ready) return setWaiting(true);
    setWaiting(false);
    const client = getRealtimeClient();
    // Nobody picked from the list: the server reads `@name`s as it does for version 1 clients.
    const picked = suggestions.mentionIds(text);
    const opts = { ...(picked.length > 0 ? { mentions: picked } : {}), ...(replyTo ? { replyTo: replyTo.seq } : {}) };
    if (!client.send(roomId, text, opts)) {
      setNotice("Too many messages are waiting to be sent; try again once you are back online.");
      return;
    }
    client.typing(roomId, true);
    setText("");
    setNotice(null);
    suggestions.reset();
    useCompose.getState().cancelReply(roomId);
  };

  useEffect(() => {
    if (ready && waiting) send();
  });
  useEffect(() => setWaiting(false), [roomId]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing) return; // an input method's keys (Enter confirms its composition)
    if (suggestions.onKeyDown(e)) return;
    if (e.key === "Escape" && replyTo) {
      e.preventDefault();
      useCompose.getState().cancelReply(roomId);
    } else if (e.key === "ArrowUp" && text === "") {
      const me = useSession.getState().user;
      const mine = useRoom.getState().messages.findLast((m) => isMessageEvent(m) && m.actor.id === me?.id && !m.data.deleted);
      // My last message is still on its way: it cannot be edited yet, and an older one is not
      // the one meant.
      const sending = useRoom.getState().outbox.some((o) => o.room === roomId && (o.frame?.type ?? "send") === "send");
      if (mine && !sending) {
        e.preventDefault();
        useCompose.getState().startEdit(roomId, mine.seq);
      }
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  };

  const onChange = (value: string, caret: number) => {
    suggestions.typed(value, caret);
    getRealtimeClient().typing(roomId, value.trim() === "");
  };

  return (
    <form onSubmit={onSubmit} className="border-t border-slate-200 dark:border-slate-700 p-3">
      {replyTo && (
        <div className="mb-2 flex items-center gap-2 rounded-md bg-slate-50 dark:bg-slate-800 px-2 py-1 text-xs text-slate-600 dark:text-slate-300">
          <span className="min-w-0 flex-1 truncate">
            Replying to <bdi className="font-semibold">{replyingTo}</bdi>: <EmojiText text={replyPreview} />
          </span>
          <button
            type="button"
            onClick={() => useCompose.getState().cancelReply(roomId)}
            aria-label="Cancel reply"
            className="rounded p-0.5 text-slate-400 hover:bg-slate-200 dark:hover:bg-slate-700 hover:text-slate-700 dark:hover:text-slate-300"
          >
            <CloseIcon />
          </button>
        </div>
      )}
      <label htmlFor="composer" className="sr-only">
        {replyTo ? `Reply to ${replyingTo}` : "Message"}
      </label>
      <div className="relative flex items-end gap-2">
        {suggestions.lists}
        <textarea
          {...suggestions.boxProps}
          id="composer"
          ref={box}
          rows={1}
          value={text}
          onChange={(e) => onChange(e.target.value, e.target.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={() => getRealtimeClient().typing(roomId, true)}
          aria-invalid={tooLong || undefined}
          aria-describedby="composer-count"
          placeholder={`Message ${roomName}`}
          className={`block max-h-40 min-h-10 flex-1 resize-none rounded-lg border px-3 py-2 text-sm placeholder:truncate focus-visible:outline-2 ${
            tooLong
              ? "border-rose-500 focus-visible:border-rose-500 focus-visible:outline-rose-500/60"
              : "border-slate-300 dark:border-slate-600 focus-visible:border-indigo-500 focus-visible:outline-indigo-500/60"
          }`}
        />
        <button
          type="submit"
          disabled={empty || tooLong}
          className="inline-flex h-10 shrink-0 items-center gap-1.5 rounded-lg bg-indigo-600 px-3 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
        >
          <SendIcon />
          Send
        </button>
      </div>
      {/* Always in the page, so screen readers announce it as it fills; empty until near the limit. */}
      <p
        id="composer-count"
        aria-live="polite"
        className={`text-right text-xs tabular-nums [&:not(:empty)]:mt-1 ${tooLong ? "font-medium text-rose-700 dark:text-rose-300" : "text-slate-500 dark:text-slate-400"}`}
      >
        {left <= COUNT_FROM ? charactersLeft(left) : ""}
      </p>
      {waiting && !empty && (
        <p role="status" className="mt-1.5 text-xs text-slate-500 dark:text-slate-400">
          Sends as soon as the room has loaded.
        </p>
      )}
      {notice && (
        <p role="alert" className="mt-1.5 text-xs text-rose-700 dark:text-rose-300">
          {notice}
        </p>
      )}
    </form>
  );
}
