// `typing` and `cursor`: ephemeral input, lossy by contract — over the person's limit it is
// dropped without an answer (the transport counts it as excess).
import { answer, type CommandContext, type Reply } from "./context";
import type { CommandDeps } from "./executor";
import { requireJoined } from "./rooms";
import type { ClientFrame } from "../../lib/protocol";

type Typing = Extract<ClientFrame, { type: "typing" }>;
type Cursor = Extract<ClientFrame, { type: "cursor" }>;

export async function handleTyping(frame: Typing, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room } = frame;
  const stop = frame.stop === true;
  await requireJoined(room, ctx, deps, `Join "${room}" first`);
  if (!stop && !ctx.rates.take(ctx.user.id, "typing")) {
    deps.metrics?.rateLimited.inc({ type: "typing" });
    return { frames: [], excess: true };
  }
  deps.hub.setTyping(room, ctx.user, !stop, ctx.source);
  return answer();
}

export async function handleCursor(frame: Cursor, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room, x, y, board } = frame;
  // A connection's cursor for a room not joined (a page pointing before its join was answered,
  // or just after it left) is dropped like excess input — no error, never counted as abuse.
  if (ctx.rooms !== null && !ctx.rooms.has(room) && !ctx.joinOnDemand) return answer();
  if (ctx.rooms === null) await deps.workspace.requireRoom(room, ctx.user.id);
  else if (!ctx.rooms.has(room)) await requireJoined(room, ctx, deps, `Join "${room}" first`);
  // Hiding is never rate limited: it only ever takes a cursor away.
  if (x === null || y === null) {
    deps.hub.hideCursor(room, ctx.user.id, ctx.source);
    return answer();
  }
  if (!ctx.rates.take(ctx.user.id, "cursor")) {
    deps.metrics?.rateLimited.inc({ type: "cursor" });
    return { frames: [], excess: true };
  }
  deps.hub.moveCursor(room, ctx.user, board ? { x, y, board } : { x, y }, ctx.source);
  return answer();
}
