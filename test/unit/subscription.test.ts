// One followed room on its own, on fake time: its states, its join frames (with the position
// the page has), rejoining after a refusal on a backoff with a floor, and leaving for good.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, User } from "../../lib/protocol";
import { Backoff } from "../../lib/realtime/backoff";
import { Positions } from "../../lib/realtime/positions";
import { REJOIN_FLOOR_MS, Subscription } from "../../lib/realtime/subscription";

const ada: User = { id: "u_ada", name: "Ada", color: "#123456" };
const lin: User = { id: "u_lin", name: "Lin", color: "#654321" };

function room(o: { random?: () => number; accept?: () => boolean } = {}) {
  const sent: ClientFrame[] = [];
  const positions = new Positions();
  let rejoined = 0;
  const sub = new Subscription(
    "general",
    positions,
    (frame) => {
      if (o.accept && !o.accept()) return false;
      sent.push(frame);
      return true;
    },
    new Backoff({ random: o.random ?? (() => 0.999) }),
    () => rejoined++,
  );
  return { sub, sent, positions, rejoined: () => rejoined };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("a followed room", () => {
  it("joins live without a position, and from its position once it has one", () => {
    const { sub, sent, positions } = room();
    expect(sub.stream).toBe("room:general");
    expect(sub.state).toBe("joining");
    expect(sub.members).toEqual([]);
    expect(sub.join()).toBe(true);
    expect(sent).toStrictEqual([{ type: "join", room: "general" }]);
    positions.set("room:general", 0);
    sub.join();
    expect(sent[1]).toEqual({ type: "join", room: "general", since: 0 });
  });

  it("says so when the link could not take the join", () => {
    const { sub } = room({ accept: () => false });
    expect(sub.join()).toBe(false);
    expect(sub.state).toBe("joining");
  });

  it("takes the server's head as its position when it joined live, and keeps the one it had", () => {
    const { sub, positions } = room();
    sub.join();
    sub.joined(12, [ada]);
    expect(sub.state).toBe("joined");
    expect(sub.position).toBe(12);
    expect(sub.members).toEqual([ada]);
    positions.set("room:general", 20);
    sub.joined(25, [ada, lin]);
    expect(sub.position).toBe(20);
    expect(sub.members).toEqual([ada, lin]);
  });

  it("counts as joined once a poll answer carried it, only from joining", () => {
    const { sub } = room();
    sub.carried();
    expect(sub.state).toBe("joined");
    sub.refused();
    sub.carried();
    expect(sub.state).toBe("errored");
  });

  it("keeps the members as told, and changes them by a presence diff", () => {
    const { sub } = room();
    expect(sub.presence([ada])).toEqual([ada]);
    expect(sub.presenceDiff({ joins: [lin], leaves: [ada] })).toEqual([lin]);
    expect(sub.members).toEqual([lin]);
  });

  it("asks again after a refused join: not before a second, later each time, sooner again once joined", () => {
    // random() near 1: the backoff's jitter at its ceiling (1 s, 2 s, 4 s…).
    const { sub, sent, rejoined } = room();
    sub.join();
    sub.refused();
    expect(sub.state).toBe("errored");
    expect(sub.waitingToRejoin).toBe(true);
    sub.refused(); // a second refusal while waiting changes nothing
    vi.advanceTimersByTime(REJOIN_FLOOR_MS - 1);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(2);
    expect(sub.state).toBe("joining");
    expect(sub.waitingToRejoin).toBe(false);
    expect(rejoined()).toBe(1);

    sub.refused();
    vi.advanceTimersByTime(REJOIN_FLOOR_MS);
    expect(sent).toHaveLength(2); // the second wait is longer (up to 2 s)
    vi.advanceTimersByTime(REJOIN_FLOOR_MS);
    expect(sent).toHaveLength(3);

    sub.joined(1, []);
    sub.refused();
    vi.advanceTimersByTime(REJOIN_FLOOR_MS);
    expect(sent).toHaveLength(4); // the backoff started over
  });

  it("waits at least the floor even when the backoff's jitter says less", () => {
    const { sub, sent } = room({ random: () => 0 });
    sub.refused();
    vi.advanceTimersByTime(REJOIN_FLOOR_MS - 1);
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([{ type: "join", room: "general" }]);
  });

  it("a join sent meanwhile (the link came back) cancels the pending rejoin", () => {
    const { sub, sent, rejoined } = room();
    sub.refused();
    sub.join();
    expect(sub.waitingToRejoin).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(1);
    expect(rejoined()).toBe(0);
  });

  it("when the link drops, it is joining again and its rejoin timer is gone", () => {
    const { sub, sent } = room();
    sub.join();
    sub.joined(3, [ada]);
    sub.linkDown();
    expect(sub.state).toBe("joining");
    sub.refused();
    sub.linkDown();
    expect(sub.waitingToRejoin).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(1);
  });

  it("leaves once: tells the server, forgets its position, and nothing brings it back", () => {
    const { sub, sent, positions } = room();
    sub.join();
    sub.joined(5, [ada]);
    sub.refused();
    sub.leave();
    expect(sub.state).toBe("left");
    expect(positions.has("room:general")).toBe(false);
    expect(sent.at(-1)).toEqual({ type: "leave", room: "general" });
    sub.leave();
    expect(sent.filter((f) => f.type === "leave")).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    // Nothing after leaving: no rejoin, no join, no state change, no members.
    expect(sub.join()).toBe(false);
    sub.joined(9, [lin]);
    sub.refused();
    sub.linkDown();
    sub.presence([lin]);
    expect(sub.state).toBe("left");
    expect(sub.members).toEqual([ada]);
    expect(sub.waitingToRejoin).toBe(false);
    expect(sent.map((f) => f.type)).toEqual(["join", "leave"]);
  });

  it("removed by the server: left, position forgotten, nothing said", () => {
    const { sub, sent, positions } = room();
    sub.join();
    sub.joined(5, []);
    sub.refused();
    sub.removed();
    expect(sub.state).toBe("left");
    expect(positions.has("room:general")).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(sent.map((f) => f.type)).toEqual(["join"]);
  });
});
