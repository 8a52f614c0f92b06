// Small pure formatting helpers for the UI.
import type { Actor } from "@/lib/protocol";
import type { ConnectionStatus } from "@/lib/realtime/types";

/** "Ada Lovelace" → "AL", "lin" → "L". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = words[0]?.[0] ?? "?";
  const last = words.length > 1 ? (words[words.length - 1]?.[0] ?? "") : "";
  return (first + last).toUpperCase();
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

/** "Ada is typing…", "Ada and Lin are typing…", "Several people are typing…". */
export function typingLine(users: Actor[]): string {
  return typingPieces(users)
    .map((p) => (typeof p === "string" ? p : p.name))
    .join("");
}

const TRANSPORT_LABEL = { websocket: "WebSocket", longpoll: "Long polling", sse: "SSE" } as const;

/** "WebSocket · connected", "Long polling · reconnecting", "Offline". */
export function connectionLabel(channel: ConnectionStatus["rooms"] | ConnectionStatus["feed"]): string {
  switch (channel.state) {
    case "offline":
      return "Offline";
    case "signed-out":
      return "Signed out";
    case "idle": // not started yet: it is about to connect
    case "connecting":
      return `${TRANSPORT_LABEL[channel.transport]} · connecting`;
    case "connected":
    case "reconnecting":
      return `${TRANSPORT_LABEL[channel.transport]} · ${channel.state}`;
    default: {
      const unknown: never = channel.state;
      return unknown;
    }
  }
}
