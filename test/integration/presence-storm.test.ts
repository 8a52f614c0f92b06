// Many people arriving at once: presence changes are announced per room over a short window,
// so an observer gets a few frames with the growing list, not one frame per arrival.
import { afterAll, beforeAll, expect, it } from "vitest";
import { isType, startServer, waitFor, type TestServer, type WsClient } from "../helpers/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
});
afterAll(async () => {
  await s?.stop();
});

it("30 people joining together reach an observer as a handful of presence frames, ending with all of them", async () => {
  const observer = await s.connect((await s.signIn("Observer")).cookie);
  observer.send({ type: "join", room: "general" });
  await observer.next(isType("joined"));
  const people = await Promise.all(Array.from({ length: 30 }, (_, i) => s.signIn(`P${i}`)));
  const sockets: WsClient[] = await Promise.all(people.map((p) => s.connect(p.cookie)));
  const from = observer.frames.length;
  for (const c of sockets) c.send({ type: "join", room: "general" });
  await waitFor(
    () => observer.frames.slice(from).some((f) => f.type === "presence" && f.members.length === 31),
    10_000,
    "everyone present",
  );
  const frames = observer.frames.slice(from).filter((f) => f.type === "presence");
  expect(frames.length).toBeLessThan(10);
  for (const c of sockets) c.close();
  observer.close();
});
