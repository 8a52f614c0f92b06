// A position beyond the log's head means the log was reset (a new database): every transport
// says so and carries on from the head, and the client takes the new events instead of
// discarding them as repeats.
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeClient } from "../helpers/client";
import { isType, startServer, waitFor, type TestServer } from "../helpers/server";
import type { PollAnswer, User } from "../../lib/protocol";

let s: TestServer;
let ada: { user: User; cookie: string };

beforeAll(async () => {
  s = await startServer();
  ada = await s.signIn("Ada");
  await s.app.workspace.postMessage("general", ada.user, "one", "r1");
});
afterAll(async () => {
  await s?.stop();
});

it("WebSocket: join with since beyond the head answers reset with the head", async () => {
  const ws = await s.connect(ada.cookie);
  ws.send({ type: "join", room: "general", since: 500 });
  const reset = await ws.next(isType("reset"));
  expect(reset).toEqual({ type: "reset", room: "general", head: 1 });
  await s.app.workspace.postMessage("general", ada.user, "two", "r2");
  const ev = await ws.next(isType("event"));
  expect(ev.event.seq).toBe(2);
  ws.close();
});

it("long polling: a cursor beyond the head is answered at once with resets and the head", async () => {
  const res = await s.api("/api/poll?streams=room:general,feed&cursor=room:general=500,feed=0&wait=5", { cookie: ada.cookie });
  const answer = (await res.json()) as PollAnswer;
  const head = await s.app.log.head("room:general");
  expect(answer.resets).toEqual({ "room:general": head });
  expect(answer.cursor).toContain(`room:general=${head}`);
});

it("SSE: a Last-Event-ID beyond the head gets a reset event, then live events", async () => {
  const head = await s.app.log.head("room:general");
  const chunks: string[] = [];
  const req = http.get(`${s.url}/api/stream?streams=room:general`, { headers: { cookie: ada.cookie, "last-event-id": "room:general=900" } });
  req.on("response", (res) => res.on("data", (c: Buffer) => chunks.push(c.toString())));
  await waitFor(() => chunks.join("").includes("event: reset"), 5000, "reset event");
  expect(chunks.join("")).toContain(`id: room:general=${head}\nevent: reset\ndata: {"stream":"room:general","head":${head}}`);
  await s.app.workspace.postMessage("general", ada.user, "three", "r3");
  await waitFor(() => chunks.join("").includes(`id: room:general=${head + 1}\nevent: message`), 5000, "live event");
  req.destroy();
});

it("the client takes events after a reset instead of dropping them as repeats", async () => {
  const c = makeClient(s.url, ada.cookie, { transport: "longpoll", pollWaitS: 2 });
  const resets: Array<{ stream: string; head: number }> = [];
  c.client.on("reset", (r) => resets.push(r));
  c.client.start();
  c.client.join("general", 10_000);
  await waitFor(() => resets.length > 0, 5000, "reset");
  await s.app.workspace.postMessage("general", ada.user, "four", "r4");
  await waitFor(() => c.events.some((e) => (e.data as { text?: string }).text === "four"), 5000, "event after reset");
  c.client.stop();
});

it("a stream the hub already follows resumes without asking the database for its head", async () => {
  const poll = () => s.api(`/api/poll?streams=room:general&cursor=room:general=${1}&wait=0&client=head`, { cookie: ada.cookie });
  await poll();
  const log = s.app.log;
  const original = log.head.bind(log);
  let asked = 0;
  log.head = async (stream: string) => {
    asked++;
    return original(stream);
  };
  try {
    for (let i = 0; i < 5; i++) expect((await poll()).status).toBe(200);
    expect(asked).toBe(0);
    // A position beyond what this hub knows still asks (the log may have been reset).
    await s.api(`/api/poll?streams=room:general&cursor=room:general=999&wait=0&client=head`, { cookie: ada.cookie });
    expect(asked).toBe(1);
  } finally {
    log.head = original;
  }
});
