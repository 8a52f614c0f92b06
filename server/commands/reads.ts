// `read` (protocol 1.2): the person has seen a room up to a seq. Moves their read position on
// the server and tells every connection of theirs, on every instance. With `unread` (1.11) the
// person marked what follows the seq unread: the position is set to it, back if need be. A read
// needs a room that exists but no join: a page may mark a room read that it shows without
// following, and a long-poll page's join may have gone to another instance.
import { answer, type CommandContext, type Reply } from "./context";
import type { CommandDeps } from "./executor";
import type { ClientFrame } from "../../lib/protocol";

type Read = Extract<ClientFrame, { type: "read" }>;

export async function handleRead(frame: Read, ctx: CommandContext, deps: CommandDeps): Promise<Reply> {
  const { room, seq, unread = false } = frame;
  await deps.workspace.requireRoom(room, ctx.user.id);
  // Over the limit it is dropped like typing: the client sends the position again the next
  // time the reader sees something new, and a later position covers an earlier one.
  if (!ctx.rates.take(ctx.user.id, "read")) {
    deps.metrics?.rateLimited.inc({ type: "read" });
    return { frames: [], excess: true };
  }
  const readSeq = await deps.workspace.reads.markRead(ctx.user.id, room, seq, unread);
  if (readSeq !== null) deps.hub.announceRoomRead(ctx.user.id, room, readSeq, unread);
  return answer();
}
