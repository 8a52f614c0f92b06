// The activity feed as items worth reading: a burst of messages in one room is one item ("12
// new messages in #launch"), so are people joining one room together, and so is one person
// looking into several rooms in a row ("Abe joined #a, #b and #c"); a new room stays its own,
// its creator's own join of it folded in.
import type { Actor } from "./protocol";
import type { EventOf } from "./store/events";
import type { FeedEvent } from "./store/feed";

/** Events further apart than this are separate bursts, even in the same room. */
export const BURST_MS = 10 * 60_000;

type BurstEvent = EventOf<"message.posted"> | EventOf<"member.joined">;

interface Burst<E extends BurstEvent> {
  roomId: string;
  /** Ascending by seq; never empty. */
  events: E[];
  /** Everyone in the burst once, the most recent first. */
  people: Actor[];
}

export type FeedItem =
  | { kind: "room.created"; key: string; event: EventOf<"room.created"> }
  | ({ kind: "messages"; key: string } & Burst<EventOf<"message.posted">>)
  | ({ kind: "joins"; key: string } & Burst<EventOf<"member.joined">>)
  | { kind: "rounds"; key: string; person: Actor; roomIds: string[]; events: EventOf<"member.joined">[] };

/**
 * The feed's items, newest first, from its events in seq order. Consecutive messages in the
 * same room (nothing of another room between, each within `burstMs` of the one before) make
 * one item; consecutive joins of the same room likewise. A join and a burst of messages in the
 * same room do not break each other: a person's first join is recorded after they are in, so it
 * may land between the first of their messages and the rest.
 */
export function groupFeed(events: readonly FeedEvent[], burstMs = BURST_MS): FeedItem[] {
  const items: FeedItem[] = [];
  /** Who created which room (`room id`, `person id`): their own join of it is no news. */
  const creators = new Set<string>();
  for (const event of events) {
    switch (event.type) {
      case "room.created":
        creators.add(`${event.data.roomId}\n${event.actor.id}`);
        items.push({ kind: "room.created", key: `room.created:${event.seq}`, event });
        break;
      case "message.posted": {
        const open = openBurst(items, "messages", event.data.roomId);
        if (open && continuesBurst(open, event, burstMs)) extend(open, event);
        else items.push({ kind: "messages", key: `messages:${event.seq}`, roomId: event.data.roomId, events: [event], people: [event.actor] });
        break;
      }
      case "member.joined": {
        if (creators.has(`${event.data.roomId}\n${event.actor.id}`)) break;
        const open = openBurst(items, "joins", event.data.roomId);
        if (open && continuesBurst(open, event, burstMs)) extend(open, event);
        else if (!goesTheRounds(items, event, burstMs)) items.push({ kind: "joins", key: `joins:${event.seq}`, roomId: event.data.roomId, events: [event], people: [event.actor] });
        break;
      }
      default: {
        const unknown: never = event;
        return unknown;
      }
    }
  }
  // Newest first, by each item's newest event: a burst that grew past a join comes above it.
  return items.sort((a, b) => newestSeq(b) - newestSeq(a));
}

/**
 * The items with the keys they had before, so what is on the screen stays the same element as
 * the feed grows (a focused link keeps its focus): an item whose events include one an earlier
 * item held takes that item's key. A burst extended backwards by an older page would otherwise
 * get a new key, its first event's. `remembered` (each event's item key, by seq) is updated;
 * the caller keeps it between calls.
 */
export function keepKeys(items: FeedItem[], remembered: Map<number, string>): FeedItem[] {
  // A burst split in two (a gap filled after a reconnect put another room's event inside it)
  // leaves its key to the first half: keys stay unique.
  const used = new Set<string>();
  const oldestFirst = [...items].reverse().map((item) => {
    const seqs = item.kind === "room.created" ? [item.event.seq] : item.events.map((e) => e.seq);
    const before = seqs.map((seq) => remembered.get(seq)).find((k) => k !== undefined && !used.has(k));
    let key = before ?? item.key;
    while (used.has(key)) key += "'";
    used.add(key);
    for (const seq of seqs) remembered.set(seq, key);
    return key === item.key ? item : { ...item, key };
  });
  return oldestFirst.reverse();
}

/**
 * A person's join of one room right after their join of another (nothing between, within the
 * burst): one item for their round of the rooms, not an item a room. True when it took `event`.
 */
function goesTheRounds(items: FeedItem[], event: EventOf<"member.joined">, burstMs: number): boolean {
  const last = items[items.length - 1];
  if (!last || Date.parse(event.at) - Date.parse(last.kind === "room.created" ? last.event.at : last.events[last.events.length - 1]!.at) > burstMs) return false;
  if (last.kind === "rounds" && last.person.id === event.actor.id) {
    last.events.push(event);
    if (!last.roomIds.includes(event.data.roomId)) last.roomIds.push(event.data.roomId);
    return true;
  }
  if (last.kind !== "joins" || last.events.length !== 1 || last.people[0]!.id !== event.actor.id) return false;
  items[items.length - 1] = { kind: "rounds", key: last.key, person: event.actor, roomIds: [last.roomId, event.data.roomId], events: [last.events[0]!, event] };
  return true;
}

function newestSeq(item: FeedItem): number {
  return item.kind === "room.created" ? item.event.seq : item.events[item.events.length - 1]!.seq;
}

/**
 * The newest item of `kind` in `roomId` that nothing of another room has followed: the one a
 * new event of that kind and room may extend.
 */
function openBurst<K extends "messages" | "joins">(items: FeedItem[], kind: K, roomId: string): Extract<FeedItem, { kind: K }> | null {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (item.kind === "room.created" || item.kind === "rounds" || item.roomId !== roomId) return null;
    if (item.kind === kind) return item as Extract<FeedItem, { kind: K }>;
  }
  return null;
}

/**
 * What a burst of messages shows: the messages still there (a deleted one is no news, and
 * counts for nothing), the newest of them and who wrote them, the most recent first. A burst
 * whose every message was deleted shows its newest, as deleted, and its author.
 */
export function messagesShown(burst: Burst<EventOf<"message.posted">>): { count: number; latest: EventOf<"message.posted">; people: Actor[] } {
  const there = burst.events.filter((e) => e.data.preview !== "");
  if (there.length === burst.events.length) return { count: there.length, latest: latestOf(burst), people: burst.people };
  if (there.length === 0) return { count: 1, latest: latestOf(burst), people: [latestOf(burst).actor] };
  const people: Actor[] = [];
  for (let i = there.length - 1; i >= 0; i--) {
    const actor = there[i]!.actor;
    if (!people.some((p) => p.id === actor.id)) people.push(actor);
  }
  return { count: there.length, latest: there[there.length - 1]!, people };
}

/** The newest event of a burst. */
export function latestOf<E extends BurstEvent>(burst: Burst<E>): E {
  return burst.events[burst.events.length - 1]!;
}

function continuesBurst<E extends BurstEvent>(burst: Burst<E>, event: E, burstMs: number): boolean {
  return burst.roomId === event.data.roomId && Date.parse(event.at) - Date.parse(latestOf(burst).at) <= burstMs;
}

function extend<E extends BurstEvent>(burst: Burst<E>, event: E): void {
  burst.events.push(event);
  burst.people = [event.actor, ...burst.people.filter((p) => p.id !== event.actor.id)];
}
