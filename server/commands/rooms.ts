// `join` and `leave`: the room checks and limits; following the room is the transport's part.
import { answer, type CommandContext, type Reply } from "./context";
import { CommandError } from "./errors";
import type { CommandDeps } from "./executor";
import { MAX_ROOMS_PER_CONNECTION } from "./limits";
import type { ClientFrame } from "../../lib/protocol";

type Join = Extract<ClientFrame, { type: "join" }>;
type Leave = Extract<ClientFrame, { type: "leave" }>;

export async function handleJoin(frame: Join, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room } = frame;
  if (!ctx.rooms) throw new CommandError("bad_request", "Only a connection can join a room");
  if (!ctx.rooms.has(room) && ctx.rooms.size >= MAX_ROOMS_PER_CONNECTION) {
    throw new CommandError("too_many_rooms", `A connection can be in at most ${MAX_ROOMS_PER_CONNECTION} rooms; leave one first`);
  }
  if (!ctx.rates.take(ctx.user.id, "join")) {
    deps.metrics?.rateLimited.inc({ type: "join" });
    throw new CommandError("rate_limited", `Too many joins; slow down ("${room}" was not joined)`);
  }
  if (!(await deps.workspace.roomExists(room, ctx.user.id))) throw new CommandError("unknown_room", `There is no room "${room}"`);
  let frames;
  try {
    frames = await ctx.subscribe(room, frame.since);
  } catch (err) {
    // A join that failed half-way (the log could not be read) is no join: sends to the room
    // are then refused `not_joined` rather than accepted by a connection that hears nothing.
    ctx.unsubscribe(room);
    throw err;
  }
  // The first join ever is a feed event; it need not hold up the answer.
  void deps.workspace.recordJoin(room, ctx.user).catch((err: unknown) => deps.logger.error({ err, room }, "recording the join failed"));
  return { frames };
}

export function handleLeave(frame: Leave, ctx: CommandContext): Reply {
  if (!ctx.unsubscribe(frame.room)) throw new CommandError("not_joined", `You have not joined "${frame.room}"`);
  return answer();
}

/**
 * The room check of every command acting in a room: a connection must have joined it; a
 * one-off HTTP call names any room that exists.
 */
export async function requireJoined(room: string, ctx: CommandContext, deps: CommandDeps, message: string): Promise<void> {
  if (ctx.rooms === null) return deps.workspace.requireRoom(room, ctx.user.id);
  if (ctx.rooms.has(room)) return;
  if (!ctx.joinOnDemand) throw new CommandError("not_joined", message);
  await deps.workspace.requireRoom(room, ctx.user.id);
  await ctx.subscribe(room, undefined);
}
