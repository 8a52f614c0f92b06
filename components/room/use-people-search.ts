"use client";
import { useEffect, useState } from "react";
import { peopleAnswerSchema, type User } from "@/lib/protocol";
import { api } from "@/lib/store/http";

/** How long typing rests before the server is asked. */
const ASK_AFTER_MS = 150;

/** The people whose name contains `query` (at most 10, the server's page), asked once typing rests. */
export function usePeopleSearch(query: string): User[] {
  const [found, setFound] = useState<User[]>([]);
  useEffect(() => {
    const q = query.trim();
    if (q === "") return setFound([]);
    let current = true;
    const timer = setTimeout(() => {
      api(`/api/people?${new URLSearchParams({ q })}`, peopleAnswerSchema).then(
        (a) => current && setFound(a.people),
        () => current && setFound([]),
      );
    }, ASK_AFTER_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query]);
  return found;
}
