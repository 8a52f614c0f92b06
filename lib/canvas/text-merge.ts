// Two people editing one note's text at once. Each edits a copy of the text as it was when they
// began; the one who finishes second would otherwise write over the first one's words. Instead
// the second save is merged: each edit is the stretch of the starting text it replaced and
// what it put there (the text between their common start and common end), and both apply.
// A page merges what it has seen when it saves (`mergeText`); the server merges what it accepted
// meanwhile from others (`mergeTextOps`, protocol 1.16), which the page could not have seen.
import type { Board } from "./board";
import { MAX_CANVAS_TEXT, type CanvasOp } from "../protocol";

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

/**
 * A change's ops as they commit on `board` (protocol 1.16): an update that sets a note's `text`
 * from a `base` the note no longer reads is merged with what the note reads now, the text
 * already there first. `base` is dropped from every op: the log holds plain updates. A merge
 * longer than a note may hold is not made; the op's own text stands.
 */
export function mergeTextOps(board: Board, ops: readonly CanvasOp[]): CanvasOp[] {
  if (!ops.some((op) => op.op === "update" && op.base !== undefined)) return [...ops];
  // The texts the batch's earlier ops left, over the board's (no copy of the board).
  const texts = new Map<string, string>();
  const textOf = (id: string) => texts.get(id) ?? board.get(id)?.text ?? "";
  return ops.map((op) => {
    if (op.op === "create") texts.set(op.id, op.object.text ?? "");
    if (op.op === "delete") texts.set(op.id, "");
    if (op.op !== "update") return op;
    const { base, ...plain } = op;
    const typed = plain.set.text;
    if (typed === undefined) return plain;
    const current = textOf(op.id);
    let text = typed;
    if (base !== undefined && current !== base) {
      const merged = mergeText(base, typed, current);
      if (merged.length <= MAX_CANVAS_TEXT) text = merged;
    }
    texts.set(op.id, text);
    return text === typed ? plain : { ...plain, set: { ...plain.set, text } };
  });
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
