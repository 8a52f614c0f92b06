// `send`: a chat message, acknowledged once durable.
import type { CommandContext, LaterReply, Reply } from "./context";
import { CommandError, errorFrame, knownError } from "./errors";
import type { CommandDeps } from "./executor";
import { requireJoined } from "./rooms";
import type { ClientFrame } from "../../lib/protocol";

type Send = Extract<ClientFrame, { type: "send" }>;

export async function handleSend(frame: Send, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room, clientId } = frame;
  // Whatever becomes of the message, its author has stopped typing it.
  deps.hub.setTyping(room, ctx.user, false);
  await requireJoined(room, ctx, deps, `Join "${room}" before sending to it`);
  if (!ctx.rates.take(ctx.user.id, "send")) {
    deps.metrics?.rateLimited.inc({ type: "send" });
    throw new CommandError("rate_limited", "Too many messages; slow down");
  }
  // Prepared in order (room check, mentions); the append is queued now and commits later.
  const append = await deps.workspace.prepareMessage(room, ctx.user, frame.text, clientId);
  const later = append().then(
    (appended): LaterReply => {
      deps.metrics?.acks.inc({ transport: ctx.transport });
      return { frames: [{ type: "ack", clientId, seq: appended.event.seq }], appended };
    },
    (err: unknown): LaterReply => {
      const known = knownError(err);
      if (!known) deps.logger.error({ err, frame: "send" }, "send failed");
      const code = known?.code ?? "internal";
      return { frames: [errorFrame(code, known?.message ?? "Something went wrong; try again", { clientId, room })] };
    },
  );
  return { frames: [], later };
}
