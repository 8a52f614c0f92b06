"use client";
import { useCallback, useRef, useState } from "react";
import { distinctName, sharedNames } from "@/lib/names";
import { useSession } from "@/lib/store/session";
import { useDirectMessage } from "../room/use-direct-message";
import { usePeopleSearch } from "../room/use-people-search";
import { useSuggestionKeys } from "../room/suggestion-keys";
import { Avatar } from "../ui/avatar";
import { PencilIcon } from "../ui/icons";
import { useDismiss } from "../ui/use-dismiss";

/**
 * "Message someone": a direct message with anyone, found by name, not only with someone in the
 * room open or met in a conversation. Opens (or makes) the conversation and goes there;
 * `onOpened` (a drawer's close) hears that it did.
 */
export function NewMessage({ onOpened }: { onOpened?: () => void }) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const meId = useSession((s) => s.user?.id);
  const found = usePeopleSearch(open ? query : "").filter((u) => u.id !== meId);
  // Found under one name (guests may share one): each shown with their tag.
  const shared = sharedNames(found);
  const message = useDirectMessage();
  const root = useRef<HTMLDivElement>(null);
  const close = useCallback(() => {
    setOpen(false);
    setQuery("");
  }, []);
  useDismiss(root, open, close);
  const pick = (userId: string) => {
    close();
    onOpened?.();
    void message(userId);
  };
  // ↑ and ↓ move through the people found, Enter picks one, Escape closes (the focus stays in the box).
  const keys = useSuggestionKeys(found, (u) => pick(u.id), close);

  return (
    <div ref={root} className="border-t border-slate-200 dark:border-slate-700 p-2">
      {open ? (
        <div role="search" aria-label="Find someone to message">
          <label htmlFor="new-message-to" className="px-1 text-xs font-medium text-slate-600 dark:text-slate-300">
            Message someone
          </label>
          <input
            id="new-message-to"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              keys.reset();
            }}
            onKeyDown={(e) => {
              // Tab leaves the box as it always does; it picks nobody.
              if (e.key !== "Tab") keys.onKeyDown(e);
            }}
            role="combobox"
            aria-expanded={keys.open}
            {...keys.boxProps}
            placeholder="Their name"
            autoComplete="off"
            autoFocus
            maxLength={32}
            className="mt-1 block w-full rounded-md border border-slate-300 px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-900"
          />
          <ul id={keys.listId} role="listbox" aria-label="People" className="mt-1 max-h-48 space-y-0.5 overflow-y-auto">
            {found.map((u, i) => (
              <li
                key={u.id}
                id={keys.optionId(i)}
                role="option"
                aria-selected={i === keys.current}
                // Chosen on pointer down: a click would first move the focus out of the box.
                onPointerDown={(e) => {
                  e.preventDefault();
                  pick(u.id);
                }}
                className={`flex w-full cursor-pointer items-center gap-2 rounded px-1.5 py-1 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800 ${i === keys.current ? "bg-indigo-50 dark:bg-indigo-950" : ""}`}
              >
                <Avatar name={distinctName(u, shared)} color={u.color} size="sm" />
                <bdi className="min-w-0 flex-1 truncate">{distinctName(u, shared)}</bdi>
                {u.guest && <span className="text-xs text-slate-500 dark:text-slate-400">guest</span>}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <button
          type="button"
          onClick={() => setOpen(true)}
          className="flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-sm text-slate-600 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800"
        >
          <PencilIcon />
          Message someone
        </button>
      )}
    </div>
  );
}
