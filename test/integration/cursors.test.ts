// The cursor pipeline end to end over real sockets: 60 positions in about a second from one
// person reach another as at most one frame per 50 ms tick, ending exactly where they stopped.
import { afterAll, beforeAll, expect, it } from "vitest";
import { isType, startServerWith, type Person, type TestServer } from "../helpers/server";

let s: TestServer;
let ada: Person;
let lin: Person;

beforeAll(async () => {
  [s, ada, lin] = await startServerWith(["Ada", "Lin"]);
});
afterAll(async () => {
  await s?.stop();
});

it("60 positions in ~1 s arrive as ≤ 21 frames (one per tick) with the final position exact", async () => {
  const a = await s.connect(ada.cookie);
  const l = await s.connect(lin.cookie);
  for (const c of [a, l]) {
    c.send({ type: "join", room: "general" });
    await c.next(isType("joined"));
  }
  const from = l.frames.length;
  const started = Date.now();
  for (let i = 1; i <= 60; i++) {
    a.send({ type: "cursor", room: "general", x: i / 60, y: 1 - i / 120 });
    // 60 Hz: the next position is due 1000/60 ms after the start, wherever this one landed.
    const due = started + (i * 1000) / 60;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  const sendingMs = Date.now() - started;
  const last = await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 1), { from });
  expect(last.cursors[ada.user.id]).toEqual({ x: 1, y: 0.5, name: "Ada", color: ada.user.color });
  const frames = l.frames.slice(from).filter((f) => f.type === "cursors" && ada.user.id in f.cursors);
  // One frame per 50 ms tick at most: 21 for one second of movement (more only if this machine
  // took longer than a second to send them).
  expect(frames.length).toBeLessThanOrEqual(Math.max(21, Math.ceil(sendingMs / 50) + 1));
  expect(frames.length).toBeGreaterThan(1);
  // Nothing after the final position: latest wins, and an unchanged cursor is not resent.
  await new Promise((r) => setTimeout(r, 200));
  expect(l.frames.slice(from).filter((f) => f.type === "cursors").at(-1)).toEqual(last);
  a.close();
  l.close();
});
