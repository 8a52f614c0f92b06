"use client";
import { useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { getRealtimeClient } from "@/lib/store/realtime";
import { useRoom } from "@/lib/store/room";
import { SendIcon } from "../ui/icons";

const MAX_HEIGHT_PX = 160;

/** The message box: Enter sends, Shift+Enter starts a new line; typing is announced to others. */
export function Composer({ roomId }: { roomId: string }) {
  // Messages wait in the outbox until the room is joined, which follows the first try at its
  // history, whether or not that worked.
  const ready = useRoom((s) => s.roomId === roomId && (s.status === "ready" || s.status === "error"));
  const [text, setText] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const box = useRef<HTMLTextAreaElement>(null);

  // Grow with the text, up to a limit.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  const send = () => {
    if (!ready || text.trim() === "") return;
    const client = getRealtimeClient();
    if (!client.send(roomId, text)) {
      setNotice("Too many messages are waiting to be sent; try again once you are back online.");
      return;
    }
    client.typing(roomId, true);
    setText("");
    setNotice(null);
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    send();
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    // Not while an input method is composing (Enter confirms the composition there).
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  };

  const onChange = (value: string) => {
    setText(value);
    getRealtimeClient().typing(roomId, value.trim() === "");
  };

  return (
    <form onSubmit={onSubmit} className="border-t border-slate-200 p-3">
      <label htmlFor="composer" className="sr-only">
        Message
      </label>
      <div className="flex items-end gap-2">
        <textarea
          id="composer"
          ref={box}
          rows={1}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          onBlur={() => getRealtimeClient().typing(roomId, true)}
          maxLength={4000}
          placeholder={`Message #${roomId}`}
          className="block max-h-40 min-h-10 flex-1 resize-none rounded-lg border border-slate-300 px-3 py-2 text-sm focus-visible:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500/30"
        />
        <button
          type="submit"
          disabled={!ready || text.trim() === ""}
          className="inline-flex h-10 shrink-0 items-center gap-1.5 rounded-lg bg-indigo-600 px-3 text-sm font-semibold text-white hover:bg-indigo-700 disabled:bg-indigo-300"
        >
          <SendIcon />
          Send
        </button>
      </div>
      {notice && (
        <p role="alert" className="mt-1.5 text-xs text-rose-700">
          {notice}
        </p>
      )}
    </form>
  );
}
