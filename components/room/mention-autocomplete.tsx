"use client";
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type RefObject } from "react";
import { mentionQueryAt } from "@/lib/mentions";
import { peopleAnswerSchema, type User } from "@/lib/protocol";
import { api } from "@/lib/store/http";
import { distinctName } from "@/lib/names";
import { usePeople } from "@/lib/store/people";
import { useRoom } from "@/lib/store/room";
import { Avatar } from "../ui/avatar";
import { suggestionClass, SUGGESTIONS_CLASS, useSuggestionKeys } from "./suggestion-keys";
import { useSharedNames } from "./use-shared-names";

/** Suggestions shown at once. */
const SHOWN = 8;
/** The server is asked once typing pauses this long. */
const ASK_AFTER_MS = 150;

/**
 * Sets a message box's text with its caret placed as the new text renders: before the next key
 * is handled. (Placed a frame later, what was typed in between would land after the caret.)
 */
export function useTextWithCaret(box: RefObject<HTMLTextAreaElement | null>, setText: (text: string) => void) {
  const caretAt = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (caretAt.current === null) return;
    box.current?.setSelectionRange(caretAt.current, caretAt.current);
    caretAt.current = null;
  });
  return (text: string, caret: number) => {
    caretAt.current = caret;
    setText(text);
  };
}

/**
 * The `@` autocomplete of a message box. People here and the authors above are offered at once;
 * anyone else whose name matches comes from the server. Picking one writes `@Name ` and
 * remembers who it is, so the message names them by id: any display name works, and two
 * people with one name are told apart.
 */
export function useMentionAutocomplete(roomId: string, text: string, setText: (text: string, caret: number) => void) {
  const members = useRoom((s) => s.members);
  const messages = useRoom((s) => s.messages);
  const names = usePeople((s) => s.names);
  const [caret, setCaret] = useState(0);
  const [remote, setRemote] = useState<User[]>([]);
  const [dismissed, setDismissed] = useState<number | null>(null);
  /** Who each picked `@Name` stands for, by name: in the order picked (two people may share one). */
  const picked = useRef(new Map<string, string[]>());

  const at = mentionQueryAt(text, caret);
  const query = at && at.start !== dismissed ? at.query.toLowerCase() : null;

  /** Who is here now, and who wrote in what is loaded: how two people of one name are told apart. */
  const here = useMemo(() => new Set(members.map((m) => m.id)), [members]);
  const wrote = useMemo(() => new Set(messages.map((m) => m.actor.id)), [messages]);
  /** Names two people here go by: those two are shown with their tags, as in the room. */
  const shared = useSharedNames();

  const local = useMemo(() => {
    const byId = new Map<string, User>();
    for (const m of members) byId.set(m.id, m);
    for (let i = messages.length - 1; i >= 0 && byId.size < 50; i--) {
      const a = messages[i]!.actor;
      // Offered under the name they go by now (protocol 1.10), not the one they wrote under.
      if (!byId.has(a.id)) byId.set(a.id, { id: a.id, name: names.get(a.id) ?? a.name, color: "" });
    }
    return [...byId.values()];
  }, [members, messages, names]);

  useEffect(() => {
    if (query === null) return;
    const timer = setTimeout(() => {
      const params = new URLSearchParams({ q: query, room: roomId });
      api(`/api/people?${params}`, peopleAnswerSchema).then(
        (answer) => setRemote(answer.people),
        () => setRemote([]),
      );
    }, ASK_AFTER_MS);
    return () => clearTimeout(timer);
  }, [query, roomId]);

  const options = useMemo(() => {
    if (query === null) return [];
    const seen = new Set<string>();
    const out: User[] = [];
    for (const u of [...local, ...remote]) {
      if (seen.has(u.id) || !u.name.toLowerCase().includes(query)) continue;
      seen.add(u.id);
      out.push(u);
    }
    return out.slice(0, SHOWN);
  }, [query, local, remote]);

  // Names offered more than once: each of those people says where they are.
  const namesakes = useMemo(() => {
    const seen = new Set<string>();
    const twice = new Set<string>();
    for (const u of options) (seen.has(u.name.toLowerCase()) ? twice : seen).add(u.name.toLowerCase());
    return twice;
  }, [options]);

  const choose = (user: User) => {
    if (!at) return;
    const inserted = `@${user.name} `;
    const next = text.slice(0, at.start) + inserted + text.slice(caret);
    picked.current.set(user.name, [...(picked.current.get(user.name) ?? []).filter((id) => id !== user.id), user.id]);
    setText(next, at.start + inserted.length);
    setCaret(at.start + inserted.length);
    keys.reset();
  };
  const keys = useSuggestionKeys(options, choose, () => setDismissed(at?.start ?? null));

  return {
    /** Props for the textarea: it keeps focus while the list is driven by keys. */
    inputProps: {
      ...keys.boxProps,
      onSelect: (e: { currentTarget: HTMLTextAreaElement }) => setCaret(e.currentTarget.selectionStart),
    },
    onKeyDown: keys.onKeyDown,
    /**
     * The ids of the people picked whose `@Name` is still in `body`: for a name written n times,
     * the last n people picked under it.
     */
    mentionIds(body: string): string[] {
      const lower = body.toLowerCase();
      const ids = [...picked.current].flatMap(([name, ids]) => {
        const times = lower.split(`@${name.toLowerCase()}`).length - 1;
        return times === 0 ? [] : ids.slice(-times);
      });
      return [...new Set(ids)];
    },
    /** Forgets the picks (after sending). */
    reset() {
      picked.current.clear();
      setDismissed(null);
    },
    list: keys.open ? (
      <ul id={keys.listId} role="listbox" aria-label="People to mention" className={SUGGESTIONS_CLASS}>
        {options.map((user, i) => {
          const where = namesakes.has(user.name.toLowerCase()) ? (here.has(user.id) ? "here now" : wrote.has(user.id) ? "wrote here" : "not in this room") : null;
          const shown = distinctName(user, shared);
          return (
            <li
              key={user.id}
              id={keys.optionId(i)}
              role="option"
              aria-selected={i === keys.current}
              aria-label={where ? `${shown}, ${where}` : undefined}
              // Chosen on pointer down: a click would first move focus out of the box.
              onPointerDown={(e) => {
                e.preventDefault();
                choose(user);
              }}
              className={suggestionClass(i === keys.current)}
            >
              <Avatar name={shown} color={user.color || "#64748b"} size="sm" />
              <bdi className="truncate">{shown}</bdi>
              {where && <span className="ml-auto shrink-0 text-xs text-slate-500 dark:text-slate-400">{where}</span>}
            </li>
          );
        })}
      </ul>
    ) : null,
  };
}
