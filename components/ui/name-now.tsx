"use client";
import type { Actor } from "@/lib/protocol";
import { useNameNow } from "@/lib/store/people";

/**
 * A person under the name they go by now (protocol 1.10), inside a <bdi>: a name in a
 * right-to-left script cannot reorder the sentence around it.
 */
export function NameNow({ person }: { person: Actor }) {
  return <bdi>{useNameNow(person)}</bdi>;
}
