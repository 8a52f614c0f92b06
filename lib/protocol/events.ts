// Events: everything durable, each in a stream with a gapless seq (PROTOCOL.md, "The event log").
import { z } from "./zod";
import { actorSchema, eventSeqSchema, roomId, streamNameSchema } from "./streams";
import { canvasOpsSchema } from "./canvas";

/**
 * A person a message names, as they were named when it was written (version 1.2): `name` is
 * the text after the `@` in the message, so any display name can be mentioned and a rename
 * later does not unlink it.
 */
export const mentionRefSchema = z.object({ id: z.string(), name: z.string() });
export type MentionRef = z.infer<typeof mentionRefSchema>;

/** What a reply quotes (version 1.2): a snapshot of the message it answers, blanked if that is deleted. */
export const replyRefSchema = z.object({
  seq: eventSeqSchema,
  actor: actorSchema,
  preview: z.string(),
  deleted: z.literal(true).optional(),
});
export type ReplyRef = z.infer<typeof replyRefSchema>;

/** Who reacted with each emoji, in the order they did (version 1.2). */
export const reactionsSchema = z.record(z.string(), z.array(actorSchema));
export type Reactions = z.infer<typeof reactionsSchema>;

/**
 * The `data` of each event type (PROTOCOL.md, "The event log"). A `message` as history and
 * replays return it holds its current state (version 1.2): the edits, the delete and the
 * reactions that point at it are folded in, and also follow it in the stream as their own events.
 */
export const eventDataSchemas = {
  message: z.object({
    text: z.string(),
    clientId: z.string(),
    replyTo: replyRefSchema.optional(),
    mentions: z.array(mentionRefSchema).optional(),
    editedAt: z.iso.datetime().optional(),
    deleted: z.literal(true).optional(),
    reactions: reactionsSchema.optional(),
  }),
  /** Version 1.2: the author changed the text of the message `seq`; blanked if it is deleted later. */
  "message.edited": z.object({ seq: eventSeqSchema, text: z.string(), clientId: z.string(), mentions: z.array(mentionRefSchema).optional() }),
  /** Version 1.2: the author deleted the message `seq`; its text is gone from the database. */
  "message.deleted": z.object({ seq: eventSeqSchema, clientId: z.string() }),
  /** Version 1.2: the actor added (`on`) or took back an emoji on the message `seq`. */
  reaction: z.object({ seq: eventSeqSchema, emoji: z.string(), on: z.boolean(), clientId: z.string() }),
  /** Version 1.3, canvas streams: one person's change to the board, its ops applied together. */
  "canvas.ops": z.object({ ops: canvasOpsSchema, clientId: z.string() }),
  "room.created": z.object({ roomId, name: z.string() }),
  "member.joined": z.object({ roomId }),
  /** Version 1.7, user streams: the actor added this person to the private room `roomId`, named `name`. */
  "member.added": z.object({ roomId, name: z.string() }),
  /** Version 1.7, user streams: the actor removed this person from the private room `roomId` (or they left it). */
  "member.removed": z.object({ roomId }),
  "message.posted": z.object({ roomId, seq: eventSeqSchema, preview: z.string() }),
  /**
   * Version 1.13, private rooms' streams: who came and went. The actor `added` or `removed` the
   * person `userId` (named `name` then), or that person `left`.
   */
  membership: z.object({ userId: z.string(), name: z.string(), change: z.enum(["added", "removed", "left"]) }),
  mention: z.object({ roomId, seq: eventSeqSchema, preview: z.string() }),
  /** Version 1.2, user streams: someone replied to this person's message (`seq` is the reply). */
  reply: z.object({ roomId, seq: eventSeqSchema, preview: z.string() }),
  /**
   * Version 1.18, the feed and user streams: the message `seq` of `roomId` was edited and now
   * reads `preview`, or deleted (`""`); told wherever a preview stands for it.
   */
  "message.changed": z.object({ roomId, seq: eventSeqSchema, preview: z.string() }),
};
export type EventType = keyof typeof eventDataSchemas;
export type EventDataByType = { [T in EventType]: z.infer<(typeof eventDataSchemas)[T]> };

function eventSchema<T extends EventType>(type: T) {
  return z.object({
    stream: streamNameSchema,
    seq: eventSeqSchema,
    type: z.literal(type),
    actor: actorSchema,
    at: z.iso.datetime(),
    data: eventDataSchemas[type],
  });
}

export const realtimeEventSchema = z.discriminatedUnion("type", [
  eventSchema("message"),
  eventSchema("message.edited"),
  eventSchema("message.deleted"),
  eventSchema("reaction"),
  eventSchema("canvas.ops"),
  eventSchema("room.created"),
  eventSchema("member.joined"),
  eventSchema("member.added"),
  eventSchema("member.removed"),
  eventSchema("message.posted"),
  eventSchema("membership"),
  eventSchema("mention"),
  eventSchema("reply"),
  eventSchema("message.changed"),
]);
export type RealtimeEvent = z.infer<typeof realtimeEventSchema>;

/** Whether `type` is an event type this version knows. */
export function isKnownEventType(type: string): type is EventType {
  return Object.hasOwn(eventDataSchemas, type);
}

/**
 * A list of events as a client reads it: those of types it knows, each checked; the others
 * skipped, as PROTOCOL.md asks of clients ("clients ignore event types they do not know"). A
 * list read strictly would refuse a whole long-poll answer or history page for one event of a
 * type added after the client was loaded (a tab open across a deploy), and a poller refused its
 * answer asks again from the same cursor, for the same answer, for ever.
 */
export const knownEventsSchema = z
  .array(z.looseObject({ type: z.string() }))
  .transform((events) => events.filter((e) => isKnownEventType(e.type)))
  .pipe(z.array(realtimeEventSchema));
