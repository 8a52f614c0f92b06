"use client";
import { useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";
import { useCompose } from "@/lib/store/compose";
import { editMessage } from "@/lib/store/message-actions";
import type { MessageEvent } from "@/lib/store/room";
import { useBoxSuggestions } from "./box-suggestions";

/**
 * A message of mine, edited in place: Enter saves, Escape cancels, Shift+Enter starts a line.
 * People it already named stay named (by id) when their `@Name` is kept; `@` and `:` offer
 * people and emoji as in the composer.
 */
export function MessageEditor({ room, message }: { room: string; message: MessageEvent }) {
  const [text, setText] = useState(message.data.text);
  const box = useRef<HTMLTextAreaElement>(null);
  const suggestions = useBoxSuggestions(room, text, setText, box);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);

  const stop = () => {
    useCompose.getState().stopEdit();
    document.getElementById("composer")?.focus();
  };
  const save = () => {
    const body = text.trim();
    if (body === "" || body === message.data.text) return stop();
    const kept = (message.data.mentions ?? []).filter((m) => body.toLowerCase().includes(`@${m.name.toLowerCase()}`)).map((m) => m.id);
    if (editMessage(room, message.seq, body, [...new Set([...kept, ...suggestions.mentionIds(body)])])) stop();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.nativeEvent.isComposing || suggestions.onKeyDown(e)) return;
    if (e.key === "Escape") {
      e.preventDefault();
      stop();
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      save();
    }
  };

  return (
    <div className="relative mt-0.5">
      {suggestions.lists}
      <label htmlFor={`edit-${message.seq}`} className="sr-only">
        Edit message
      </label>
      <textarea
        {...suggestions.boxProps}
        id={`edit-${message.seq}`}
        ref={box}
        value={text}
        rows={Math.min(8, text.split("\n").length)}
        maxLength={4000}
        onChange={(e) => suggestions.typed(e.target.value, e.target.selectionStart)}
        onKeyDown={onKeyDown}
        className="block w-full resize-none rounded-md border border-indigo-300 dark:border-indigo-700 px-2 py-1 text-sm focus-visible:outline-2 focus-visible:outline-indigo-500/60"
      />
      <p className="mt-1 flex gap-3 text-xs text-slate-500 dark:text-slate-400">
        <span>Enter to save · Esc to cancel</span>
        <button type="button" onClick={save} className="font-medium text-indigo-700 dark:text-indigo-300 hover:underline">
          Save
        </button>
        <button type="button" onClick={stop} className="font-medium text-slate-600 dark:text-slate-300 hover:underline">
          Cancel
        </button>
      </p>
    </div>
  );
}
