// Events: everything durable, each in a stream with a gapless seq (PROTOCOL.md, "The event log").
import { z } from "./zod";
import { actorSchema, eventSeqSchema, roomId, streamNameSchema } from "./streams";

/** The `data` of each event type (PROTOCOL.md, "The event log"). */
export const eventDataSchemas = {
  message: z.object({ text: z.string(), clientId: z.string() }),
  "room.created": z.object({ roomId, name: z.string() }),
  "member.joined": z.object({ roomId }),
  "message.posted": z.object({ roomId, seq: eventSeqSchema, preview: z.string() }),
  mention: z.object({ roomId, seq: eventSeqSchema, preview: z.string() }),
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
  eventSchema("room.created"),
  eventSchema("member.joined"),
  eventSchema("message.posted"),
  eventSchema("mention"),
]);
export type RealtimeEvent = z.infer<typeof realtimeEventSchema>;
