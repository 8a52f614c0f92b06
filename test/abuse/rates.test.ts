// Finding: rate limits were per connection. One person with 50 sockets got 690 messages/s
// acked, and 3,040,000 cursor frames in 15 s from 20 sockets were parsed and dropped without a
// socket ever being closed. The limits are now per person, shared by all their connections,
// and a connection that keeps sending over any limit is closed 1008. Even the frames read at
// all (before any is parsed) are counted per person: a flood spread over twenty sockets costs
// the server one socket's parsing.
import { afterEach, expect, it, vi } from "vitest";
import { CloseCode, SEND_BURST, SEND_RATE_PER_S } from "../../lib/protocol";
import { FRAME_RATE } from "../../server/commands/limits";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { isType, startServer, waitFor, type TestServer, type WsClient } from "../helpers/server";

// Each test starts its own server and opens dozens of connections: slow on a busy machine.
// Every wait inside is bounded on its own.
vi.setConfig({ testTimeout: 120_000 });

let s: TestServer | undefined;
const open: WsClient[] = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await s?.stop();
  s = undefined;
});

it("one person's 50 sockets get no more acks than the per-person rate allows", async () => {
  s = await startServer({ env: { MAX_CONNECTIONS_PER_PERSON: "60" } });
  const ada = await s.signIn("Ada");
  const sockets: WsClient[] = [];
  for (let i = 0; i < 50; i++) sockets.push(await s.connect(ada.cookie));
  open.push(...sockets);
  for (const c of sockets) c.send({ type: "join", room: "general" });
  await Promise.all(sockets.map((c) => c.next(isType("joined"), { timeoutMs: 20_000 })));

  // Each socket sends 5 (a quarter of one connection's burst): 250 in all, at once.
  const started = Date.now();
  sockets.forEach((c, i) => {
    for (let j = 0; j < 5; j++) c.send({ type: "send", room: "general", text: `from ${i}.${j}`, clientId: `m-${i}-${j}` });
  });
  const answers = (c: WsClient) => c.frames.filter((f) => (f.type === "ack" || f.type === "error") && f.clientId?.startsWith("m-")).length;
  await waitFor(() => sockets.every((c) => answers(c) === 5), 30_000, "an answer to every send");
  const elapsedMs = Date.now() - started;

  const acks = sockets.reduce((n, c) => n + c.of("ack").length, 0);
  const refused = sockets.flatMap((c) => c.of("error")).filter((e) => e.code === "rate_limited").length;
  expect(acks + refused).toBe(250);
  expect(acks).toBeGreaterThanOrEqual(SEND_BURST);
  // The person's one bucket: its burst, plus what it refilled while the sends were taken.
  expect(acks).toBeLessThanOrEqual(SEND_BURST + Math.ceil((SEND_RATE_PER_S * elapsedMs) / 1000));
  expect(sockets.every((c) => c.closeCode === null)).toBe(true);
});

it("a cursor flood is closed 1008 within a bounded number of frames, while a bystander is served", async () => {
  s = await startServer();
  const [ada, lin] = [await s.signIn("Ada"), await s.signIn("Lin")];
  const flooder = await s.connect(ada.cookie);
  const bystander = await s.connect(lin.cookie);
  open.push(flooder, bystander);
  for (const c of [flooder, bystander]) {
    c.send({ type: "join", room: "general" });
    await c.next(isType("joined"));
  }
  let sent = 0;
  // Up to 100,000 frames in batches of 1,000, each batch out of the client before the next
  // (the finding's flood was 10,000 per socket per second).
  for (let batch = 0; batch < 100 && flooder.closeCode === null; batch++) {
    for (let i = 0; i < 1_000; i++) flooder.send({ type: "cursor", room: "general", x: (i % 100) / 100, y: 0.5 });
    sent += 1_000;
    for (let wait = 0; wait < 200 && flooder.ws.bufferedAmount > 0; wait++) await new Promise((r) => setTimeout(r, 5));
  }
  expect(await flooder.closed(10_000)).toBe(CloseCode.policy);
  expect(flooder.closeReason).toMatch(/too many frames/i);
  expect(sent).toBeLessThan(100_000);
  // Most of the flood was turned away unread: far fewer frames were parsed than sent.
  const parsed = metricValue(await scrapeMetrics(s.url), "rt_ws_frames_in_total", { type: "cursor" });
  expect(parsed).toBeLessThan(sent / 2);

  bystander.send({ type: "send", room: "general", text: "still here", clientId: "b-1" });
  await bystander.next(isType("ack", (f) => f.clientId === "b-1"));
});

it("one person's 20 sockets flooding cursors at once have no more frames parsed than one socket would", async () => {
  s = await startServer();
  const [ada, lin] = [await s.signIn("Ada"), await s.signIn("Lin")];
  const sockets: WsClient[] = [];
  for (let i = 0; i < 20; i++) sockets.push(await s.connect(ada.cookie));
  const bystander = await s.connect(lin.cookie);
  open.push(...sockets, bystander);
  for (const c of [...sockets, bystander]) {
    c.send({ type: "join", room: "general" });
    await c.next(isType("joined"));
  }
  const before = metricValue(await scrapeMetrics(s.url), "rt_ws_frames_in_total", { type: "cursor" });

  // Each socket sends three quarters of the frame burst at once: under what one connection
  // alone may send, 7,200 frames in all.
  const perSocket = (FRAME_RATE.burst * 3) / 4;
  const started = Date.now();
  for (const c of sockets) for (let i = 0; i < perSocket; i++) c.send({ type: "cursor", room: "general", x: (i % 100) / 100, y: 0.5 });
  await waitFor(() => sockets.every((c) => c.ws.bufferedAmount === 0), 30_000, "the flood written");
  bystander.send({ type: "send", room: "general", text: "still here", clientId: "b-1" });
  await bystander.next(isType("ack", (f) => f.clientId === "b-1"));
  const elapsedMs = Date.now() - started;

  const parsed = metricValue(await scrapeMetrics(s.url), "rt_ws_frames_in_total", { type: "cursor" }) - before;
  // The person's one frame bucket: its burst, plus what it refilled meanwhile.
  expect(parsed).toBeGreaterThan(0);
  expect(parsed).toBeLessThanOrEqual(FRAME_RATE.burst + Math.ceil((FRAME_RATE.perSecond * elapsedMs) / 1000));
  expect(parsed).toBeLessThan(sockets.length * perSocket);
});
