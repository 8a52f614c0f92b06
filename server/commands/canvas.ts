// The shared canvas (protocol 1.3): `canvas.join` and `canvas.leave` follow a room's canvas
// stream; `canvas.ops` is a durable change, checked against the board and acknowledged once
// committed; `canvas.live` is the in-between drag and the selection, ephemeral like a cursor.
// Every one needs the room joined, so a private room's canvas is as private as its chat.
import { answer, type CommandContext, type LaterReply, type Reply } from "./context";
import { CommandError, errorFrame, knownError } from "./errors";
import type { CommandDeps } from "./executor";
import { requireJoined } from "./rooms";
import { boardObjects } from "../../lib/canvas/board";
import { CANVAS_MAX_REPLAY, type ClientFrame, type ServerFrame } from "../../lib/protocol";

type CanvasJoin = Extract<ClientFrame, { type: "canvas.join" }>;
type CanvasLeave = Extract<ClientFrame, { type: "canvas.leave" }>;
type CanvasOps = Extract<ClientFrame, { type: "canvas.ops" }>;
type CanvasLiveFrame = Extract<ClientFrame, { type: "canvas.live" }>;

export async function handleCanvasJoin(frame: CanvasJoin, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room, since } = frame;
  await requireJoined(room, ctx, deps, `Join "${room}" before opening its canvas`);
  if (!ctx.followCanvas) throw new CommandError("bad_request", "Open a canvas over a connection");
  // Every canvas join may fold a board: limited like room joins.
  if (!ctx.rates.take(ctx.user.id, "join")) {
    deps.metrics?.rateLimited.inc({ type: "canvas.join" });
    throw new CommandError("rate_limited", `Too many joins; slow down (the canvas of "${room}" was not opened)`);
  }
  const canvas = deps.workspace.canvas;
  const head = await canvas.head(room);
  let answerFrame: ServerFrame;
  let from: number;
  if (since !== undefined && since <= head && head - since <= CANVAS_MAX_REPLAY) {
    answerFrame = { type: "canvas.joined", room, head };
    from = since;
  } else {
    // The board as the server folds it: its latest snapshot and the operations after it.
    const { board, seq } = await canvas.current(room);
    answerFrame = { type: "canvas.snapshot", room, seq, objects: boardObjects(board) };
    from = seq;
  }
  return { frames: await ctx.followCanvas(room, from, answerFrame) };
}

export function handleCanvasLeave(frame: CanvasLeave, ctx: CommandContext): Reply {
  ctx.unfollowCanvas?.(frame.room);
  return answer();
}

export async function handleCanvasOps(frame: CanvasOps, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room, clientId } = frame;
  await requireJoined(room, ctx, deps, `Join "${room}" before changing its canvas`);
  if (!ctx.rates.take(ctx.user.id, "canvas")) {
    deps.metrics?.rateLimited.inc({ type: frame.type });
    throw new CommandError("rate_limited", "Too many canvas changes; slow down");
  }
  // Checked and appended in turn per canvas; the next frame need not wait for the commit.
  const later = deps.workspace.canvas.change(room, ctx.user, frame.ops, clientId).then(
    (appended): LaterReply => {
      deps.metrics?.acks.inc({ transport: ctx.transport });
      return { frames: [{ type: "ack", clientId, seq: appended.event.seq }], appended };
    },
    (err: unknown): LaterReply => {
      const known = knownError(err);
      if (!known) deps.logger.error({ err, frame: frame.type }, "canvas change failed");
      return { frames: [errorFrame(known?.code ?? "internal", known?.message ?? "Something went wrong; try again", { clientId, room })] };
    },
  );
  return { frames: [], later };
}

export async function handleCanvasLive(frame: CanvasLiveFrame, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room } = frame;
  // Lossy by contract, like a cursor: for a room not joined it is dropped without an answer.
  if (ctx.rooms !== null && !ctx.rooms.has(room) && !ctx.joinOnDemand) return answer();
  if (ctx.rooms === null) await deps.workspace.requireRoom(room, ctx.user.id);
  else if (!ctx.rooms.has(room)) await requireJoined(room, ctx, deps, `Join "${room}" first`);
  if (!ctx.rates.take(ctx.user.id, "canvasLive")) {
    deps.metrics?.rateLimited.inc({ type: frame.type });
    return { frames: [], excess: true };
  }
  deps.hub.moveOnCanvas(room, ctx.user, frame.drags, frame.selection, ctx.source);
  return answer();
}
