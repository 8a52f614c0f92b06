// Two people editing one note's text at once. Each edits a copy of the text as it was when they
// began; the one who finishes second would otherwise write over the first one's words. Instead
// the second save is merged: each edit is the stretch of the starting text it replaced and
// what it put there (the text between their common start and common end), and both apply.

/** One edit of `base`: `base.slice(start, end)` became `text`. */
interface Edit {
  start: number;
  end: number;
  text: string;
}

/**
 * `mine` and `theirs`, two edits of `base`, as one text. Edits of different stretches both
 * apply; edits of the same stretch (both typing at the end of a note, say) keep both
 * insertions, theirs first, as theirs was saved first.
 */
export function mergeText(base: string, mine: string, theirs: string): string {
  if (theirs === base || theirs === mine) return mine;
  if (mine === base) return theirs;
  const a = editOf(base, mine);
  const b = editOf(base, theirs);
  if (b.end <= a.start) return base.slice(0, b.start) + b.text + base.slice(b.end, a.start) + a.text + base.slice(a.end);
  if (a.end <= b.start) return base.slice(0, a.start) + a.text + base.slice(a.end, b.start) + b.text + base.slice(b.end);
  // Overlapping stretches: both replacements stand where the two stretches were, theirs first.
  return base.slice(0, Math.min(a.start, b.start)) + b.text + a.text + base.slice(Math.max(a.end, b.end));
}

/** What `next` changed of `base`: between their longest common start and end, whole characters only. */
function editOf(base: string, next: string): Edit {
  let start = 0;
  while (start < base.length && start < next.length && base[start] === next[start]) start++;
  // Not between the two halves of a character outside the Basic Multilingual Plane (an emoji).
  if (start > 0 && isHighSurrogate(base.charCodeAt(start - 1))) start--;
  let tail = 0;
  while (tail < base.length - start && tail < next.length - start && base[base.length - 1 - tail] === next[next.length - 1 - tail]) tail++;
  if (tail > 0 && isLowSurrogate(base.charCodeAt(base.length - tail))) tail--;
  return { start, end: base.length - tail, text: next.slice(start, next.length - tail) };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
