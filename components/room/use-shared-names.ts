"use client";
import { useMemo } from "react";
import { sharedNames } from "@/lib/names";
import { usePeople } from "@/lib/store/people";
import { useRoom } from "@/lib/store/room";

const NONE: ReadonlySet<string> = new Set();

/**
 * The names two or more of the people here go by (guests may share one), for `distinctName`:
 * each of them, and whatever they write, type or point at, then carries their tag. "Here" is
 * the room's members and the authors of the messages shown, under the names they go by now: a
 * namesake who wrote and left is still told apart from one who stayed. The same set while those
 * names stay the same, so the messages shown do not render again at each arrival.
 */
export function useSharedNames(): ReadonlySet<string> {
  const members = useRoom((s) => s.members);
  const messages = useRoom((s) => s.messages);
  const names = usePeople((s) => s.names);
  const key = useMemo(() => {
    const authors = new Map<string, string>();
    for (const { actor } of messages) if (!authors.has(actor.id)) authors.set(actor.id, names.get(actor.id) ?? actor.name);
    const people = [...members, ...[...authors].map(([id, name]) => ({ id, name }))];
    return [...sharedNames(people)].sort().join("\n");
  }, [members, messages, names]);
  return useMemo(() => (key ? new Set(key.split("\n")) : NONE), [key]);
}
