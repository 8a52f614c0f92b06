// The activity feed as items worth reading: a burst of messages in one room is one item ("12
// new messages in #launch"), so are people joining one room together; a new room stays its own.
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
  | ({ kind: "joins"; key: string } & Burst<EventOf<"member.joined">>);

/**
 * The feed's items, newest first, from its events in seq order. Consecutive messages in the
 * same room (no other item between, each within `burstMs` of the one before) make one item;
 * consecutive joins of the same room likewise.
 */
export function groupFeed(events: readonly FeedEvent[], burstMs = BURST_MS): FeedItem[] {
  const items: FeedItem[] = [];
  for (const event of events) {
    const last = items[items.length - 1];
    switch (event.type) {
      case "room.created":
        items.push({ kind: "room.created", key: `room.created:${event.seq}`, event });
        break;
      case "message.posted":
        if (last?.kind === "messages" && continuesBurst(last, event, burstMs)) extend(last, event);
        else items.push({ kind: "messages", key: `messages:${event.seq}`, roomId: event.data.roomId, events: [event], people: [event.actor] });
        break;
      case "member.joined":
        if (last?.kind === "joins" && continuesBurst(last, event, burstMs)) extend(last, event);
        else items.push({ kind: "joins", key: `joins:${event.seq}`, roomId: event.data.roomId, events: [event], people: [event.actor] });
        break;
      default: {
        const unknown: never = event;
        return unknown;
      }
    }
  }
  return items.reverse();
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
