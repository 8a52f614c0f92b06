// Emoji by name, as Slack and GitHub write them: `:tada:` is 🎉. The names are GitHub's
// (gemoji), loaded the first time someone types one: most messages never need the list.

/** One emoji and the names it goes by (`tada`), the first being its own. */
export interface NamedEmoji {
  emoji: string;
  names: readonly string[];
}

/** A name's letters: `+1`, `t-rex`, `flag_us`. */
const NAME_CHARS = /^[a-z0-9_+-]+$/;
/** Letters typed after `:` before names are offered: `:)` or `12:30` must not open a list. */
const MIN_QUERY = 2;

/** What may come right before a name's `:`: the text's start, a space, an opening bracket or quote, markdown's marks. */
const BEFORE_NAME = /[\s([{"'*_~]/;

/** Where the last `:` in `before` is, if it starts a word (as a name's does); -1 otherwise. */
function openingColon(before: string): number {
  const start = before.lastIndexOf(":");
  return start > 0 && !BEFORE_NAME.test(before[start - 1]!) ? -1 : start;
}

/**
 * The emoji name being typed before the caret: from a `:` that starts a word to the caret, in
 * name letters only. `null` when the caret is not in one (`12:30`, `a:b`, `:)`).
 */
export function emojiQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const start = openingColon(before);
  if (start === -1) return null;
  const query = before.slice(start + 1).toLowerCase();
  if (query.length < MIN_QUERY || query.length > 40 || !NAME_CHARS.test(query)) return null;
  return { start, query };
}

/**
 * The emoji whose names match `query`, best first: a name that is the query, then names that
 * begin with it (shorter first), then names with a word that begins with it (`_party`).
 */
export function matchEmoji(list: readonly NamedEmoji[], query: string, limit: number): Array<{ emoji: string; name: string }> {
  const scored: Array<{ emoji: string; name: string; rank: number }> = [];
  for (const e of list) {
    let best: { name: string; rank: number } | null = null;
    for (const name of e.names) {
      const rank = name === query ? 0 : name.startsWith(query) ? 1 : name.includes(`_${query}`) ? 2 : -1;
      if (rank >= 0 && (!best || rank < best.rank || (rank === best.rank && name.length < best.name.length))) best = { name, rank };
    }
    if (best) scored.push({ emoji: e.emoji, ...best });
  }
  scored.sort((a, b) => a.rank - b.rank || a.name.length - b.name.length || a.name.localeCompare(b.name));
  return scored.slice(0, limit).map(({ emoji, name }) => ({ emoji, name }));
}

/** The caret is where a name may be beginning: a `:` that starts a word, then name letters or none yet. */
export function emojiNameBegunAt(text: string, caret: number): boolean {
  const before = text.slice(0, caret);
  const start = openingColon(before);
  if (start === -1) return false;
  return NAME_CHARS.test(before.slice(start + 1)) || start === caret - 1;
}

/**
 * A name just closed at the caret (`:tada:` as its second `:` is typed) and what stands for it,
 * so the box can show the emoji at once. `null` when the word before the caret is no known name.
 */
export function closedNameAt(text: string, caret: number, byName: ReadonlyMap<string, string>): { start: number; emoji: string } | null {
  if (text[caret - 1] !== ":") return null;
  const open = emojiQueryAt(text, caret - 1);
  if (!open) return null;
  const emoji = byName.get(open.query);
  return emoji ? { start: open.start, emoji } : null;
}

/** A name written out whole somewhere in a text (`:tada:`): worth loading the names for. */
const WRITTEN_NAME = /:[a-z0-9_+-]{2,40}:/i;
const WRITTEN_NAMES = /:([a-z0-9_+-]{2,40}):/gi;

/** Whether `text` may hold a name written out whole, as another app or the API may send it. */
export function mayNameEmoji(text: string): boolean {
  return WRITTEN_NAME.test(text);
}

/**
 * `text` with each known name written out whole (`:tada:`) shown as its emoji, as Slack shows a
 * message sent as text: where the name's `:` starts a word, or follows a name just shown
 * (`:tada::tada:`). Unknown names stay as written.
 */
export function showEmojiNames(text: string, byName: ReadonlyMap<string, string>): string {
  let lastEnd = -1;
  return text.replace(WRITTEN_NAMES, (whole: string, name: string, at: number) => {
    const before = text[at - 1];
    const emoji = byName.get(name.toLowerCase());
    if (!emoji || (at > 0 && at !== lastEnd && !BEFORE_NAME.test(before!))) return whole;
    lastEnd = at + whole.length;
    return emoji;
  });
}

let loaded: { list: NamedEmoji[]; byName: Map<string, string> } | null = null;
let loading: Promise<{ list: NamedEmoji[]; byName: Map<string, string> }> | null = null;

/** The names, if they have been loaded already (`loadEmoji`): a page that has them shows them at once. */
export function emojiNamesNow(): ReadonlyMap<string, string> | null {
  return loaded?.byName ?? null;
}

/** GitHub's emoji and their names, loaded once (a chunk of its own, fetched on first use). */
export function loadEmoji(): Promise<{ list: NamedEmoji[]; byName: Map<string, string> }> {
  loading ??= import("gemoji").then(
    ({ gemoji }) => {
      const byName = new Map<string, string>();
      for (const e of gemoji) for (const name of e.names) byName.set(name, e.emoji);
      return (loaded = { list: gemoji, byName });
    },
    (err: unknown) => {
      // Offline, say: the next name typed tries again.
      loading = null;
      throw err;
    },
  );
  return loading;
}
