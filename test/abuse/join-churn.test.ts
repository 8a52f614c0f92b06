// Join/leave churn (issue 13, finding 4): sockets leaving and joining a busy room over and over,
// within the join limit, once stalled everyone's acks — each join read the log, and each change
// sent every watcher the whole member list. A live-only join now answers from the hub's memory,
// and protocol 1.1 clients hear presence as changes, so churn costs others a bounded trickle.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Subscriber } from "../../server/hub";
import { applyPresenceDiff } from "../../lib/presence-diff";
import type { ServerFrame, User } from "../../lib/protocol";
import { isType, startServerWith, waitFor, type Person, type TestServer, type WsClient } from "../helpers/server";

const V1_1 = ["rt.v1.1", "rt.v1"];

let s: TestServer;
let ada: Person;
let lin: Person;
let kay: Person;
let churners: Person[];

beforeAll(async () => {
  [s, ada, lin, kay, ...churners] = await startServerWith(["Ada", "Lin", "Kay", "C1", "C2", "C3"]);
});
afterAll(async () => {
  await s?.stop();
});

let rooms = 0;
async function newRoom(): Promise<string> {
  const name = `churn-${++rooms}`;
  const res = await s.api("/api/rooms", { method: "POST", cookie: ada.cookie, body: JSON.stringify({ name }) });
  expect(res.status).toBe(201);
  return name;
}

async function join(c: WsClient, room: string): Promise<Extract<ServerFrame, { type: "joined" }>> {
  const from = c.frames.length;
  c.send({ type: "join", room });
  return c.next(isType("joined", (f) => f.room === room), { from });
}

/** `n` people present in the room without a socket each: connections registered on the hub. */
function crowd(room: string, n: number): Subscriber[] {
  const hub = s.app.hub;
  return Array.from({ length: n }, (_, i) => {
    const user: User = { id: `u_crowd_${room}_${i}`, name: `Crowd member ${i}`, color: "#0d9488" };
    const sub: Subscriber = { id: `crowd-${room}-${i}`, user, sessionId: `s-crowd-${i}`, transport: "ws", onEvent() {} };
    hub.register(sub);
    hub.enterRoom(room, sub);
    return sub;
  });
}

/** The members a client shows for `room` after every presence frame it heard from `from` on. */
function shown(c: WsClient, room: string, start: User[], from: number): User[] {
  let members = start;
  for (const f of c.frames.slice(from)) {
    if (f.type === "presence" && f.room === room) members = f.members;
    if (f.type === "presence_diff" && f.room === room) members = applyPresenceDiff(members, f);
  }
  return members;
}

const presenceBytes = (c: WsClient, room: string, from: number) =>
  c.frames
    .slice(from)
    .filter((f) => (f.type === "presence" || f.type === "presence_diff") && f.room === room)
    .reduce((n, f) => n + JSON.stringify(f).length, 0);

describe("join churn", () => {
  it("a join without since reads nothing from the event log, however often it repeats", async () => {
    const room = await newRoom();
    const watcher = await s.connect(lin.cookie);
    await join(watcher, room);
    const c = await s.connect(kay.cookie);
    await join(c, room); // the first join records the membership (after its answer); the churn after it must not read
    const recorded = async () =>
      (await s.testDb.db.sql.query("SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2", [room, kay.user.id])).length === 1;
    await waitFor(recorded, 5_000, "Kay's membership recorded");
    await s.app.log.idle();
    const query = vi.spyOn(s.testDb.db.sql, "query");
    const transaction = vi.spyOn(s.testDb.db, "transaction");
    try {
      for (let cycle = 0; cycle < 10; cycle++) {
        c.send({ type: "leave", room });
        await join(c, room);
      }
      await s.app.log.idle();
      expect(query.mock.calls.map((call) => call[0])).toEqual([]);
      expect(transaction).not.toHaveBeenCalled();
    } finally {
      query.mockRestore();
      transaction.mockRestore();
    }
    c.close();
    watcher.close();
  });

  it("a newcomer's many sockets joining at once cost one feed event, recorded once", async () => {
    const room = await newRoom();
    const newcomer = await s.signIn("Newcomer");
    const sockets = await Promise.all(Array.from({ length: 8 }, () => s.connect(newcomer.cookie)));
    await s.app.log.idle();
    const appends = vi.spyOn(s.app.log, "append");
    try {
      // Each socket leaves and joins again while the first join is still being recorded:
      // before, every join in that window was a lookup and an append of its own.
      await Promise.all(sockets.map((c) => join(c, room)));
      for (const c of sockets) c.send({ type: "leave", room });
      await Promise.all(sockets.map((c) => join(c, room)));
      await waitFor(async () => (await s.testDb.db.prisma.roomMember.count({ where: { roomId: room, userId: newcomer.user.id } })) === 1, 5_000, "the membership recorded");
      await s.app.log.idle();
      expect(appends.mock.calls.map(([a]) => `${a.type} ${JSON.stringify(a.data)}`)).toEqual([`member.joined {"roomId":"${room}"}`]);
    } finally {
      appends.mockRestore();
    }
    const feed = await s.app.log.readBefore("feed", null, 50);
    expect(feed.events.filter((e) => e.type === "member.joined" && e.actor.id === newcomer.user.id)).toHaveLength(1);
    for (const c of sockets) c.close();
  });

  it("a crowd's first joins are recorded a few at a time, each once, while the room answers at once", async () => {
    const room = await newRoom();
    const crowdOf = await Promise.all(Array.from({ length: 12 }, (_, i) => s.signIn(`Newcomer ${i + 2}`)));
    const sockets = await Promise.all(crowdOf.map((p) => s.connect(p.cookie)));
    await s.app.log.idle();
    const append = s.app.log.append.bind(s.app.log);
    let inFlight = 0;
    let most = 0;
    const appends = vi.spyOn(s.app.log, "append").mockImplementation(async (input) => {
      most = Math.max(most, ++inFlight);
      try {
        return await append(input);
      } finally {
        inFlight--;
      }
    });
    try {
      const joined = await Promise.all(sockets.map((c) => join(c, room)));
      expect(joined.map((j) => j.room)).toEqual(sockets.map(() => room));
      await waitFor(async () => (await s.testDb.db.prisma.roomMember.count({ where: { roomId: room } })) === crowdOf.length, 10_000, "every membership recorded");
      expect(appends).toHaveBeenCalledTimes(crowdOf.length);
      expect(most).toBeLessThanOrEqual(4);
    } finally {
      appends.mockRestore();
    }
    for (const c of sockets) c.close();
  });

  it("a 1.1 client hears presence as diffs after its joined list; a version 1 client keeps full lists", async () => {
    const room = await newRoom();
    const v11 = await s.connect(ada.cookie, { protocols: V1_1 });
    const v1 = await s.connect(lin.cookie, { protocols: ["rt.v1"] });
    expect([v11.ws.protocol, v1.ws.protocol]).toEqual(["rt.v1.1", "rt.v1"]);
    const v11Joined = await join(v11, room);
    const v1Joined = await join(v1, room);
    expect(v11Joined.members.map((m) => m.id)).toContain(ada.user.id);
    expect(v1Joined.members.map((m) => m.id).sort()).toEqual([ada.user.id, lin.user.id].sort());
    const from11 = v11.frames.length;
    const from1 = v1.frames.length;

    const k = await s.connect(kay.cookie);
    await join(k, room);
    const arrived = await v11.next(isType("presence_diff", (f) => f.room === room && f.joins.some((u) => u.id === kay.user.id)), { from: from11 });
    expect(arrived.leaves).toEqual([]);
    await v1.next(isType("presence", (f) => f.room === room && f.members.some((u) => u.id === kay.user.id)), { from: from1 });
    // What the leave brings, from here on: v1's own presence from before Kay came would match too.
    const leaving11 = v11.frames.length;
    const leaving1 = v1.frames.length;
    k.send({ type: "leave", room });
    const left = await v11.next(isType("presence_diff", (f) => f.room === room && f.leaves.some((u) => u.id === kay.user.id)), { from: leaving11 });
    expect(left.joins).toEqual([]);
    await v1.next(isType("presence", (f) => f.room === room && !f.members.some((u) => u.id === kay.user.id)), { from: leaving1 });

    expect(v11.of("presence").filter((f) => f.room === room)).toEqual([]);
    expect(v1.of("presence_diff")).toEqual([]);
    expect(shown(v11, room, v11Joined.members, 0).map((u) => u.id).sort()).toEqual([ada.user.id, lin.user.id].sort());
    expect([...v11.invalid, ...v1.invalid]).toEqual([]);
    for (const c of [v11, v1, k]) c.close();
  });

  it("churn in a crowded room reaches a bystander as traffic bounded by the changes, not by the crowd", async () => {
    const room = await newRoom();
    const CROWD = 300;
    const CYCLES = 8;
    const people = crowd(room, CROWD);
    s.app.hub.settleRoom(room); // the crowd announced: the bystander's joined list holds it
    const bystander = await s.connect(lin.cookie, { protocols: V1_1 });
    const joined = await join(bystander, room);
    expect(joined.members).toHaveLength(CROWD + 1);
    const from = bystander.frames.indexOf(joined) + 1;
    const sockets = await Promise.all(churners.map((p) => s.connect(p.cookie, { protocols: V1_1 })));
    for (const c of sockets) await join(c, room);
    const ids = () => new Set(shown(bystander, room, joined.members, from).map((u) => u.id));
    await waitFor(() => churners.every((p) => ids().has(p.user.id)), 5_000, "the churners present");
    const churnFrom = bystander.frames.length;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      for (const c of sockets) c.send({ type: "leave", room });
      await waitFor(() => churners.every((p) => !ids().has(p.user.id)), 5_000, `the churners gone (cycle ${cycle})`);
      for (const c of sockets) await join(c, room);
      await waitFor(() => churners.every((p) => ids().has(p.user.id)), 5_000, `the churners back (cycle ${cycle})`);
    }

    // Every change reached the bystander, and its list is the room's.
    expect(ids().size).toBe(CROWD + 1 + churners.length);
    // A change names who changed (~100 bytes each); a full list names all 300 (~60 bytes each).
    const perChange = 200;
    expect(presenceBytes(bystander, room, churnFrom)).toBeLessThan(2 * CYCLES * churners.length * perChange);
    for (const c of [bystander, ...sockets]) c.close();
    for (const p of people) s.app.hub.unregister(p);
  });
});
