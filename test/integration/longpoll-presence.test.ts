// Where a long-polling person is present, and when that ends: a page (it names its `conn`) is
// present in the rooms it joined by its frames, not in every room it polls before it has; a
// removal from a private room and signing out end its presence at once, as closing a WebSocket
// does, for a page and for a version 1 poller alike (whose presence otherwise lasts until the
// lapse); and a poll refused for a room it may no longer read names that room (protocol 1.16).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { startServer, type Person, type TestServer } from "../helpers/server";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("long-poll presence on %s", (kind) => {
  let s: TestServer;
  let ada: Person;

  beforeAll(async () => {
    s = await startServer({ kind, testDb: kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined });
    ada = await s.signIn("Ada");
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  const call = (p: Person, method: string, path: string, body?: unknown) =>
    s.api(path, { method, cookie: p.cookie, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const present = (room: string) => s.app.hub.members(room).map((u) => u.name).sort();
  const privateRoom = async (...members: Person[]) => {
    const room = `lpp-${randomBytes(3).toString("hex")}`;
    expect((await call(ada, "POST", "/api/rooms", { name: room, visibility: "private" })).status).toBe(201);
    for (const m of members) expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: m.user.id })).status).toBe(204);
    return room;
  };
  const poll = (p: Person, query: string) => call(p, "GET", `/api/poll?${query}&wait=0`);

  it("a page is present where it joined, not in every room it polls first", async () => {
    const kim = await s.signIn("Kim");
    const room = await privateRoom(kim);
    // The page's first poll, before its frames: not present yet.
    expect((await poll(kim, `streams=room:${room}&conn=page-1`)).status).toBe(200);
    expect(present(room)).toEqual([]);
    expect((await call(kim, "POST", "/api/poll/frames?conn=page-1", { frames: [{ type: "join", room }] })).status).toBe(200);
    expect(present(room)).toEqual(["Kim"]);
    // A version 1 poller (no `conn`) is present by polling.
    const lin = await s.signIn("Lin");
    expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: lin.user.id })).status).toBe(204);
    expect((await poll(lin, `streams=room:${room}&client=v1`)).status).toBe(200);
    expect(present(room)).toEqual(["Kim", "Lin"]);
  });

  it("a removal ends a poller's presence at once, and its next poll is refused naming the room", async () => {
    const kim = await s.signIn("Kim");
    const lin = await s.signIn("Lin");
    const room = await privateRoom(kim, lin);
    expect((await call(kim, "POST", "/api/poll/frames?conn=page-2", { frames: [{ type: "join", room }] })).status).toBe(200);
    expect((await poll(lin, `streams=room:${room}&client=v1`)).status).toBe(200);
    expect(present(room)).toEqual(["Kim", "Lin"]);

    for (const p of [kim, lin]) expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${p.user.id}`)).status).toBe(204);
    expect(present(room)).toEqual([]);
    const refused = await poll(kim, `streams=room:${room},feed,user:me&conn=page-2`);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toEqual({ error: { code: "unknown_room", message: `There is no room "${room}"`, room } });
    // The rest of the page's streams poll on without it.
    expect((await poll(kim, "streams=feed,user:me&conn=page-2")).status).toBe(200);
  });

  it("signing out ends a poller's presence at once, a page's and a version 1 poller's", async () => {
    const kim = await s.signIn("Kim");
    const lin = await s.signIn("Lin");
    const room = await privateRoom(kim, lin);
    expect((await call(kim, "POST", "/api/poll/frames?conn=page-3", { frames: [{ type: "join", room }] })).status).toBe(200);
    expect((await poll(lin, `streams=room:${room}&client=v1`)).status).toBe(200);
    expect(present(room)).toEqual(["Kim", "Lin"]);

    expect((await call(kim, "DELETE", "/api/session")).status).toBe(204);
    expect(present(room)).toEqual(["Lin"]);
    expect((await call(lin, "DELETE", "/api/session")).status).toBe(204);
    expect(present(room)).toEqual([]);
  });
});
