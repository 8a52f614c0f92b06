// The names people go by now (protocol 1.10). An event keeps the name its author wrote it
// under; a reader shows everything a person wrote under the name they have today, as Slack does.
// The client keeps, for each person, the newest name it has heard:
// - a page of history's `people`, a room's members and my own session are names as they are
//   now, dated by this device's clock;
// - an event's actor is the name as it was at the event's `at`, by the server's clock.
// So an event replayed after a reconnect never undoes a newer name, and a message written after
// a change of name brings the new one. (The two clocks are compared only for a change of name
// made in the few seconds they may be apart.)
import { create } from "zustand";
import type { Actor } from "../protocol";

/** People remembered; past it, those heard of longest ago are forgotten (shown as written). */
export const MAX_PEOPLE = 5_000;

/** The names shown: each person's newest, by id. */
export const usePeople = create<{ names: ReadonlyMap<string, string> }>(() => ({ names: new Map() }));

/** When each name in `usePeople` was the person's name (ms since the epoch): what a newer one must beat. */
const heardAt = new Map<string, number>();

/**
 * Names, each as of a time: each replaces what was heard of that person before it. Nothing
 * renders again when every name is the one already shown.
 */
function hear(people: Iterable<{ id: string; name: string; at: number }>): void {
  const names = usePeople.getState().names;
  let next: Map<string, string> | null = null;
  for (const { id, name, at } of people) {
    const since = heardAt.get(id);
    if (since !== undefined && since > at) continue;
    heardAt.delete(id);
    heardAt.set(id, at);
    if ((next ?? names).get(id) === name) continue;
    next ??= new Map(names);
    next.set(id, name);
  }
  for (const id of heardAt.keys()) {
    if (heardAt.size <= MAX_PEOPLE) break;
    heardAt.delete(id);
    (next ??= new Map(names)).delete(id);
  }
  if (next) usePeople.setState({ names: next });
}

/** Names as they are now (a page's `people`, a room's members, my own session). */
export function hearNames(people: Iterable<Actor>): void {
  const now = Date.now();
  hear([...people].map(({ id, name }) => ({ id, name, at: now })));
}

/** The authors of events, each under the name they wrote it with, as of the event. */
export function hearAuthors(events: readonly { actor: Actor; at: string }[]): void {
  hear(events.map(({ actor, at }) => ({ id: actor.id, name: actor.name, at: Date.parse(at) })));
}

/** A page of events from the server: its authors as of each event, and its `people` as they are now. */
export function hearPage(page: { events: readonly { actor: Actor; at: string }[]; people?: readonly Actor[] }): void {
  hearAuthors(page.events);
  if (page.people) hearNames(page.people);
}

/** `person` under the name they go by now, as far as this page has heard. */
export function useNameNow(person: Actor): string {
  return usePeople((s) => s.names.get(person.id)) ?? person.name;
}

/** `person` under their newest name (for code outside React). */
export function nameNow(person: Actor): string {
  return usePeople.getState().names.get(person.id) ?? person.name;
}

/** Forgets every name heard (signing out). */
export function forgetNames(): void {
  heardAt.clear();
  usePeople.setState({ names: new Map() });
}
