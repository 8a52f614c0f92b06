// WebSocket frames, client → server (also carried by `POST /api/poll/frames`).
import { z } from "./zod";
import { MAX_FRAME_BYTES } from "./limits";
import { clientIdSchema, roomId } from "./streams";

export const unit = z.number().finite().min(0).max(1);

export const clientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("join"), room: roomId, since: z.number().int().min(0).optional() }),
  z.object({ type: z.literal("leave"), room: roomId }),
  z.object({ type: z.literal("send"), room: roomId, text: z.string().max(MAX_FRAME_BYTES), clientId: clientIdSchema }),
  z.object({ type: z.literal("typing"), room: roomId, stop: z.boolean().optional() }),
  // x and y both null: the pointer left the canvas (hide my cursor now).
  z
    .object({ type: z.literal("cursor"), room: roomId, x: unit.nullable(), y: unit.nullable() })
    .refine((f) => (f.x === null) === (f.y === null), "x and y are both numbers or both null"),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;
