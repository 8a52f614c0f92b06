// WebSocket frames, client → server (also carried by `POST /api/poll/frames`).
import { z } from "./zod";
import { MAX_FRAME_BYTES, MAX_MENTIONS } from "./limits";
import { clientIdSchema, eventSeqSchema, roomId, seqSchema } from "./streams";
import { boardPointSchema, canvasOpsSchema, liveDragsInSchema, selectionSchema } from "./canvas";

/** The ids of the people a message names, picked from the autocomplete (version 1.2). */
export const mentionIdsSchema = z.array(z.string().min(1).max(64)).max(MAX_MENTIONS);

/** Exactly one emoji (a whole RGI sequence: flags, skin tones and families included). */
const ONE_EMOJI = new RegExp("^\\p{RGI_Emoji}$", "v");
export const emojiSchema = z.string().max(32).regex(ONE_EMOJI, "Not a single emoji");

/**
 * `text` as the one emoji `emojiSchema` takes: itself, or with the emoji presentation selector
 * that a bare symbol typed on many keyboards lacks (❤ → ❤️); null when it is neither.
 */
export function asOneEmoji(text: string): string | null {
  const t = text.trim();
  if (ONE_EMOJI.test(t)) return t;
  const presented = `${t}\uFE0F`;
  return ONE_EMOJI.test(presented) ? presented : null;
}

export const unit = z.number().finite().min(0).max(1);

export const clientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("join"), room: roomId, since: z.number().int().min(0).optional() }),
  z.object({ type: z.literal("leave"), room: roomId }),
  z.object({
    type: z.literal("send"),
    room: roomId,
    text: z.string().max(MAX_FRAME_BYTES),
    clientId: clientIdSchema,
    /** Version 1.2: the seq of the message this one answers. */
    replyTo: eventSeqSchema.optional(),
    mentions: mentionIdsSchema.optional(),
  }),
  // Version 1.2: changes to an earlier message, each acknowledged like a send.
  z.object({
    type: z.literal("edit"),
    room: roomId,
    seq: eventSeqSchema,
    text: z.string().max(MAX_FRAME_BYTES),
    clientId: clientIdSchema,
    mentions: mentionIdsSchema.optional(),
  }),
  z.object({ type: z.literal("delete"), room: roomId, seq: eventSeqSchema, clientId: clientIdSchema }),
  z.object({ type: z.literal("react"), room: roomId, seq: eventSeqSchema, emoji: emojiSchema, on: z.boolean(), clientId: clientIdSchema }),
  /**
   * Version 1.2: the person has seen the room up to `seq` (read positions only move forward).
   * Version 1.11: `unread`, the person marked what follows `seq` unread: the position is set to it.
   */
  z.object({ type: z.literal("read"), room: roomId, seq: seqSchema, unread: z.literal(true).optional() }),
  z.object({ type: z.literal("typing"), room: roomId, stop: z.boolean().optional() }),
  // Version 1.3: the room's shared canvas (PROTOCOL.md, "Version 1.3: the shared canvas").
  z.object({ type: z.literal("canvas.join"), room: roomId, since: seqSchema.optional() }),
  z.object({ type: z.literal("canvas.leave"), room: roomId }),
  z.object({ type: z.literal("canvas.ops"), room: roomId, ops: canvasOpsSchema, clientId: clientIdSchema }),
  z.object({ type: z.literal("canvas.live"), room: roomId, drags: liveDragsInSchema.optional(), selection: selectionSchema.optional() }),
  // x and y both null: the pointer left the canvas (hide my cursor now). `board` (1.15): the
  // point of the board pointed at, beside x and y for clients that draw only those.
  z
    .object({ type: z.literal("cursor"), room: roomId, x: unit.nullable(), y: unit.nullable(), board: boardPointSchema.optional() })
    .refine((f) => (f.x === null) === (f.y === null), "x and y are both numbers or both null"),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;
