"use client";
import { useEffect, useMemo, useRef, useState } from "react";
import { closedNameAt, emojiNameBegunAt, emojiQueryAt, loadEmoji, matchEmoji, type NamedEmoji } from "@/lib/emoji";
import { suggestionClass, SUGGESTIONS_CLASS, useSuggestionKeys } from "./suggestion-keys";

/** Suggestions shown at once. */
const SHOWN = 8;

/**
 * The `:name` autocomplete of a message box, as in Slack: `:ta` offers 🎉 `:tada:` and the rest;
 * picking one writes the emoji. A name typed out whole (`:tada:`) becomes its emoji as its
 * second `:` is typed. The names load the first time one is typed.
 */
export function useEmojiAutocomplete(text: string, setText: (text: string, caret: number) => void) {
  const [caret, setCaret] = useState(0);
  const [names, setNames] = useState<{ list: NamedEmoji[]; byName: Map<string, string> } | null>(null);
  const [dismissed, setDismissed] = useState<number | null>(null);

  const at = emojiQueryAt(text, caret);
  const query = at && at.start !== dismissed ? at.query : null;
  // Fetched as a name begins (its `:`), so a fast typist's `:tada:` rarely beats the list here.
  const starting = names === null && emojiNameBegunAt(text, caret);
  useEffect(() => {
    if (starting) loadEmoji().then(setNames, () => undefined);
  }, [starting]);
  // And when it does (a slow network), the name closed while the list was on its way becomes
  // its emoji as the list arrives, as it would have had the list been here.
  const late = useRef({ text, caret });
  late.current = { text, caret };
  useEffect(() => {
    if (!names) return;
    const { text: now, caret: at } = late.current;
    const closed = closedNameAt(now, at, names.byName);
    if (!closed) return;
    setText(now.slice(0, closed.start) + closed.emoji + now.slice(at), closed.start + closed.emoji.length);
    setCaret(closed.start + closed.emoji.length);
    // Only as the names arrive: later, a name closes by being typed (`typed` below).
  }, [names]);

  const options = useMemo(() => (query !== null && names ? matchEmoji(names.list, query, SHOWN) : []), [query, names]);
  const put = (start: number, end: number, emoji: string) => {
    const next = text.slice(0, start) + emoji + text.slice(end);
    setText(next, start + emoji.length);
    setCaret(start + emoji.length);
    keys.reset();
  };
  const keys = useSuggestionKeys(
    options,
    (o) => at && put(at.start, caret, `${o.emoji} `),
    () => setDismissed(at?.start ?? null),
  );

  return {
    /** Props for the textarea while this list is the one open. */
    inputProps: keys.boxProps,
    open: keys.open,
    onSelect: (e: { currentTarget: HTMLTextAreaElement }) => setCaret(e.currentTarget.selectionStart),
    /**
     * The box's new text, typed: a name it closes becomes its emoji. True when it did (the
     * text is set here, caret and all); false, the box sets the text as typed.
     */
    typed(value: string, caretNow: number): boolean {
      setCaret(caretNow);
      const closed = names ? closedNameAt(value, caretNow, names.byName) : null;
      if (!closed) return false;
      const next = value.slice(0, closed.start) + closed.emoji + value.slice(caretNow);
      setText(next, closed.start + closed.emoji.length);
      setCaret(closed.start + closed.emoji.length);
      return true;
    },
    onKeyDown: keys.onKeyDown,
    list: keys.open ? (
      <ul id={keys.listId} role="listbox" aria-label="Emoji" className={SUGGESTIONS_CLASS}>
        {options.map((o, i) => (
          <li
            key={o.name}
            id={keys.optionId(i)}
            role="option"
            aria-selected={i === keys.current}
            aria-label={`${o.emoji} :${o.name}:`}
            // Chosen on pointer down: a click would first move focus out of the box.
            onPointerDown={(e) => {
              e.preventDefault();
              if (at) put(at.start, caret, `${o.emoji} `);
            }}
            className={suggestionClass(i === keys.current)}
          >
            <span aria-hidden className="w-6 text-center text-lg leading-none">
              {o.emoji}
            </span>
            <span className="truncate font-mono text-xs">:{o.name}:</span>
          </li>
        ))}
      </ul>
    ) : null,
  };
}
