// Three small parts of the realtime client, each on its own: decoding what the server sent,
// the resume positions every transport shares, and the throttles on typing and cursors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { decode, InvalidPayload } from "@/lib/realtime/decode";
import { Positions, positionKey } from "@/lib/realtime/positions";
import { CursorThrottle, TypingThrottle, type CursorPos } from "@/lib/realtime/throttles";
import { TYPING_RENEW_MS } from "@/lib/protocol";

describe("decode", () => {
  const frame = z.object({ type: z.literal("ack"), seq: z.number(), inner: z.object({ n: z.number() }).optional() });

  it("returns what the schema reads", () => {
    expect(decode(frame, '{"type":"ack","seq":3}')).toEqual({ type: "ack", seq: 3 });
  });

  it("refuses text that is not JSON, claiming no type", () => {
    const r = decode(frame, "<html>proxy error</html>");
    expect(r).toBeInstanceOf(InvalidPayload);
    expect(r).toMatchObject({ reason: "not JSON", claimedType: undefined });
  });

  it("names the path of the first problem and the type the payload claimed", () => {
    const r = decode(frame, '{"type":"ack","seq":1,"inner":{"n":"x"}}') as InvalidPayload;
    expect(r).toBeInstanceOf(InvalidPayload);
    expect(r.reason).toMatch(/^inner\.n: /);
    expect(r.claimedType).toBe("ack");
  });

  it("gives the schema's own words, with no path prefix for a problem with the payload as a whole", () => {
    const r = decode(frame, "42") as InvalidPayload;
    const expected = frame.safeParse(42).error!.issues[0]!.message;
    expect(expected.length).toBeGreaterThan(0);
    expect(r.reason).toBe(expected);
    expect(r.claimedType).toBeUndefined();
  });

  it("claims a type only when the payload has a string `type`, cut to 40 characters", () => {
    expect((decode(frame, '{"type":"welcome"}') as InvalidPayload).claimedType).toBe("welcome");
    expect((decode(frame, '{"type":7}') as InvalidPayload).claimedType).toBeUndefined();
    expect((decode(frame, '{"seq":1}') as InvalidPayload).claimedType).toBeUndefined();
    expect((decode(frame, "null") as InvalidPayload).claimedType).toBeUndefined();
    expect((decode(frame, '"ack"') as InvalidPayload).claimedType).toBeUndefined();
    const long = "t".repeat(100);
    expect((decode(frame, JSON.stringify({ type: long })) as InvalidPayload).claimedType).toBe(long.slice(0, 40));
  });
});

describe("Positions", () => {
  it("keeps every user stream under user:me", () => {
    expect(positionKey("user:abc")).toBe("user:me");
    expect(positionKey("room:general")).toBe("room:general");
    const p = new Positions();
    p.set("user:abc", 4);
    expect(p.get("user:me")).toBe(4);
    expect(p.has("user:xyz")).toBe(true);
    p.delete("user:me");
    expect(p.has("user:abc")).toBe(false);
  });

  it("accepts each seq once, and nothing at or below the position", () => {
    const p = new Positions();
    expect(p.accept("room:a", 1)).toBe(true);
    expect(p.accept("room:a", 1)).toBe(false);
    expect(p.accept("room:a", 0)).toBe(false);
    expect(p.accept("room:a", 3)).toBe(true);
    expect(p.get("room:a")).toBe(3);
    expect(p.accept("room:a", 2)).toBe(false);
    expect(p.get("room:a")).toBe(3);
  });

  it("moves forward to a server's cursor, never back, and not for a room no longer followed", () => {
    const p = new Positions();
    p.set("room:a", 5);
    p.set("room:b", 2);
    p.advance("room:a=3,room:b=9,room:c=4,feed=7,user:abc=2", (room) => room !== "c");
    expect(p.get("room:a")).toBe(5);
    expect(p.get("room:b")).toBe(9);
    expect(p.has("room:c")).toBe(false);
    expect(p.get("feed")).toBe(7);
    expect(p.get("user:me")).toBe(2);
  });

  it("takes a cursor's zero as a position", () => {
    const p = new Positions();
    p.advance("feed=0", () => true);
    expect(p.get("feed")).toBe(0);
  });

  it("ignores a malformed cursor entirely", () => {
    const p = new Positions();
    p.set("feed", 1);
    p.advance("feed=9,room:a=x", () => true);
    expect(p.get("feed")).toBe(1);
  });

  it("writes the resume cursor for the streams it has positions for", () => {
    const p = new Positions();
    p.set("room:a", 5);
    p.set("user:abc", 2);
    expect(p.cursorFor(["room:a", "room:b", "user:me"])).toBe("room:a=5,user:me=2");
    expect(p.cursorFor([])).toBe("");
  });
});

describe("TypingThrottle", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it("sends the first keystroke, then renews at most every TYPING_RENEW_MS", () => {
    const sent: Array<[string, boolean]> = [];
    const t = new TypingThrottle((room, stop) => sent.push([room, stop]));
    t.typing("a", false);
    vi.advanceTimersByTime(TYPING_RENEW_MS - 1);
    t.typing("a", false);
    expect(sent).toEqual([["a", false]]);
    vi.advanceTimersByTime(1);
    t.typing("a", false);
    expect(sent).toEqual([["a", false], ["a", false]]);
  });

  it("throttles each room on its own", () => {
    const sent: string[] = [];
    const t = new TypingThrottle((room) => sent.push(room));
    t.typing("a", false);
    t.typing("b", false);
    t.typing("a", false);
    expect(sent).toEqual(["a", "b"]);
  });

  it("sends a stop only when the indicator was shown, and then shows it again on the next keystroke", () => {
    const sent: Array<[string, boolean]> = [];
    const t = new TypingThrottle((room, stop) => sent.push([room, stop]));
    t.typing("a", true);
    expect(sent).toEqual([]);
    t.typing("a", false);
    t.typing("a", true);
    t.typing("a", true);
    t.typing("a", false);
    expect(sent).toEqual([["a", false], ["a", true], ["a", false]]);
  });

  it("after a message went out, the next keystroke shows the indicator at once", () => {
    const sent: string[] = [];
    const t = new TypingThrottle((room) => sent.push(room));
    t.typing("a", false);
    t.forget("a");
    t.typing("a", false);
    expect(sent).toEqual(["a", "a"]);
  });
});

describe("CursorThrottle", () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  const setup = (interval = 50) => {
    const sent: Array<[string, CursorPos]> = [];
    const t = new CursorThrottle((room, pos) => sent.push([room, pos]), () => interval);
    return { sent, t };
  };

  it("sends the first move at once (next turn), then the latest once per interval", () => {
    const { sent, t } = setup();
    t.move("a", { x: 0.1, y: 0.1 });
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(sent).toEqual([["a", { x: 0.1, y: 0.1 }]]);
    t.move("a", { x: 0.2, y: 0.2 });
    t.move("a", { x: 0.3, y: 0.3 });
    vi.advanceTimersByTime(49);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([["a", { x: 0.1, y: 0.1 }], ["a", { x: 0.3, y: 0.3 }]]);
  });

  it("a waiting send keeps its time: later moves replace its position, not its schedule", () => {
    let interval = 200;
    const sent: CursorPos[] = [];
    const t = new CursorThrottle((_room, pos) => sent.push(pos), () => interval);
    t.move("a", { x: 0, y: 0 });
    vi.advanceTimersByTime(0);
    t.move("a", { x: 0.1, y: 0.1 }); // waits until 200 ms after the first send
    interval = 50;
    vi.advanceTimersByTime(30);
    t.move("a", { x: 0.2, y: 0.2 });
    vi.advanceTimersByTime(100);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(70);
    expect(sent).toEqual([{ x: 0, y: 0 }, { x: 0.2, y: 0.2 }]);
  });

  it("waits only what is left of the interval since the last send", () => {
    const { sent, t } = setup();
    t.move("a", { x: 0, y: 0 });
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(30);
    t.move("a", { x: 1, y: 1 });
    vi.advanceTimersByTime(19);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(2);
  });

  it("reads the interval each time, so a server's new rate applies to the next send", () => {
    let interval = 50;
    const sent: CursorPos[] = [];
    const t = new CursorThrottle((_room, pos) => sent.push(pos), () => interval);
    t.move("a", { x: 0, y: 0 });
    vi.advanceTimersByTime(0);
    interval = 200;
    t.move("a", { x: 1, y: 1 });
    vi.advanceTimersByTime(150);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(50);
    expect(sent).toHaveLength(2);
  });

  it("throttles each room on its own", () => {
    const { sent, t } = setup();
    t.move("a", { x: 0, y: 0 });
    t.move("b", { x: 1, y: 1 });
    vi.advanceTimersByTime(0);
    expect(sent.map(([room]) => room).sort()).toEqual(["a", "b"]);
  });

  it("on leaving, drops what is pending and hides a cursor others see", () => {
    const { sent, t } = setup();
    t.move("a", { x: 0.5, y: 0.5 });
    vi.advanceTimersByTime(0);
    t.move("a", { x: 0.6, y: 0.6 });
    t.forget("a");
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([["a", { x: 0.5, y: 0.5 }], ["a", null]]);
  });

  it("on leaving, sends nothing when no cursor was shown (never moved, or already hidden)", () => {
    const { sent, t } = setup();
    t.forget("a");
    t.move("a", { x: 0.5, y: 0.5 });
    t.forget("a");
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([]);
    t.move("b", { x: 0.5, y: 0.5 });
    vi.advanceTimersByTime(0);
    t.move("b", null);
    vi.advanceTimersByTime(50);
    t.forget("b");
    expect(sent).toEqual([["b", { x: 0.5, y: 0.5 }], ["b", null]]);
  });

  it("after leaving and coming back, a send that was waiting before the leave does not go early", () => {
    const { sent, t } = setup();
    t.move("a", { x: 0, y: 0 });
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(10);
    t.move("a", { x: 0.1, y: 0.1 }); // due 50 ms after the first send
    vi.advanceTimersByTime(10);
    t.forget("a");
    t.move("a", { x: 0.2, y: 0.2 });
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(10);
    t.move("a", { x: 0.3, y: 0.3 }); // due 50 ms after the send at 20 ms
    vi.advanceTimersByTime(39);
    expect(sent.map(([, pos]) => pos)).toEqual([{ x: 0, y: 0 }, null, { x: 0.2, y: 0.2 }]);
    vi.advanceTimersByTime(1);
    expect(sent.map(([, pos]) => pos)).toEqual([{ x: 0, y: 0 }, null, { x: 0.2, y: 0.2 }, { x: 0.3, y: 0.3 }]);
  });

  it("after leaving and coming back, the first move goes at once", () => {
    const { sent, t } = setup();
    t.move("a", { x: 0, y: 0 });
    vi.advanceTimersByTime(0);
    t.forget("a");
    t.move("a", { x: 1, y: 1 });
    vi.advanceTimersByTime(0);
    expect(sent.at(-1)).toEqual(["a", { x: 1, y: 1 }]);
  });
});
