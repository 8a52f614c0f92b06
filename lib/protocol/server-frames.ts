// WebSocket frames, server → client.
import { z } from "./zod";
import { errorCodeSchema } from "./errors";
import { actorSchema, eventSeqSchema, roomId, seqSchema, userSchema } from "./streams";
import { realtimeEventSchema } from "./events";
import { unit } from "./client-frames";
import { boardPointSchema, canvasObjectSchema, liveDragMapSchema, liveSelectionMapSchema } from "./canvas";

// Validated by the client before anything acts on them (lib/realtime/decode.ts); the server
// builds its frames as these types, so it cannot send one the client would drop.

/** `board` (1.15): the point of the board, when the person's page said it. */
export const cursorStateSchema = z.object({ x: unit, y: unit, board: boardPointSchema.optional(), name: z.string(), color: z.string() });
export type CursorState = z.infer<typeof cursorStateSchema>;
/** `null`: that cursor left. */
export const cursorMapSchema = z.record(z.string(), cursorStateSchema.nullable());
export type CursorMap = z.infer<typeof cursorMapSchema>;

export const serverFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("joined"), room: roomId, head: seqSchema, members: z.array(userSchema) }),
  z.object({ type: z.literal("reset"), room: roomId, head: seqSchema }),
  z.object({ type: z.literal("event"), event: realtimeEventSchema }),
  z.object({ type: z.literal("ack"), clientId: z.string(), seq: eventSeqSchema }),
  z.object({ type: z.literal("presence"), room: roomId, members: z.array(userSchema) }),
  /**
   * Version 1.1: who arrived (or changed) and who left since the last presence frame. `joins`
   * are added or replaced by id, `leaves` removed by id; applied to the `joined` list.
   */
  z.object({ type: z.literal("presence_diff"), room: roomId, joins: z.array(userSchema), leaves: z.array(userSchema) }),
  z.object({ type: z.literal("typing"), room: roomId, users: z.array(actorSchema) }),
  /**
   * Only what changed since the last frame; with `full`, every cursor in the room — any the
   * client shows that is not in it is gone (the answer to a join, or a resync after skipped frames).
   */
  z.object({ type: z.literal("cursors"), room: roomId, cursors: cursorMapSchema, full: z.literal(true).optional() }),
  /**
   * Version 1.2 (`rt.v1.2` only): the person's read position in `room` moved, on this device or
   * another. Sent to every connection of that person, whether or not it joined the room.
   */
  z.object({ type: z.literal("read"), room: roomId, seq: seqSchema, unread: z.literal(true).optional() }),
  /** Version 1.12 (`rt.v1.2` and up): the person muted or unmuted `room`, on this device or another. */
  z.object({ type: z.literal("muted"), room: roomId, muted: z.boolean() }),
  /** Version 1.2 (`rt.v1.2` only): the person was removed from this private room; it is gone for them. */
  z.object({ type: z.literal("removed"), room: roomId }),
  /** Version 1.3: the answer to a `canvas.join` whose `since` can be resumed; events after it follow. */
  z.object({ type: z.literal("canvas.joined"), room: roomId, head: seqSchema }),
  /** Version 1.3: the board as of `seq` (the latest stored snapshot); the events after `seq` follow. */
  z.object({ type: z.literal("canvas.snapshot"), room: roomId, seq: seqSchema, objects: z.array(canvasObjectSchema) }),
  /** Version 1.3: drags and selections that changed since the last frame, latest wins; `full`: all of them. */
  z.object({
    type: z.literal("canvas.live"),
    room: roomId,
    drags: liveDragMapSchema,
    selections: liveSelectionMapSchema,
    full: z.literal(true).optional(),
  }),
  z.object({
    type: z.literal("error"),
    code: errorCodeSchema,
    message: z.string(),
    clientId: z.string().optional(),
    room: roomId.optional(),
  }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;

/** The reason of a 1012 close: a server-suggested, jittered delay before reconnecting. */
export const restartingReasonSchema = z.object({ reconnectAfterMs: z.number().finite().min(0) });
export type RestartingReason = z.infer<typeof restartingReasonSchema>;
