"use client";
// Emoji names written out whole (`:tada:`), shown as their emoji wherever a message's text is:
// the message itself, and its previews in the feed, notifications and replies. A message written
// here has its emoji already (the composer turns names into emoji as they are typed); one sent
// through the API or by another app may not.
import { useEffect, useState } from "react";
import { emojiNamesNow, loadEmoji, mayNameEmoji, showEmojiNames } from "@/lib/emoji";

/**
 * The emoji names, when `text` may hold one: at once if this page has loaded them already,
 * else null until they arrive (GitHub's list, a chunk of its own, fetched the first time).
 */
export function useEmojiNames(text: string): ReadonlyMap<string, string> | null {
  const needed = mayNameEmoji(text);
  const [names, setNames] = useState(emojiNamesNow);
  useEffect(() => {
    if (needed && names === null) loadEmoji().then(({ byName }) => setNames(byName), () => undefined);
  }, [needed, names]);
  return needed ? names : null;
}

/** A plain text (a message's preview) with its emoji names shown as emoji. */
export function EmojiText({ text }: { text: string }) {
  const names = useEmojiNames(text);
  return <>{names ? showEmojiNames(text, names) : text}</>;
}
