// Message text for display and notification: previews and `@name` mentions. Not part of the
// wire contract; shared by the server (which mentions people) and the pages (which mark them).
import { plainText } from "./markdown";

export const PREVIEW_CHARS = 140;
/** Runs of white space that read as one space: a single space is left as it is (most are). */
const SPACES_TO_COLLAPSE = /\s{2,}|[^\S ]/g;
/** A message as one short line of what a reader sees (markdown markers gone). */
export function previewOf(text: string): string {
  const flat = plainText(text).replace(SPACES_TO_COLLAPSE, " ").trim();
  return flat.length <= PREVIEW_CHARS ? flat : `${flat.slice(0, PREVIEW_CHARS - 1)}…`;
}

/** Display names are up to 32 characters and may hold spaces, so a mention may run to four words. */
const MENTION = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_.-]+(?: [\p{L}\p{N}_.-]+){0,3})/gu;

/**
 * The names each `@` in a message may stand for, lower-cased, longest first: "@Ada Lovelace,
 * hi" → [["ada lovelace", "ada"]]. The server mentions the longest that is someone's name.
 */
export function mentionCandidates(text: string): string[][] {
  const groups: string[][] = [];
  for (const m of text.matchAll(MENTION)) {
    const words = m[2]!.split(" ");
    const names: string[] = [];
    for (let n = words.length; n >= 1; n--) {
      const name = words.slice(0, n).join(" ").replace(/[.-]+$/, "").toLowerCase();
      if (name && name.length <= 32 && !names.includes(name)) names.push(name);
    }
    if (names.length > 0) groups.push(names);
  }
  return groups;
}

/**
 * The text in pieces, mentions marked, for display: a mention runs to the longest of its
 * candidate names found in `known` (lower-cased names), else to its first word.
 */
export function mentionSpans(text: string, known: ReadonlySet<string>): Array<{ text: string; mention: boolean }> {
  const spans: Array<{ text: string; mention: boolean }> = [];
  let at = 0;
  for (const m of text.matchAll(MENTION)) {
    const start = m.index + m[1]!.length;
    const words = m[2]!.split(" ");
    let name = "";
    for (let n = words.length; n >= 1 && !name; n--) {
      const candidate = words.slice(0, n).join(" ").replace(/[.-]+$/, "");
      if (n === 1 || known.has(candidate.toLowerCase())) name = candidate;
    }
    if (!name) continue;
    if (start > at) spans.push({ text: text.slice(at, start), mention: false });
    spans.push({ text: `@${name}`, mention: true });
    at = start + 1 + name.length;
  }
  if (at < text.length) spans.push({ text: text.slice(at), mention: false });
  return spans;
}

/**
 * The text in pieces with exactly these people's mentions marked (version 1.2 messages carry
 * them as `mentions: [{id, name}]`, `name` being the text after the `@`): `@name`, any case,
 * not followed by more of a word. Longer names win, so "@Ada Lovelace" is not "@Ada".
 */
export function namedMentionSpans(text: string, names: readonly string[]): Array<{ text: string; mention: boolean }> {
  const wanted = [...new Set(names.filter((n) => n !== ""))].sort((a, b) => b.length - a.length);
  if (wanted.length === 0) return text ? [{ text, mention: false }] : [];
  const escaped = wanted.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(^|[^\\p{L}\\p{N}_])(@(?:${escaped.join("|")}))(?![\\p{L}\\p{N}_])`, "giu");
  const spans: Array<{ text: string; mention: boolean }> = [];
  let at = 0;
  for (const m of text.matchAll(pattern)) {
    const start = m.index + m[1]!.length;
    if (start > at) spans.push({ text: text.slice(at, start), mention: false });
    spans.push({ text: m[2]!, mention: true });
    at = start + m[2]!.length;
  }
  if (at < text.length) spans.push({ text: text.slice(at), mention: false });
  return spans;
}

/**
 * The `@` being typed just before the caret and what follows it ("@Ada Lo|" → "Ada Lo"), or
 * null when the caret is not in a mention: what the autocomplete completes.
 */
export function mentionQueryAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret);
  const start = before.lastIndexOf("@");
  if (start === -1) return null;
  if (start > 0 && /[\p{L}\p{N}_]/u.test(before[start - 1]!)) return null; // an e-mail address
  const query = before.slice(start + 1);
  // A name is at most 32 characters and a mention does not run over a line.
  if (query.length > 32 || query.includes("\n")) return null;
  return { start, query };
}
