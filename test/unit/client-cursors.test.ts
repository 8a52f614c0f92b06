// The client's cursor send path with fake timers: what goes out, when, and for which rooms.
// The socket is the fake one (test/helpers/fake-socket.ts), so time can be moved by hand.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CURSOR_HTTP_INTERVAL_MS, RealtimeClient } from "../../lib/realtime/client";
import { FakeSocket } from "../helpers/fake-socket";

let socket: FakeSocket;
let client: RealtimeClient;
const http: Array<{ url: string; body: unknown }> = [];

beforeEach(() => {
  vi.useFakeTimers();
  http.length = 0;
  client = new RealtimeClient({
    baseUrl: "http://app.test",
    createWebSocket: (url) => (socket = new FakeSocket(url)),
    fetch: async (input, init) => {
      http.push({ url: String(input), body: init?.body ? JSON.parse(String(init.body)) : undefined });
      return new Response(null, { status: 204 });
    },
  });
  client.start();
  socket.open();
});
afterEach(() => {
  client.stop();
  vi.useRealTimers();
});

const frames = () => socket.sent.map((f) => (f.type === "cursor" ? { type: "cursor", room: f.room, x: f.x } : { type: f.type, room: f.room }));

describe("cursor sends", () => {
  it("go out only for a joined room; leaving hides the cursor first and drops what was pending", () => {
    client.moveCursor("general", { x: 0.1, y: 0.1 });
    vi.advanceTimersByTime(500);
    expect(frames()).toEqual([]); // the canvas drew before the join: nothing for the server to refuse

    client.join("general");
    client.moveCursor("general", { x: 0.2, y: 0.2 });
    vi.advanceTimersByTime(100);
    client.moveCursor("general", { x: 0.3, y: 0.3 }); // still waiting for its turn when the page leaves
    client.leave("general");
    vi.advanceTimersByTime(500);
    client.moveCursor("general", { x: 0.4, y: 0.4 });
    vi.advanceTimersByTime(500);
    expect(frames()).toEqual([
      { type: "join", room: "general" },
      { type: "cursor", room: "general", x: 0.2 },
      { type: "cursor", room: "general", x: null },
      { type: "leave", room: "general" },
    ]);
  });

  it("send no null on leaving when the cursor was already hidden or never shown", () => {
    client.join("a");
    client.join("b");
    client.moveCursor("a", { x: 0.5, y: 0.5 });
    vi.advanceTimersByTime(100);
    client.moveCursor("a", null);
    vi.advanceTimersByTime(100);
    client.leave("a");
    client.leave("b");
    expect(frames()).toEqual([
      { type: "join", room: "a" },
      { type: "join", room: "b" },
      { type: "cursor", room: "a", x: 0.5 },
      { type: "cursor", room: "a", x: null },
      { type: "leave", room: "a" },
      { type: "leave", room: "b" },
    ]);
  });
});

describe("cursor throttle", () => {
  /** The most sends that fall within any one second: [t, t + 1000). */
  function busiestSecond(times: number[]): number {
    return Math.max(0, ...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
  }

  it("sends at most 30 a second however fast the pointer moves, the latest each time, and the last one always", () => {
    client.join("general");
    const sentAt: number[] = [];
    const start = Date.now();
    const send = socket.send.bind(socket);
    socket.send = (data: string) => {
      send(data);
      if (socket.sent.at(-1)?.type === "cursor") sentAt.push(Date.now() - start);
    };
    // A 1 kHz pointer for three seconds (far more than any screen's frame rate).
    for (let ms = 0; ms < 3000; ms++) {
      client.moveCursor("general", { x: ms / 3000, y: 0.5 });
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(1000);
    expect(busiestSecond(sentAt)).toBeLessThanOrEqual(30);
    expect(busiestSecond(sentAt)).toBeGreaterThanOrEqual(25); // and not needlessly fewer
    // Each send carries the newest position at its moment, and the final one is not lost.
    const cursors = socket.sent.filter((f) => f.type === "cursor");
    expect(cursors.at(-1)).toMatchObject({ x: 2999 / 3000 });
    for (const [i, f] of cursors.entries()) expect(f.x).toBeCloseTo(Math.min(2999, Math.max(0, sentAt[i]! - 1)) / 3000, 6);
  });

  it("sends nothing while the pointer is still", () => {
    client.join("general");
    client.moveCursor("general", { x: 0.5, y: 0.5 });
    vi.advanceTimersByTime(5_000);
    expect(socket.sent.filter((f) => f.type === "cursor")).toHaveLength(1);
  });

  it("spaces HTTP sends further apart on long polling", async () => {
    const postedAt: number[] = [];
    const start = Date.now();
    const polling = new RealtimeClient({
      baseUrl: "http://app.test",
      transport: "longpoll",
      // Every frame goes up through the long-polling link's `POST /api/poll/frames`.
      fetch: async (input, init) => {
        if (!String(input).includes("/api/poll/frames")) return new Response(null, { status: 204 });
        const { frames } = JSON.parse(String(init?.body)) as { frames: Array<{ type: string }> };
        if (frames.some((f) => f.type === "cursor")) postedAt.push(Date.now() - start);
        return new Response(JSON.stringify({ frames: [] }), { status: 200 });
      },
    });
    polling.join("general");
    for (let ms = 0; ms < 3000; ms++) {
      polling.moveCursor("general", { x: ms / 3000, y: 0.5 });
      // Async: each answer comes back before the next request (one at a time, in order).
      await vi.advanceTimersByTimeAsync(1);
    }
    polling.stop();
    expect(busiestSecond(postedAt)).toBe(1000 / CURSOR_HTTP_INTERVAL_MS);
  });
});
