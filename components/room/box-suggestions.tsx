"use client";
import type { KeyboardEvent, RefObject } from "react";
import { useEmojiAutocomplete } from "./emoji-autocomplete";
import { useMentionAutocomplete, useTextWithCaret } from "./mention-autocomplete";

/**
 * What a message box (the composer, the edit box) offers as one types: people after `@`, emoji
 * after `:`. At most one list is open at a time: a `:` inside a name does not start one.
 */
export function useBoxSuggestions(roomId: string, text: string, setText: (text: string) => void, box: RefObject<HTMLTextAreaElement | null>) {
  const setTextWithCaret = useTextWithCaret(box, setText);
  const mentions = useMentionAutocomplete(roomId, text, setTextWithCaret);
  const emoji = useEmojiAutocomplete(text, setTextWithCaret);
  return {
    /** Props for the box: the open list's ARIA, and the caret followed. */
    boxProps: {
      ...(emoji.open ? emoji.inputProps : mentions.inputProps),
      onSelect: (e: { currentTarget: HTMLTextAreaElement }) => {
        mentions.inputProps.onSelect(e);
        emoji.onSelect(e);
      },
    },
    /** The open list's keys; true when the key was a list's (the box must not act on it). */
    onKeyDown: (e: KeyboardEvent<HTMLTextAreaElement>) => mentions.onKeyDown(e) || emoji.onKeyDown(e),
    /** The box's new text as typed: set as it is, or with the emoji name it closes turned into its emoji. */
    typed: (value: string, caret: number) => {
      if (!emoji.typed(value, caret)) setText(value);
    },
    lists: (
      <>
        {mentions.list}
        {emoji.list}
      </>
    ),
    mentionIds: mentions.mentionIds,
    reset: mentions.reset,
  };
}
