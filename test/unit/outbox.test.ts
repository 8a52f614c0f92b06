// The outbox on its own, on fake time: what goes out when, in what order, and what is kept.
// The whole client's tests (realtime-client.test.ts) show it working with a real link; these pin
// its rules one by one — one frame in flight per lane, the window, the pace, holds after a
// refusal, what storage keeps.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame } from "../../lib/protocol";
import { ACK_WAIT_MS, frameOf, newOutboxEntry, Outbox, outboxHasRoom, RETRYABLE, SEND_HOLD_MS, SEND_WINDOW, type OutboxDeps } from "../../lib/realtime/outbox";
import { OUTBOX_LIMIT, type OutboxEntry, type OutboxFrame } from "../../lib/realtime/types";

const msg = (room: string, n: number | string): OutboxFrame => ({ type: "send", room, text: `${room} ${n}`, clientId: `${room}-${n}` });

interface Harness {
  outbox: Outbox;
  sent: ClientFrame[];
  acks: Array<{ clientId: string; room: string; seq: number; rttMs: number | null }>;
  changes: OutboxEntry[][];
  saved: OutboxEntry[][];
  deps: { canSend: boolean; window: number; notReady: Set<string>; accept: boolean };
}

function harness(o: { stored?: OutboxEntry[]; random?: () => number; window?: number } = {}): Harness {
  const h: Omit<Harness, "outbox"> = {
    sent: [],
    acks: [],
    changes: [],
    saved: [],
    deps: { canSend: true, window: o.window ?? 100, notReady: new Set(), accept: true },
  };
  const deps: OutboxDeps = {
    canSend: () => h.deps.canSend,
    window: () => h.deps.window,
    roomReady: (room) => !h.deps.notReady.has(room),
    send: (frame) => {
      if (!h.deps.accept) return false;
      h.sent.push(frame);
      return true;
    },
    onChange: (entries) => h.changes.push(entries),
    onAck: (ack, rttMs) => h.acks.push({ ...ack, rttMs }),
    storage: { load: () => o.stored ?? [], save: (entries) => h.saved.push(structuredClone(entries)) },
    backoff: { random: o.random ?? (() => 0.5) },
  };
  return { ...h, outbox: new Outbox(deps) };
}

const ids = (frames: ClientFrame[]) => frames.map((f) => ("clientId" in f ? f.clientId : f.type));
const statuses = (o: Outbox) => Object.fromEntries(o.list().map((e) => [e.clientId, e.status]));

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-12-01T10:00:00Z"));
});
afterEach(() => vi.useRealTimers());

describe("outbox entries", () => {
  it("takes these refusals as \"not now\" (the frame goes again as it is), and others as \"never\"", () => {
    for (const code of ["rate_limited", "overloaded", "unavailable", "internal"]) expect(RETRYABLE.has(code), code).toBe(true);
    for (const code of ["invalid_text", "forbidden", "not_found", "payload_too_large"]) expect(RETRYABLE.has(code), code).toBe(false);
  });

  it("an entry stored before frames were kept is a message of its text", () => {
    const old: OutboxEntry = { clientId: "c1", room: "general", text: "hi", status: "pending", createdAt: "2026-01-01T00:00:00.000Z" };
    expect(frameOf(old)).toEqual({ type: "send", room: "general", text: "hi", clientId: "c1" });
    const react = { type: "react", room: "general", seq: 3, emoji: "👍", clientId: "r1" } as unknown as OutboxFrame;
    expect(frameOf({ ...old, frame: react })).toBe(react);
  });

  it("a new entry waits, shows its frame's text (none for a frame without one) and when it was written", () => {
    expect(newOutboxEntry(msg("general", 1))).toEqual({
      clientId: "general-1",
      room: "general",
      text: "general 1",
      frame: msg("general", 1),
      status: "pending",
      createdAt: "2026-12-01T10:00:00.000Z",
    });
    const react = { type: "react", room: "general", seq: 3, emoji: "👍", clientId: "r1" } as unknown as OutboxFrame;
    expect(newOutboxEntry(react).text).toBe("");
  });

  it(`has room for ${OUTBOX_LIMIT} frames that are not failed; failed ones wait for the person and do not count`, () => {
    const entry = (status: OutboxEntry["status"]): OutboxEntry => ({ ...newOutboxEntry(msg("r", 1)), status });
    expect(outboxHasRoom(Array.from({ length: OUTBOX_LIMIT - 1 }, () => entry("pending")))).toBe(true);
    expect(outboxHasRoom(Array.from({ length: OUTBOX_LIMIT }, () => entry("sending")))).toBe(false);
    expect(outboxHasRoom([...Array.from({ length: OUTBOX_LIMIT - 1 }, () => entry("pending")), ...Array.from({ length: 5 }, () => entry("failed"))])).toBe(true);
  });
});

describe("the outbox", () => {
  it("starts from what storage kept: failed stays failed for the person, anything on its way goes again", () => {
    const stored: OutboxEntry[] = [
      { ...newOutboxEntry(msg("a", 1)), status: "sending" },
      { ...newOutboxEntry(msg("b", 1)), status: "failed", error: { code: "forbidden", message: "no" } },
      { ...newOutboxEntry(msg("c", 1)), status: "pending" },
      // Stored before frames were kept: a message, sent as one.
      { clientId: "d-1", room: "d", text: "old", status: "sending", createdAt: "2026-01-01T00:00:00.000Z" },
    ];
    const h = harness({ stored });
    expect(statuses(h.outbox)).toEqual({ "a-1": "pending", "b-1": "failed", "c-1": "pending", "d-1": "pending" });
    h.outbox.flush();
    expect(ids(h.sent)).toEqual(["a-1", "c-1", "d-1"]);
    expect(h.sent[2]).toEqual({ type: "send", room: "d", text: "old", clientId: "d-1" });
  });

  it("queues a frame, stores it, tells the page and sends it at once; hands out copies", () => {
    const h = harness();
    const entry = h.outbox.enqueue(msg("general", 1))!;
    expect(entry).toMatchObject({ clientId: "general-1", status: "sending" });
    expect(ids(h.sent)).toEqual(["general-1"]);
    expect(h.saved.at(-1)!.map((e) => [e.clientId, e.status])).toEqual([["general-1", "sending"]]);
    expect(h.changes.at(-1)!.map((e) => e.status)).toEqual(["sending"]);
    // Copies: changing what was handed out changes nothing inside.
    entry.status = "failed";
    h.outbox.list()[0]!.status = "failed";
    expect(statuses(h.outbox)).toEqual({ "general-1": "sending" });
    h.deps.canSend = false;
    h.outbox.enqueue(msg("general", 2));
    expect(h.outbox.has("general-1")).toBe(true);
    expect(h.outbox.has("general-2")).toBe(true);
    expect(h.outbox.has("other")).toBe(false);
  });

  it(`refuses a frame past ${OUTBOX_LIMIT} waiting`, () => {
    const h = harness();
    h.deps.canSend = false;
    for (let i = 0; i < OUTBOX_LIMIT; i++) expect(h.outbox.enqueue(msg("general", i))).not.toBeNull();
    const changes = h.changes.length;
    expect(h.outbox.enqueue(msg("general", "extra"))).toBeNull();
    expect(h.outbox.list()).toHaveLength(OUTBOX_LIMIT);
    expect(h.changes).toHaveLength(changes);
  });

  it("sends nothing while it may not (offline, signed out, starting)", () => {
    const h = harness();
    h.deps.canSend = false;
    h.outbox.enqueue(msg("general", 1));
    vi.advanceTimersByTime(10_000);
    expect(h.sent).toEqual([]);
    h.deps.canSend = true;
    h.outbox.flush();
    expect(ids(h.sent)).toEqual(["general-1"]);
  });

  it("keeps one frame of a room on its way: the next goes when the first is acked, with its round trip", () => {
    const h = harness();
    h.outbox.enqueue(msg("general", 1));
    h.outbox.enqueue(msg("general", 2));
    h.outbox.enqueue(msg("random", 1));
    expect(ids(h.sent)).toEqual(["general-1", "random-1"]);
    vi.advanceTimersByTime(30);
    h.outbox.acked("general-1", 41);
    expect(h.acks).toEqual([{ clientId: "general-1", room: "general", seq: 41, rttMs: 30 }]);
    expect(ids(h.sent)).toEqual(["general-1", "random-1", "general-2"]);
    expect(h.outbox.has("general-1")).toBe(false);
    expect(h.saved.at(-1)!.map((e) => e.clientId)).toEqual(["general-2", "random-1"]);
  });

  it("an ack for a frame never sent (our own event came back first) has no round trip; an unknown ack is ignored", () => {
    const h = harness();
    h.deps.canSend = false;
    h.outbox.enqueue(msg("general", 1));
    h.outbox.acked("general-1", 7);
    expect(h.acks).toEqual([{ clientId: "general-1", room: "general", seq: 7, rttMs: null }]);
    const changes = h.changes.length;
    h.outbox.acked("nobody", 8);
    expect(h.acks).toHaveLength(1);
    expect(h.changes).toHaveLength(changes);
  });

  it("draws on a lane of its own beside the room's chat: a run of canvas ops never holds up a message", () => {
    const h = harness();
    const ops = (n: number) => ({ type: "canvas.ops", room: "general", ops: [], clientId: `ops-${n}` }) as unknown as OutboxFrame;
    h.outbox.enqueue(ops(1));
    h.outbox.enqueue(ops(2));
    h.outbox.enqueue(msg("general", 1));
    expect(ids(h.sent)).toEqual(["ops-1", "general-1"]);
    h.outbox.acked("ops-1", 1);
    expect(ids(h.sent)).toEqual(["ops-1", "general-1", "ops-2"]);
    // Each room's canvas is a lane of its own.
    h.outbox.enqueue({ type: "canvas.ops", room: "random", ops: [], clientId: "ops-r" } as unknown as OutboxFrame);
    expect(ids(h.sent).at(-1)).toBe("ops-r");
  });

  it("keeps no more frames unacknowledged than the link's window", () => {
    const h = harness({ window: 2 });
    for (const room of ["a", "b", "c"]) h.outbox.enqueue(msg(room, 1));
    expect(ids(h.sent)).toEqual(["a-1", "b-1"]);
    h.outbox.acked("b-1", 1);
    expect(ids(h.sent)).toEqual(["a-1", "b-1", "c-1"]);
  });

  it("keeps to the window within one flush, and tells the page nothing when nothing changed", () => {
    const h = harness({ window: 2 });
    h.deps.canSend = false;
    for (const room of ["a", "b", "c"]) h.outbox.enqueue(msg(room, 1));
    h.deps.canSend = true;
    h.outbox.flush();
    expect(ids(h.sent)).toEqual(["a-1", "b-1"]);
    const changes = h.changes.length;
    h.outbox.flush();
    expect(h.changes).toHaveLength(changes);
  });

  it("a failed frame sent again waits behind its room's next frame already on its way", () => {
    const h = harness();
    h.outbox.enqueue(msg("general", 1));
    h.outbox.enqueue(msg("general", 2));
    h.outbox.refused("general-1", "internal_error" as never, "no", false);
    expect(ids(h.sent)).toEqual(["general-1", "general-2"]);
    h.outbox.retry("general-1");
    expect(ids(h.sent)).toEqual(["general-1", "general-2"]);
    h.outbox.acked("general-2", 3);
    expect(ids(h.sent)).toEqual(["general-1", "general-2", "general-1"]);
  });

  it(`paces sends under the server's rate: a burst of ${SEND_WINDOW}, then one every 100 ms`, () => {
    const h = harness();
    for (let i = 0; i < SEND_WINDOW + 3; i++) h.outbox.enqueue(msg(`room${i}`, 1));
    expect(h.sent).toHaveLength(SEND_WINDOW);
    vi.advanceTimersByTime(99);
    expect(h.sent).toHaveLength(SEND_WINDOW);
    vi.advanceTimersByTime(1);
    expect(h.sent).toHaveLength(SEND_WINDOW + 1);
    vi.advanceTimersByTime(200);
    expect(h.sent).toHaveLength(SEND_WINDOW + 3);
  });

  it("waits for a room that is being joined again, while other rooms' frames go", () => {
    const h = harness();
    h.deps.notReady.add("general");
    h.outbox.enqueue(msg("general", 1));
    h.outbox.enqueue(msg("general", 2));
    h.outbox.enqueue(msg("random", 1));
    expect(ids(h.sent)).toEqual(["random-1"]);
    h.deps.notReady.clear();
    h.outbox.flush();
    expect(ids(h.sent)).toEqual(["random-1", "general-1"]);
  });

  it("stops at a frame the link could not take: it stays first in line, nothing after it jumps ahead", () => {
    const h = harness();
    h.deps.accept = false;
    h.outbox.enqueue(msg("a", 1));
    h.outbox.enqueue(msg("b", 1));
    expect(statuses(h.outbox)).toEqual({ "a-1": "pending", "b-1": "pending" });
    h.deps.accept = true;
    h.outbox.flush();
    expect(ids(h.sent)).toEqual(["a-1", "b-1"]);
  });

  it("a refusal for good fails the frame with its reason and lets the room's next frame go; Retry sends it again", () => {
    const h = harness();
    h.outbox.enqueue(msg("general", 1));
    h.outbox.enqueue(msg("general", 2));
    h.outbox.refused("general-1", "invalid_text", "Too long", false);
    expect(h.outbox.list()[0]).toMatchObject({ status: "failed", error: { code: "invalid_text", message: "Too long" } });
    expect(ids(h.sent)).toEqual(["general-1", "general-2"]);
    h.outbox.acked("general-2", 5);
    // Retried while it may not send: waiting again, shown as such.
    h.deps.canSend = false;
    h.outbox.retry("general-1");
    expect(statuses(h.outbox)).toEqual({ "general-1": "pending" });
    h.deps.canSend = true;
    h.outbox.flush();
    expect(h.outbox.list()[0]).toEqual(expect.not.objectContaining({ error: expect.anything() }));
    expect(ids(h.sent)).toEqual(["general-1", "general-2", "general-1"]);
    expect(statuses(h.outbox)).toEqual({ "general-1": "sending" });
    // Unknown ids change nothing.
    const changes = h.changes.length;
    h.outbox.retry("nobody");
    h.outbox.refused("nobody", "forbidden", "no", false);
    expect(h.changes).toHaveLength(changes);
  });

  it("a refusal for now holds every send at least a second, then the frame goes again first; each next refusal holds longer, an ack starts over", () => {
    // random() near 1: the backoff's jitter at its ceiling (1 s, then 2 s, then 4 s).
    const h = harness({ random: () => 0.999 });
    h.outbox.enqueue(msg("general", 1));
    h.outbox.refused("general-1", "rate_limited", "slow down", true);
    h.outbox.enqueue(msg("random", 1)); // held too: the server asked this connection to wait
    expect(ids(h.sent)).toEqual(["general-1"]);
    vi.advanceTimersByTime(SEND_HOLD_MS - 1);
    expect(ids(h.sent)).toEqual(["general-1"]);
    vi.advanceTimersByTime(1);
    expect(ids(h.sent)).toEqual(["general-1", "general-1", "random-1"]);

    h.outbox.refused("general-1", "overloaded", "busy", true);
    vi.advanceTimersByTime(1_997);
    expect(h.sent).toHaveLength(3); // the second hold is longer: 0.999 of 2 s
    vi.advanceTimersByTime(1);
    expect(ids(h.sent).at(-1)).toBe("general-1");

    h.outbox.acked("general-1", 9);
    h.outbox.enqueue(msg("general", 2));
    h.outbox.refused("general-2", "rate_limited", "slow down", true);
    vi.advanceTimersByTime(SEND_HOLD_MS);
    expect(ids(h.sent).at(-1)).toBe("general-2"); // back to a one-second hold
  });

  it("a frame that got no answer goes again, after a hold, still first in line; one not on its way is left alone", () => {
    const h = harness({ random: () => 0 });
    h.outbox.enqueue(msg("general", 1));
    h.outbox.enqueue(msg("general", 2));
    h.outbox.unanswered("general-2"); // still waiting behind the first: nothing to do
    h.outbox.unanswered("nobody");
    expect(statuses(h.outbox)).toEqual({ "general-1": "sending", "general-2": "pending" });
    // No hold came of it: another room's frame goes at once.
    h.outbox.enqueue(msg("random", 1));
    expect(ids(h.sent)).toEqual(["general-1", "random-1"]);
    h.outbox.unanswered("general-1");
    expect(statuses(h.outbox)).toEqual({ "general-1": "pending", "general-2": "pending", "random-1": "sending" });
    expect(h.saved.at(-1)![0]!.status).toBe("pending");
    vi.advanceTimersByTime(SEND_HOLD_MS - 1);
    expect(ids(h.sent)).toEqual(["general-1", "random-1"]);
    vi.advanceTimersByTime(1);
    expect(ids(h.sent)).toEqual(["general-1", "random-1", "general-1"]);
  });

  it(`a frame the server never answers on a link that stays up goes again after ${ACK_WAIT_MS / 1000} s, same clientId; one answered in time does not`, () => {
    const h = harness({ random: () => 0 });
    h.outbox.enqueue(msg("general", 1));
    vi.advanceTimersByTime(5_000);
    h.outbox.enqueue(msg("random", 1));
    vi.advanceTimersByTime(ACK_WAIT_MS - 5_000 - 1);
    expect(ids(h.sent)).toEqual(["general-1", "random-1"]);
    vi.advanceTimersByTime(1);
    // Unanswered: waiting again, sent again after the hold, first in its room.
    expect(statuses(h.outbox)).toEqual({ "general-1": "pending", "random-1": "sending" });
    h.outbox.acked("random-1", 7);
    vi.advanceTimersByTime(SEND_HOLD_MS);
    expect(ids(h.sent)).toEqual(["general-1", "random-1", "general-1"]);
    h.outbox.acked("general-1", 8);
    // Nothing unanswered is left: nothing goes again, however long.
    vi.advanceTimersByTime(10 * ACK_WAIT_MS);
    expect(ids(h.sent)).toEqual(["general-1", "random-1", "general-1"]);
    expect(h.acks.map((a) => a.clientId)).toEqual(["random-1", "general-1"]);
  });

  it("when the link goes down, what was on its way waits for the next link, which starts the pace over", () => {
    const h = harness();
    for (let i = 0; i < SEND_WINDOW + 2; i++) h.outbox.enqueue(msg(`room${i}`, 1));
    expect(h.sent).toHaveLength(SEND_WINDOW);
    h.outbox.refused("room0-1", "forbidden", "no", false);
    h.outbox.linkDown();
    const { "room0-1": failed, ...rest } = statuses(h.outbox);
    expect(failed).toBe("failed"); // it waits for the person, not for a link
    expect(new Set(Object.values(rest))).toEqual(new Set(["pending"]));
    // The pace's timer went with the link: nothing goes while it is down.
    vi.advanceTimersByTime(1_000);
    expect(h.sent).toHaveLength(SEND_WINDOW);
    h.outbox.linkUp();
    // A full burst again on the new link, the frames in the order they were written.
    expect(ids(h.sent.slice(SEND_WINDOW))).toEqual(Array.from({ length: SEND_WINDOW }, (_, i) => `room${i + 1}-1`));
  });

  it("discards a frame for good, from storage too", () => {
    const h = harness();
    h.outbox.enqueue(msg("general", 1));
    h.outbox.enqueue(msg("random", 1));
    h.outbox.refused("general-1", "forbidden", "no", false);
    h.outbox.discard("general-1");
    expect(h.outbox.list().map((e) => e.clientId)).toEqual(["random-1"]);
    expect(h.saved.at(-1)!.map((e) => e.clientId)).toEqual(["random-1"]);
    expect(h.changes.at(-1)!.map((e) => e.clientId)).toEqual(["random-1"]);
  });
});
