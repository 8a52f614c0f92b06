"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { create } from "zustand";
import { MAX_SEARCH_CHARS } from "@/lib/search";
import { SearchIcon } from "../ui/icons";

/**
 * Counts searches made: the same query asked again is asked of the server again (new messages).
 * And the last query, which every search field on the page then shows.
 */
export const useSearchRuns = create<{ runs: number; query: string | null }>()(() => ({ runs: 0, query: null }));

/**
 * A message search field: Enter opens the results page for what was typed (nothing is asked
 * per keystroke). `name` labels its landmark, `id` its input; the results page has one of its
 * own, holding the query.
 */
export function SearchBox({ id, name, initial = "", autoFocus = false, className = "" }: { id: string; name: string; initial?: string; autoFocus?: boolean; className?: string }) {
  const router = useRouter();
  const [typed, setTyped] = useState(initial);
  // A search made from another field (the results page's, the header's): this one shows it too.
  const last = useSearchRuns((s) => s.query);
  useEffect(() => {
    if (last !== null) setTyped(last);
  }, [last]);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const q = typed.trim();
    if (!q) return;
    useSearchRuns.setState((s) => ({ runs: s.runs + 1, query: q }));
    router.push(`/search?q=${encodeURIComponent(q)}`);
  };
  return (
    <form role="search" aria-label={name} onSubmit={onSubmit} className={`relative min-w-0 ${className}`}>
      <label htmlFor={id} className="sr-only">
        Search messages
      </label>
      <SearchIcon className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-slate-400 dark:text-slate-500" />
      <input
        id={id}
        type="search"
        value={typed}
        onChange={(e) => setTyped(e.target.value)}
        maxLength={MAX_SEARCH_CHARS}
        placeholder="Search messages"
        autoComplete="off"
        enterKeyHint="search"
        autoFocus={autoFocus}
        className="h-9 w-full rounded-full border border-slate-300 dark:border-slate-600 bg-slate-50 dark:bg-slate-800 pr-3 pl-8 text-sm focus-visible:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500/60"
      />
    </form>
  );
}

/** The header's way to search: the field where there is room for it, a button to the search page on a phone. */
export function HeaderSearch() {
  return (
    <>
      <SearchBox id="message-search" name="Messages" className="hidden flex-1 sm:block sm:max-w-xs" />
      <Link
        href="/search"
        aria-label="Search messages"
        className="inline-flex size-9 shrink-0 items-center justify-center rounded-full text-slate-600 dark:text-slate-300 hover:bg-slate-100 dark:hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400 sm:hidden"
      >
        <SearchIcon className="size-5" />
      </Link>
    </>
  );
}
