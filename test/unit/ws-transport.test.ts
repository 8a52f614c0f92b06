// The WebSocket transport (server/transports/ws.ts) without a database: a real hub over an event
// log in memory, rooms that exist by name, and a manual clock. `WsConnection` is driven over the
// in-memory socket pair (frames move when the test flushes; a reader can stop reading), and
// `WsTransport` over real `ws` sockets on 127.0.0.1: the upgrade's checks and answers, the
// subprotocol, the heartbeat and the drain. Every socket and server is closed after each test.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import WebSocket from "ws";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DuplicateCookieError, type Session } from "../../server/auth";
import type { CommandExecutor } from "../../server/commands/executor";
import type { CommandContext, Reply } from "../../server/commands/context";
import { errorFrame } from "../../server/commands/errors";
import type { ConnectionBudget } from "../../server/connection-budget";
import type { EventLog } from "../../server/eventlog";
import { ProxyTrust } from "../../server/http/proxy-trust";
import { Hub } from "../../server/hub";
import type { Logger } from "../../server/log";
import { silentLogger } from "../../server/log";
import { createMetrics, type Metrics } from "../../server/metrics";
import { PersonRates, SEND_LIMITS } from "../../server/ratelimit";
import { ManualClock } from "../../server/state/clock";
import {
  EXCESS_LIMIT,
  FRAME_RATE,
  INBOX_MAX_FRAMES,
  WS_PING_INTERVAL_MS,
  WS_PONG_TIMEOUT_MS,
  WsConnection,
  WsTransport,
  type WsConnectionOptions,
  type WsTransportOptions,
} from "../../server/transports/ws";
import type { ConnectionSocket } from "../../server/transports/ws-socket";
import type { Workspace } from "../../server/workspace";
import {
  CURSOR_TICK_MS,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_1_1,
  PROTOCOL_VERSION_1_2,
  canvasStream,
  roomStream,
  type ClientFrame,
  type RealtimeEvent,
  type ServerFrame,
  type StreamName,
  type User,
} from "../../lib/protocol";
import { TestNetwork, type TestSocketPair } from "../helpers/socket-pair";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
const adaSession: Session = { id: "s_ada", user: ada, expiresAt: Number.MAX_SAFE_INTEGER };
const adaOtherTab: Session = { id: "s_ada2", user: ada, expiresAt: Number.MAX_SAFE_INTEGER };
const linSession: Session = { id: "s_lin", user: lin, expiresAt: Number.MAX_SAFE_INTEGER };
const ROOM = "general";

/** An event log in memory: `commit` appends to a stream and hands the events to the hub. */
function memoryLog() {
  const streams = new Map<string, RealtimeEvent[]>();
  let listener: ((events: RealtimeEvent[]) => void) | null = null;
  const of = (s: string) => streams.get(s) ?? (streams.set(s, []), streams.get(s)!);
  const log = {
    onCommit: (l: (events: RealtimeEvent[]) => void) => ((listener = l), () => {}),
    head: async (s: string) => of(s).length,
    readAfter: async (s: string, after: number, limit: number) => of(s).slice(after, after + limit),
  };
  return {
    log: log as unknown as EventLog,
    /** Appends `n` messages to `stream` (of `text`, padded to `size` characters when given). */
    commit(stream: string, n = 1, size = 0): void {
      const events: RealtimeEvent[] = [];
      for (let i = 0; i < n; i++) {
        const seq = of(stream).length + 1;
        const text = `m${seq}`.padEnd(size, "x");
        const e: RealtimeEvent = { stream: stream as StreamName, seq, type: "message", actor: ada, at: new Date(0).toISOString(), data: { text, clientId: `c${seq}` } };
        of(stream).push(e);
        events.push(e);
      }
      listener?.(events);
    },
  };
}

/** A logger that keeps what it is told (the connection's child logger is itself). */
function recordingLogger() {
  const lines: Array<{ level: string; msg: string; obj: unknown }> = [];
  const logger: Record<string, unknown> = {};
  for (const level of ["trace", "debug", "info", "warn", "error", "fatal"]) {
    logger[level] = (obj: unknown, msg?: string) => void lines.push({ level, msg: typeof obj === "string" ? obj : (msg ?? ""), obj });
  }
  logger.child = () => logger;
  return { logger: logger as unknown as Logger, lines };
}

let clock: ManualClock;
let metrics: Metrics;
let memLog: ReturnType<typeof memoryLog>;
let hub: Hub;
let rooms: Set<string>;
let workspace: Workspace;
let logged: ReturnType<typeof recordingLogger>;
let network: TestNetwork;
let connections: WsConnection[];

beforeEach(() => {
  clock = new ManualClock();
  metrics = createMetrics({ defaultMetrics: false });
  memLog = memoryLog();
  hub = new Hub({ log: memLog.log, clock, logger: silentLogger, metrics, presenceGraceMs: 5_000 });
  rooms = new Set([ROOM, "second"]);
  workspace = {
    roomExists: async (room: string) => rooms.has(room),
    recordJoin: async () => {},
    requireRoom: async () => {},
  } as unknown as Workspace;
  logged = recordingLogger();
  network = new TestNetwork();
  connections = [];
});

afterEach(() => {
  for (const c of connections) c.close(1000, "test over");
  hub.stop();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

// --- WsConnection over the in-memory pair -------------------------------------------------
/** Rates of the person's own, with their frame rate (FRAME_RATE) set as a test needs it. */
function framesAt(perSecond: number, burst: number): PersonRates {
  return new PersonRates({ now: () => clock.now(), limits: { ...SEND_LIMITS, frame: { rate: perSecond, burst } } });
}

interface Conn {
  pair: TestSocketPair;
  conn: WsConnection;
  gone: () => number;
}

function connect(session: Session, opts: Partial<WsConnectionOptions> = {}, socket?: (s: ConnectionSocket) => ConnectionSocket): Conn {
  const pair = network.pair();
  let gone = 0;
  const conn = new WsConnection(
    socket ? socket(pair.server) : pair.server,
    session,
    { hub, workspace, logger: logged.logger, metrics, clock, ...opts },
    () => gone++,
  );
  pair.attach(conn);
  connections.push(conn);
  return { pair, conn, gone: () => gone };
}

/** Moves every queued frame and lets the connections' asynchronous work (joins, replays) run. */
async function settle(): Promise<void> {
  for (let quiet = 0, i = 0; quiet < 5 && i < 10_000; i++) {
    quiet = network.flush() === 0 ? quiet + 1 : 0;
    await new Promise((r) => setImmediate(r));
  }
}

async function join(c: Conn, room = ROOM, since?: number): Promise<void> {
  c.pair.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
  await settle();
}

const types = (c: Conn) => c.pair.frames.map((f) => f.type);
const seqs = (c: Conn, stream = roomStream(ROOM)) =>
  c.pair.of("event").filter((f) => f.event.stream === stream).map((f) => f.event.seq);
const errors = (c: Conn) => c.pair.of("error").map((f) => f.code);

/** The sum of a counter's values whose labels include `labels`. */
async function counted(counter: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> }, labels: Record<string, string> = {}) {
  const { values } = await counter.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

/** An executor the test scripts: every frame it is handed, and the reply `answer` makes for it. */
function scripted(answer: (frame: ClientFrame, ctx: CommandContext) => Reply | Promise<Reply> = () => ({ frames: [] })) {
  const handled: ClientFrame[] = [];
  const executor = {
    execute: async (frame: ClientFrame, ctx: CommandContext) => {
      handled.push(frame);
      return answer(frame, ctx);
    },
  } as unknown as CommandExecutor;
  return { executor, handled };
}

/** A frame the client may send, padded with JSON whitespace to exactly `bytes` bytes. */
function paddedLeave(bytes: number, room = "x"): string {
  const text = JSON.stringify({ type: "leave", room });
  return text + " ".repeat(bytes - text.length);
}

describe("a connection (over the in-memory pair)", () => {
  // Rooms announce presence changes on a timer of their own: here only `settleRoom` announces.
  beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] }));

  describe("joining a room (rt.v1)", () => {
    it("answers joined with the head and everyone present (itself once), then the others' cursors, then who is typing", async () => {
      memLog.commit(roomStream(ROOM), 2);
      const l = connect(linSession);
      await join(l);
      l.pair.send({ type: "cursor", room: ROOM, x: 0.5, y: 0.25 });
      l.pair.send({ type: "typing", room: ROOM });
      const a2 = connect(adaOtherTab);
      await join(a2);
      a2.pair.send({ type: "cursor", room: ROOM, x: 0.1, y: 0.1 });
      await settle();
      const a = connect(adaSession);
      await join(a);
      const linCursor = hub.cursorSnapshot(ROOM)[lin.id];
      expect(linCursor).toBeDefined();
      expect(hub.cursorSnapshot(ROOM)[ada.id]).toBeDefined();
      expect(a.pair.frames).toEqual([
        { type: "joined", room: ROOM, head: 2, members: [lin, ada] },
        { type: "cursors", room: ROOM, cursors: { [lin.id]: linCursor }, full: true },
        { type: "typing", room: ROOM, users: [{ id: lin.id, name: lin.name }] },
      ]);
      // Lin, alone at first, was shown herself; nobody typed and nobody pointed yet.
      expect(l.pair.frames.slice(0, 2)).toEqual([
        { type: "joined", room: ROOM, head: 2, members: [lin] },
        { type: "cursors", room: ROOM, cursors: {}, full: true },
      ]);
      // Ada's second tab found her present already (her first tab): she is listed once.
      expect(a2.pair.frames[0]).toEqual({ type: "joined", room: ROOM, head: 2, members: [lin, ada] });
    });

    it("replays what came after since, in order, then live events; joining again neither repeats nor doubles them", async () => {
      memLog.commit(roomStream(ROOM), 3);
      const a = connect(adaSession);
      await join(a, ROOM, 1);
      expect(a.pair.frames[0]).toEqual({ type: "joined", room: ROOM, head: 3, members: [ada] });
      expect(seqs(a)).toEqual([2, 3]);
      memLog.commit(roomStream(ROOM));
      await settle();
      expect(seqs(a)).toEqual([2, 3, 4]);
      await join(a, ROOM, 4);
      memLog.commit(roomStream(ROOM));
      await settle();
      expect(seqs(a)).toEqual([2, 3, 4, 5]);
      expect(await counted(metrics.framesOut, { type: "event" })).toBe(4);
      expect(await counted(metrics.framesIn, { type: "join" })).toBe(2);
    });

    it("answers reset past the head; one already present is then shown the members, one arriving is not", async () => {
      memLog.commit(roomStream(ROOM), 2);
      const a = connect(adaSession);
      await join(a);
      a.pair.frames.length = 0;
      await join(a, ROOM, 10);
      expect(a.pair.frames.slice(0, 2)).toEqual([
        { type: "reset", room: ROOM, head: 2 },
        { type: "presence", room: ROOM, members: [ada] },
      ]);
      const l = connect(linSession);
      await join(l, ROOM, 10);
      expect(l.pair.frames).toEqual([
        { type: "reset", room: ROOM, head: 2 },
        { type: "cursors", room: ROOM, cursors: {}, full: true },
      ]);
      // Entering announced Lin: both hear the full list (rt.v1 speaks no diffs).
      hub.settleRoom(ROOM);
      await settle();
      expect(l.pair.of("presence").at(-1)).toEqual({ type: "presence", room: ROOM, members: [ada, lin] });
      expect(a.pair.of("presence").at(-1)).toEqual({ type: "presence", room: ROOM, members: [ada, lin] });
      expect(a.pair.of("presence_diff")).toEqual([]);
    });

    it("a join of a room that does not exist is refused and follows nothing", async () => {
      const a = connect(adaSession);
      await join(a, "nowhere");
      expect(errors(a)).toEqual(["unknown_room"]);
      memLog.commit(roomStream("nowhere"));
      await settle();
      expect(seqs(a, roomStream("nowhere"))).toEqual([]);
    });
  });

  describe("joining a room (rt.v1.1 and rt.v1.2)", () => {
    it("1.1: joined lists the members as last announced (and itself); changes come as presence_diff", async () => {
      const l = connect(linSession);
      await join(l);
      hub.settleRoom(ROOM);
      const a = connect(adaSession, { version: PROTOCOL_VERSION_1_1 });
      memLog.commit(roomStream(ROOM));
      await join(a);
      expect(a.pair.frames.slice(0, 2)).toEqual([
        { type: "joined", room: ROOM, head: 1, members: [lin, ada] },
        { type: "cursors", room: ROOM, cursors: {}, full: true },
      ]);
      hub.settleRoom(ROOM);
      await settle();
      expect(a.pair.of("presence_diff")).toEqual([{ type: "presence_diff", room: ROOM, joins: [ada], leaves: [] }]);
      expect(a.pair.of("presence")).toEqual([]);
      expect(l.pair.of("presence").at(-1)).toEqual({ type: "presence", room: ROOM, members: [lin, ada] });
      expect(await counted(metrics.framesOut, { type: "joined" })).toBe(2);
      expect(await counted(metrics.framesOut, { type: "presence_diff" })).toBe(1);
      // Lin's two full lists (herself, then both); none to Ada.
      expect(await counted(metrics.framesOut, { type: "presence" })).toBe(2);
    });

    it("1.1: a reset is followed by the announced members and the room's typing", async () => {
      const l = connect(linSession);
      await join(l);
      hub.settleRoom(ROOM);
      l.pair.send({ type: "typing", room: ROOM });
      await settle();
      const a = connect(adaSession, { version: PROTOCOL_VERSION_1_1 });
      const presenceBefore = await counted(metrics.framesOut, { type: "presence" });
      await join(a, ROOM, 5);
      expect(a.pair.frames).toEqual([
        { type: "reset", room: ROOM, head: 0 },
        { type: "presence", room: ROOM, members: [lin, ada] },
        { type: "cursors", room: ROOM, cursors: {}, full: true },
        { type: "typing", room: ROOM, users: [{ id: lin.id, name: lin.name }] },
      ]);
      expect(await counted(metrics.framesOut, { type: "presence" })).toBe(presenceBefore + 1);
    });

    it("1.2 hears its read positions and its removal from a room; older versions hear neither", async () => {
      const a12 = connect(adaSession, { version: PROTOCOL_VERSION_1_2 });
      const a11 = connect(adaOtherTab, { version: PROTOCOL_VERSION_1_1 });
      await join(a12);
      await join(a11);
      hub.settleRoom(ROOM);
      await settle();
      expect(a12.pair.frames[0]).toMatchObject({ type: "joined" });
      hub.announceRoomRead(ada.id, "second", 7);
      hub.revokeRoom(ada.id, ROOM);
      hub.revokeRoom(ada.id, "second"); // never joined: nothing to tell
      memLog.commit(roomStream(ROOM));
      await settle();
      expect(a12.pair.frames.filter((f) => f.type === "read" || f.type === "removed")).toEqual([
        { type: "read", room: "second", seq: 7 },
        { type: "removed", room: ROOM },
      ]);
      expect(a11.pair.frames.filter((f) => f.type === "read" || f.type === "removed")).toEqual([]);
      // Both stopped following the room.
      expect(seqs(a12)).toEqual([]);
      expect(seqs(a11)).toEqual([]);
      a12.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(errors(a12)).toEqual(["not_joined"]);
    });
  });

  describe("leaving", () => {
    it("stops the room's events and takes the person out of it at once (no grace)", async () => {
      const a = connect(adaSession);
      const l = connect(linSession);
      await join(a);
      await join(l);
      hub.settleRoom(ROOM);
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(hub.members(ROOM)).toEqual([lin]);
      memLog.commit(roomStream(ROOM));
      await settle();
      expect(seqs(a)).toEqual([]);
      expect(seqs(l)).toEqual([1]);
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(errors(a)).toEqual(["not_joined"]);
    });

    it("a connection that closes is forgotten by the hub: out of the room after the grace, its typing gone at once", async () => {
      const a = connect(adaSession);
      const l = connect(linSession);
      await join(a);
      await join(l);
      a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect(hub.typingUsers(ROOM)).toEqual([{ id: ada.id, name: ada.name }]);
      a.pair.close();
      await settle();
      expect(a.gone()).toBe(1);
      expect(hub.typingUsers(ROOM)).toEqual([]);
      expect(hub.connections()).toEqual([l.conn]);
      clock.advance(5_000);
      expect(hub.members(ROOM)).toEqual([lin]);
      // Closing it again changes nothing.
      a.conn.close(1000, "again");
      a.conn.handleClose();
      expect(a.gone()).toBe(1);
    });
  });

  describe("a connection closed while its join was checked", () => {
    it("follows neither the room nor its canvas", async () => {
      let exists!: (yes: boolean) => void;
      (workspace as unknown as { roomExists: () => Promise<boolean> }).roomExists = () => new Promise<boolean>((r) => (exists = r));
      const a = connect(adaSession);
      a.pair.send({ type: "join", room: ROOM });
      await settle();
      a.pair.close();
      await settle();
      exists(true);
      await settle();
      expect(hub.isSubscribed(roomStream(ROOM), a.conn)).toBe(false);
      let ctx!: CommandContext;
      const s = scripted((_f, c) => ((ctx = c), { frames: [] }));
      const b = connect(linSession, { executor: s.executor });
      b.pair.send({ type: "leave", room: ROOM });
      await settle();
      b.conn.close(1000, "bye");
      expect(await ctx.subscribe(ROOM, undefined)).toEqual([]);
      expect(await ctx.followCanvas!(ROOM, 0, { type: "canvas.joined", room: ROOM, head: 0 })).toEqual([]);
      expect(hub.isSubscribed(roomStream(ROOM), b.conn)).toBe(false);
      expect(hub.isSubscribed(canvasStream(ROOM), b.conn)).toBe(false);
    });
  });

  describe("what the executor is told", () => {
    it("the person, the transport, this connection as the source, and its rooms", async () => {
      let ctx!: CommandContext;
      const s = scripted((_f, c) => ((ctx = c), { frames: [] }));
      const a = connect(adaSession, { executor: s.executor });
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect([ctx.user, ctx.transport, ctx.source, [...ctx.rooms!]]).toEqual([ada, "ws", a.conn.id, []]);
      expect(a.conn.id).toMatch(/^ws-[\w-]{8}$/);
      expect([a.conn.transport, a.conn.sessionId, a.conn.user]).toEqual(["ws", adaSession.id, ada]);
    });

    it("without shared rates, each connection's limits refill on its own clock", async () => {
      const a = connect(adaSession);
      await join(a);
      const typing = () => hub.typingUsers(ROOM).length;
      a.pair.send({ type: "typing", room: ROOM });
      a.pair.send({ type: "typing", room: ROOM });
      a.pair.send({ type: "typing", room: ROOM, stop: true });
      a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect(typing()).toBe(0);
      clock.advance(500);
      a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect(typing()).toBe(1);
    });
  });

  describe("without metrics", () => {
    it("joins, hears events, presence, cursors and the canvas, refuses, drops and closes as with them", async () => {
      const s = scripted(async (frame, ctx) => {
        if (frame.type === "canvas.join") return { frames: await ctx.followCanvas!(frame.room, 0, { type: "canvas.joined", room: frame.room, head: 0 }) };
        if (frame.type === "join") return { frames: await ctx.subscribe(frame.room, frame.since) };
        return { frames: [errorFrame("not_joined", "no")] };
      });
      const a = connect(adaSession, {
        metrics: undefined,
        executor: s.executor,
        version: PROTOCOL_VERSION_1_1,
        cursorSkipBytes: 10,
        maxBufferedBytes: 100_000,
        rates: framesAt(1, 4),
      });
      const l = connect(linSession);
      await join(l);
      await join(a);
      a.pair.send({ type: "canvas.join", room: ROOM });
      a.pair.send("bad");
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      hub.settleRoom(ROOM);
      l.pair.send({ type: "cursor", room: ROOM, x: 0.5, y: 0.5 });
      await settle();
      hub.cursors.flush();
      await settle();
      hub.moveOnCanvas(ROOM, lin, undefined, ["s1"], "lin-tab");
      hub.canvasLive.flush();
      await settle();
      memLog.commit(roomStream(ROOM));
      await settle();
      expect(types(a)).toEqual(["joined", "cursors", "error", "canvas.joined", "canvas.live", "error", "presence_diff", "cursors", "canvas.live", "event"]);
      a.pair.send("over the frame rate");
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      l.pair.send({ type: "cursor", room: ROOM, x: 0.25, y: 0.5 });
      await settle();
      hub.cursors.flush();
      hub.moveOnCanvas(ROOM, lin, undefined, ["s2"], "lin-tab");
      hub.canvasLive.flush();
      memLog.commit(roomStream(ROOM), 1, 100_000);
      memLog.commit(roomStream(ROOM));
      a.pair.reading = true;
      await settle();
      expect([a.pair.closeCode, seqs(a)]).toEqual([1013, [1, 2, 3]]);
    });
  });

  describe("the canvas (1.3)", () => {
    /** Ada's executor: the canvas frames follow and unfollow, the rest go to the real one. */
    function canvasConn(session = adaSession) {
      const s = scripted(async (frame, ctx) => {
        if (frame.type === "canvas.join") {
          return { frames: await ctx.followCanvas!(frame.room, frame.since ?? 0, { type: "canvas.joined", room: frame.room, head: 0 }) };
        }
        if (frame.type === "canvas.leave") {
          ctx.unfollowCanvas!(frame.room);
          return { frames: [] };
        }
        if (frame.type === "join") return { frames: await ctx.subscribe(frame.room, frame.since) };
        if (frame.type === "leave") return { frames: ctx.unsubscribe(frame.room) ? [] : [errorFrame("not_joined", "no")] };
        return { frames: [] };
      });
      return connect(session, { executor: s.executor });
    }

    it("answers first, then every drag and selection now, then the canvas' operations, each once", async () => {
      const a = canvasConn();
      const l = canvasConn(linSession);
      await join(a);
      await join(l);
      a.pair.send({ type: "canvas.join", room: ROOM });
      await settle();
      a.pair.send({ type: "canvas.join", room: ROOM });
      await settle();
      expect(a.pair.frames.filter((f) => f.type.startsWith("canvas"))).toEqual([
        { type: "canvas.joined", room: ROOM, head: 0 },
        { type: "canvas.live", room: ROOM, drags: {}, selections: {}, full: true },
        { type: "canvas.joined", room: ROOM, head: 0 },
        { type: "canvas.live", room: ROOM, drags: {}, selections: {}, full: true },
      ]);
      memLog.commit(canvasStream(ROOM));
      hub.moveOnCanvas(ROOM, lin, undefined, ["s1"], "lin-tab");
      hub.canvasLive.flush();
      await settle();
      expect(seqs(a, canvasStream(ROOM))).toEqual([1]);
      expect(a.pair.of("canvas.live").at(-1)).toMatchObject({ type: "canvas.live", room: ROOM, selections: { [lin.id]: { ids: ["s1"] } } });
      expect(a.pair.of("canvas.live")).toHaveLength(3);
      // Lin joined the room but not its canvas: its live frames are not hers.
      expect(l.pair.of("canvas.live")).toEqual([]);
      expect(await counted(metrics.framesOut, { type: "canvas.live" })).toBe(3);
    });

    it("leaving the canvas, or the room, stops its operations and live frames", async () => {
      const a = canvasConn();
      await join(a);
      await join(a, "second");
      a.pair.send({ type: "canvas.join", room: ROOM });
      a.pair.send({ type: "canvas.join", room: "second" });
      await settle();
      a.pair.send({ type: "canvas.leave", room: ROOM });
      a.pair.send({ type: "canvas.leave", room: ROOM });
      a.pair.send({ type: "leave", room: "second" });
      await settle();
      memLog.commit(canvasStream(ROOM));
      memLog.commit(canvasStream("second"));
      hub.moveOnCanvas(ROOM, lin, undefined, ["s1"], "lin-tab");
      hub.canvasLive.flush();
      await settle();
      expect(seqs(a, canvasStream(ROOM))).toEqual([]);
      expect(seqs(a, canvasStream("second"))).toEqual([]);
      expect(a.pair.of("canvas.live")).toHaveLength(2);
      expect(errors(a)).toEqual([]);
    });
  });

  describe("frames in", () => {
    it("answers bad_json to text that is not JSON and to binary frames, bad_frame to a frame that is not one, and counts them", async () => {
      const a = connect(adaSession);
      a.pair.send("{nope");
      a.pair.sendBinary(Buffer.from(JSON.stringify({ type: "leave", room: ROOM })));
      a.pair.send({ type: "leave", room: "no spaces" });
      a.conn.handleMessage(JSON.stringify({ type: "leave", room: ROOM }), false);
      a.conn.handleMessage(Buffer.from(JSON.stringify({ type: "leave", room: "second" })), false);
      await settle();
      expect(a.pair.of("error").map((f) => [f.code, f.message, f.room])).toEqual([
        ["bad_json", "Frames are JSON text", undefined],
        ["bad_json", "Frames are JSON text", undefined],
        ["bad_frame", expect.stringContaining("room"), undefined],
        ["not_joined", expect.any(String), ROOM],
        ["not_joined", expect.any(String), "second"],
      ]);
      expect(await counted(metrics.protocolErrors, { code: "bad_json" })).toBe(2);
      expect(await counted(metrics.protocolErrors, { code: "bad_frame" })).toBe(1);
      expect(await counted(metrics.framesIn, { type: "leave" })).toBe(2);
      expect(await counted(metrics.framesOut, { type: "error" })).toBe(5);
      expect(a.pair.closeCode).toBeNull();
    });

    it("closes 1008 after more than 50 bad frames within 10 s; the first 50 are answered, and the count starts over after the window", async () => {
      const a = connect(adaSession);
      for (let i = 0; i < 50; i++) a.pair.send("bad");
      await settle();
      expect(errors(a)).toHaveLength(50);
      clock.advance(10_000);
      for (let i = 0; i < 50; i++) a.pair.send("bad");
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send("bad");
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason, a.gone()]).toEqual([1008, "Too many bad frames", 1]);
      expect(errors(a)).toHaveLength(101);
      // Frames still arriving before the peer's close answer are not even read.
      a.conn.handleMessage("bad", false);
      a.conn.handleMessage(JSON.stringify({ type: "leave", room: ROOM }), false);
      expect(await counted(metrics.protocolErrors)).toBe(101);
      expect(await counted(metrics.framesIn)).toBe(0);
    });

    it("never holds frames answered without complaint against the connection", async () => {
      const s = scripted(() => ({ frames: [{ type: "typing", room: ROOM, users: [] }] }));
      const a = connect(adaSession, { executor: s.executor, rates: framesAt(1e6, 1e6) });
      for (let i = 0; i < EXCESS_LIMIT + 100; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect([a.pair.closeCode, a.pair.of("typing").length]).toEqual([null, EXCESS_LIMIT + 100]);
      expect(await counted(metrics.protocolErrors)).toBe(0);
    });

    it("holds a rate_limited refusal to the flood limit (500), not the bad-frame one, and the server's own trouble to none", async () => {
      let code: "rate_limited" | "internal" | "overloaded" | "unavailable" = "internal";
      const s = scripted(() => ({ frames: [errorFrame(code, "no", { room: ROOM })] }));
      const a = connect(adaSession, { executor: s.executor, rates: framesAt(1e6, 1e6) });
      for (const trouble of ["internal", "overloaded", "unavailable"] as const) {
        code = trouble;
        for (let i = 0; i < 60; i++) a.pair.send({ type: "leave", room: ROOM });
        await settle();
      }
      expect(a.pair.closeCode).toBeNull();
      code = "rate_limited";
      for (let i = 0; i < 500; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason]).toEqual([1008, "Too many bad frames"]);
      expect(await counted(metrics.protocolErrors, { code: "internal" })).toBe(60);
      expect(await counted(metrics.protocolErrors, { code: "rate_limited" })).toBe(501);
    });

    it(`reads ${FRAME_RATE.burst} frames at once by default and drops the rest unread`, async () => {
      const s = scripted();
      const a = connect(adaSession, { executor: s.executor });
      for (let i = 0; i <= FRAME_RATE.burst; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(s.handled).toHaveLength(FRAME_RATE.burst);
      expect(await counted(metrics.rateLimited, { type: "frame" })).toBe(1);
      expect(a.pair.frames).toEqual([]);
    });

    it("counts frames per person: one person's sockets together read one burst, another person's are read as before", async () => {
      const s = scripted();
      const rates = new PersonRates({ now: () => clock.now() });
      const ada1 = connect(adaSession, { executor: s.executor, rates });
      const ada2 = connect(adaSession, { executor: s.executor, rates });
      const l = connect(linSession, { executor: s.executor, rates });
      const half = FRAME_RATE.burst / 2;
      for (let i = 0; i < half + 10; i++) ada1.pair.send({ type: "leave", room: ROOM });
      for (let i = 0; i < half + 10; i++) ada2.pair.send({ type: "leave", room: ROOM });
      for (let i = 0; i < 10; i++) l.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(s.handled).toHaveLength(FRAME_RATE.burst + 10);
      expect(await counted(metrics.rateLimited, { type: "frame" })).toBe(20);
      // Refilled at the person's rate, shared the same way.
      clock.advance(1_000);
      for (let i = 0; i < FRAME_RATE.perSecond; i++) (i % 2 ? ada1 : ada2).pair.send({ type: "leave", room: ROOM });
      ada1.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(s.handled).toHaveLength(FRAME_RATE.burst + 10 + FRAME_RATE.perSecond);
      expect(await counted(metrics.rateLimited, { type: "frame" })).toBe(21);
    });

    it("drops a flood unread past the frame rate, and closes it 1008 past 500 such frames within the window", async () => {
      const s = scripted();
      const a = connect(adaSession, { executor: s.executor, rates: framesAt(10, 2) });
      for (let i = 0; i < 5; i++) a.pair.send("not even JSON");
      await settle();
      // Two read (and refused), three dropped unread.
      expect(errors(a)).toEqual(["bad_json", "bad_json"]);
      clock.advance(100);
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(s.handled).toHaveLength(1);
      for (let i = 0; i < 497; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason]).toEqual([1008, "Too many frames; slow down"]);
      expect(await counted(metrics.rateLimited, { type: "frame" })).toBe(501);
      expect(s.handled).toHaveLength(1);
    });

    it(`closes 1008 a connection whose input keeps being dropped over its limits (more than ${EXCESS_LIMIT} within 10 s)`, async () => {
      const s = scripted(() => ({ frames: [], excess: true }));
      const a = connect(adaSession, { executor: s.executor, rates: framesAt(1e6, 1e6) });
      for (let i = 0; i < EXCESS_LIMIT; i++) a.pair.send({ type: "typing", room: ROOM });
      await settle();
      clock.advance(10_000);
      for (let i = 0; i < EXCESS_LIMIT; i++) a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason]).toEqual([1008, "Too many frames; slow down"]);
      expect(a.pair.frames).toEqual([]);
    });

    it("frames over the frame rate count toward the same excess limit", async () => {
      // Over the frame rate and excess at once: 500 under the flood limit, the rest excess.
      const s = scripted(() => ({ frames: [], excess: true }));
      const a = connect(adaSession, { executor: s.executor, rates: framesAt(1e6, 600) });
      for (let i = 0; i < 600; i++) a.pair.send({ type: "typing", room: ROOM });
      await settle();
      for (let i = 0; i < 400; i++) a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send({ type: "typing", room: ROOM });
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason]).toEqual([1008, "Too many frames; slow down"]);
    });

    it("sends a command's later answers (an ack once durable) after its first ones, errors counted as refusals", async () => {
      let release!: () => void;
      const durable = new Promise<void>((r) => (release = r));
      const s = scripted(() => ({
        frames: [{ type: "typing", room: ROOM, users: [] }],
        later: durable.then(() => ({ frames: [{ type: "ack", clientId: "c1", seq: 1 } as ServerFrame, errorFrame("invalid_text", "blank")] })),
      }));
      const a = connect(adaSession, { executor: s.executor });
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(types(a)).toEqual(["typing"]);
      release();
      await settle();
      expect(types(a)).toEqual(["typing", "ack", "error"]);
      expect(await counted(metrics.protocolErrors, { code: "invalid_text" })).toBe(1);
    });
  });

  describe("bounded memory per connection", () => {
    /** An executor that holds each frame until the test lets it go (`release`). */
    function gated() {
      const waiting: Array<() => void> = [];
      const s = scripted(() => new Promise<Reply>((r) => waiting.push(() => r({ frames: [] }))));
      return {
        ...s,
        async release(n = 1): Promise<void> {
          for (let i = 0; i < n; i++) {
            await settle();
            waiting.shift()!();
          }
          await settle();
        },
      };
    }

    it("stops reading once 32 frames wait, reads again once 16 are left, and handles every one in order", async () => {
      const g = gated();
      const a = connect(adaSession, { executor: g.executor });
      for (let i = 0; i < 40; i++) a.pair.send({ type: "leave", room: `r${i}` });
      await settle();
      // One in hand, 32 waiting: the rest stay with the peer.
      expect([a.pair.paused, a.pair.waiting, g.handled.length]).toEqual([true, 7, 1]);
      await g.release(16);
      expect(a.pair.paused).toBe(true);
      await g.release(1);
      expect(a.pair.paused).toBe(false);
      await g.release(23);
      expect(g.handled.map((f) => f.room)).toEqual(Array.from({ length: 40 }, (_, i) => `r${i}`));
      // And again: a second burst pauses it as the first did.
      for (let i = 0; i < 40; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect([a.pair.paused, a.pair.waiting]).toEqual([true, 7]);
    });

    it("counts what waits in bytes, not characters", async () => {
      const g = gated();
      const a = connect(adaSession, { executor: g.executor });
      // Unknown fields are dropped by the schema but were read: 4 × 32 Ki two-byte characters.
      const frame = JSON.stringify({ type: "leave", room: "x", pad: "é".repeat(32 * 1024) });
      for (let i = 0; i < 5; i++) a.pair.send(frame);
      await settle();
      expect(a.pair.paused).toBe(true);
    });

    it("stops reading at 256 KiB waiting and reads again at 128 KiB", async () => {
      const g = gated();
      const a = connect(adaSession, { executor: g.executor });
      for (let i = 0; i < 4; i++) a.pair.send(paddedLeave(64 * 1024));
      await settle();
      expect(a.pair.paused).toBe(false);
      a.pair.send(paddedLeave(64 * 1024));
      a.pair.send(paddedLeave(64 * 1024));
      await settle();
      expect([a.pair.paused, a.pair.waiting]).toEqual([true, 1]);
      await g.release(1);
      expect(a.pair.paused).toBe(true);
      await g.release(1);
      expect(a.pair.paused).toBe(true);
      await g.release(1);
      expect(a.pair.paused).toBe(false);
    });

    it(`closes 1008 a peer that keeps sending while paused: past ${INBOX_MAX_FRAMES} frames waiting`, async () => {
      const g = gated();
      const a = connect(adaSession, { executor: g.executor, rates: framesAt(1e6, 1e6) });
      a.pair.honorsPause = false;
      for (let i = 0; i < INBOX_MAX_FRAMES + 1; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason]).toEqual([1008, "Too many pending frames"]);
      // What was waiting is never handled.
      await g.release(1);
      expect(g.handled).toHaveLength(1);
    });

    it("closes 1008 a peer that keeps sending while paused: past 1 MiB waiting", async () => {
      const g = gated();
      const a = connect(adaSession, { executor: g.executor });
      a.pair.honorsPause = false;
      for (let i = 0; i < 17; i++) a.pair.send(paddedLeave(64 * 1024));
      await settle();
      expect(a.pair.closeCode).toBeNull();
      a.pair.send({ type: "leave", room: "x" });
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason]).toEqual([1008, "Too many pending frames"]);
    });

    it("handles no frame still waiting when the connection closed", async () => {
      const g = gated();
      const a = connect(adaSession, { executor: g.executor });
      for (let i = 0; i < 40; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      a.pair.close();
      await settle();
      a.pair.paused = false;
      await g.release(1);
      expect(g.handled).toHaveLength(1);
      a.conn.handleMessage(JSON.stringify({ type: "leave", room: ROOM }), false);
      await settle();
      expect(g.handled).toHaveLength(1);
    });
  });

  describe("the heartbeat of one connection", () => {
    it("a peer that answers the ping stays; one that does not is terminated at the deadline and forgotten", async () => {
      const a = connect(adaSession);
      const l = connect(linSession);
      await join(a);
      await join(l);
      a.conn.ping(1_000);
      await settle();
      clock.advance(1_000);
      await settle();
      expect([a.pair.pings, a.pair.closeCode]).toEqual([1, null]);
      l.pair.autoPong = false;
      l.conn.ping(1_000);
      await settle();
      clock.advance(999);
      expect(l.pair.closeCode).toBeNull();
      clock.advance(1);
      await settle();
      expect([l.pair.pings, l.pair.closeCode, l.gone()]).toEqual([1, 1006, 1]);
      expect(hub.connections()).toEqual([a.conn]);
      expect(logged.lines.filter((x) => x.level === "info").map((x) => x.msg)).toEqual(["no pong; terminating"]);
      // Gone: pinged no more, and never terminated twice.
      l.conn.ping(1_000);
      clock.advance(1_000);
      expect(l.pair.pings).toBe(1);
      expect(logged.lines).toHaveLength(1);
    });

    it("ignores a pong no ping asked for", async () => {
      const a = connect(adaSession);
      a.conn.handlePong();
      a.pair.autoPong = false;
      a.conn.ping(1_000);
      clock.advance(1_000);
      await settle();
      expect(a.pair.closeCode).toBe(1006);
    });

    it("pings once while a pong is awaited, and a pong answers it: the old deadline no longer counts", async () => {
      const a = connect(adaSession);
      a.pair.autoPong = false;
      a.conn.ping(1_000);
      clock.advance(500);
      a.conn.ping(1_000);
      await settle();
      expect(a.pair.pings).toBe(1);
      a.conn.handlePong();
      clock.advance(400);
      a.conn.ping(1_000); // deadline at 1900
      await settle();
      expect(a.pair.pings).toBe(2);
      clock.advance(600); // 1500: the first ping's deadline has passed
      await settle();
      expect(a.pair.closeCode).toBeNull();
      clock.advance(400);
      await settle();
      expect(a.pair.closeCode).toBe(1006);
    });

    it("does not hold a missing pong against a peer it stopped reading, and pings it again later", async () => {
      const waiting: Array<() => void> = [];
      const g = scripted(() => new Promise<Reply>((r) => waiting.push(() => r({ frames: [] }))));
      const a = connect(adaSession, { executor: g.executor });
      for (let i = 0; i < 40; i++) a.pair.send({ type: "leave", room: ROOM });
      await settle();
      expect(a.pair.paused).toBe(true);
      a.pair.autoPong = false;
      a.conn.ping(1_000);
      await settle();
      clock.advance(1_000);
      await settle();
      expect(a.pair.closeCode).toBeNull();
      while (waiting.length > 0) {
        waiting.shift()!();
        await settle();
      }
      expect(a.pair.paused).toBe(false);
      a.conn.ping(1_000);
      await settle();
      expect(a.pair.pings).toBe(2);
      clock.advance(1_000);
      await settle();
      expect(a.pair.closeCode).toBe(1006);
    });
  });

  describe("a slow reader", () => {
    it("is closed 1013 once more than its bound waits after a flush; a backlog of exactly the bound is kept", async () => {
      const probe = connect(linSession);
      await join(probe);
      probe.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      const one = probe.pair.server.bufferedAmount;
      expect(one).toBeGreaterThan(0);
      probe.pair.reading = true;
      await settle();

      const a = connect(adaSession, { maxBufferedBytes: one });
      await join(a);
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      expect(a.pair.closeCode).toBeNull();
      memLog.commit(roomStream(ROOM)); // exactly `one` waiting: sent
      await settle();
      expect(a.pair.closeCode).toBeNull();
      memLog.commit(roomStream(ROOM)); // more than `one` waiting: too slow
      await settle();
      a.pair.reading = true;
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason, a.gone()]).toEqual([1013, "Too far behind; resume from the log", 1]);
      expect(await counted(metrics.slowConsumerCloses, { transport: "ws" })).toBe(1);
      // The other reader lost nothing.
      expect(seqs(probe)).toEqual([1, 2, 3, 4]);
    });

    it("holds 4 MiB by default", async () => {
      const a = connect(adaSession);
      await join(a);
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM), 40, 100_000);
      await settle();
      expect(a.pair.closeCode).toBeNull();
      memLog.commit(roomStream(ROOM), 3, 100_000);
      await settle();
      a.pair.reading = true;
      await settle();
      expect(a.pair.closeCode).toBe(1013);
      expect(seqs(a).length).toBeLessThan(43);
    });

    it("keeps a socket whose backlog was only this tick's held frames, or its bound exactly; past it, sends nothing more", async () => {
      let held = 0;
      let flushes = 0;
      let flushedTo = 0;
      let sent = 0;
      const a = connect(adaSession, { maxBufferedBytes: 10 }, (s) => ({
        get isOpen() {
          return s.isOpen;
        },
        get bufferedAmount() {
          return held;
        },
        sendText: (t) => void (sent++, s.sendText(t)),
        sendFrame: (f) => void (sent++, s.sendFrame(f)),
        flush: () => void (flushes++, (held = flushedTo)),
        close: (c, r) => s.close(c, r),
        terminate: () => s.terminate(),
        ping: () => s.ping(),
        pauseReading: () => s.pauseReading(),
        resumeReading: () => s.resumeReading(),
      }));
      await join(a);
      expect(flushes).toBe(0);
      held = 1_000;
      memLog.commit(roomStream(ROOM));
      await settle();
      expect([a.pair.closeCode, flushes, seqs(a)]).toEqual([null, 1, [1]]);
      // Exactly the bound waiting: no flush asked, sent.
      held = 10;
      memLog.commit(roomStream(ROOM));
      await settle();
      expect([a.pair.closeCode, flushes, seqs(a)]).toEqual([null, 1, [1, 2]]);
      // Past it, and the flush leaves exactly the bound: sent.
      held = 1_000;
      flushedTo = 10;
      memLog.commit(roomStream(ROOM));
      await settle();
      expect([a.pair.closeCode, flushes, seqs(a)]).toEqual([null, 2, [1, 2, 3]]);
      // Past it after the flush: closed 1013, and this event is not written.
      held = 1_000;
      flushedTo = 11;
      const before = sent;
      memLog.commit(roomStream(ROOM));
      await settle();
      expect([a.pair.closeCode, sent - before]).toEqual([1013, 0]);
    });

    it("is sent nothing while its socket is closing (the peer's close under way)", async () => {
      let open = true;
      const sent: string[] = [];
      const a = connect(adaSession, { version: PROTOCOL_VERSION_1_2 }, (s) => ({
        get isOpen() {
          return open && s.isOpen;
        },
        get bufferedAmount() {
          return s.bufferedAmount;
        },
        sendText: (t) => void (sent.push(t), s.sendText(t)),
        sendFrame: (f) => void (sent.push("frame"), s.sendFrame(f)),
        flush: () => s.flush(),
        close: (c, r) => s.close(c, r),
        terminate: () => s.terminate(),
        ping: () => s.ping(),
        pauseReading: () => s.pauseReading(),
        resumeReading: () => s.resumeReading(),
      }));
      await join(a);
      const before = sent.length;
      open = false;
      memLog.commit(roomStream(ROOM));
      hub.announceRoomRead(ada.id, ROOM, 1);
      await settle();
      expect(sent.length).toBe(before);
      expect(a.pair.closeCode).toBeNull();
    });

    it("skips cursor frames past 64 KiB waiting by default, and is owed the full set once caught up", async () => {
      const a = connect(adaSession);
      const l = connect(linSession);
      await join(a);
      await join(l);
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM), 1, 64 * 1024);
      await settle();
      l.pair.send({ type: "cursor", room: ROOM, x: 0.5, y: 0.5 });
      await settle();
      hub.cursors.flush();
      expect(await counted(metrics.cursorFramesSkipped)).toBe(1);
      a.pair.reading = true;
      await settle();
      expect(a.pair.of("cursors").filter((f) => !f.full)).toEqual([]);
      clock.advance(CURSOR_TICK_MS - 1);
      await settle();
      expect(a.pair.of("cursors")).toHaveLength(1);
      clock.advance(1);
      await settle();
      expect(a.pair.of("cursors").at(-1)).toEqual({ type: "cursors", room: ROOM, cursors: hub.cursorSnapshot(ROOM), full: true });
      expect(a.pair.of("cursors")).toHaveLength(2);
      // Owed once only: the next tick brings nothing more.
      clock.advance(CURSOR_TICK_MS * 3);
      await settle();
      expect(a.pair.of("cursors")).toHaveLength(2);
    });

    it("checks every tick until caught up; a cursor frame arriving first is replaced by the full set", async () => {
      const a = connect(adaSession, { cursorSkipBytes: 10 });
      const l = connect(linSession);
      await join(a);
      await join(a, "second");
      await join(l);
      await join(l, "second");
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      l.pair.send({ type: "cursor", room: ROOM, x: 0.5, y: 0.5 });
      l.pair.send({ type: "cursor", room: "second", x: 0.5, y: 0.5 });
      await settle();
      hub.cursors.flush();
      const cursorFrames = () => a.pair.frames.filter((f) => f.type === "cursors" && !(f.full && Object.keys(f.cursors).length === 0));
      clock.advance(CURSOR_TICK_MS * 2);
      a.pair.reading = true;
      await settle();
      expect(cursorFrames()).toEqual([]);
      // Caught up; Lin moves in the first room before the next check: the full set goes instead.
      l.pair.send({ type: "cursor", room: ROOM, x: 0.75, y: 0.5 });
      await settle();
      hub.cursors.flush();
      await settle();
      expect(cursorFrames()).toEqual([{ type: "cursors", room: ROOM, cursors: hub.cursorSnapshot(ROOM), full: true }]);
      clock.advance(CURSOR_TICK_MS);
      await settle();
      expect(cursorFrames().map((f) => [(f as { room: string }).room, (f as { full?: boolean }).full])).toEqual([
        [ROOM, true],
        ["second", true],
      ]);
      l.pair.send({ type: "cursor", room: ROOM, x: 0.25, y: 0.5 });
      await settle();
      hub.cursors.flush();
      await settle();
      expect(cursorFrames().at(-1)).toMatchObject({ type: "cursors", room: ROOM, cursors: { [lin.id]: expect.anything() } });
      expect((cursorFrames().at(-1) as { full?: boolean }).full).toBeUndefined();
    });

    it("owes nothing for a room it left, and nothing once closed", async () => {
      const a = connect(adaSession, { cursorSkipBytes: 10 });
      const l = connect(linSession);
      await join(a);
      await join(a, "second");
      await join(l);
      await join(l, "second");
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      l.pair.send({ type: "cursor", room: ROOM, x: 0.5, y: 0.5 });
      l.pair.send({ type: "cursor", room: "second", x: 0.5, y: 0.5 });
      await settle();
      hub.cursors.flush();
      a.pair.reading = true;
      a.pair.send({ type: "leave", room: ROOM });
      await settle();
      const before = a.pair.frames.length;
      clock.advance(CURSOR_TICK_MS);
      await settle();
      expect(a.pair.frames.slice(before)).toEqual([{ type: "cursors", room: "second", cursors: hub.cursorSnapshot("second"), full: true }]);

      const b = connect(adaOtherTab, { cursorSkipBytes: 10 });
      await join(b);
      b.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      l.pair.send({ type: "cursor", room: ROOM, x: 0.1, y: 0.5 });
      clock.advance(1_000);
      await settle();
      hub.cursors.flush();
      b.conn.close(1000, "bye");
      b.pair.reading = true;
      await settle();
      const frames = b.pair.frames.length;
      clock.advance(CURSOR_TICK_MS);
      await settle();
      expect(b.pair.frames.length).toBe(frames);
    });

    it("skips the canvas' live frames while slow", async () => {
      const s = scripted(async (frame, ctx) => {
        if (frame.type === "canvas.join") return { frames: await ctx.followCanvas!(frame.room, 0, { type: "canvas.joined", room: frame.room, head: 0 }) };
        if (frame.type === "join") return { frames: await ctx.subscribe(frame.room, frame.since) };
        return { frames: [] };
      });
      const a = connect(adaSession, { executor: s.executor, cursorSkipBytes: 10 });
      await join(a);
      a.pair.send({ type: "canvas.join", room: ROOM });
      await settle();
      a.pair.reading = false;
      memLog.commit(roomStream(ROOM));
      await settle();
      hub.moveOnCanvas(ROOM, lin, undefined, ["s1"], "lin-tab");
      hub.canvasLive.flush();
      a.pair.reading = true;
      await settle();
      expect(a.pair.of("canvas.live")).toHaveLength(1);
      expect(await counted(metrics.cursorFramesSkipped)).toBe(1);
    });
  });

  describe("the server ending a connection", () => {
    it("4401 for every connection of a signed-out session, and only those", async () => {
      const a = connect(adaSession);
      const a2 = connect(adaSession);
      const other = connect(adaOtherTab);
      hub.disconnectSession(adaSession.id, "signed-out");
      await settle();
      expect([a.pair.closeCode, a.pair.closeReason, a2.pair.closeCode, other.pair.closeCode]).toEqual([4401, "Signed out", 4401, null]);
    });

    it("1012 when draining, telling the client when to come back (at once when not said)", async () => {
      const a = connect(adaSession);
      a.conn.disconnect("draining");
      await settle();
      expect([a.pair.closeCode, JSON.parse(a.pair.closeReason)]).toEqual([1012, { reconnectAfterMs: 0 }]);
    });

    it("logs a socket's errors, but not an oversized frame (ws closes 1009 itself)", () => {
      const a = connect(adaSession);
      a.conn.handleSocketError(Object.assign(new Error("too big"), { code: "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" }));
      expect(logged.lines).toEqual([]);
      const err = Object.assign(new Error("bad utf8"), { code: "WS_ERR_INVALID_UTF8" });
      a.conn.handleSocketError(err);
      expect(logged.lines).toEqual([{ level: "warn", msg: "socket error", obj: { err } }]);
    });
  });
});

// --- WsTransport over real sockets ----------------------------------------------------------

interface Client {
  ws: WebSocket;
  frames: ServerFrame[];
  pings: number;
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the next frame that matches. */
  next(pred: (f: ServerFrame) => boolean): Promise<ServerFrame>;
}

const servers: http.Server[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

/** Sessions by cookie: `sid=ada`, `sid=lin`; the test may replace the lookup. */
let lookup: (req: http.IncomingMessage) => Promise<Session | null>;
/** The sessions noted as active, in order. */
let seen: string[];
beforeEach(() => {
  seen = [];
  lookup = async (req) => {
    const cookie = req.headers.cookie ?? "";
    return cookie === "sid=ada" ? adaSession : cookie === "sid=lin" ? linSession : null;
  };
});

async function listen(opts: Partial<WsTransportOptions> = {}) {
  const sessions = { fromRequest: (req: http.IncomingMessage) => lookup(req), seen: (id: string) => void seen.push(id) };
  const transport = new WsTransport({
    hub,
    workspace,
    logger: logged.logger,
    metrics,
    clock,
    sessions,
    allowedOrigins: ["https://allowed.example"],
    trust: new ProxyTrust(),
    ...opts,
  });
  const server = http.createServer();
  const upgrades: Duplex[] = [];
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(socket);
    transport.handleUpgrade(req, socket, head).catch(() => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { transport, upgrades, port, url: `ws://127.0.0.1:${port}/ws` };
}

function client(url: string, protocols: string[] = [PROTOCOL_VERSION], options: WebSocket.ClientOptions = {}): Client {
  const ws = new WebSocket(url, protocols, { headers: { cookie: "sid=ada" }, ...options });
  clients.push(ws);
  const frames: ServerFrame[] = [];
  const waiters: Array<{ pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];
  const c: Client = {
    ws,
    frames,
    pings: 0,
    closed: new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() }))),
    next: (pred) => {
      const found = frames.find(pred);
      return found ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
  ws.on("message", (data) => {
    const f = JSON.parse(data.toString()) as ServerFrame;
    frames.push(f);
    for (const w of [...waiters]) {
      if (w.pred(f)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(f);
      }
    }
  });
  ws.on("ping", () => c.pings++);
  ws.on("error", () => {});
  return c;
}

const opened = (c: Client) => new Promise<void>((resolve, reject) => (c.ws.once("open", () => resolve()), c.ws.once("close", () => reject(new Error("closed")))));

/** The answer to an upgrade the server refused: status line, headers and JSON body. */
function refusal(url: string, protocols: string[] = [PROTOCOL_VERSION], options: WebSocket.ClientOptions = {}) {
  return new Promise<{ status: number; statusText: string; headers: http.IncomingHttpHeaders; body: unknown }>((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers: { cookie: "sid=ada" }, ...options });
    clients.push(ws);
    ws.once("open", () => reject(new Error("opened")));
    ws.once("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (b: Buffer) => chunks.push(b));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString()) }),
      );
    });
    ws.on("error", () => {});
  });
}

/** A round trip: once a leave of a room never joined is answered, everything sent before it arrived. */
async function roundTrip(c: Client): Promise<void> {
  const before = c.frames.length;
  c.ws.send(JSON.stringify({ type: "leave", room: "barrier" }));
  await c.next((f) => f.type === "error" && f.room === "barrier" && c.frames.indexOf(f) >= before);
}

describe("the upgrade", () => {
  it("opens for a signed-in person, speaking the newest version offered", async () => {
    const { transport, url } = await listen();
    const cases: Array<[string[], string]> = [
      [[PROTOCOL_VERSION, PROTOCOL_VERSION_1_1, PROTOCOL_VERSION_1_2], PROTOCOL_VERSION_1_2],
      [[PROTOCOL_VERSION_1_1, PROTOCOL_VERSION], PROTOCOL_VERSION_1_1],
      [[PROTOCOL_VERSION], PROTOCOL_VERSION],
      [[], ""],
    ];
    for (const [offered, spoken] of cases) {
      const c = client(url, offered);
      await opened(c);
      expect(c.ws.protocol).toBe(spoken);
    }
    expect(transport.size).toBe(4);
  });

  it("takes a browser's list (comma and space), an unknown version first", async () => {
    const { port } = await listen();
    const answer = await new Promise<{ status: number; protocol: unknown }>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port,
        path: "/ws",
        agent: false,
        headers: {
          cookie: "sid=ada",
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-protocol": "rt.v9, rt.v1.1",
        },
      });
      req.on("upgrade", (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, protocol: res.headers["sec-websocket-protocol"] });
      });
      req.on("response", (res) => (res.resume(), resolve({ status: res.statusCode ?? 0, protocol: undefined })));
      req.on("error", reject);
      req.end();
    });
    expect(answer).toEqual({ status: 101, protocol: PROTOCOL_VERSION_1_1 });
  });

  it("negotiates no compression (frames are made once for every socket)", async () => {
    const { url } = await listen();
    const c = client(url, [PROTOCOL_VERSION], { perMessageDeflate: true });
    await opened(c);
    expect(c.ws.extensions).toBe("");
  });

  it("answers 400 to a client offering no version it knows", async () => {
    const { url } = await listen();
    const r = await refusal(url, ["rt.v9"]);
    expect(r).toMatchObject({
      status: 400,
      statusText: "Bad Request",
      body: { error: { code: "bad_request", message: "Unsupported protocol version; this server speaks rt.v1.2, rt.v1.1 and rt.v1" } },
    });
    expect(r.headers).toMatchObject({ connection: "close", "content-type": "application/json" });
    expect(Number(r.headers["content-length"])).toBe(JSON.stringify(r.body).length);
  });

  it("answers 403 to a page of another origin; the app's own origin and the allowed ones open", async () => {
    const { url, port } = await listen();
    expect(await refusal(url, [PROTOCOL_VERSION], { origin: "https://evil.example" })).toMatchObject({
      status: 403,
      statusText: "Forbidden",
      body: { error: { code: "forbidden", message: "Origin not allowed" } },
    });
    for (const origin of ["https://allowed.example", `http://127.0.0.1:${port}`]) {
      const c = client(url, [PROTOCOL_VERSION], { origin });
      await opened(c);
    }
  });

  it("answers 401 without a session, 400 to a doubled cookie, 503 when sessions cannot be read", async () => {
    const { url } = await listen();
    expect(await refusal(url, [PROTOCOL_VERSION], { headers: {} })).toMatchObject({
      status: 401,
      statusText: "Unauthorized",
      body: { error: { code: "unauthorized", message: "Sign in first" } },
    });
    lookup = async () => {
      throw new DuplicateCookieError("rt_session");
    };
    expect(await refusal(url)).toMatchObject({
      status: 400,
      statusText: "Bad Request",
      body: { error: { code: "duplicate_cookie", message: new DuplicateCookieError("rt_session").message } },
    });
    expect(logged.lines).toEqual([]);
    const err = new Error("database down");
    lookup = async () => {
      throw err;
    };
    expect(await refusal(url)).toMatchObject({
      status: 503,
      statusText: "Service Unavailable",
      body: { error: { code: "unavailable", message: "Try again shortly" } },
    });
    expect(logged.lines).toEqual([{ level: "error", msg: "session lookup failed during upgrade", obj: { err } }]);
  });

  it("answers 429 with Retry-After past the connection budget; a slot taken is given back when the socket closes", async () => {
    const admitted: Array<[string, string]> = [];
    let released = 0;
    let refuse = false;
    let gaveBackNow!: () => void;
    const gaveBack = new Promise<void>((r) => (gaveBackNow = r));
    const budget = {
      admit: (kind: string, _req: unknown, person: string) => {
        admitted.push([kind, person]);
        return refuse
          ? { ok: false, message: "Too many connections", retryAfterS: 7 }
          : { ok: true, lease: { release: () => (released++, gaveBackNow()) } };
      },
    };
    const { url } = await listen({ budget: budget as unknown as ConnectionBudget });
    const c = client(url);
    await opened(c);
    expect([admitted, released]).toEqual([[["ws", ada.id]], 0]);
    refuse = true;
    const r = await refusal(url);
    expect(r).toMatchObject({
      status: 429,
      statusText: "Too Many Requests",
      headers: { "retry-after": "7" },
      body: { error: { code: "too_many_connections", message: "Too many connections" } },
    });
    expect(released).toBe(0);
    c.ws.close();
    await gaveBack;
    expect(released).toBe(1);
  });

  it("destroys a socket that errs while its upgrade is checked, and then neither takes a slot nor opens", async () => {
    let admits = 0;
    const budget = { admit: () => (admits++, { ok: true, lease: { release: () => {} } }) };
    const { transport, url, upgrades } = await listen({ budget: budget as unknown as ConnectionBudget });
    let answer!: (s: Session) => void;
    let asked!: () => void;
    const lookedUp = new Promise<void>((r) => (asked = r));
    lookup = () => (asked(), new Promise<Session>((r) => (answer = r)));
    const c = client(url);
    await lookedUp;
    upgrades[0]!.emit("error", new Error("reset"));
    expect(upgrades[0]!.destroyed).toBe(true);
    await c.closed;
    answer(adaSession);
    await new Promise((r) => setImmediate(r));
    expect([admits, transport.size]).toEqual([0, 0]);
  });
});

describe("frames over a real socket", () => {
  it("answers frames in order; closing forgets the connection", async () => {
    const { transport, url } = await listen();
    const c = client(url);
    await opened(c);
    c.ws.send("{nope");
    c.ws.send(Buffer.from("{}"));
    c.ws.send(JSON.stringify({ type: "join", room: ROOM }));
    await c.next((f) => f.type === "cursors");
    expect(c.frames.map((f) => f.type)).toEqual(["error", "error", "joined", "cursors"]);
    expect(hub.members(ROOM)).toEqual([ada]);
    expect(transport.size).toBe(1);
    c.ws.close();
    await c.closed;
    await new Promise((r) => setImmediate(r));
    expect(transport.size).toBe(0);
    expect(hub.connections()).toEqual([]);
  });

  it("1.1 and 1.2 over the socket: presence as diffs, and the reads", async () => {
    const { url } = await listen();
    const c11 = client(url, [PROTOCOL_VERSION_1_1]);
    const c12 = client(url, [PROTOCOL_VERSION_1_2]);
    const c1 = client(url, [PROTOCOL_VERSION], { headers: { cookie: "sid=lin" } });
    await Promise.all([opened(c11), opened(c12), opened(c1)]);
    for (const c of [c11, c12, c1]) {
      c.ws.send(JSON.stringify({ type: "join", room: ROOM }));
      await c.next((f) => f.type === "cursors");
    }
    hub.settleRoom(ROOM);
    hub.announceRoomRead(ada.id, ROOM, 3);
    hub.announceRoomRead(lin.id, ROOM, 3);
    for (const c of [c11, c12, c1]) await roundTrip(c);
    const heard = (c: Client) => [...new Set(c.frames.filter((f) => f.type.startsWith("presence") || f.type === "read").map((f) => f.type))].sort();
    expect(heard(c11)).toEqual(["presence_diff"]);
    expect(heard(c12)).toEqual(["presence_diff", "read"]);
    expect(heard(c1)).toEqual(["presence"]);
  });

  it("closes 1009 a frame over 64 KiB without logging it; other socket errors are logged", async () => {
    const { transport, url } = await listen();
    const c = client(url);
    await opened(c);
    c.ws.send(paddedLeave(64 * 1024));
    await roundTrip(c);
    c.ws.send(paddedLeave(64 * 1024 + 1));
    expect((await c.closed).code).toBe(1009);
    expect(logged.lines).toEqual([]);
    const d = client(url);
    await opened(d);
    // Text that is not UTF-8: ws closes 1007 and reports it.
    (d.ws as unknown as { _sender: { sendFrame(list: Buffer[], cb?: () => void): void } })._sender.sendFrame([
      Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0xff]),
    ]);
    expect((await d.closed).code).toBe(1007);
    expect(logged.lines.map((x) => [x.level, x.msg])).toEqual([["warn", "socket error"]]);
    await new Promise((r) => setImmediate(r));
    expect(transport.size).toBe(0);
  });
});

describe("the heartbeat", () => {
  it("pings every 30 s by default and terminates a socket with no pong 10 s later", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { transport, url } = await listen();
    transport.start();
    const c = client(url, [PROTOCOL_VERSION], { autoPong: false });
    await opened(c);
    vi.advanceTimersByTime(WS_PING_INTERVAL_MS - 1);
    await roundTrip(c);
    expect(c.pings).toBe(0);
    vi.advanceTimersByTime(1);
    await roundTrip(c);
    expect(c.pings).toBe(1);
    clock.advance(WS_PONG_TIMEOUT_MS - 1);
    await roundTrip(c);
    clock.advance(1);
    expect((await c.closed).code).toBe(1006);
  });

  it("pings at the interval set, and keeps a socket that answers", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { transport, url } = await listen({ pingIntervalMs: 1_000, pongTimeoutMs: 500 });
    transport.start();
    const c = client(url);
    const quiet = client(url, [PROTOCOL_VERSION], { autoPong: false });
    await Promise.all([opened(c), opened(quiet)]);
    vi.advanceTimersByTime(1_000);
    await roundTrip(c);
    await roundTrip(quiet);
    clock.advance(500);
    expect((await quiet.closed).code).toBe(1006);
    await roundTrip(c);
    expect([c.pings, transport.size]).toEqual([1, 1]);
    // Its pong is the session's activity (for the list of devices); the silent one's is not.
    expect(seen).toEqual([adaSession.id]);
  });
});

describe("draining", () => {
  it("closes every socket 1012 in batches 20 ms apart, each told when to come back", async () => {
    const { transport, url } = await listen();
    const cs = [client(url), client(url), client(url)];
    await Promise.all(cs.map(opened));
    vi.spyOn(Math, "random").mockReturnValue(0.25);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let done = false;
    const drained = transport.drain(1_000).then(() => (done = true));
    expect(transport.size).toBe(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(transport.size).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.size).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(transport.size).toBe(0);
    await Promise.resolve();
    expect(done).toBe(true);
    await drained;
    for (const c of cs) expect(await c.closed).toEqual({ code: 1012, reason: JSON.stringify({ reconnectAfterMs: 250 }) });
    expect(await refusal(url)).toMatchObject({
      status: 503,
      statusText: "Service Unavailable",
      body: { error: { code: "unavailable", message: "The server is restarting" } },
    });
  });

  it("refuses 503 an upgrade whose session was still being read when the drain began", async () => {
    const { transport, url } = await listen();
    let release!: () => void;
    const read = lookup;
    lookup = async (req) => {
      await new Promise<void>((r) => (release = r));
      return read(req);
    };
    const answer = refusal(url);
    await vi.waitFor(() => expect(release).toBeDefined());
    await transport.drain(0);
    release();
    // Accepted now, it would be a socket the drain never closed.
    expect(await answer).toMatchObject({ status: 503, body: { error: { code: "unavailable", message: "The server is restarting" } } });
    expect(transport.size).toBe(0);
  });

  it("uses at most 10 batches", async () => {
    const { transport, url } = await listen();
    const cs = Array.from({ length: 11 }, () => client(url));
    await Promise.all(cs.map(opened));
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    void transport.drain(0);
    expect(transport.size).toBe(9);
    await vi.advanceTimersByTimeAsync(20 * 9);
    expect(transport.size).toBe(0);
  });

  it("with no sockets, is done at once; pings stop", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { transport } = await listen();
    transport.start();
    expect(vi.getTimerCount()).toBe(1);
    await transport.drain(1_000);
    expect(vi.getTimerCount()).toBe(0);
  });
});
