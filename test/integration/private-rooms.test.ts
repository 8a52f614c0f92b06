// Private rooms and direct messages (protocol 1.2) over a real server on 127.0.0.1: to a
// non-member, and to a member once removed, a private room is exactly a room that never existed
// — on every transport (WebSocket, SSE, long polling, HTTP) and for every kind of access (list,
// join, replay, history, send, typing, cursor, read, stream, poll, feed, mentions, members,
// reactions, people). A removal is live: the removed person's connections stop at once. Run on
// one instance, and (with Postgres and Redis) across two: the creator on one, the others on the other.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, MANY_ROOMS, startServer, waitFor, type Person, type TestServer, type WsClient } from "../helpers/server";
import { createTestDatabase, dbKinds, type DbKind, type TestDatabase } from "../helpers/db";
import { openDatabase } from "../../server/db/database";
import type { MembersAnswer, RealtimeEvent, RoomInfo } from "../../lib/protocol";

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

const V12 = ["rt.v1.2", "rt.v1.1", "rt.v1"];

/** Where the people connect: every one to one server, or Ada to one and the others to another. */
interface Setup {
  /** The server `p` talks to. */
  at(p: Person): TestServer;
  /** Where people sign in, and where those kept home (`keepHome`) talk to. */
  home: TestServer;
  keepHome(p: Person): void;
  stop(): Promise<void>;
}

const oneInstance = (kind: DbKind) => async (): Promise<Setup> => {
  const s = await startServer({ kind, testDb: kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined, env: MANY_ROOMS });
  return { at: () => s, home: s, keepHome: () => undefined, stop: () => s.stop() };
};

/** Two instances on one Postgres and one Redis: Ada on A, everyone else on B. Needs both services. */
const twoInstances = async (): Promise<Setup> => {
  const shared = await createTestDatabase("postgres");
  const start = async (name: string) => {
    const db = await openDatabase({ url: shared.url, poolSize: 4, applicationName: `rt-test-private-${name}` });
    return startServer({
      testDb: { db, url: shared.url, drop: () => db.close() },
      instanceId: `private-${name}`,
      env: { REDIS_URL: process.env.REDIS_URL!, DATABASE_URL: shared.url!, ...MANY_ROOMS },
    });
  };
  const a = await start("A");
  const b = await start("B");
  const onA = new Set<string>();
  return {
    at: (p) => (onA.has(p.user.id) ? a : b),
    home: a,
    keepHome: (p) => onA.add(p.user.id),
    async stop() {
      await a.stop();
      await b.stop();
      await a.testDb.drop();
      await b.testDb.drop();
      await shared.drop();
    },
  };
};

const setups: Array<[string, () => Promise<Setup>]> = [
  ...dbKinds.map((kind): [string, () => Promise<Setup>] => [`one instance on ${kind}`, oneInstance(kind)]),
  ...(process.env.DATABASE_URL && process.env.REDIS_URL ? [["two instances with Redis (the others on B)", twoInstances] as [string, () => Promise<Setup>]] : []),
];

describe.each(setups)("private rooms, %s", (_name, setUp) => {
  let setup: Setup;
  let ada: Person;
  let kim: Person;
  let lin: Person;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    setup = await setUp();
    ada = await setup.home.signIn("Ada");
    setup.keepHome(ada);
    kim = await setup.home.signIn("Kim");
    lin = await setup.home.signIn("Lin");
  }, 60_000);
  afterAll(async () => {
    for (const c of sockets) c.close();
    await setup?.stop();
  });

  const tag = () => randomBytes(3).toString("hex");
  const call = (p: Person, method: string, path: string, body?: unknown) =>
    setup.at(p).api(path, { method, cookie: p.cookie, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const answer = async (res: Response) => ({ status: res.status, code: res.status >= 400 ? ((await res.json()) as { error: { code: string } }).error.code : null });
  const connect = async (p: Person) => {
    const c = await setup.at(p).connect(p.cookie, { protocols: V12 });
    sockets.push(c);
    return c;
  };
  const joinAnswer = async (c: WsClient, room: string, since?: number) => {
    const from = c.frames.length;
    c.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
    return c.next((f) => (f.type === "joined" || f.type === "error") && f.room === room, { from });
  };
  const privateRoom = async (members: Person[] = []) => {
    const name = `p-${tag()}`;
    const res = await call(ada, "POST", "/api/rooms", { name, visibility: "private" });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { room: RoomInfo }).room.private).toBe(true);
    for (const m of members) expect((await call(ada, "POST", `/api/rooms/${name}/members`, { userId: m.user.id })).status).toBe(204);
    return name;
  };
  /** A stream request's first answer: its status, and the error code if refused. */
  const streamStatus = (p: Person, path: string) =>
    new Promise<{ status: number }>((resolve, reject) => {
      const req = http.get(`${setup.at(p).url}${path}`, { headers: { cookie: p.cookie } }, (res) => {
        resolve({ status: res.statusCode ?? 0 });
        res.destroy();
      });
      req.on("error", reject);
    });

  /**
   * Everything `p` can try on `room`, answered: each answer is compared with the same tries on a
   * room that never existed, so "the same as a room that never existed" is checked, not assumed.
   */
  const everyAccess = async (p: Person, room: string) => {
    const c = await connect(p);
    const out: Record<string, unknown> = {
      join: (await joinAnswer(c, room)).type === "joined" ? "joined" : "refused",
      replay: (await joinAnswer(c, room, 0)).type === "joined" ? "joined" : "refused",
      history: await answer(await call(p, "GET", `/api/rooms/${room}/events`)),
      send: await answer(await call(p, "POST", `/api/rooms/${room}/messages`, { text: "let me in", clientId: `x-${tag()}` })),
      typing: await answer(await call(p, "POST", `/api/rooms/${room}/typing`, {})),
      cursor: await answer(await call(p, "POST", `/api/rooms/${room}/cursor`, { x: 0.5, y: 0.5 })),
      read: await answer(await call(p, "POST", `/api/rooms/${room}/read`, { seq: 1 })),
      react: await answer(await call(p, "POST", `/api/rooms/${room}/messages/1/reactions`, { emoji: "👍", on: true, clientId: `r-${tag()}` })),
      members: await answer(await call(p, "GET", `/api/rooms/${room}/members`)),
      addMember: await answer(await call(p, "POST", `/api/rooms/${room}/members`, { userId: p.user.id })),
      people: await answer(await call(p, "GET", `/api/people?q=a&room=${room}`)),
      stream: await streamStatus(p, `/api/stream?streams=room:${room}`),
      poll: await streamStatus(p, `/api/poll?streams=room:${room}&wait=0`),
      batch: ((await (await call(p, "POST", `/api/poll/frames?conn=pg-${tag()}`, { frames: [{ type: "typing", room }] })).json()) as { frames: { code?: string }[] }).frames.map((f) => f.code),
    };
    c.close();
    return out;
  };

  it("a non-member gets exactly what a room that never existed gets, for every kind of access", async () => {
    const room = await privateRoom();
    await call(ada, "POST", `/api/rooms/${room}/messages`, { text: "secret plans", clientId: `s-${tag()}` });
    const never = await everyAccess(lin, `never-${tag()}`);
    expect(never.history).toEqual({ status: 404, code: "unknown_room" });
    expect(await everyAccess(lin, room)).toEqual(never);
    // Not listed, not even by a search for its name.
    for (const path of ["/api/rooms", `/api/rooms?q=${room}`]) {
      const { rooms } = (await (await call(lin, "GET", path)).json()) as { rooms: RoomInfo[] };
      expect(rooms.map((r) => r.id)).not.toContain(room);
    }
    // Ada sees it, marked private.
    const { rooms } = (await (await call(ada, "GET", `/api/rooms?q=${room}`)).json()) as { rooms: RoomInfo[] };
    expect(rooms).toEqual([expect.objectContaining({ id: room, private: true })]);
  });

  it("its name asked for again, as a public room or a private one, by its creator or anyone else, is refused: it stays private and unannounced", async () => {
    const room = await privateRoom();
    await call(ada, "POST", `/api/rooms/${room}/messages`, { text: "salary list", clientId: `s-${tag()}` });
    for (const [p, visibility] of [[ada, "public"], [ada, "private"], [lin, "public"], [lin, "private"]] as const) {
      expect(await answer(await call(p, "POST", "/api/rooms", { name: room, visibility })), `${p.user.name}, ${visibility}`).toEqual({ status: 409, code: "room_exists" });
    }
    // Still a room that never existed to anyone else, and nothing of it on the public feed.
    expect(await everyAccess(lin, room)).toEqual(await everyAccess(lin, `never-${tag()}`));
    const feed = (await (await call(lin, "GET", "/api/feed?limit=200")).json()) as { events: RealtimeEvent[] };
    expect(feed.events.filter((e) => JSON.stringify(e.data).includes(room))).toEqual([]);
  });

  it("offers only its members to mention (anyone else would not be told); a public room offers anyone, its members first", async () => {
    const room = await privateRoom([kim]);
    const offered = async (q: string, r: string) => ((await (await call(ada, "GET", `/api/people?q=${q}&room=${r}`)).json()) as { people: { id: string }[] }).people.map((p) => p.id);
    expect(await offered("Kim", room)).toContain(kim.user.id);
    expect(await offered("Lin", room)).not.toContain(lin.user.id);
    expect(await offered("Lin", "general")).toContain(lin.user.id);
  });

  it("its activity stays off the public feed; a mention in it reaches members only, and leaves with a removed member", async () => {
    const room = await privateRoom([kim]);
    const text = `@Lin @Kim meet in private ${tag()}`;
    const posted = await call(ada, "POST", `/api/rooms/${room}/messages`, { text, clientId: `m-${tag()}` });
    const { event } = (await posted.json()) as { event: RealtimeEvent };
    const feed = (await (await call(lin, "GET", "/api/feed?limit=200")).json()) as { events: RealtimeEvent[] };
    expect(feed.events.filter((e) => JSON.stringify(e.data).includes(room))).toEqual([]);
    const notes = async (p: Person) => ((await (await call(p, "GET", "/api/notifications?limit=100")).json()) as { events: RealtimeEvent[] }).events;
    expect((await notes(lin)).filter((e) => JSON.stringify(e.data).includes(room))).toEqual([]);
    expect((await notes(kim)).flatMap((e) => (e.type === "mention" && e.data.roomId === room ? [e.data.seq] : []))).toEqual([event.seq]);
    // Removed from the room, Kim no longer has what was said there, the mention of her included.
    expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${kim.user.id}`)).status).toBe(204);
    expect((await notes(kim)).filter((e) => JSON.stringify(e.data).includes(room))).toEqual([]);
  });

  it("a removed member is cut off live — the socket hears `removed` and no more — and then refused like anyone else", async () => {
    const room = await privateRoom([kim]);
    const kimSocket = await connect(kim);
    expect((await joinAnswer(kimSocket, room)).type).toBe("joined");
    const sse = await new Promise<{ text: () => string; ended: Promise<void> }>((resolve, reject) => {
      let text = "";
      const req = http.get(`${setup.at(kim).url}/api/stream?streams=room:${room}`, { headers: { cookie: kim.cookie } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        resolve({ text: () => text, ended: new Promise((done) => res.on("end", () => done())) });
      });
      req.on("error", reject);
    });
    await call(ada, "POST", `/api/rooms/${room}/messages`, { text: "before", clientId: `b-${tag()}` });
    await kimSocket.next(isType("event", (f) => f.event.stream === `room:${room}`));

    expect((await call(lin, "DELETE", `/api/rooms/${room}/members/${kim.user.id}`)).status).toBe(404); // not Lin's to say
    expect((await call(kim, "DELETE", `/api/rooms/${room}/members/${ada.user.id}`)).status).toBe(403); // only the creator removes others
    expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${kim.user.id}`)).status).toBe(204);
    expect(await kimSocket.next(isType("removed"))).toEqual({ type: "removed", room });
    await sse.ended;
    expect(sse.text()).toContain("event: removed");

    const eventsBefore = kimSocket.of("event").length;
    await call(ada, "POST", `/api/rooms/${room}/messages`, { text: "after", clientId: `a-${tag()}` });
    await new Promise((r) => setTimeout(r, 300));
    expect(kimSocket.of("event").length).toBe(eventsBefore);
    const never = await everyAccess(kim, `never-${tag()}`);
    expect(await everyAccess(kim, room)).toEqual(never);
  });

  it("anyone may leave; a public room has no member list; a direct message is one room for two, however often it is opened", async () => {
    const room = await privateRoom([kim]);
    expect((await call(kim, "DELETE", `/api/rooms/${room}/members/${kim.user.id}`)).status).toBe(204);
    expect((await call(kim, "GET", `/api/rooms/${room}/events`)).status).toBe(404);
    expect((await answer(await call(ada, "POST", "/api/rooms/general/members", { userId: lin.user.id })))).toEqual({ status: 400, code: "bad_request" });

    const first = (await (await call(ada, "POST", "/api/dms", { userId: lin.user.id })).json()) as { room: RoomInfo };
    const again = (await (await call(lin, "POST", "/api/dms", { userId: ada.user.id })).json()) as { room: RoomInfo };
    expect(again.room.id).toBe(first.room.id);
    expect(first.room.private).toBe(true);
    expect((await call(lin, "POST", `/api/rooms/${first.room.id}/messages`, { text: "hi Ada", clientId: `dm-${tag()}` })).status).toBe(201);
    expect((await call(kim, "GET", `/api/rooms/${first.room.id}/events`)).status).toBe(404);
    expect((await answer(await call(ada, "POST", "/api/dms", { userId: "u_nobody" })))).toEqual({ status: 404, code: "not_found" });
    expect((await answer(await call(ada, "POST", "/api/dms", { userId: ada.user.id })))).toEqual({ status: 404, code: "not_found" });
  });

  it("someone added or removed hears of it at once in their own stream, once each time (1.7)", async () => {
    const room = await privateRoom();
    // Lin's own stream, as the page follows it (the feed's event stream, on Lin's instance).
    let text = "";
    const stream = await new Promise<http.ClientRequest>((resolve, reject) => {
      const req = http.get(`${setup.at(lin).url}/api/stream?streams=user:me`, { headers: { cookie: lin.cookie } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        resolve(req);
      });
      req.on("error", reject);
    });
    const told = () =>
      text
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => JSON.parse(line.slice("data: ".length)) as RealtimeEvent)
        .filter((e) => (e.type === "member.added" || e.type === "member.removed") && e.data.roomId === room);
    const added = () => told().filter((e) => e.type === "member.added");
    try {
      expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: lin.user.id })).status).toBe(204);
      await waitFor(() => added().length === 1, 5_000, "Lin hearing she was added");
      expect(added()[0]).toMatchObject({ stream: `user:${lin.user.id}`, actor: { id: ada.user.id, name: "Ada" }, data: { roomId: room, name: room } });

      // Added again while a member: nothing new. Removed and added back: told again.
      expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: lin.user.id })).status).toBe(204);
      expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${lin.user.id}`)).status).toBe(204);
      expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: lin.user.id })).status).toBe(204);
      await waitFor(() => added().length === 2, 5_000, "Lin hearing she was added back");
      await new Promise((r) => setTimeout(r, 200));
      expect(told().map((e) => e.type)).toEqual(["member.added", "member.removed", "member.added"]);
      expect(told()[1]).toMatchObject({ actor: { id: ada.user.id }, data: { roomId: room } });
      // Leaving is told too (her other pages drop the room); leaving again, nothing.
      expect((await call(lin, "DELETE", `/api/rooms/${room}/members/${lin.user.id}`)).status).toBe(204);
      expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${lin.user.id}`)).status).toBe(204);
      await waitFor(() => told().length === 4, 5_000, "Lin hearing she left");
      await new Promise((r) => setTimeout(r, 200));
      expect(told().map((e) => e.type)).toEqual(["member.added", "member.removed", "member.added", "member.removed"]);
      // Nobody else's stream carries it, and it is no notification to count.
      const notes = (await (await call(lin, "GET", "/api/notifications?limit=100")).json()) as { events: RealtimeEvent[] };
      expect(notes.events.filter((e) => e.type === "member.added" || e.type === "member.removed")).toEqual([]);
    } finally {
      stream.destroy();
    }
  });

  it("who came and went is in the room's own history, live to its members and in its pages, and is no message (1.13)", async () => {
    const room = await privateRoom([kim]);
    const kimWs = await connect(kim);
    expect((await joinAnswer(kimWs, room)).type).toBe("joined");
    const membership = () => kimWs.of("event").filter((f) => f.event.type === "membership" && f.event.stream === `room:${room}`).map((f) => f.event);
    // Ada adds Lin, then removes her; Lin comes back and leaves.
    expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: lin.user.id })).status).toBe(204);
    expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${lin.user.id}`)).status).toBe(204);
    expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: lin.user.id })).status).toBe(204);
    expect((await call(lin, "DELETE", `/api/rooms/${room}/members/${lin.user.id}`)).status).toBe(204);
    // Repeats change nothing and write nothing.
    expect((await call(ada, "POST", `/api/rooms/${room}/members`, { userId: kim.user.id })).status).toBe(204);
    expect((await call(ada, "DELETE", `/api/rooms/${room}/members/${lin.user.id}`)).status).toBe(204);
    const expected = [
      { actor: { id: ada.user.id, name: "Ada" }, data: { userId: lin.user.id, name: "Lin", change: "added" } },
      { actor: { id: ada.user.id, name: "Ada" }, data: { userId: lin.user.id, name: "Lin", change: "removed" } },
      { actor: { id: ada.user.id, name: "Ada" }, data: { userId: lin.user.id, name: "Lin", change: "added" } },
      { actor: { id: lin.user.id, name: "Lin" }, data: { userId: lin.user.id, name: "Lin", change: "left" } },
    ];
    // Kim, in the room, hears each live; the page Kim reads later holds the same.
    await waitFor(() => membership().length === 4, 5_000, "Kim hearing who came and went");
    expect(membership()).toMatchObject(expected);
    const page = (await (await call(kim, "GET", `/api/rooms/${room}/events`)).json()) as { events: RealtimeEvent[] };
    const lines = page.events.filter((e) => e.type === "membership");
    // From the start: Kim's own addition, made before Kim's socket was there.
    expect(lines).toMatchObject([{ actor: { id: ada.user.id }, data: { userId: kim.user.id, name: "Kim", change: "added" } }, ...expected]);
    expect(page.events.filter((e) => e.type === "message")).toEqual([]);
    // No message: nothing unread, nothing to react to.
    expect((await (await call(kim, "GET", `/api/rooms?q=${room}`)).json()) as { rooms: RoomInfo[] }).toMatchObject({ rooms: [{ id: room, unread: 0 }] });
    expect(await answer(await call(kim, "POST", `/api/rooms/${room}/messages/${lines[0]!.seq}/reactions`, { emoji: "👍", on: true, clientId: `r-${tag()}` }))).toEqual({
      status: 404,
      code: "unknown_message",
    });
    // A direct message writes none (no one is added to one).
    const dm = (await (await call(ada, "POST", "/api/dms", { userId: lin.user.id })).json()) as { room: RoomInfo };
    const dmEvents = ((await (await call(ada, "GET", `/api/rooms/${dm.room.id}/events`)).json()) as { events: RealtimeEvent[] }).events;
    expect(dmEvents.filter((e) => e.type === "membership")).toEqual([]);
  });

  it("a direct message stays between its two people: no one is added, no one removes the other, and the lists say which rooms are direct (1.6)", async () => {
    const dm = ((await (await call(kim, "POST", "/api/dms", { userId: lin.user.id })).json()) as { room: RoomInfo }).room;
    expect(dm).toMatchObject({ private: true, direct: true });
    expect((await call(lin, "POST", `/api/rooms/${dm.id}/messages`, { text: "just between us", clientId: `dm-${tag()}` })).status).toBe(201);

    // Kim (who opened it) tries to bring Ada in, and to put Lin out: both refused, nothing changes.
    expect(await answer(await call(kim, "POST", `/api/rooms/${dm.id}/members`, { userId: ada.user.id }))).toEqual({ status: 403, code: "forbidden" });
    expect(await answer(await call(kim, "DELETE", `/api/rooms/${dm.id}/members/${lin.user.id}`))).toEqual({ status: 403, code: "forbidden" });
    expect(await answer(await call(ada, "GET", `/api/rooms/${dm.id}/events`))).toEqual({ status: 404, code: "unknown_room" });
    const members = (await (await call(lin, "GET", `/api/rooms/${dm.id}/members`)).json()) as MembersAnswer;
    expect(members.members.map((m) => m.id).sort()).toEqual([kim.user.id, lin.user.id].sort());
    expect(members).toMatchObject({ direct: true, createdBy: kim.user.id });
    expect((await call(lin, "GET", `/api/rooms/${dm.id}/events`)).status).toBe(200);

    // The room lists mark it direct; a private room is not, and its members answer names its creator.
    const listed = ((await (await call(lin, "GET", "/api/rooms")).json()) as { rooms: RoomInfo[] }).rooms;
    expect(listed.find((r) => r.id === dm.id)).toMatchObject({ private: true, direct: true });
    const room = await privateRoom([lin]);
    expect(((await (await call(lin, "GET", "/api/rooms")).json()) as { rooms: RoomInfo[] }).rooms.find((r) => r.id === room)?.direct).toBeUndefined();
    const roomMembers = (await (await call(lin, "GET", `/api/rooms/${room}/members`)).json()) as MembersAnswer;
    expect(roomMembers.createdBy).toBe(ada.user.id);
    expect(roomMembers.direct).toBeUndefined();

    // Either of the two may still leave it; opening it again brings both back.
    expect((await call(lin, "DELETE", `/api/rooms/${dm.id}/members/${lin.user.id}`)).status).toBe(204);
    expect((await call(lin, "GET", `/api/rooms/${dm.id}/events`)).status).toBe(404);
    expect((await call(kim, "POST", "/api/dms", { userId: lin.user.id })).status).toBe(200);
    expect((await call(lin, "GET", `/api/rooms/${dm.id}/events`)).status).toBe(200);
  });

  it("a direct message one of them left comes back to them when the other writes in it, the message unread (1.16)", async () => {
    const mo = await setup.home.signIn(`Mo-${tag()}`);
    const dm = ((await (await call(kim, "POST", "/api/dms", { userId: mo.user.id })).json()) as { room: RoomInfo }).room;
    expect((await call(mo, "DELETE", `/api/rooms/${dm.id}/members/${mo.user.id}`)).status).toBe(204);
    expect((await call(mo, "GET", `/api/rooms/${dm.id}/events`)).status).toBe(404);
    const listed = async () => ((await (await call(mo, "GET", "/api/rooms")).json()) as { rooms: Array<RoomInfo & { unread?: number }> }).rooms.find((r) => r.id === dm.id);
    expect(await listed()).toBeUndefined();

    expect((await call(kim, "POST", `/api/rooms/${dm.id}/messages`, { text: "are you there?", clientId: `back-${tag()}` })).status).toBe(201);
    expect((await call(mo, "GET", `/api/rooms/${dm.id}/events`)).status).toBe(200);
    expect(await listed()).toMatchObject({ id: dm.id, direct: true, unread: 1 });
    // A member of it again, beside Kim.
    const mine = ((await (await call(mo, "GET", `/api/rooms/${dm.id}/members`)).json()) as MembersAnswer).members.map((m) => m.id);
    expect(mine.sort()).toEqual([kim.user.id, mo.user.id].sort());
  });

  it("each side of a direct message is told who is on the other side, by their name, in every answer that lists it (1.8)", async () => {
    const dm = ((await (await call(kim, "POST", "/api/dms", { userId: ada.user.id })).json()) as { room: RoomInfo }).room;
    expect(dm.with).toEqual({ id: ada.user.id, name: ada.user.name });
    // The room's own name stays both names, as a client before 1.8 shows it.
    expect(dm.name).toBe(`${kim.user.name}, ${ada.user.name}`);
    const opened = ((await (await call(ada, "POST", "/api/dms", { userId: kim.user.id })).json()) as { room: RoomInfo }).room;
    expect(opened).toMatchObject({ id: dm.id, with: { id: kim.user.id, name: kim.user.name } });

    const listedBy = async (who: Person) => ((await (await call(who, "GET", "/api/rooms")).json()) as { rooms: RoomInfo[] }).rooms;
    expect((await listedBy(kim)).find((r) => r.id === dm.id)?.with).toEqual({ id: ada.user.id, name: ada.user.name });
    expect((await listedBy(ada)).find((r) => r.id === dm.id)?.with).toEqual({ id: kim.user.id, name: kim.user.name });
    // Only direct messages carry it.
    expect((await listedBy(ada)).filter((r) => r.with).every((r) => r.direct)).toBe(true);
    expect((await listedBy(ada)).find((r) => r.id === "general")?.with).toBeUndefined();
  });
});
