"use client";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { messageHref } from "@/lib/message-links";
import { searchAnswerSchema, type SearchResult } from "@/lib/protocol";
import { showEmojiNames } from "@/lib/emoji";
import { distinctName, sharedNames } from "@/lib/names";
import { markWords, MAX_SEARCH_RESULTS, searchWords } from "@/lib/search";
import { usePeople } from "@/lib/store/people";
import { api, ApiError } from "@/lib/store/http";
import { RoomName } from "../rooms/room-name";
import { useEmojiNames } from "../ui/emoji-text";
import { MessageTime } from "../ui/relative-time";
import { SearchBox, useSearchRuns } from "./search-box";

type Answer = { status: "loading" } | { status: "done"; results: SearchResult[] } | { status: "error"; message: string };

/** The messages found for `query`, newest first, each a link that opens it in its room. */
export function SearchResults({ query }: { query: string }) {
  const [answer, setAnswer] = useState<Answer>({ status: "loading" });
  const words = searchWords(query);
  const runs = useSearchRuns((s) => s.runs);
  // Each author by the name they go by now; two people of one name among the results (guests
  // may share one) are told apart by their tags, as in the conversation.
  const names = usePeople((s) => s.names);
  const results = answer.status === "done" ? answer.results : null;
  const authors = useMemo(() => (results ?? []).map((r) => ({ id: r.actor.id, name: names.get(r.actor.id) ?? r.actor.name })), [results, names]);
  const shared = useMemo(() => sharedNames(authors), [authors]);

  useEffect(() => {
    if (searchWords(query).length === 0) return;
    let current = true;
    setAnswer({ status: "loading" });
    api(`/api/search?q=${encodeURIComponent(query)}&limit=${MAX_SEARCH_RESULTS}`, searchAnswerSchema)
      .then(({ results }) => current && setAnswer({ status: "done", results }))
      .catch((err: unknown) => current && setAnswer({ status: "error", message: err instanceof ApiError ? err.message : "Could not search; try again." }));
    return () => {
      current = false;
    };
  }, [query, runs]);

  return (
    <div className="h-full overflow-y-auto">
      <div className="mx-auto max-w-2xl space-y-4 p-4 sm:p-6">
        <h1 className="text-xl font-bold tracking-tight">Search</h1>
        <SearchBox id="search-page-query" name="Search" initial={query} autoFocus={words.length === 0} />
        <p role="status" className="text-sm text-slate-600 dark:text-slate-300">
          {words.length === 0
            ? "Messages with every word you type, in the rooms you can read."
            : answer.status === "loading"
              ? "Searching…"
              : answer.status === "error"
                ? answer.message
                : summary(answer.results.length, query)}
        </p>
        {answer.status === "done" && answer.results.length > 0 && (
          <ul aria-label="Search results" className="divide-y divide-slate-100 dark:divide-slate-800 overflow-hidden rounded-xl border border-slate-200 dark:border-slate-700 bg-white dark:bg-slate-900 shadow-sm">
            {answer.results.map((r, i) => (
              <li key={`${r.roomId}:${r.seq}`}>
                <Link href={messageHref(r.roomId, r.seq)} className="block px-4 py-3 hover:bg-slate-50 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500">
                  <span className="flex items-baseline gap-2 text-xs text-slate-600 dark:text-slate-400">
                    <span className="truncate font-semibold text-slate-800 dark:text-slate-200">
                      <RoomName id={r.roomId} />
                    </span>
                    <bdi className="truncate">{distinctName(authors[i]!, shared)}</bdi>
                    <MessageTime at={r.at} />
                  </span>
                  <Snippet text={r.snippet} words={words} />
                </Link>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

/** A result's text, the words searched for marked, its emoji names shown as emoji (as the message shows them). */
function Snippet({ text, words }: { text: string; words: string[] }) {
  const names = useEmojiNames(text);
  return (
    <span className="mt-1 block text-sm wrap-anywhere text-slate-800 dark:text-slate-200">
      {markWords(names ? showEmojiNames(text, names) : text, words).map((piece, i) =>
        piece.match ? (
          <mark key={i} className="rounded-sm bg-amber-100 dark:bg-amber-900 text-inherit">
            {piece.text}
          </mark>
        ) : (
          piece.text
        ),
      )}
    </span>
  );
}

function summary(count: number, query: string): string {
  if (count === 0) return `No messages match “${query}”.`;
  // As many as a search answers: older ones may match too, and more words find them.
  if (count >= MAX_SEARCH_RESULTS) return `The ${count} newest messages that match “${query}”. Older ones may match too: add words to find them.`;
  return `${count === 1 ? "One message matches" : `${count} messages match`} “${query}”, newest first.`;
}
