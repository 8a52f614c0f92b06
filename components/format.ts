// Small pure formatting helpers for the UI.
import type { Actor } from "@/lib/protocol";
import type { ConnectionStatus } from "@/lib/realtime/types";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const LETTER = /^\p{L}/u;

/** A word's first grapheme: a whole "é" or "👩🏽‍💻", never half of one. */
function firstGrapheme(word: string): string {
  for (const { segment } of graphemes.segment(word)) return segment;
  return "";
}

/**
 * "Ada Lovelace" → "AL", "lin" → "L", "Chloé 🌸" → "C", "Maya (mobile)" → "M": the first
 * grapheme of the first and last words that start with a letter. A name with no such word shows
 * its first grapheme ("🌸🌸" → "🌸").
 */
export function initials(name: string): string {
  let known = initialsOf.get(name);
  if (known === undefined) {
    // A workspace has a few hundred names at most; a page that meets more starts over.
    if (initialsOf.size >= 1_000) initialsOf.clear();
    known = initialsOfName(name);
    initialsOf.set(name, known);
  }
  return known;
}

/** Every avatar on the page renders its initials: each name is segmented once. */
const initialsOf = new Map<string, string>();

function initialsOfName(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const lettered = words.filter((w) => LETTER.test(w));
  const first = lettered[0];
  if (!first) return firstGrapheme(words[0] ?? "") || "?";
  const last = lettered.length > 1 ? lettered[lettered.length - 1]! : "";
  return (firstGrapheme(first) + firstGrapheme(last)).toUpperCase();
}

/**
 * A server's message for a person: validation errors name the field first ("name: Room names
 * are…") for API callers; the form already shows which field it is.
 */
export function readableError(message: string): string {
  return message.replace(/^[a-z_][\w.]*: /, "");
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const exact = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "medium" });

/** "just now", "3 minutes ago", "yesterday", … */
export function relativeTime(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return "just now";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 86_400), "day");
}

/** The exact local time, for the hover title. */
export function exactTime(iso: string): string {
  return exact.format(new Date(iso));
}

const weekdayTime = new Intl.DateTimeFormat("en", { weekday: "short", hour: "numeric", minute: "2-digit" });
const dateTime = new Intl.DateTimeFormat("en", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const yearDateTime = new Intl.DateTimeFormat("en", { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
const dayOfWeek = new Intl.DateTimeFormat("en", { weekday: "long", month: "long", day: "numeric" });
const dayOfYear = new Intl.DateTimeFormat("en", { year: "numeric", month: "long", day: "numeric" });

/** Local calendar days from the day of `iso` to the day of `now`: 0 today, 1 yesterday. */
export function daysAgo(iso: string, now: number): number {
  const day = (t: Date) => Date.UTC(t.getFullYear(), t.getMonth(), t.getDate());
  return Math.round((day(new Date(now)) - day(new Date(iso))) / 86_400_000);
}

/**
 * A message's time: relative today ("5 minutes ago"), then absolute, since "3 days ago" says
 * little in a conversation: "Mon 2:05 PM" within the week, "Mar 3, 2:05 PM", with the year
 * when it is not this one.
 */
export function messageTime(iso: string, now: number): string {
  const days = daysAgo(iso, now);
  if (days <= 0) return relativeTime(iso, now);
  const at = new Date(iso);
  if (days < 7) return weekdayTime.format(at);
  return at.getFullYear() === new Date(now).getFullYear() ? dateTime.format(at) : yearDateTime.format(at);
}

/** The heading over a day of messages: "Today", "Yesterday", "Monday, March 3", "March 3, 2025". */
export function dayLabel(iso: string, now: number): string {
  const days = daysAgo(iso, now);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  const at = new Date(iso);
  return at.getFullYear() === new Date(now).getFullYear() ? dayOfWeek.format(at) : dayOfYear.format(at);
}

/** Whether two times fall on the same local calendar day. */
export function sameDay(a: string, b: string): boolean {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

/** "150 characters left", "1 character left", "12 characters over the limit". */
export function charactersLeft(left: number): string {
  const n = Math.abs(left);
  const chars = n === 1 ? "character" : "characters";
  return left < 0 ? `${n.toLocaleString("en")} ${chars} over the limit` : `${n.toLocaleString("en")} ${chars} left`;
}

/**
 * "Ada is typing…" in pieces: plain text, and names (`{ name }`) the UI isolates in `<bdi>`, so
 * a right-to-left name cannot turn the rest of the line around.
 */
export function typingPieces(users: Actor[]): Array<string | { name: string }> {
  const [a, b] = users;
  if (!a) return [];
  if (!b) return [{ name: a.name }, " is typing…"];
  if (users.length === 2) return [{ name: a.name }, " and ", { name: b.name }, " are typing…"];
  return ["Several people are typing…"];
}

/**
 * The people of a feed item in pieces, names as `{ name }` for `<bdi>`: "Ada", "Ada and Lin",
 * "Ada, Lin and Mo", then "Ada, Lin and 3 others".
 */
export function peoplePieces(people: Actor[]): Array<string | { name: string }> {
  const [a, b, c] = people;
  if (!a) return [];
  if (!b) return [{ name: a.name }];
  if (!c) return [{ name: a.name }, " and ", { name: b.name }];
  if (people.length === 3) return [{ name: a.name }, ", ", { name: b.name }, " and ", { name: c.name }];
  return [{ name: a.name }, ", ", { name: b.name }, ` and ${people.length - 2} others`];
}

/** "Ada is typing…", "Ada and Lin are typing…", "Several people are typing…". */
export function typingLine(users: Actor[]): string {
  return typingPieces(users)
    .map((p) => (typeof p === "string" ? p : p.name))
    .join("");
}

/**
 * What a screen reader hears when a quiet room gets a typist: "Ada started typing", "Ada and Lin
 * started typing", "Several people started typing" (worded apart from the visible line).
 */
export function typingStarted(users: Actor[]): string {
  const [a, b] = users;
  if (!a) return "";
  if (!b) return `${a.name} started typing`;
  return users.length === 2 ? `${a.name} and ${b.name} started typing` : "Several people started typing";
}

const TRANSPORT_LABEL = { websocket: "WebSocket", longpoll: "Long polling", sse: "SSE" } as const;

/**
 * The header badge: the rooms' transport and state, and the activity feed's too when it is not
 * up with them — "WebSocket · connected", "Long polling · connected · feed connecting",
 * "WebSocket · connected · feed on SSE reconnecting". In the usual case (both connected) it says
 * only the rooms', as the feed rides the transport that fits it.
 */
export function badgeLabel(rooms: ConnectionStatus["rooms"], feed: ConnectionStatus["feed"] | undefined): string {
  const parts = badgeParts(rooms, feed);
  return [parts.transport, parts.state, parts.feed].filter(Boolean).join(" · ");
}

/**
 * The badge's label in its parts: a phone shows only `state` ("connected") beside the dot, and
 * wider screens the transport before it and the feed's state after it.
 */
export function badgeParts(
  rooms: ConnectionStatus["rooms"],
  feed: ConnectionStatus["feed"] | undefined,
): { transport: string | null; state: string; feed: string | null } {
  const parts = { ...channelParts(rooms), feed: null };
  if (!feed || feed.state === rooms.state || rooms.state === "offline" || rooms.state === "signed-out") return parts;
  const where = (feed.transport === "longpoll") === (rooms.transport === "longpoll") ? "" : ` on ${TRANSPORT_LABEL[feed.transport]}`;
  const state = feed.state === "idle" ? "connecting" : feed.state === "signed-out" ? "signed out" : feed.state;
  return { ...parts, feed: `feed${where} ${state}` };
}

/** Both channels in full, for the badge's tooltip and screen readers. */
export function channelsDescription(status: Pick<ConnectionStatus, "rooms" | "feed">): string {
  return `Rooms: ${connectionLabel(status.rooms)}. Activity feed: ${connectionLabel(status.feed)}.`;
}

/** "WebSocket · connected", "Long polling · reconnecting", "Offline". */
export function connectionLabel(channel: ConnectionStatus["rooms"] | ConnectionStatus["feed"]): string {
  const { transport, state } = channelParts(channel);
  return transport ? `${transport} · ${state}` : state;
}

/** A channel's transport ("WebSocket"; none while offline or signed out) and its state. */
function channelParts(channel: ConnectionStatus["rooms"] | ConnectionStatus["feed"]): { transport: string | null; state: string } {
  switch (channel.state) {
    case "offline":
      return { transport: null, state: "Offline" };
    case "signed-out":
      return { transport: null, state: "Signed out" };
    case "idle": // not started yet: it is about to connect
    case "connecting":
      return { transport: TRANSPORT_LABEL[channel.transport], state: "connecting" };
    case "connected":
    case "reconnecting":
      return { transport: TRANSPORT_LABEL[channel.transport], state: channel.state };
    default: {
      const unknown: never = channel.state;
      return unknown;
    }
  }
}
