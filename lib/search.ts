// Message search, shared by the server (which words a query asks for, the snippet it answers
// with) and the page (the words marked in each snippet). Words are runs of letters and digits,
// lower-cased; each matches the beginning of a word in a message ("depl" finds "deploy").

/** The longest search query, in characters (the server refuses longer; the fields stop there). */
export const MAX_SEARCH_CHARS = 200;
/** The most messages one search answers (`limit`; 20 without it), newest first. */
export const MAX_SEARCH_RESULTS = 50;
/** A query's words beyond this many are ignored; each word is cut at `MAX_WORD_CHARS`. */
export const MAX_SEARCH_WORDS = 8;
const MAX_WORD_CHARS = 40;
/** A snippet's length, about: some text before the first word found, more after it. */
const SNIPPET_BEFORE = 60;
const SNIPPET_AFTER = 140;

/** The words of a search query, lower-cased, without repeats; empty when it has none. */
export function searchWords(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.map((w) => w.slice(0, MAX_WORD_CHARS)))].slice(0, MAX_SEARCH_WORDS);
}

/** The database's query for `words`: every word, each as a word's beginning. */
export function wordsQuery(words: string[]): string {
  return words.map((w) => `${w}:*`).join(" & ");
}

/**
 * The part of `text` around the first place one of `words` begins a word, on one line: what a
 * result shows, with "…" where text was left out.
 */
export function snippetAround(text: string, words: string[]): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const at = firstMatch(flat, words)?.index ?? 0;
  let start = Math.max(0, at - SNIPPET_BEFORE);
  let end = Math.min(flat.length, at + SNIPPET_AFTER);
  // Whole words at the cuts.
  if (start > 0) start = flat.indexOf(" ", start) + 1 || start;
  if (end < flat.length) end = flat.lastIndexOf(" ", end) > at ? flat.lastIndexOf(" ", end) : end;
  return `${start > 0 ? "…" : ""}${flat.slice(start, end)}${end < flat.length ? "…" : ""}`;
}

/** `text` cut into pieces, `match` where one of `words` begins a word: what the page marks. */
export function markWords(text: string, words: string[]): Array<{ text: string; match: boolean }> {
  const pieces: Array<{ text: string; match: boolean }> = [];
  let rest = text;
  for (let m = firstMatch(rest, words); m; m = firstMatch(rest, words)) {
    if (m.index > 0) pieces.push({ text: rest.slice(0, m.index), match: false });
    pieces.push({ text: rest.slice(m.index, m.index + m.length), match: true });
    rest = rest.slice(m.index + m.length);
  }
  if (rest) pieces.push({ text: rest, match: false });
  return pieces;
}

/** The earliest place one of `words` begins a word of `text` (case aside), and its length. */
function firstMatch(text: string, words: string[]): { index: number; length: number } | null {
  if (words.length === 0) return null;
  // The longest first: "deploy" marks all of "deploy", not just its "dep".
  const alternatives = [...words].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join("|")})`, "iu");
  const m = pattern.exec(text);
  return m ? { index: m.index, length: m[0].length } : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
