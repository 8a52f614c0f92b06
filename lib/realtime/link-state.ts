// The rooms link's states and its one transition function. Pure: no timers, no sockets, so
// every state and event is tested alone (test/unit/link-state.test.ts); the Link (link.ts)
// does what entering a state means.
//
//   idle ──start──▶ connecting ──opened──▶ open ──lost──▶ backoff ──retry──▶ connecting
//                      │ lost ▲                             │ blocked (failures to open, the
//                      ▼      └──────────── retry ──────────┘          server answers HTTP)
//                   backoff ──blocked──▶ fallback-poll ──opened (background upgrade)──▶ open
//   any ──offline──▶ offline ──online──▶ connecting (fallback-poll when long polling is forced)
//   any ──signed-out (close 4401, HTTP 401)──▶ signed-out     any ──stop──▶ idle
import type { ChannelState } from "./types";

export type LinkState = "idle" | "connecting" | "open" | "fallback-poll" | "backoff" | "offline" | "signed-out";

export type LinkEvent =
  | { type: "start" }
  /** A WebSocket opened (the first, a reconnect, or a background upgrade from long polling). */
  | { type: "opened" }
  /** The WebSocket closed, or failed to open: wait, then try again. */
  | { type: "lost" }
  /** Enough failures to open while the server answers plain HTTP: a proxy strips the upgrade. */
  | { type: "blocked" }
  /** The backoff's wait is over. */
  | { type: "retry" }
  | { type: "offline" }
  | { type: "online" }
  /** The server says the session is gone (close 4401, HTTP 401). Only `stop` leaves it. */
  | { type: "signed-out" }
  | { type: "stop" };

export interface LinkContext {
  /** The page started the client (and has not stopped it). */
  started: boolean;
  /** Long polling was chosen (`?transport=longpoll`, the inspector): no WebSocket is tried. */
  forcedPoll: boolean;
}

export function transition(state: LinkState, event: LinkEvent, ctx: LinkContext): LinkState {
  if (event.type === "stop") return "idle";
  if (state === "signed-out") return state;
  if (event.type === "signed-out") return "signed-out";
  if (event.type === "offline") return "offline";
  const connect: LinkState = ctx.forcedPoll ? "fallback-poll" : "connecting";
  if (state === "offline") return event.type === "online" ? (ctx.started ? connect : "idle") : state;
  switch (event.type) {
    case "start":
      return state === "idle" ? connect : state;
    case "opened":
      return state === "connecting" || state === "fallback-poll" ? "open" : state;
    case "lost":
      // On long polling, a failed background upgrade leaves the rooms where they are.
      return state === "open" || state === "connecting" ? "backoff" : state;
    case "blocked":
      return state === "backoff" || state === "connecting" ? "fallback-poll" : state;
    case "retry":
      return state === "backoff" ? "connecting" : state;
    case "online":
      return state;
  }
}

/** What the connection badge shows for the rooms, from the link's state. */
export function channelState(state: LinkState, opts: { everOpened: boolean; pollHealthy: boolean | null }): ChannelState {
  switch (state) {
    case "idle":
    case "offline":
    case "signed-out":
      return state;
    case "connecting":
      return opts.everOpened ? "reconnecting" : "connecting";
    case "open":
      return "connected";
    case "backoff":
      return "reconnecting";
    case "fallback-poll":
      return opts.pollHealthy === null ? "connecting" : opts.pollHealthy ? "connected" : "reconnecting";
  }
}
