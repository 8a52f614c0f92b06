"use client";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { asOneEmoji, type Actor, type Reactions as ReactionMap } from "@/lib/protocol";
import { loadEmoji, matchEmoji, type NamedEmoji } from "@/lib/emoji";
import { react } from "@/lib/store/message-actions";
import { usePeople } from "@/lib/store/people";

/** The emoji offered at a click; any other can be typed in the picker's field. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢", "👀", "✅"] as const;

/** "Ada, Lin and 2 others reacted with 👍" — the button's label and tooltip. */
export function reactedLabel(people: Actor[], emoji: string, meId: string): string {
  const names = people.map((p) => (p.id === meId ? "You" : p.name));
  const shown = names.length <= 3 ? names : [...names.slice(0, 2), `${names.length - 2} others`];
  const list = shown.length === 1 ? shown[0] : `${shown.slice(0, -1).join(", ")} and ${shown[shown.length - 1]}`;
  return `${list} reacted with ${emoji}`;
}

/** A message's reactions: one toggle per emoji with its count, pressed when it is mine. */
export function ReactionBar({ room, seq, reactions, meId }: { room: string; seq: number; reactions: ReactionMap; meId: string }) {
  // Those who reacted, under the names they go by now (protocol 1.10).
  const names = usePeople((s) => s.names);
  const entries = Object.entries(reactions);
  if (entries.length === 0) return null;
  return (
    <ul aria-label="Reactions" className="mt-1 flex flex-wrap gap-1">
      {entries.map(([emoji, reacted]) => {
        const people = reacted.map((p) => ({ id: p.id, name: names.get(p.id) ?? p.name }));
        const mine = people.some((p) => p.id === meId);
        return (
          <li key={emoji}>
            <button
              type="button"
              aria-pressed={mine}
              // Starts with what the button shows (the emoji and its count), then who and what a press does.
              aria-label={`${emoji} ${people.length}: ${reactedLabel(people, emoji, meId)}. ${mine ? "Take back" : "Add"} ${emoji}`}
              title={reactedLabel(people, emoji, meId)}
              onClick={() => react(room, seq, emoji, !mine)}
              className={`inline-flex h-6 items-center gap-1 rounded-full border px-2 text-xs ${
                mine ? "border-indigo-300 dark:border-indigo-700 bg-indigo-50 dark:bg-indigo-950 text-indigo-800 dark:text-indigo-200" : "border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 text-slate-700 dark:text-slate-300 hover:border-slate-300 dark:hover:border-slate-600"
              }`}
            >
              <span aria-hidden>{emoji}</span>
              <span aria-hidden className="tabular-nums">
                {people.length}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/**
 * The reaction picker: the quick ones, or any emoji typed in. Closes on Escape or a click away
 * (`onClose`), and once an emoji is chosen (`onPick`); each is told whether the keyboard did
 * it. It opens above the message, or below it where above would be cut off by the top of the
 * conversation (the first message in view).
 */
export function ReactionPicker({ onPick, onClose }: { onPick: (emoji: string, byKeyboard: boolean) => void; onClose: (byKeyboard: boolean) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const [typed, setTyped] = useState("");
  const [below, setBelow] = useState(false);
  // Another emoji may be typed as itself or found by name (`tada`, `:tada:`).
  const [names, setNames] = useState<{ list: NamedEmoji[]; byName: Map<string, string> } | null>(null);
  // "thumbs up" is found as "thumbsup", as Slack finds it.
  const name = /^:?([a-z0-9_+ -]{2,40}):?$/i.exec(typed.trim())?.[1]?.replaceAll(" ", "").toLowerCase() ?? null;
  const [notOne, setNotOne] = useState(false);
  useEffect(() => {
    if (name !== null && names === null) loadEmoji().then(setNames, () => undefined);
  }, [name, names]);
  const found = name !== null && names ? matchEmoji(names.list, name, 6) : [];
  useLayoutEffect(() => {
    const picker = ref.current;
    const scroller = picker?.closest('[role="log"]');
    if (picker && scroller) setBelow(picker.getBoundingClientRect().top < scroller.getBoundingClientRect().top);
  }, []);
  useEffect(() => {
    ref.current?.querySelector("button")?.focus();
    const away = (e: PointerEvent) => {
      if (!ref.current?.contains(e.target as Node)) onClose(false);
    };
    document.addEventListener("pointerdown", away);
    return () => document.removeEventListener("pointerdown", away);
  }, [onClose]);
  return (
    <div
      ref={ref}
      role="dialog"
      aria-label="Add a reaction"
      // Tabbed out of: closed, as a click elsewhere closes it (the focus stays where it went).
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) onClose(false);
      }}
      onKeyDown={(e) => {
        if (e.key !== "Escape") return;
        e.preventDefault(); // the picker's Escape: an open inspector stays open
        onClose(true);
      }}
      className={`absolute right-2 ${below ? "top-full mt-1" : "bottom-full mb-1"} z-20 rounded-lg border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 p-2 shadow-lg`}
    >
      <div className="flex gap-1">
        {QUICK_REACTIONS.map((emoji) => (
          <button
            key={emoji}
            type="button"
            aria-label={`React with ${emoji}`}
            // A click the keyboard made (Enter, Space) has no pointer's count.
            onClick={(e) => onPick(emoji, e.detail === 0)}
            className="rounded p-1 text-lg leading-none hover:bg-slate-100 dark:hover:bg-slate-800"
          >
            {emoji}
          </button>
        ))}
      </div>
      <form
        className="mt-2 flex gap-1"
        onSubmit={(e) => {
          e.preventDefault();
          // Only what the server takes goes out: anything else is said here, not sent.
          const chosen = (name !== null && (names?.byName.get(name) ?? found[0]?.emoji)) || asOneEmoji(typed);
          if (chosen) onPick(chosen, true);
          else if (typed.trim()) setNotOne(true);
        }}
      >
        <label className="sr-only" htmlFor="reaction-other">
          Another emoji
        </label>
        <input
          id="reaction-other"
          value={typed}
          onChange={(e) => {
            setTyped(e.target.value);
            setNotOne(false);
          }}
          aria-invalid={notOne}
          aria-describedby={notOne ? "reaction-not-one" : undefined}
          placeholder="Emoji or name"
          maxLength={42}
          className="w-28 rounded border border-slate-300 dark:border-slate-600 px-2 py-0.5 text-sm"
        />
        <button type="submit" className="rounded bg-slate-100 dark:bg-slate-800 px-2 text-xs font-medium text-slate-700 dark:text-slate-300 hover:bg-slate-200 dark:hover:bg-slate-700">
          Add
        </button>
      </form>
      {notOne && (
        <p id="reaction-not-one" role="alert" className="mt-1 max-w-64 text-xs text-rose-700 dark:text-rose-300">
          Not an emoji: type one, or its name.
        </p>
      )}
      {found.length > 0 && (
        <div role="group" aria-label="Emoji found" className="mt-1 flex max-w-64 flex-wrap gap-1">
          {found.map((o) => (
            <button
              key={o.name}
              type="button"
              aria-label={`React with ${o.emoji} :${o.name}:`}
              title={`:${o.name}:`}
              onClick={(e) => onPick(o.emoji, e.detail === 0)}
              className="rounded p-1 text-lg leading-none hover:bg-slate-100 dark:hover:bg-slate-800"
            >
              {o.emoji}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
