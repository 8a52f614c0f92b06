"use client";
import { useId, useMemo, useState, type ReactNode } from "react";
import { showEmojiNames } from "@/lib/emoji";
import { isLongMessage, parseMessage, type Block, type Inline } from "@/lib/markdown";
import { mentionSpans, namedMentionSpans } from "@/lib/mentions";
import { useEmojiNames } from "@/components/ui/emoji-text";

/**
 * A message's text as elements: links, light markdown (quotes and lists too), mentions, emoji
 * names written out whole (`:tada:`, as the API or another app may send them), and long ones
 * collapsed behind "Show more". Everything in it is a text node React escapes; nothing is ever
 * markup.
 * `mentions`: the people the message names (version 1.2), marked exactly; without them a
 * mention is found by `@name`, running as far as one of `knownNames` (lower-cased) reaches.
 */
export function MessageBody({
  text,
  knownNames,
  mentions,
}: {
  text: string;
  knownNames: ReadonlySet<string>;
  mentions?: ReadonlyArray<{ name: string }>;
}) {
  const blocks = useMemo(() => {
    const split = mentions
      ? (plain: string) => namedMentionSpans(plain, mentions.map((m) => m.name))
      : (plain: string) => mentionSpans(plain, knownNames);
    return parseMessage(text, split);
  }, [text, knownNames, mentions]);
  const emojiNames = useEmojiNames(text);
  const long = isLongMessage(text);
  const [expanded, setExpanded] = useState(false);
  const id = useId();
  const collapsed = long && !expanded;

  return (
    <>
      <div
        id={id}
        // A link tabbed to in the hidden part would have its focus out of sight: show it all.
        onFocus={collapsed ? () => setExpanded(true) : undefined}
        className={`space-y-1 text-sm wrap-anywhere ${collapsed ? "max-h-60 overflow-clip [mask-image:linear-gradient(to_bottom,black_75%,transparent)]" : ""}`}
      >
        {blocks.map((block, i) => (
          <BlockElement key={i} block={block} emojiNames={emojiNames} />
        ))}
      </div>
      {long && (
        <button
          type="button"
          aria-expanded={expanded}
          aria-controls={id}
          onClick={() => setExpanded((e) => !e)}
          className="mt-0.5 text-xs font-medium text-indigo-700 dark:text-indigo-300 hover:underline"
        >
          {expanded ? "Show less" : "Show more"}
        </button>
      )}
    </>
  );
}

type EmojiNames = ReadonlyMap<string, string> | null;

function BlockElement({ block, emojiNames }: { block: Block; emojiNames: EmojiNames }) {
  const inlines = (children: Inline[]) => renderInlines(children, emojiNames);
  switch (block.kind) {
    case "code":
      return (
        <pre className="overflow-x-auto rounded-md bg-slate-100 dark:bg-slate-800 px-3 py-2 font-mono text-[13px] whitespace-pre text-slate-800 dark:text-slate-200">
          <code>{block.text}</code>
        </pre>
      );
    case "paragraph":
      return <p className="whitespace-pre-wrap">{inlines(block.children)}</p>;
    case "quote":
      return (
        <blockquote className="border-l-4 border-slate-300 dark:border-slate-600 pl-3 whitespace-pre-wrap text-slate-700 dark:text-slate-300">
          {inlines(block.children)}
        </blockquote>
      );
    case "list": {
      // Each number as typed: a quoted "9." stays 9, whatever comes before it.
      const items = block.items.map((item, i) => (
        <li key={i} value={block.ordered ? block.numbers[i] : undefined} className="whitespace-pre-wrap">
          {inlines(item)}
        </li>
      ));
      return block.ordered ? (
        <ol className="list-decimal pl-8">{items}</ol>
      ) : (
        <ul className="list-disc pl-6">{items}</ul>
      );
    }
  }
}

function renderInlines(inlines: Inline[], emojiNames: EmojiNames): ReactNode[] {
  return inlines.map((piece, i) => {
    switch (piece.kind) {
      case "text":
        return emojiNames ? showEmojiNames(piece.text, emojiNames) : piece.text;
      case "mention":
        return (
          <span key={i} className="rounded bg-indigo-50 dark:bg-indigo-950 px-0.5 font-medium text-indigo-700 dark:text-indigo-300">
            {piece.text}
          </span>
        );
      case "code":
        return (
          <code key={i} className="rounded bg-slate-100 dark:bg-slate-800 px-1 py-px font-mono text-[13px] text-rose-800 dark:text-rose-200">
            {piece.text}
          </code>
        );
      case "link":
        return (
          <a
            key={i}
            href={piece.href}
            target="_blank"
            rel="noopener noreferrer"
            // A label may say anything; the hover shows where it really goes.
            title={piece.text === piece.href ? undefined : piece.href}
            className="text-indigo-700 dark:text-indigo-300 underline decoration-indigo-300 dark:decoration-indigo-700 hover:decoration-indigo-700 dark:hover:decoration-indigo-300"
          >
            {piece.text}
          </a>
        );
      case "strong":
        return (
          <strong key={i} className="font-semibold">
            {renderInlines(piece.children, emojiNames)}
          </strong>
        );
      case "em":
        return <em key={i}>{renderInlines(piece.children, emojiNames)}</em>;
      case "strike":
        return <s key={i}>{renderInlines(piece.children, emojiNames)}</s>;
      default: {
        const unknown: never = piece;
        return unknown;
      }
    }
  });
}
