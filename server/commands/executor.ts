// The one command path: every client frame (join, leave, send, edit, delete, react, read, typing, cursor,
// and the canvas' join, leave, ops and live), from whatever
// transport carried it, is checked, limited and carried out here, and its answer frames come
// back. Transports only decode frames, deliver answers and follow rooms (CommandContext).
import type { Hub } from "../hub";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { Workspace } from "../workspace";
import type { ClientFrame } from "../../lib/protocol";
import type { CommandContext, Reply } from "./context";
import { handleCanvasJoin, handleCanvasLeave, handleCanvasLive, handleCanvasOps } from "./canvas";
import { handleCursor, handleTyping } from "./ephemeral";
import { aboutFrame, errorFrame, knownError } from "./errors";
import { handleDelete, handleEdit, handleReact, handleSend } from "./messages";
import { handleRead } from "./reads";
import { handleJoin, handleLeave } from "./rooms";

export interface CommandDeps {
  hub: Hub;
  workspace: Workspace;
  logger: Logger;
  metrics?: Metrics;
}

type Handler<F extends ClientFrame> = (frame: F, ctx: CommandContext, deps: CommandDeps) => Promise<Reply> | Reply;

/** One handler per frame type: a new command is a schema in lib/protocol/client-frames.ts and a row here. */
const HANDLERS: { [T in ClientFrame["type"]]: Handler<Extract<ClientFrame, { type: T }>> } = {
  join: handleJoin,
  leave: handleLeave,
  send: handleSend,
  typing: handleTyping,
  cursor: handleCursor,
  edit: handleEdit,
  delete: handleDelete,
  react: handleReact,
  read: handleRead,
  "canvas.join": handleCanvasJoin,
  "canvas.leave": handleCanvasLeave,
  "canvas.ops": handleCanvasOps,
  "canvas.live": handleCanvasLive,
};

export class CommandExecutor {
  constructor(private readonly deps: CommandDeps) {}

  /**
   * Carries out one frame for the connection. Never rejects: every failure is answered with an
   * `error` frame naming the frame's room (and a send's `clientId`).
   */
  async execute(frame: ClientFrame, ctx: CommandContext): Promise<Reply> {
    const handler = HANDLERS[frame.type] as Handler<ClientFrame>;
    try {
      return await handler(frame, ctx, this.deps);
    } catch (err) {
      const known = knownError(err);
      if (!known) this.deps.logger.error({ err, frame: frame.type }, "frame failed");
      return { frames: [errorFrame(known?.code ?? "internal", known?.message ?? "Something went wrong; try again", aboutFrame(frame))] };
    }
  }
}
