"use client";
import { useMemo } from "react";
import { sharedNames } from "@/lib/names";
import { useRoom } from "@/lib/store/room";

const NONE: ReadonlySet<string> = new Set();

/**
 * The names two or more of the people here go by (guests may share one), for `distinctName`:
 * each of them, and whatever they write, type or point at, then carries their tag. The same set
 * while those names stay the same, so the messages shown do not render again at each arrival.
 */
export function useSharedNames(): ReadonlySet<string> {
  const members = useRoom((s) => s.members);
  const key = useMemo(() => [...sharedNames(members)].sort().join("\n"), [members]);
  return useMemo(() => (key ? new Set(key.split("\n")) : NONE), [key]);
}
