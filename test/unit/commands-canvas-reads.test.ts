// The canvas' commands (`canvas.join`, `canvas.leave`, `canvas.ops`, `canvas.live`) and the read
// marker (`read`) through the command executor, with in-memory parts: the workspace (rooms, the
// canvas store, read positions), the hub, the metrics and the logger are fakes that record what
// they were asked, and the person's rates answer as the test says. commands.test.ts drives the
// same executor over a real (PGlite) database; these pin each rule of the two modules, fast.
import { describe, expect, it } from "vitest";
import type { CommandContext, Reply } from "../../server/commands/context";
import { CommandExecutor, type CommandDeps } from "../../server/commands/executor";
import { CanvasError } from "../../server/canvas";
import type { PersonRates } from "../../server/ratelimit";
import { WorkspaceError } from "../../server/workspace";
import { boardFrom, type Board } from "../../lib/canvas/board";
import { CANVAS_MAX_REPLAY, type CanvasObject, type ClientFrame, type ServerFrame, type User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada" } as User;

const note = (id: string): CanvasObject => ({ id, kind: "note", x: 1, y: 2, w: 3, h: 4, z: 0, color: "#112233" });

interface World {
  executor: CommandExecutor;
  deps: CommandDeps;
  /** What the fakes were asked, in order. */
  calls: unknown[][];
  rateLimited: unknown[];
  acks: unknown[];
  logged: unknown[][];
  heads: Map<string, number>;
  /** What `canvas.current` answers. */
  current: { board: Board; seq: number };
  /** What `canvas.change` answers. */
  change: () => Promise<{ event: { seq: number }; duplicate: boolean }>;
  /** What `reads.markRead` answers. */
  readSeq: number | null;
}

function world(opts: { metrics?: boolean } = {}): World {
  const rooms = new Set(["general", "other"]);
  const w: World = {
    calls: [],
    rateLimited: [],
    acks: [],
    logged: [],
    heads: new Map(),
    current: { board: new Map(), seq: 0 },
    change: async () => ({ event: { seq: 1 }, duplicate: false }),
    readSeq: null,
  } as unknown as World;
  const workspace = {
    async requireRoom(room: string, userId: string) {
      w.calls.push(["requireRoom", room, userId]);
      if (!rooms.has(room)) throw new WorkspaceError("unknown_room", `There is no room "${room}"`);
    },
    canvas: {
      async head(room: string) {
        w.calls.push(["head", room]);
        return w.heads.get(room) ?? 0;
      },
      async current(room: string) {
        w.calls.push(["current", room]);
        return w.current;
      },
      change(room: string, actor: User, ops: unknown, clientId: string) {
        w.calls.push(["change", room, actor, ops, clientId]);
        return w.change();
      },
    },
    reads: {
      async markRead(userId: string, room: string, seq: number, markedUnread: boolean) {
        w.calls.push(["markRead", userId, room, seq, markedUnread]);
        return w.readSeq;
      },
    },
  };
  const hub = {
    moveOnCanvas: (...args: unknown[]) => w.calls.push(["moveOnCanvas", ...args]),
    announceRoomRead: (...args: unknown[]) => w.calls.push(["announceRoomRead", ...args]),
  };
  const metrics = {
    rateLimited: { inc: (labels: unknown) => w.rateLimited.push(labels) },
    acks: { inc: (labels: unknown) => w.acks.push(labels) },
  };
  const logger = { error: (...args: unknown[]) => w.logged.push(args) };
  w.deps = { workspace, hub, logger, metrics: opts.metrics === false ? undefined : metrics } as unknown as CommandDeps;
  w.executor = new CommandExecutor(w.deps);
  return w;
}

type Conn = CommandContext & { rooms: Set<string> | null; taken: string[]; refuse: Set<string> };

/** A connection's context: `rooms` joined (null: a one-off HTTP call), the rates refusing `refuse`. */
function connection(
  w: World,
  opts: { rooms?: string[] | null; joinOnDemand?: boolean; canvas?: boolean; followAnswers?: boolean; refuse?: string[] } = {},
): Conn {
  const taken: string[] = [];
  const refuse = new Set(opts.refuse ?? []);
  const rates = {
    take(personId: string, kind: string) {
      taken.push(`${personId}:${kind}`);
      return !refuse.has(kind);
    },
  } as unknown as PersonRates;
  const rooms = opts.rooms === null ? null : new Set(opts.rooms ?? ["general"]);
  const ctx: Conn = {
    user: ada,
    transport: "longpoll",
    source: "conn-1",
    rates,
    rooms,
    taken,
    refuse,
    joinOnDemand: opts.joinOnDemand,
    async subscribe(room, since) {
      w.calls.push(["subscribe", room, since]);
      rooms?.add(room);
      return [];
    },
    unsubscribe: (room) => rooms?.delete(room) ?? false,
  };
  if (opts.canvas !== false) {
    ctx.followCanvas = async (room, since, answer) => {
      w.calls.push(["followCanvas", room, since, answer]);
      return opts.followAnswers === false ? [] : [answer];
    };
    ctx.unfollowCanvas = (room) => void w.calls.push(["unfollowCanvas", room]);
  }
  return ctx;
}

async function all(reply: Reply): Promise<ServerFrame[]> {
  return [...reply.frames, ...((await reply.later)?.frames ?? [])];
}
const callsOf = (w: World, name: string) => w.calls.filter((c) => c[0] === name);

describe("canvas.join", () => {
  it("a position within the replay is answered canvas.joined and followed from it", async () => {
    const w = world();
    w.heads.set("general", 7);
    const c = connection(w);
    const reply = await w.executor.execute({ type: "canvas.join", room: "general", since: 4 }, c);
    expect(reply).toStrictEqual({ frames: [{ type: "canvas.joined", room: "general", head: 7 }] });
    expect(callsOf(w, "followCanvas")).toEqual([["followCanvas", "general", 4, { type: "canvas.joined", room: "general", head: 7 }]]);
    expect(callsOf(w, "current")).toEqual([]);
    expect(c.taken).toEqual(["u_ada:join"]);
    // A WebSocket writes the answer itself: only what the transport did not deliver is answered.
    expect(await w.executor.execute({ type: "canvas.join", room: "general", since: 4 }, connection(w, { followAnswers: false }))).toStrictEqual({ frames: [] });
  });

  it("a position at the head is replayed (nothing); one ahead of it, or none, gets the folded board, its objects in id order", async () => {
    const w = world();
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general", since: 0 }, connection(w)))).toEqual([
      { type: "canvas.joined", room: "general", head: 0 },
    ]);
    w.heads.set("general", 5);
    w.current = { board: new Map(), seq: 5 };
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general", since: 5 }, connection(w)))).toEqual([
      { type: "canvas.joined", room: "general", head: 5 },
    ]);
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general", since: 6 }, connection(w)))).toEqual([
      { type: "canvas.snapshot", room: "general", seq: 5, objects: [] },
    ]);
    w.current = { board: boardFrom([note("b"), note("a")]), seq: 5 };
    const snapshot = { type: "canvas.snapshot", room: "general", seq: 5, objects: [note("a"), note("b")] };
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general" }, connection(w)))).toEqual([snapshot]);
    expect(callsOf(w, "followCanvas").at(-1)).toEqual(["followCanvas", "general", 5, snapshot]);
  });

  it(`a position ${CANVAS_MAX_REPLAY} behind is replayed; one more behind gets the snapshot`, async () => {
    const w = world();
    w.heads.set("general", CANVAS_MAX_REPLAY + 10);
    w.current = { board: new Map(), seq: 3 };
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general", since: 10 }, connection(w)))).toEqual([
      { type: "canvas.joined", room: "general", head: CANVAS_MAX_REPLAY + 10 },
    ]);
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general", since: 9 }, connection(w)))).toEqual([
      { type: "canvas.snapshot", room: "general", seq: 3, objects: [] },
    ]);
  });

  it("needs the room joined: not_joined names the canvas, nothing followed or limited", async () => {
    const w = world();
    const c = connection(w, { rooms: [] });
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general" }, c))).toEqual([
      { type: "error", code: "not_joined", message: 'Join "general" before opening its canvas', room: "general" },
    ]);
    expect(callsOf(w, "followCanvas")).toEqual([]);
    expect(c.taken).toEqual([]);
  });

  it("over a one-off HTTP call (no canvas to follow) is bad_request", async () => {
    const w = world();
    const c = connection(w, { rooms: null, canvas: false });
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general" }, c))).toEqual([
      { type: "error", code: "bad_request", message: "Open a canvas over a connection", room: "general" },
    ]);
    expect(c.taken).toEqual([]);
  });

  it("draws from the person's join rate: past it rate_limited, counted, and the canvas not opened", async () => {
    const w = world();
    const c = connection(w, { refuse: ["join"] });
    expect(await all(await w.executor.execute({ type: "canvas.join", room: "general", since: 0 }, c))).toEqual([
      { type: "error", code: "rate_limited", message: 'Too many joins; slow down (the canvas of "general" was not opened)', room: "general" },
    ]);
    expect(w.rateLimited).toEqual([{ type: "canvas.join" }]);
    expect(callsOf(w, "followCanvas")).toEqual([]);
    expect(callsOf(w, "head")).toEqual([]);
  });

  it("rate_limited without metrics too", async () => {
    const w = world({ metrics: false });
    const c = connection(w, { refuse: ["join"] });
    expect((await w.executor.execute({ type: "canvas.join", room: "general" }, c)).frames.map((f) => f.type === "error" && f.code)).toEqual(["rate_limited"]);
  });
});

describe("canvas.leave", () => {
  it("stops following the room's canvas and answers nothing", async () => {
    const w = world();
    const reply = await w.executor.execute({ type: "canvas.leave", room: "general" }, connection(w));
    expect(reply).toStrictEqual({ frames: [] });
    expect(w.calls).toEqual([["unfollowCanvas", "general"]]);
  });

  it("over a context that follows no canvas it answers nothing either", async () => {
    const w = world();
    const reply = await w.executor.execute({ type: "canvas.leave", room: "general" }, connection(w, { rooms: null, canvas: false }));
    expect(reply).toStrictEqual({ frames: [] });
    expect(w.logged).toEqual([]);
  });
});

describe("canvas.ops", () => {
  const ops = [{ op: "delete" as const, id: "n1" }];
  const frame: ClientFrame = { type: "canvas.ops", room: "general", ops, clientId: "c-1" };

  it("hands the change to the canvas and acknowledges it once committed, with the appended event", async () => {
    const w = world();
    w.change = async () => ({ event: { seq: 42 }, duplicate: false });
    const c = connection(w);
    const reply = await w.executor.execute(frame, c);
    expect(reply.frames).toEqual([]);
    expect(callsOf(w, "change")).toEqual([["change", "general", ada, ops, "c-1"]]);
    expect(await reply.later).toEqual({ frames: [{ type: "ack", clientId: "c-1", seq: 42 }], appended: { event: { seq: 42 }, duplicate: false } });
    expect(w.acks).toEqual([{ transport: "longpoll" }]);
    expect(c.taken).toEqual(["u_ada:canvas"]);
  });

  it("acknowledges without metrics too", async () => {
    const w = world({ metrics: false });
    expect(await all(await w.executor.execute(frame, connection(w)))).toEqual([{ type: "ack", clientId: "c-1", seq: 1 }]);
  });

  it("a change the canvas refuses is answered with its code, naming the clientId and room, not logged", async () => {
    const w = world();
    w.change = () => Promise.reject(new CanvasError("bad_request", "No object n1"));
    expect(await all(await w.executor.execute(frame, connection(w)))).toEqual([
      { type: "error", code: "bad_request", message: "No object n1", clientId: "c-1", room: "general" },
    ]);
    expect(w.logged).toEqual([]);
    expect(w.acks).toEqual([]);
  });

  it("an unexpected failure is internal and logged", async () => {
    const w = world();
    const err = new Error("disk on fire");
    w.change = () => Promise.reject(err);
    expect(await all(await w.executor.execute(frame, connection(w)))).toEqual([
      { type: "error", code: "internal", message: "Something went wrong; try again", clientId: "c-1", room: "general" },
    ]);
    expect(w.logged).toEqual([[{ err, frame: "canvas.ops" }, "canvas change failed"]]);
  });

  it("needs the room joined: not_joined names the canvas, nothing changed", async () => {
    const w = world();
    expect(await all(await w.executor.execute(frame, connection(w, { rooms: ["other"] })))).toEqual([
      { type: "error", code: "not_joined", message: 'Join "general" before changing its canvas', clientId: "c-1", room: "general" },
    ]);
    expect(callsOf(w, "change")).toEqual([]);
  });

  it("past the person's canvas rate: rate_limited, counted, nothing changed", async () => {
    const w = world();
    expect(await all(await w.executor.execute(frame, connection(w, { refuse: ["canvas"] })))).toEqual([
      { type: "error", code: "rate_limited", message: "Too many canvas changes; slow down", clientId: "c-1", room: "general" },
    ]);
    expect(w.rateLimited).toEqual([{ type: "canvas.ops" }]);
    expect(callsOf(w, "change")).toEqual([]);
  });

  it("rate_limited without metrics too", async () => {
    const w = world({ metrics: false });
    const frames = await all(await w.executor.execute(frame, connection(w, { refuse: ["canvas"] })));
    expect(frames.map((f) => f.type === "error" && f.code)).toEqual(["rate_limited"]);
  });
});

describe("canvas.live", () => {
  const drags = { n1: { x: 1, y: 2, w: 3, h: 4 } };
  const live = (room = "general"): ClientFrame => ({ type: "canvas.live", room, drags, selection: ["n1"] });

  it("moves the person's drags and selection on the room's canvas, named by the connection", async () => {
    const w = world();
    const c = connection(w);
    expect(await w.executor.execute(live(), c)).toStrictEqual({ frames: [] });
    expect(w.calls).toEqual([["moveOnCanvas", "general", ada, drags, ["n1"], "conn-1"]]);
    expect(c.taken).toEqual(["u_ada:canvasLive"]);
  });

  it("for a room not joined it is dropped without an answer, no limit drawn", async () => {
    const w = world();
    const c = connection(w, { rooms: ["other"] });
    expect(await w.executor.execute(live(), c)).toStrictEqual({ frames: [] });
    expect(w.calls).toEqual([]);
    expect(c.taken).toEqual([]);
  });

  it("a long-poll page joins the room here first, then moves", async () => {
    const w = world();
    const c = connection(w, { rooms: [], joinOnDemand: true });
    expect(await w.executor.execute(live(), c)).toStrictEqual({ frames: [] });
    expect(w.calls).toEqual([
      ["requireRoom", "general", "u_ada"],
      ["subscribe", "general", undefined],
      ["moveOnCanvas", "general", ada, drags, ["n1"], "conn-1"],
    ]);
  });

  it("a one-off HTTP call needs a room that exists", async () => {
    const w = world();
    const c = connection(w, { rooms: null, canvas: false });
    expect(await w.executor.execute(live(), c)).toStrictEqual({ frames: [] });
    expect(w.calls).toEqual([
      ["requireRoom", "general", "u_ada"],
      ["moveOnCanvas", "general", ada, drags, ["n1"], "conn-1"],
    ]);
    expect((await w.executor.execute(live("nowhere"), c)).frames).toEqual([
      { type: "error", code: "unknown_room", message: 'There is no room "nowhere"', room: "nowhere" },
    ]);
    expect(callsOf(w, "moveOnCanvas")).toHaveLength(1);
  });

  it("past the person's live rate it is dropped as excess, counted, nothing moved", async () => {
    const w = world();
    expect(await w.executor.execute(live(), connection(w, { refuse: ["canvasLive"] }))).toStrictEqual({ frames: [], excess: true });
    expect(w.rateLimited).toEqual([{ type: "canvas.live" }]);
    expect(callsOf(w, "moveOnCanvas")).toEqual([]);
  });

  it("dropped as excess without metrics too", async () => {
    const w = world({ metrics: false });
    expect(await w.executor.execute(live(), connection(w, { refuse: ["canvasLive"] }))).toStrictEqual({ frames: [], excess: true });
  });
});

describe("read", () => {
  const read = (room = "general", seq = 9): ClientFrame => ({ type: "read", room, seq });

  it("moves the person's read position and tells their connections the position it moved to", async () => {
    const w = world();
    w.readSeq = 9;
    const c = connection(w, { rooms: [] });
    expect(await w.executor.execute(read(), c)).toStrictEqual({ frames: [] });
    expect(w.calls).toEqual([
      ["requireRoom", "general", "u_ada"],
      ["markRead", "u_ada", "general", 9, false],
      ["announceRoomRead", "u_ada", "general", 9, false],
    ]);
    expect(c.taken).toEqual(["u_ada:read"]);
    // The room must exist (no join needed): unknown_room, nothing marked.
    expect((await w.executor.execute(read("nowhere"), c)).frames).toEqual([
      { type: "error", code: "unknown_room", message: 'There is no room "nowhere"', room: "nowhere" },
    ]);
    expect(callsOf(w, "markRead")).toHaveLength(1);
  });

  it("marked unread (1.11), sets the position and tells their connections it is a mark", async () => {
    const w = world();
    w.readSeq = 4;
    const c = connection(w, { rooms: [] });
    expect(await w.executor.execute({ type: "read", room: "general", seq: 4, unread: true }, c)).toStrictEqual({ frames: [] });
    expect(callsOf(w, "markRead")).toEqual([["markRead", "u_ada", "general", 4, true]]);
    expect(callsOf(w, "announceRoomRead")).toEqual([["announceRoomRead", "u_ada", "general", 4, true]]);
    expect(c.taken).toEqual(["u_ada:read"]);
  });

  it("a position that does not move (already read further) tells no one", async () => {
    const w = world();
    w.readSeq = null;
    expect(await w.executor.execute(read("general", 3), connection(w))).toStrictEqual({ frames: [] });
    expect(callsOf(w, "markRead")).toEqual([["markRead", "u_ada", "general", 3, false]]);
    expect(callsOf(w, "announceRoomRead")).toEqual([]);
  });

  it("past the person's read rate it is dropped as excess, counted, nothing marked", async () => {
    const w = world();
    w.readSeq = 9;
    expect(await w.executor.execute(read(), connection(w, { refuse: ["read"] }))).toStrictEqual({ frames: [], excess: true });
    expect(w.rateLimited).toEqual([{ type: "read" }]);
    expect(callsOf(w, "markRead")).toEqual([]);
    expect(callsOf(w, "announceRoomRead")).toEqual([]);
  });

  it("dropped as excess without metrics too", async () => {
    const w = world({ metrics: false });
    expect(await w.executor.execute(read(), connection(w, { refuse: ["read"] }))).toStrictEqual({ frames: [], excess: true });
  });
});
