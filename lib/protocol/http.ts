// HTTP: request bodies, and the answers the pages check as the realtime client checks frames.
import { z } from "./zod";
import { MAX_FRAME_BYTES } from "./limits";
import { actorSchema, clientIdSchema, parseCursor, roomId, roomNameSchema, seqSchema, streamNameSchema, userNameSchema, userSchema } from "./streams";
import { knownEventsSchema, realtimeEventSchema } from "./events";
import { emojiSchema, mentionIdsSchema, unit } from "./client-frames";
import { cursorMapSchema, serverFrameSchema } from "./server-frames";
import { boardPointSchema } from "./canvas";

/** `POST /api/session`: a guest's name (version 1), or (1.2) an account's username and password. */
export const sessionBodySchema = z.object({ name: userNameSchema });
export const accountSignInBodySchema = z.object({ username: z.string().max(64), password: z.string().max(1024) });
/** Usernames: 3–32 of a–z, 0–9, `_`, `.`, `-`; unique whatever their case. */
export const usernameSchema = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9_.-]{3,32}$/, "Usernames are 3–32 letters, digits, '_', '.' or '-'"));
export const passwordSchema = z
  .string()
  .min(8, "Passwords are at least 8 characters")
  .max(1024, "Passwords are at most 1024 characters");
/** Version 1.2: `POST /api/account/password`. */
export const changePasswordBodySchema = z.object({ current: z.string().max(1024), password: z.string() });
/** `PATCH /api/account` (1.9): a new display name, checked as a guest's name is. */
export const renameBodySchema = z.object({ name: z.string().max(1024) });
/**
 * Version 1.2: `GET /api/sessions`, the caller's signed-in devices, newest first. 1.9 adds
 * `lastSeenAt` (absent from an earlier server: read `createdAt`).
 */
export const sessionsAnswerSchema = z.object({
  sessions: z.array(
    z.object({
      id: z.string(),
      createdAt: z.iso.datetime(),
      expiresAt: z.iso.datetime(),
      lastSeenAt: z.iso.datetime().optional(),
      userAgent: z.string().nullable(),
      current: z.boolean(),
    }),
  ),
});
export type SessionsAnswer = z.infer<typeof sessionsAnswerSchema>;
/** Version 1.2: `POST /api/account`; `name` defaults to the username. */
export const createAccountBodySchema = z.object({ username: z.string(), password: z.string(), name: z.string().optional() });
export const createRoomBodySchema = z.object({ name: roomNameSchema, visibility: z.enum(["public", "private"]).optional() });
/** Version 1.2: `POST /api/rooms/:id/members` and `POST /api/dms`. */
export const userIdBodySchema = z.object({ userId: z.string().min(1).max(64) });
export const postMessageBodySchema = z.object({
  text: z.string(),
  clientId: clientIdSchema,
  replyTo: z.number().int().min(1).optional(),
  mentions: mentionIdsSchema.optional(),
});
/** Version 1.2: `PATCH /api/rooms/:id/messages/:seq`. */
export const editMessageBodySchema = z.object({ text: z.string(), clientId: clientIdSchema, mentions: mentionIdsSchema.optional() });
/** Version 1.2: `DELETE /api/rooms/:id/messages/:seq`. */
export const deleteMessageBodySchema = z.object({ clientId: clientIdSchema });
/** Version 1.2: `POST /api/rooms/:id/messages/:seq/reactions`. */
export const reactBodySchema = z.object({ emoji: emojiSchema, on: z.boolean(), clientId: clientIdSchema });
// Both null: the pointer left the canvas (the long-poll client's `x: null, y: null` frame).
export const cursorBodySchema = z
  .object({ x: unit.nullable(), y: unit.nullable(), board: boardPointSchema.optional() })
  .refine((b) => (b.x === null) === (b.y === null), "x and y are both numbers or both null");
export const readBodySchema = z.object({ seq: z.number().int().min(0) });
/** `POST /api/rooms/:id/read`; `unread` (1.11): the position is set to `seq`, back or forward. */
export const roomReadBodySchema = readBodySchema.extend({ unread: z.literal(true).optional() });

/**
 * A long-polling page's id (`conn`): any value the client picks, the same on its polls and its
 * batches. Limits and presence are per page, as they are per WebSocket.
 */
export const connIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "conn is 1–64 letters, digits, '-' or '_'");
/** Frames in one `POST /api/poll/frames`; each is held to MAX_FRAME_BYTES, as on a WebSocket. */
export const MAX_POLL_BATCH_FRAMES = 50;
/** The body of one batch: what one WebSocket may have waiting to be handled (1 MiB). */
export const MAX_POLL_BATCH_BYTES = 1024 * 1024;
/**
 * `POST /api/poll/frames[?conn=<page>]`: client frames, each checked on its own (a bad one is
 * answered with its error, the others go on). `conn` in the query or here.
 */
export const pollFramesBodySchema = z.object({
  frames: z.array(z.unknown()).max(MAX_POLL_BATCH_FRAMES, `At most ${MAX_POLL_BATCH_FRAMES} frames in a batch`),
  conn: connIdSchema.optional(),
});

// ---------------------------------------------------------------------------
// Answers over HTTP (the stores check them as the realtime client checks frames)

export const roomInfoSchema = z.object({
  id: roomId,
  name: z.string(),
  createdAt: z.iso.datetime(),
  head: seqSchema,
  /** Version 1.2: how far the caller has read the room (0: never). */
  readSeq: seqSchema.optional(),
  /** Version 1.2: messages by others after `readSeq`, counted up to UNREAD_COUNT_CAP. */
  unread: z.number().int().min(0).optional(),
  /** Version 1.8: the caller joined (or read) the room, so its new messages by others are unread. */
  joined: z.literal(true).optional(),
  /** Version 1.2: a private room (or a direct message), which only its members see. */
  private: z.literal(true).optional(),
  /** Version 1.6: a direct message (private too): two people, no one added. */
  direct: z.literal(true).optional(),
  /** Version 1.8: a direct message's other person, for the one asking; the room is named after them. */
  with: actorSchema.optional(),
  /** Version 1.12: the caller muted the room: its messages are not news to them. */
  muted: z.literal(true).optional(),
});
export type RoomInfo = z.infer<typeof roomInfoSchema>;
/** `GET`/`POST /api/session`. */
export const sessionAnswerSchema = z.object({ user: userSchema });
/** `GET /api/session?optional=1` (version 1.8): no session is `{"user":null}`, not a 401. */
export const optionalSessionAnswerSchema = z.object({ user: userSchema.nullable() });
/**
 * `GET /api/rooms?limit=&after=&q=`: a page of rooms; `next` is the `after` of the following
 * page, null on the last (absent from a version 1 server, which answers every room at once).
 */
export const roomsAnswerSchema = z.object({ rooms: z.array(roomInfoSchema), next: z.string().nullable().optional() });
export type RoomsAnswer = z.infer<typeof roomsAnswerSchema>;
/** `POST /api/rooms`. */
export const roomAnswerSchema = z.object({ room: roomInfoSchema });
/**
 * A page of a stream's history, ascending (`/api/rooms/:id/events`, `/api/feed`). Version 1.10
 * adds `people`: the names the people of the page go by now (absent from an earlier server).
 */
export const eventsPageSchema = z.object({ events: knownEventsSchema, hasMore: z.boolean(), people: z.array(actorSchema).optional() });
/** `GET /api/notifications`: the newest mentions, ascending, and the read marker (and 1.10's `people`). */
export const notificationsAnswerSchema = z.object({ events: knownEventsSchema, readSeq: seqSchema, people: z.array(actorSchema).optional() });

/**
 * `GET /api/rooms/:id/members`: a private room's members; version 1.6 adds who made it (who may
 * remove others) and whether it is a direct message (no one is added or removed by another).
 */
export const membersAnswerSchema = z.object({ members: z.array(userSchema), createdBy: z.string().nullable().optional(), direct: z.literal(true).optional() });
export type MembersAnswer = z.infer<typeof membersAnswerSchema>;

export const roomStateSchema = z.object({ members: z.array(userSchema), typing: z.array(actorSchema), cursors: cursorMapSchema });
export type RoomState = z.infer<typeof roomStateSchema>;

export const pollAnswerSchema = z.object({
  events: knownEventsSchema,
  cursor: z.string().refine((c) => parseCursor(c) !== null, "Not a cursor"),
  /**
   * Each polled room's ephemeral state. Always there for a version 1 poll; a 1.3 poll that sent
   * the `state` of an answer gets it only when it changed since (PROTOCOL.md, 1.3).
   */
  rooms: z.record(z.string(), roomStateSchema).optional(),
  /** Streams whose position is too old to replay: reload their history. */
  resets: z.record(z.string(), seqSchema).optional(),
  /** Version 1.3: the rooms' state this answer leaves the client with, to send back as `state`. */
  state: z.string().optional(),
});
export type PollAnswer = z.infer<typeof pollAnswerSchema>;

/** The answer to `POST /api/poll/frames`: each frame's `ack`, `joined` or `error`, in order. */
export const pollFramesAnswerSchema = z.object({ frames: z.array(serverFrameSchema) });
export type PollFramesAnswer = z.infer<typeof pollFramesAnswerSchema>;

/** The answer to `POST /api/rooms/:id/messages`: the message's event, once durable. */
export const postedMessageSchema = z.object({ event: realtimeEventSchema });
export type PostedMessage = z.infer<typeof postedMessageSchema>;

// SSE messages besides events (extensions): `event: reset` and `event: read`.
export const sseResetSchema = z.object({ stream: streamNameSchema, head: seqSchema });
export type SseReset = z.infer<typeof sseResetSchema>;
export const sseReadSchema = z.object({ readSeq: seqSchema });
export type SseRead = z.infer<typeof sseReadSchema>;
/** Version 1.2: `event: room.read` — the person's read position in a room moved. */
export const sseRoomReadSchema = z.object({ room: roomId, readSeq: seqSchema, unread: z.literal(true).optional() });
export type SseRoomRead = z.infer<typeof sseRoomReadSchema>;
/** Version 1.12: `event: room.muted` — the person muted or unmuted a room. */
export const sseRoomMutedSchema = z.object({ room: roomId, muted: z.boolean() });
export type SseRoomMuted = z.infer<typeof sseRoomMutedSchema>;

/** Version 1.2: `GET /api/people?q=&room=`, the mention autocomplete's candidates. */
export const peopleAnswerSchema = z.object({ people: z.array(userSchema) });
export type PeopleAnswer = z.infer<typeof peopleAnswerSchema>;

/** `GET /api/search?q=` (version 1.7): messages with every word of `q`, newest first. */
export const searchAnswerSchema = z.object({
  results: z.array(
    z.object({
      roomId,
      seq: seqSchema,
      actor: actorSchema,
      at: z.iso.datetime(),
      /** The message's text around the first word found, on one line ("…" where cut). */
      snippet: z.string(),
    }),
  ),
});
export type SearchAnswer = z.infer<typeof searchAnswerSchema>;
export type SearchResult = SearchAnswer["results"][number];
