// `send`, and the changes to a message sent (protocol 1.2): `edit`, `delete`, `react`. Each is
// acknowledged once durable, idempotent by clientId, and drawn from the person's `send` rate.
import type { CommandContext, LaterReply, Reply } from "./context";
import { CommandError, errorFrame, knownError } from "./errors";
import type { CommandDeps } from "./executor";
import { requireJoined } from "./rooms";
import type { Answered, PreparedAppend } from "../workspace";
import type { ClientFrame } from "../../lib/protocol";

type Send = Extract<ClientFrame, { type: "send" }>;
type Edit = Extract<ClientFrame, { type: "edit" }>;
type Delete = Extract<ClientFrame, { type: "delete" }>;
type React = Extract<ClientFrame, { type: "react" }>;

export async function handleSend(frame: Send, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room } = frame;
  // Whatever becomes of the message, its author has stopped typing it.
  deps.hub.setTyping(room, ctx.user, false);
  await admit(frame, ctx, deps, `Join "${room}" before sending to it`);
  // Prepared in order (room check, reply, mentions); the append is queued now and commits later.
  const append = await deps.workspace.prepareMessage(room, ctx.user, frame.text, frame.clientId, {
    replyTo: frame.replyTo,
    mentions: frame.mentions,
  });
  return acknowledged(frame, append, ctx, deps);
}

export async function handleEdit(frame: Edit, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  await admit(frame, ctx, deps, `Join "${frame.room}" before editing in it`);
  const append = await deps.workspace.prepareEdit(frame.room, ctx.user, frame.seq, frame.text, frame.clientId, frame.mentions);
  return acknowledged(frame, append, ctx, deps);
}

export async function handleDelete(frame: Delete, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  await admit(frame, ctx, deps, `Join "${frame.room}" before deleting in it`);
  const append = await deps.workspace.prepareDelete(frame.room, ctx.user, frame.seq, frame.clientId);
  return acknowledged(frame, append, ctx, deps);
}

export async function handleReact(frame: React, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  await admit(frame, ctx, deps, `Join "${frame.room}" before reacting in it`);
  const append = await deps.workspace.prepareReaction(frame.room, ctx.user, frame.seq, frame.emoji, frame.on, frame.clientId);
  return acknowledged(frame, append, ctx, deps);
}

/** The checks every durable frame passes in turn: the room joined, then the person's rate. */
async function admit(frame: Send | Edit | Delete | React, ctx: CommandContext, deps: CommandDeps, notJoined: string): Promise<void> {
  await requireJoined(frame.room, ctx, deps, notJoined);
  if (!ctx.rates.take(ctx.user.id, "send")) {
    deps.metrics?.rateLimited.inc({ type: frame.type });
    throw new CommandError("rate_limited", frame.type === "send" ? "Too many messages; slow down" : "Too many changes; slow down");
  }
}

/**
 * The answer to a durable frame: its `ack` once the append commits (the next frame need not
 * wait for it), or its error. A change already answered (a repeated clientId) or that changes
 * nothing is acknowledged at once: with the first event, or with the message's own seq.
 */
function acknowledged(
  frame: Send | Edit | Delete | React,
  append: PreparedAppend | Answered,
  ctx: CommandContext,
  deps: CommandDeps,
): Reply {
  const { clientId, room } = frame;
  if ("answered" in append) {
    deps.metrics?.acks.inc({ transport: ctx.transport });
    const event = append.answered;
    return { frames: [], later: Promise.resolve({ frames: [{ type: "ack", clientId, seq: event.seq }], appended: { event, duplicate: true } }) };
  }
  const later = append().then(
    (appended): LaterReply => {
      deps.metrics?.acks.inc({ transport: ctx.transport });
      return { frames: [{ type: "ack", clientId, seq: appended.event.seq }], appended };
    },
    (err: unknown): LaterReply => {
      const known = knownError(err);
      if (!known) deps.logger.error({ err, frame: frame.type }, `${frame.type} failed`);
      const code = known?.code ?? "internal";
      return { frames: [errorFrame(code, known?.message ?? "Something went wrong; try again", { clientId, room })] };
    },
  );
  return { frames: [], later };
}
