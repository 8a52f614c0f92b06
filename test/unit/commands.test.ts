// The command executor driven directly, no socket: every command, its limits and room checks,
// and the one mapping from what went wrong to an error code. A fake connection context stands
// in for the transport (its `subscribe` answers `joined`, as a long-poll page's does); the hub,
// event log and workspace are real (PGlite) and time moves only when the test says so.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DuplicateCookieError, Sessions, type Session } from "../../server/auth";
import type { CommandContext, Reply } from "../../server/commands/context";
import { CommandError, decodeFrame, errorFrame, isServerTrouble, knownError } from "../../server/commands/errors";
import { CommandExecutor } from "../../server/commands/executor";
import { FRAME_RATE, MAX_ROOMS_PER_CONNECTION } from "../../server/commands/limits";
import { EventLog, EventLogClosedError, EventLogFullError } from "../../server/eventlog";
import { Hub } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { createMetrics, type Metrics } from "../../server/metrics";
import { PersonRates } from "../../server/ratelimit";
import { ManualClock } from "../../server/state/clock";
import { Workspace, WorkspaceError } from "../../server/workspace";
import type { ClientFrame, ServerFrame } from "../../lib/protocol";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let testDb: TestDatabase;
let ada: Session;
beforeAll(async () => {
  testDb = await createTestDatabase("pglite");
  const sessions = new Sessions(testDb.db, "test-secret-test-secret-test-secret-0123");
  ada = (await sessions.create("Ada", false)).session;
});
afterAll(async () => {
  await testDb?.drop();
});

let clock: ManualClock;
let metrics: Metrics;
let log: EventLog;
let hub: Hub;
let workspace: Workspace;
let executor: CommandExecutor;

function world(opts: { maxQueue?: number } = {}) {
  clock = new ManualClock();
  metrics = createMetrics({ defaultMetrics: false });
  log = new EventLog(testDb.db, { metrics, maxQueue: opts.maxQueue });
  hub = new Hub({ log, clock, logger: silentLogger, metrics });
  workspace = new Workspace(testDb.db.prisma, log);
  executor = new CommandExecutor({ hub, workspace, logger: silentLogger, metrics });
}
beforeEach(() => world());
afterEach(async () => {
  hub.stop();
  await log.idle();
});

interface FakeConnection extends CommandContext {
  rooms: Set<string>;
  followed: Array<{ room: string; since: number | undefined }>;
}

/** A connection's context as a transport builds one; `subscribe` may be made to fail. */
function connection(opts: { rooms?: null; subscribe?: CommandContext["subscribe"]; rates?: PersonRates; joinOnDemand?: boolean } = {}): FakeConnection {
  const rooms = new Set<string>();
  const followed: FakeConnection["followed"] = [];
  const ctx: FakeConnection = {
    user: ada.user,
    transport: "ws",
    source: "conn-1",
    rates: opts.rates ?? new PersonRates({ now: () => clock.now() }),
    rooms,
    followed,
    subscribe:
      opts.subscribe ??
      (async (room, since) => {
        rooms.add(room);
        followed.push({ room, since });
        return [{ type: "joined", room, head: await log.head(`room:${room}`), members: [ada.user] }];
      }),
    unsubscribe: (room) => rooms.delete(room),
    joinOnDemand: opts.joinOnDemand,
  };
  if (opts.rooms === null) return { ...ctx, rooms: null as unknown as Set<string> };
  return ctx;
}

async function newRoom(): Promise<string> {
  const room = `c-${randomBytes(4).toString("hex")}`;
  await workspace.createRoom(room, ada.user);
  return room;
}

/** Every frame of the reply, the durable ack included. */
async function settle(reply: Reply): Promise<ServerFrame[]> {
  return [...reply.frames, ...((await reply.later)?.frames ?? [])];
}

const run = async (frame: ClientFrame, ctx: CommandContext) => settle(await executor.execute(frame, ctx));
const codeOf = (frames: ServerFrame[]) => (frames[0]?.type === "error" ? frames[0].code : null);

describe("join and leave", () => {
  it("join: follows the room through the context, answers its joined, and records the membership", async () => {
    const room = await newRoom();
    const c = connection();
    expect(await run({ type: "join", room, since: 3 }, c)).toEqual([{ type: "joined", room, head: 0, members: [ada.user] }]);
    expect(c.followed).toEqual([{ room, since: 3 }]);
    await expect.poll(async () => (await testDb.db.prisma.roomMember.count({ where: { roomId: room, userId: ada.user.id } })), { timeout: 5_000 }).toBe(1);
  });

  it("join: unknown_room, never followed", async () => {
    const c = connection();
    expect(await run({ type: "join", room: "nope-nope" }, c)).toEqual([
      { type: "error", code: "unknown_room", message: 'There is no room "nope-nope"', room: "nope-nope" },
    ]);
    expect(c.followed).toEqual([]);
  });

  it(`join: too_many_rooms past ${MAX_ROOMS_PER_CONNECTION}, rate_limited past the person's burst`, async () => {
    const c = connection();
    for (let i = 0; i < MAX_ROOMS_PER_CONNECTION; i++) c.rooms.add(`held-${i}`);
    const room = await newRoom();
    expect(codeOf(await run({ type: "join", room }, c))).toBe("too_many_rooms");
    const d = connection();
    const codes = [];
    for (let i = 0; i < 51; i++) codes.push(codeOf(await run({ type: "join", room }, d)));
    expect(codes.slice(0, 50).every((code) => code === null)).toBe(true);
    expect(codes[50]).toBe("rate_limited");
    // A rate-limited join of a room already joined keeps it joined.
    expect(d.rooms.has(room)).toBe(true);
  });

  it("join: a failure while following is internal, logged, and leaves the room unjoined", async () => {
    const room = await newRoom();
    const c = connection({
      subscribe: async (r) => {
        c.rooms.add(r);
        throw new Error("the log could not be read");
      },
    });
    expect(await run({ type: "join", room }, c)).toEqual([{ type: "error", code: "internal", message: "Something went wrong; try again", room }]);
    expect(c.rooms.has(room)).toBe(false);
  });

  it("join: each refusal says why, naming the limit or the room", async () => {
    const room = await newRoom();
    const full = connection();
    for (let i = 0; i < MAX_ROOMS_PER_CONNECTION; i++) full.rooms.add(`held-${i}`);
    expect(await run({ type: "join", room }, full)).toEqual([
      { type: "error", code: "too_many_rooms", message: `A connection can be in at most ${MAX_ROOMS_PER_CONNECTION} rooms; leave one first`, room },
    ]);
    const rates = new PersonRates({ now: () => clock.now(), limits: { send: { rate: 1, burst: 1 }, typing: { rate: 1, burst: 1 }, cursor: { rate: 1, burst: 1 }, join: { rate: 1, burst: 1 }, read: { rate: 1, burst: 1 }, canvas: { rate: 1, burst: 1 }, canvasLive: { rate: 1, burst: 1 }, frame: { rate: 1, burst: 1 } } });
    const limited = connection({ rates });
    await run({ type: "join", room }, limited);
    expect(await run({ type: "join", room }, limited)).toEqual([
      { type: "error", code: "rate_limited", message: `Too many joins; slow down ("${room}" was not joined)`, room },
    ]);
    expect(await run({ type: "join", room }, connection({ rooms: null }))).toEqual([
      { type: "error", code: "bad_request", message: "Only a connection can join a room", room },
    ]);
  });

  it("join: refused bad_request to a one-off HTTP call (it has no connection to follow with)", async () => {
    expect(codeOf(await run({ type: "join", room: "general" }, connection({ rooms: null })))).toBe("bad_request");
  });

  it("leave: ends the join; not_joined when there was none", async () => {
    const room = await newRoom();
    const c = connection();
    await run({ type: "join", room }, c);
    expect(await run({ type: "leave", room }, c)).toEqual([]);
    expect(c.rooms.has(room)).toBe(false);
    expect(await run({ type: "leave", room }, c)).toEqual([{ type: "error", code: "not_joined", message: `You have not joined "${room}"`, room }]);
  });
});

describe("send", () => {
  it("acks once durable, with the event's seq; the same clientId again is the same ack", async () => {
    const room = await newRoom();
    const c = connection();
    await run({ type: "join", room }, c);
    const reply = await executor.execute({ type: "send", room, text: " hi ", clientId: "s-1" }, c);
    expect(reply.frames).toEqual([]);
    const later = await reply.later!;
    expect(later.frames).toEqual([{ type: "ack", clientId: "s-1", seq: 1 }]);
    expect(later.appended).toMatchObject({ duplicate: false, event: { seq: 1, data: { text: "hi", clientId: "s-1" } } });
    expect(await run({ type: "send", room, text: "again", clientId: "s-1" }, c)).toEqual([{ type: "ack", clientId: "s-1", seq: 1 }]);
    expect(await metrics.acks.get()).toMatchObject({ values: [{ labels: { transport: "ws" }, value: 2 }] });
  });

  it("stops its author typing, whatever becomes of it", async () => {
    const room = await newRoom();
    const c = connection();
    await run({ type: "join", room }, c);
    await run({ type: "typing", room }, c);
    expect(hub.typingUsers(room).map((u) => u.id)).toEqual([ada.user.id]);
    await run({ type: "send", room, text: "   ", clientId: "s-2" }, c);
    expect(hub.typingUsers(room)).toEqual([]);
  });

  it("error codes, each naming the room and the clientId: not_joined, invalid_text, rate_limited", async () => {
    const room = await newRoom();
    const c = connection();
    expect(await run({ type: "send", room, text: "hi", clientId: "e-1" }, c)).toEqual([
      { type: "error", code: "not_joined", message: `Join "${room}" before sending to it`, clientId: "e-1", room },
    ]);
    await run({ type: "join", room }, c);
    expect(await run({ type: "send", room, text: "   ", clientId: "e-2" }, c)).toEqual([
      { type: "error", code: "invalid_text", message: "Message must not be empty", clientId: "e-2", room },
    ]);
    const rates = new PersonRates({ now: () => clock.now(), limits: { send: { rate: 1, burst: 1 }, typing: { rate: 1, burst: 1 }, cursor: { rate: 1, burst: 1 }, join: { rate: 1, burst: 1 }, read: { rate: 1, burst: 1 }, canvas: { rate: 1, burst: 1 }, canvasLive: { rate: 1, burst: 1 }, frame: { rate: 1, burst: 1 } } });
    const limited = { ...c, rates };
    expect(codeOf(await run({ type: "send", room, text: "one", clientId: "e-3" }, limited))).toBeNull();
    expect(await run({ type: "send", room, text: "two", clientId: "e-4" }, limited)).toEqual([
      { type: "error", code: "rate_limited", message: "Too many messages; slow down", clientId: "e-4", room },
    ]);
  });

  it("overloaded (the log's queue is full) and unavailable (the log is closing), with the clientId", async () => {
    world({ maxQueue: 1 });
    const room = await newRoom();
    const c = connection();
    await run({ type: "join", room }, c);
    const first = await executor.execute({ type: "send", room, text: "a", clientId: "o-1" }, c);
    const second = await executor.execute({ type: "send", room, text: "b", clientId: "o-2" }, c);
    expect((await second.later!).frames).toEqual([{ type: "error", code: "overloaded", message: expect.stringMatching(/busy/), clientId: "o-2", room }]);
    expect((await first.later!).frames[0]?.type).toBe("ack");
    await log.close();
    expect(await run({ type: "send", room, text: "c", clientId: "o-3" }, c)).toEqual([
      { type: "error", code: "unavailable", message: expect.stringMatching(/shutting down/), clientId: "o-3", room },
    ]);
  });

  it("over one-off HTTP (no joins): any room that exists; unknown_room otherwise", async () => {
    const room = await newRoom();
    const http = { ...connection({ rooms: null }), transport: "http" as const };
    expect(await run({ type: "send", room, text: "hi", clientId: "h-1" }, http)).toEqual([{ type: "ack", clientId: "h-1", seq: 1 }]);
    expect(codeOf(await run({ type: "send", room: "nope-nope", text: "hi", clientId: "h-2" }, http))).toBe("unknown_room");
    expect(await metrics.acks.get()).toMatchObject({ values: [{ labels: { transport: "http" }, value: 1 }] });
  });
});

describe("typing and cursor", () => {
  it("typing: starts and stops from this connection; not_joined; over the limit dropped as excess", async () => {
    const room = await newRoom();
    const c = connection();
    expect(await run({ type: "typing", room }, c)).toEqual([{ type: "error", code: "not_joined", message: `Join "${room}" first`, room }]);
    await run({ type: "join", room }, c);
    expect(await run({ type: "typing", room }, c)).toEqual([]);
    expect(hub.typingUsers(room).map((u) => u.id)).toEqual([ada.user.id]);
    expect(await run({ type: "typing", room, stop: true }, c)).toEqual([]);
    expect(hub.typingUsers(room)).toEqual([]);
    await run({ type: "typing", room }, c);
    const over = await executor.execute({ type: "typing", room }, c);
    expect(over).toEqual({ frames: [], excess: true });
    // A stop is never limited.
    expect(await executor.execute({ type: "typing", room, stop: true }, c)).toEqual({ frames: [] });
  });

  it("cursor: moves and hides; one for a room not joined is dropped without an error; over the limit is excess", async () => {
    const room = await newRoom();
    const c = connection();
    expect(await executor.execute({ type: "cursor", room, x: 0.5, y: 0.5 }, c)).toEqual({ frames: [] });
    expect(hub.cursorSnapshot(room)).toEqual({});
    await run({ type: "join", room }, c);
    await run({ type: "cursor", room, x: 0.25, y: 0.75 }, c);
    expect(hub.cursorSnapshot(room)[ada.user.id]).toMatchObject({ x: 0.25, y: 0.75 });
    await run({ type: "cursor", room, x: null, y: null }, c);
    expect(hub.cursorSnapshot(room)[ada.user.id]).toBeUndefined();
    const replies = [];
    // One token went on the move above: 59 more pass, the 60th is over the burst.
    for (let i = 0; i < 60; i++) replies.push(await executor.execute({ type: "cursor", room, x: 0.1, y: 0.1 }, c));
    expect(replies.filter((r) => r.excess)).toEqual([{ frames: [], excess: true }]);
  });

  it("over one-off HTTP: unknown_room for a room that does not exist", async () => {
    const http = connection({ rooms: null });
    expect(codeOf(await run({ type: "typing", room: "nope-nope" }, http))).toBe("unknown_room");
    expect(codeOf(await run({ type: "cursor", room: "nope-nope", x: 0.1, y: 0.1 }, http))).toBe("unknown_room");
  });
});

describe("the one mapping from failures to codes", () => {
  it.each([
    ["a command's own refusal", "too_many_rooms", new CommandError("too_many_rooms", "m")],
    ["a workspace rule", "invalid_text", new WorkspaceError("invalid_text", "m")],
    ["the log's full queue", "overloaded", new EventLogFullError(3)],
    ["the log closing", "unavailable", new EventLogClosedError()],
    ["a cookie sent twice", "duplicate_cookie", new DuplicateCookieError("rt_session")],
  ])("%s → %s", (_what, code, err) => {
    expect(knownError(err)?.code).toBe(code);
  });

  it("anything else is not the client's error: null, answered internal", () => {
    expect(knownError(new Error("boom"))).toBeNull();
  });

  it("a frame that fails the schema is bad_frame, naming its type and the first issue", () => {
    expect(decodeFrame({ type: "send", room: "general", text: "hi" })).toEqual({
      error: { type: "error", code: "bad_frame", message: 'Invalid "send" frame: clientId Invalid input: expected string, received undefined', room: "general" },
    });
    // Named by its clientId too, where that is one: the client fails that frame, not the room's others.
    expect(decodeFrame({ type: "react", room: "general", seq: 3, emoji: "zzz", on: true, clientId: "r-1" })).toMatchObject({ error: { code: "bad_frame", clientId: "r-1", room: "general" } });
    expect(decodeFrame({ type: "join", room: "general" })).toEqual({ frame: { type: "join", room: "general" } });
  });
});

describe("a long-poll page's frames on an instance that has not seen its join", () => {
  it("send, typing and cursor join the room here first (live only), then take effect", async () => {
    const room = await newRoom();
    const send = connection({ joinOnDemand: true });
    expect(await run({ type: "send", room, text: "hi", clientId: "d-1" }, send)).toEqual([{ type: "ack", clientId: "d-1", seq: 1 }]);
    expect(send.followed).toEqual([{ room, since: undefined }]);

    const typing = connection({ joinOnDemand: true });
    expect(await run({ type: "typing", room }, typing)).toEqual([]);
    expect(typing.followed).toEqual([{ room, since: undefined }]);
    expect(hub.typingUsers(room).map((u) => u.id)).toEqual([ada.user.id]);

    const cursor = connection({ joinOnDemand: true });
    expect(await run({ type: "cursor", room, x: 0.5, y: 0.5 }, cursor)).toEqual([]);
    expect(cursor.followed).toEqual([{ room, since: undefined }]);
    expect(hub.cursorSnapshot(room)[ada.user.id]).toMatchObject({ x: 0.5, y: 0.5 });
  });

  it("a room joined already is not followed twice", async () => {
    const room = await newRoom();
    const c = connection({ joinOnDemand: true });
    await run({ type: "join", room }, c);
    await run({ type: "send", room, text: "hi", clientId: "d-2" }, c);
    await run({ type: "cursor", room, x: 0.1, y: 0.1 }, c);
    expect(c.followed).toHaveLength(1);
  });

  it("a room that does not exist is unknown_room, and nothing is followed", async () => {
    const c = connection({ joinOnDemand: true });
    expect(codeOf(await run({ type: "send", room: "nope-nope", text: "hi", clientId: "d-3" }, c))).toBe("unknown_room");
    expect(codeOf(await run({ type: "cursor", room: "nope-nope", x: 0.1, y: 0.1 }, c))).toBe("unknown_room");
    expect(c.followed).toEqual([]);
  });
});

/** A logger that keeps its error lines, for failures the operator must see. */
function spyLogger() {
  const errors: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const logger = { error: (obj: Record<string, unknown>, msg: string) => void errors.push({ obj, msg }), warn() {}, info() {}, debug() {} };
  return { logger: logger as unknown as typeof silentLogger, errors };
}

describe("failures the operator sees", () => {
  it("an unexpected failure is answered internal and logged with the frame's type; a refusal is not logged", async () => {
    const room = await newRoom();
    const { logger, errors } = spyLogger();
    const logged = new CommandExecutor({ hub, workspace, logger, metrics });
    const c = connection({ subscribe: async () => Promise.reject(new Error("the log could not be read")) });
    expect(codeOf(await settle(await logged.execute({ type: "join", room }, c)))).toBe("internal");
    expect(errors.map((e) => [e.msg, e.obj.frame])).toEqual([["frame failed", "join"]]);
    expect(codeOf(await settle(await logged.execute({ type: "leave", room }, connection())))).toBe("not_joined");
    expect(errors).toHaveLength(1);
  });

  it("a send whose append fails unexpectedly is answered internal, with its clientId, and logged", async () => {
    const room = await newRoom();
    const { logger, errors } = spyLogger();
    const failing = Object.assign(Object.create(workspace) as Workspace, {
      prepareMessage: async () => () => Promise.reject(new Error("disk full")),
    });
    const logged = new CommandExecutor({ hub, workspace: failing, logger, metrics });
    const c = connection();
    await run({ type: "join", room }, c);
    expect(await settle(await logged.execute({ type: "send", room, text: "hi", clientId: "f-1" }, c))).toEqual([
      { type: "error", code: "internal", message: "Something went wrong; try again", clientId: "f-1", room },
    ]);
    expect(errors.map((e) => [e.msg, e.obj.frame])).toEqual([["send failed", "send"]]);
  });

  it("a send the log refuses for a known reason is answered with its code and not logged", async () => {
    const room = await newRoom();
    const { logger, errors } = spyLogger();
    const logged = new CommandExecutor({ hub, workspace, logger, metrics });
    const c = connection();
    await run({ type: "join", room }, c);
    await log.close();
    expect(codeOf(await settle(await logged.execute({ type: "send", room, text: "hi", clientId: "k-1" }, c)))).toBe("unavailable");
    expect(errors).toEqual([]);
  });

  it("a join whose first-join record fails is still answered joined, and the failure is logged with the room", async () => {
    const room = await newRoom();
    const { logger, errors } = spyLogger();
    const failing = Object.assign(Object.create(workspace) as Workspace, { recordJoin: () => Promise.reject(new Error("disk full")) });
    const logged = new CommandExecutor({ hub, workspace: failing, logger, metrics });
    expect((await settle(await logged.execute({ type: "join", room }, connection())))[0]?.type).toBe("joined");
    await expect.poll(() => errors.map((e) => [e.msg, e.obj.room])).toEqual([["recording the join failed", room]]);
  });

  it("counts what each limit refused or dropped, by kind", async () => {
    const room = await newRoom();
    const rates = new PersonRates({ now: () => clock.now(), limits: { send: { rate: 1, burst: 1 }, typing: { rate: 1, burst: 1 }, cursor: { rate: 1, burst: 1 }, join: { rate: 1, burst: 1 }, read: { rate: 1, burst: 1 }, canvas: { rate: 1, burst: 1 }, canvasLive: { rate: 1, burst: 1 }, frame: { rate: 1, burst: 1 } } });
    const c = connection({ rates });
    await run({ type: "join", room }, c);
    await run({ type: "join", room }, c);
    for (let i = 0; i < 2; i++) {
      await run({ type: "send", room, text: `m${i}`, clientId: `r-${i}` }, c);
      await run({ type: "typing", room }, c);
      await run({ type: "cursor", room, x: 0.1, y: 0.1 }, c);
    }
    const counted = Object.fromEntries((await metrics.rateLimited.get()).values.map((v) => [v.labels.type, v.value]));
    expect(counted).toEqual({ join: 1, send: 1, typing: 1, cursor: 1 });
  });
});

describe("without metrics (they are optional)", () => {
  it("typing and cursor input over the limit is still dropped as excess, not answered as an error", async () => {
    const room = await newRoom();
    const bare = new CommandExecutor({ hub, workspace, logger: silentLogger });
    const rates = new PersonRates({ now: () => clock.now(), limits: { send: { rate: 1, burst: 1 }, typing: { rate: 1, burst: 1 }, cursor: { rate: 1, burst: 1 }, join: { rate: 1, burst: 1 }, read: { rate: 1, burst: 1 }, canvas: { rate: 1, burst: 1 }, canvasLive: { rate: 1, burst: 1 }, frame: { rate: 1, burst: 1 } } });
    const c = connection({ rates });
    await run({ type: "join", room }, c);
    await bare.execute({ type: "typing", room }, c);
    await bare.execute({ type: "cursor", room, x: 0.1, y: 0.1 }, c);
    expect(await bare.execute({ type: "typing", room }, c)).toEqual({ frames: [], excess: true });
    expect(await bare.execute({ type: "cursor", room, x: 0.2, y: 0.2 }, c)).toEqual({ frames: [], excess: true });
    // A join over the limit is refused rate_limited as ever.
    expect(codeOf(await settle(await bare.execute({ type: "join", room }, c)))).toBe("rate_limited");
    // A send is acknowledged, and one over the limit refused, as ever.
    expect(await settle(await bare.execute({ type: "send", room, text: "hi", clientId: "nm-1" }, c))).toEqual([{ type: "ack", clientId: "nm-1", seq: 1 }]);
    expect(codeOf(await settle(await bare.execute({ type: "send", room, text: "again", clientId: "nm-2" }, c)))).toBe("rate_limited");
  });
});

describe("a connection's limits", () => {
  it("frames: 240 a second, burst 480, as docs/PROTOCOL.md states for a page (and one WebSocket)", () => {
    expect(FRAME_RATE).toEqual({ perSecond: 240, burst: 480 });
  });
});

describe("error frames", () => {
  it("internal, overloaded and unavailable are the server's trouble; the rest are about the frame", () => {
    expect(["internal", "overloaded", "unavailable"].every((c) => isServerTrouble(c as never))).toBe(true);
    expect(["bad_frame", "not_joined", "rate_limited", "unknown_room"].some((c) => isServerTrouble(c as never))).toBe(false);
  });

  it("names the room and clientId only when it has them", () => {
    expect(errorFrame("internal", "m")).toEqual({ type: "error", code: "internal", message: "m" });
    expect(Object.keys(errorFrame("internal", "m", { clientId: undefined, room: undefined }))).toEqual(["type", "code", "message"]);
    expect(errorFrame("not_joined", "m", { room: "r" })).toEqual({ type: "error", code: "not_joined", message: "m", room: "r" });
  });

  it("a frame that is not an object, or has no known type, is bad_frame with what can be said", () => {
    expect(decodeFrame(null)).toEqual({ error: { type: "error", code: "bad_frame", message: expect.stringMatching(/^Invalid frame: type /) } });
    expect(decodeFrame("hello")).toEqual({ error: { type: "error", code: "bad_frame", message: expect.stringMatching(/^Invalid frame: type /) } });
    expect(decodeFrame({ type: 7 })).toEqual({ error: { type: "error", code: "bad_frame", message: expect.stringMatching(/^Invalid frame: type /) } });
    expect(decodeFrame({ type: "dance" })).toEqual({ error: { type: "error", code: "bad_frame", message: expect.stringMatching(/^Invalid "dance" frame: type /) } });
  });
});
