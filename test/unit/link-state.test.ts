// The rooms link's transition function, state by state, and a subscription's own states.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "../../lib/realtime/backoff";
import { channelState, transition, type LinkEvent, type LinkState } from "../../lib/realtime/link-state";
import { Positions } from "../../lib/realtime/positions";
import { Subscription } from "../../lib/realtime/subscription";
import type { ClientFrame } from "../../lib/protocol";

const auto = { started: true, forcedPoll: false };
const poll = { started: true, forcedPoll: true };
const go = (state: LinkState, ...events: LinkEvent["type"][]) =>
  events.reduce<LinkState>((s, type) => transition(s, { type } as LinkEvent, auto), state);

describe("the link's transition function", () => {
  it("idle: start connects (or polls when long polling is forced); nothing else moves it", () => {
    expect(transition("idle", { type: "start" }, auto)).toBe("connecting");
    expect(transition("idle", { type: "start" }, poll)).toBe("fallback-poll");
    for (const type of ["opened", "lost", "blocked", "retry", "online"] as const) expect(transition("idle", { type }, auto)).toBe("idle");
  });

  it("start again changes nothing once the link is under way", () => {
    for (const state of ["connecting", "open", "backoff", "fallback-poll"] as const) expect(transition(state, { type: "start" }, auto)).toBe(state);
  });

  it("connecting: opened → open, lost → backoff, blocked → fallback-poll", () => {
    expect(go("connecting", "opened")).toBe("open");
    expect(go("connecting", "lost")).toBe("backoff");
    expect(go("connecting", "blocked")).toBe("fallback-poll");
  });

  it("open: lost → backoff; backoff: retry → connecting, blocked → fallback-poll", () => {
    expect(go("open", "lost")).toBe("backoff");
    expect(go("open", "retry")).toBe("open");
    expect(go("backoff", "retry")).toBe("connecting");
    expect(go("backoff", "blocked")).toBe("fallback-poll");
    expect(go("open", "lost", "retry", "opened")).toBe("open");
  });

  it("fallback-poll: a failed background upgrade stays on it; an opened one moves to open", () => {
    expect(go("fallback-poll", "lost")).toBe("fallback-poll");
    expect(go("fallback-poll", "retry")).toBe("fallback-poll");
    expect(go("fallback-poll", "opened")).toBe("open");
  });

  it("offline from every state but signed-out; online connects again, or goes idle when not started", () => {
    for (const s of ["idle", "connecting", "open", "fallback-poll", "backoff"] as const) expect(go(s, "offline")).toBe("offline");
    for (const type of ["opened", "lost", "blocked", "retry", "start"] as const) expect(transition("offline", { type }, auto)).toBe("offline");
    expect(transition("offline", { type: "online" }, auto)).toBe("connecting");
    expect(transition("offline", { type: "online" }, poll)).toBe("fallback-poll");
    expect(transition("offline", { type: "online" }, { started: false, forcedPoll: false })).toBe("idle");
  });

  it("signed-out (close 4401, HTTP 401) from every state; only stop leaves it", () => {
    for (const s of ["idle", "connecting", "open", "fallback-poll", "backoff", "offline"] as const) expect(go(s, "signed-out")).toBe("signed-out");
    for (const type of ["start", "opened", "lost", "blocked", "retry", "offline", "online"] as const) expect(go("signed-out", type)).toBe("signed-out");
    expect(go("signed-out", "stop")).toBe("idle");
  });

  it("stop from every state is idle", () => {
    for (const s of ["connecting", "open", "fallback-poll", "backoff", "offline"] as const) expect(go(s, "stop")).toBe("idle");
  });

  it("shows the badge's state: reconnecting once a socket had opened, the poll's health on long polling", () => {
    for (const state of ["idle", "offline", "signed-out"] as const) expect(channelState(state, { everOpened: true, pollHealthy: true })).toBe(state);
    expect(channelState("connecting", { everOpened: false, pollHealthy: null })).toBe("connecting");
    expect(channelState("connecting", { everOpened: true, pollHealthy: null })).toBe("reconnecting");
    expect(channelState("backoff", { everOpened: false, pollHealthy: null })).toBe("reconnecting");
    expect(channelState("open", { everOpened: true, pollHealthy: null })).toBe("connected");
    expect(channelState("fallback-poll", { everOpened: false, pollHealthy: null })).toBe("connecting");
    expect(channelState("fallback-poll", { everOpened: false, pollHealthy: false })).toBe("reconnecting");
    expect(channelState("fallback-poll", { everOpened: false, pollHealthy: true })).toBe("connected");
  });
});

describe("a subscription's states", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function subscription(since?: number) {
    const positions = new Positions();
    if (since !== undefined) positions.set("room:general", since);
    const sent: ClientFrame[] = [];
    const rejoined: number[] = [];
    const sub = new Subscription("general", positions, (f) => (sent.push(f), true), new Backoff({ random: () => 0 }), () => rejoined.push(Date.now()));
    return { sub, sent, positions, rejoined };
  }

  it("joining → joined on the server's answer, live from its head when it had no position", () => {
    const { sub, sent } = subscription();
    expect(sub.state).toBe("joining");
    sub.join();
    expect(sent).toEqual([{ type: "join", room: "general" }]);
    sub.joined(42, []);
    expect(sub.state).toBe("joined");
    expect(sub.position).toBe(42);
    sub.join();
    expect(sent.at(-1)).toEqual({ type: "join", room: "general", since: 42 });
  });

  it("errored on a refusal, joins again from its position after the rejoin timer; the link going down cancels it", async () => {
    const { sub, sent, rejoined } = subscription(7);
    sub.join();
    sub.refused();
    expect(sub.state).toBe("errored");
    expect(sub.waitingToRejoin).toBe(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual([
      { type: "join", room: "general", since: 7 },
      { type: "join", room: "general", since: 7 },
    ]);
    expect(sub.state).toBe("joining");
    expect(rejoined).toHaveLength(1);
    sub.refused();
    sub.linkDown();
    expect(sub.state).toBe("joining");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sent).toHaveLength(2);
  });

  it("left: sends the leave, forgets its position, and takes no more answers", () => {
    const { sub, sent, positions } = subscription(3);
    sub.leave();
    expect(sub.state).toBe("left");
    expect(sent).toEqual([{ type: "leave", room: "general" }]);
    expect(positions.get("room:general")).toBeUndefined();
    sub.joined(9, []);
    sub.refused();
    expect(sub.state).toBe("left");
    expect(sub.join()).toBe(false);
  });
});
