// A message's text as a tree of pieces for the page to render as elements: links, light
// markdown (**bold**, _italic_ or *italic*, ~~struck~~, `code`, ``` blocks ```, "> " quotes, "- "
// and "1. " lists) and @mentions. There is no HTML anywhere in or out: every piece is plain text the page
// puts in a text node, so whatever a message holds — tags, `javascript:` URLs, unbalanced
// markers — shows as the characters typed.

export type Inline =
  | { kind: "text"; text: string }
  | { kind: "mention"; text: string }
  | { kind: "code"; text: string }
  | { kind: "link"; href: string; text: string }
  | { kind: "strong"; children: Inline[] }
  | { kind: "em"; children: Inline[] }
  | { kind: "strike"; children: Inline[] };

export type Block =
  | { kind: "paragraph"; children: Inline[] }
  | { kind: "code"; text: string }
  /** Lines that begin "> ", as one quote. */
  | { kind: "quote"; children: Inline[] }
  /** Lines that begin "- " or "* " (bullets), or a number and "." or ")": `numbers` as typed. */
  | { kind: "list"; ordered: boolean; numbers: number[]; items: Inline[][] };

/** Splits plain text into mentions and the rest (lib/mentions.ts `mentionSpans`, or names given). */
export type MentionSplitter = (text: string) => Array<{ text: string; mention: boolean }>;

/** Emphasis inside emphasis stops here; deeper markers show as typed. */
const MAX_DEPTH = 4;

/** Only these schemes ever become links; anything else (javascript:, data:, …) stays text. */
export function isSafeHref(href: string): boolean {
  try {
    const url = new URL(href);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/**
 * The message as blocks: fenced code blocks (``` … ```, an optional language word on the
 * opening line), and between them paragraphs, quotes and lists, line by line. An unclosed fence
 * is text.
 */
export function parseMessage(text: string, splitMentions: MentionSplitter = noMentions): Block[] {
  const blocks: Block[] = [];
  const fence = /```(?:[\w+#.-]*\n)?([\s\S]*?)```/g;
  let at = 0;
  for (const m of text.matchAll(fence)) {
    if (m[1]!.trim() === "") continue; // ``` ``` is not a block: the backticks stay text
    pushParagraph(blocks, text.slice(at, m.index), splitMentions);
    blocks.push({ kind: "code", text: m[1]!.replace(/\n$/, "") });
    at = m.index + m[0].length;
  }
  pushParagraph(blocks, text.slice(at), splitMentions);
  return blocks;
}

/** What a line of text starts, and what it holds without its marker. */
type Line = { kind: "plain" | "quote" | "bullet"; text: string } | { kind: "numbered"; text: string; number: number };

const QUOTE_LINE = /^>(?: (.*))?$/;
const BULLET_LINE = /^[-*] +(\S.*)$/;
/** Up to three digits: "2024. was a year" is a sentence, not a list. */
const NUMBERED_LINE = /^(\d{1,3})[.)] +(\S.*)$/;

function lineOf(line: string): Line {
  let m = QUOTE_LINE.exec(line);
  if (m) return { kind: "quote", text: m[1] ?? "" };
  m = BULLET_LINE.exec(line);
  if (m) return { kind: "bullet", text: m[1]! };
  m = NUMBERED_LINE.exec(line);
  if (m) return { kind: "numbered", text: m[2]!, number: Number(m[1]) };
  return { kind: "plain", text: line };
}

/** Text between code blocks: runs of lines of one kind become a paragraph, a quote or a list. */
function pushParagraph(blocks: Block[], text: string, splitMentions: MentionSplitter): void {
  const body = paragraphBody(text);
  if (body === null) return;
  const lines = body.split("\n").map(lineOf);
  for (let i = 0; i < lines.length; ) {
    const first = lines[i]!;
    let end = i + 1;
    while (end < lines.length && lines[end]!.kind === first.kind) end++;
    const run = lines.slice(i, end);
    i = end;
    if (first.kind === "bullet" || first.kind === "numbered") {
      const items = run.map((line) => parseInline(line.text, splitMentions));
      const numbers = run.map((line) => (line.kind === "numbered" ? line.number : 0));
      blocks.push({ kind: "list", ordered: first.kind === "numbered", numbers, items });
      continue;
    }
    const joined = paragraphBody(run.map((line) => line.text).join("\n"));
    if (joined === null) continue;
    blocks.push({ kind: first.kind === "quote" ? "quote" : "paragraph", children: parseInline(joined, splitMentions) });
  }
}

/** The text of a paragraph between code blocks, or null when it is only blank. */
function paragraphBody(text: string): string | null {
  // The line breaks around a code block belong to the block, not to the text beside it.
  const trimmed = text.replace(/^\n/, "").replace(/\n$/, "");
  return trimmed.trim() === "" ? null : trimmed;
}

/** One paragraph's inline pieces: code spans and links first, then emphasis, then mentions in what is left. */
export function parseInline(text: string, splitMentions: MentionSplitter = noMentions, depth = 0): Inline[] {
  const out: Inline[] = [];
  let plain = "";
  const flush = () => {
    if (plain) for (const span of splitMentions(plain)) out.push(span.mention ? { kind: "mention", text: span.text } : { kind: "text", text: span.text });
    plain = "";
  };
  const unclosed: Unclosed = {};
  let i = 0;
  while (i < text.length) {
    const atom = atomAt(text, i);
    if (atom) {
      flush();
      out.push(atom.inline);
      i = atom.end;
      continue;
    }
    const emphasis = depth < MAX_DEPTH ? emphasisAt(text, i, unclosed) : null;
    if (emphasis) {
      flush();
      const children = parseInline(text.slice(emphasis.contentStart, emphasis.contentEnd), splitMentions, depth + 1);
      out.push({ kind: emphasis.kind, children });
      i = emphasis.end;
      continue;
    }
    plain += text[i];
    i++;
  }
  flush();
  return out;
}

const noMentions: MentionSplitter = (text) => [{ text, mention: false }];

/** Bare URLs run to the next space or angle bracket; trailing punctuation is the sentence's. */
const BARE_URL = /https?:\/\/[^\s<>"]+/iy;
const LABELLED_LINK = /\[([^\]\n]{1,500})\]\(([^)\s]{1,2000})\)/y;

/** A code span or a link starting at `i`: pieces nothing else may look inside. */
function atomAt(text: string, i: number): { inline: Inline; end: number } | null {
  const c = text[i];
  // A run of backticks opens only at its start: "``x``" is one span, not a span inside another.
  if (c === "`" && text[i - 1] !== "`") {
    const run = backtickRun(text, i);
    const close = findBacktickRun(text, i + run, run);
    if (close < 0) return null;
    const code = text.slice(i + run, close);
    if (code.trim() === "") return null;
    return { inline: { kind: "code", text: code }, end: close + run };
  }
  if (c === "[") {
    LABELLED_LINK.lastIndex = i;
    const m = LABELLED_LINK.exec(text);
    if (m && isSafeHref(m[2]!)) return { inline: { kind: "link", href: m[2]!, text: m[1]! }, end: i + m[0].length };
    return null;
  }
  if ((c === "h" || c === "H") && !isWordChar(text[i - 1])) {
    BARE_URL.lastIndex = i;
    const m = BARE_URL.exec(text);
    if (!m) return null;
    const url = trimTrailingPunctuation(m[0]);
    if (!isSafeHref(url)) return null;
    return { inline: { kind: "link", href: url, text: url }, end: i + url.length };
  }
  return null;
}

/** "see https://x.org/a." → the dot ends the sentence; a closing bracket with no opening one in the URL too. */
function trimTrailingPunctuation(url: string): string {
  let end = url.length;
  for (;;) {
    const last = url[end - 1]!;
    if (/[.,;:!?'*_]/.test(last)) end--;
    else if (last === ")" && count(url.slice(0, end), "(") < count(url.slice(0, end), ")")) end--;
    else if (last === "]" && count(url.slice(0, end), "[") < count(url.slice(0, end), "]")) end--;
    else break;
  }
  return url.slice(0, end);
}

const count = (s: string, c: string) => s.split(c).length - 1;

function backtickRun(text: string, i: number): number {
  let n = 0;
  while (text[i + n] === "`") n++;
  return n;
}

/** The next run of exactly `length` backticks at or after `from`, or -1. */
function findBacktickRun(text: string, from: number, length: number): number {
  for (let j = text.indexOf("`", from); j >= 0; j = text.indexOf("`", j)) {
    const run = backtickRun(text, j);
    if (run === length) return j;
    j += run;
  }
  return -1;
}

/**
 * Per marker, a position from which a search for its closer already reached the end in vain:
 * a later opener of the same marker has none either, so a line of a thousand `*a ` is read in
 * one pass, not a thousand.
 */
type Unclosed = Partial<Record<"**" | "*" | "_" | "~~", number>>;

interface Emphasis {
  kind: "strong" | "em" | "strike";
  contentStart: number;
  contentEnd: number;
  end: number;
}

/** `**…**`, `*…*`, `_…_` or `~~…~~` opening at `i` with a closer further on, or null (then the marker is text). */
function emphasisAt(text: string, i: number, unclosed: Unclosed): Emphasis | null {
  const c = text[i];
  if (c === "~") {
    if (text[i + 1] !== "~") return null;
    const close = findCloser(text, i, "~~", unclosed);
    return close >= 0 ? { kind: "strike", contentStart: i + 2, contentEnd: close, end: close + 2 } : null;
  }
  if (c !== "*" && c !== "_") return null;
  if (c === "*" && text[i + 1] === "*") {
    const close = findCloser(text, i, "**", unclosed);
    if (close >= 0) return { kind: "strong", contentStart: i + 2, contentEnd: close, end: close + 2 };
  }
  if (text[i + 1] === c && c === "_") return null;
  const close = findCloser(text, i, c, unclosed);
  return close >= 0 ? { kind: "em", contentStart: i + 1, contentEnd: close, end: close + 1 } : null;
}

/**
 * Where the emphasis opened by `marker` at `open` closes, or -1. An opener is followed by a
 * non-space and a closer follows one ("2 * 3 * 4" is arithmetic); `_` neither opens nor closes
 * inside a word (snake_case_names). Code spans and links are skipped whole, so a marker in
 * them closes nothing.
 */
function findCloser(text: string, open: number, marker: "**" | "*" | "_" | "~~", unclosed: Unclosed): number {
  const after = open + marker.length;
  if (!text[after] || /\s/.test(text[after]!)) return -1;
  if (marker === "_" && isWordChar(text[open - 1])) return -1;
  const from = after + 1;
  if (unclosed[marker] !== undefined && from >= unclosed[marker]) return -1;
  let j = from;
  while (j < text.length) {
    const atom = atomAt(text, j);
    if (atom) {
      j = atom.end;
      continue;
    }
    if (text.startsWith(marker, j) && !/\s/.test(text[j - 1]!)) {
      const next = text[j + marker.length];
      // A single `*` never closes on half of a `**`, which belongs to bold.
      const halfOfDouble = marker === "*" && (next === "*" || text[j - 1] === "*");
      const inWord = marker === "_" && isWordChar(next);
      if (!halfOfDouble && !inWord) return j;
    }
    if (marker === "*" && text.startsWith("**", j)) {
      j += 2;
      continue;
    }
    j++;
  }
  unclosed[marker] = from;
  return -1;
}

function isWordChar(c: string | undefined): boolean {
  return c !== undefined && /[\p{L}\p{N}_]/u.test(c);
}

/** Messages longer than this (characters or lines) start collapsed. */
export const LONG_MESSAGE_CHARS = 1000;
export const LONG_MESSAGE_LINES = 12;

export function isLongMessage(text: string): boolean {
  return text.length > LONG_MESSAGE_CHARS || text.split("\n").length > LONG_MESSAGE_LINES;
}

/** Every character that can begin markup: a code span or block, a labelled link, emphasis, strikethrough. */
const MARKUP = /[`[*_~]/;

/**
 * The message as the words a reader sees, markers gone: what previews show (the feed,
 * notifications, a reply's quote), where there is no room for formatting.
 */
export function plainText(text: string): string {
  // Most messages have no markup at all: they read as they are. (Links keep their text, so a
  // bare URL needs no parsing either.)
  if (!MARKUP.test(text)) return paragraphBody(text) ?? "";
  return parseMessage(text).map(blockText).join("\n");
}

/** A block's words, its quote and list markers kept as the usual ones. */
function blockText(block: Block): string {
  switch (block.kind) {
    case "code":
      return block.text;
    case "paragraph":
      return inlineText(block.children);
    case "quote":
      return inlineText(block.children)
        .split("\n")
        .map((line) => `> ${line}`)
        .join("\n");
    case "list":
      return block.items.map((item, i) => `${block.ordered ? `${block.numbers[i]}.` : "-"} ${inlineText(item)}`).join("\n");
  }
}

function inlineText(pieces: Inline[]): string {
  return pieces.map((p) => ("children" in p ? inlineText(p.children) : p.text)).join("");
}
