// The wire contract (PROTOCOL.md, versions 1 and 1.1) as types and runtime schemas.
// Imported by the server and the browser client alike: one definition of every frame.
import { z } from "zod";

// In the browser the pages run under a CSP without 'unsafe-eval' (proxy.ts): zod's compiled
// parsers (`new Function`) are not allowed there, and merely probing for them reports a CSP
// violation. The plain parsers give the same answers.
if (typeof window !== "undefined") z.config({ jitless: true });

/** Version 1 of the WebSocket subprotocol: presence as full member lists. */
export const PROTOCOL_VERSION = "rt.v1";
/** Version 1.1: presence as a full list on `joined`, then `presence_diff` frames. */
export const PROTOCOL_VERSION_1_1 = "rt.v1.1";
/** The subprotocols a client offers, preferred first; a v1 server selects the `rt.v1` after it. */
export const OFFERED_PROTOCOLS = [PROTOCOL_VERSION_1_1, PROTOCOL_VERSION] as const;
export type ProtocolVersion = typeof PROTOCOL_VERSION | typeof PROTOCOL_VERSION_1_1;
export const MAX_FRAME_BYTES = 64 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;
/** A `join` that missed more than this many events is told to reload instead. */
export const MAX_REPLAY = 1000;
export const TYPING_TTL_MS = 5_000;
export const TYPING_RENEW_MS = 3_000;
/** Sends the server takes per person (all their connections and HTTP together): 10 a second, bursts of 20. */
export const SEND_RATE_PER_S = 10;
export const SEND_BURST = 20;
export const CURSOR_TICK_MS = 50;
/** Rooms in a page of `GET /api/rooms` when the client names no `limit`, and the most it may. */
export const ROOM_PAGE_DEFAULT = 50;
export const ROOM_PAGE_MAX = 200;
export const PRESENCE_GRACE_MS = 3_000;
export const POLL_PRESENCE_TTL_MS = 35_000;
export const POLL_MAX_WAIT_S = 25;
export const SSE_RETRY_MS = 2_000;
/** The server writes a `: ping` comment this often on an idle event stream. */
export const SSE_PING_MS = 15_000;

// ---------------------------------------------------------------------------
// Error codes: one table, shared by HTTP answers and WebSocket `error` frames.

export const ErrorCode = {
  invalid_name: 400,
  invalid_text: 400,
  invalid_body: 400,
  bad_json: 400,
  bad_frame: 400,
  bad_cursor: 400,
  bad_stream: 400,
  bad_request: 400,
  duplicate_cookie: 400,
  unauthorized: 401,
  forbidden: 403,
  forbidden_origin: 403,
  not_found: 404,
  unknown_room: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  room_exists: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_joined: 409,
  rate_limited: 429,
  too_many_rooms: 429,
  too_many_connections: 429,
  overloaded: 503,
  unavailable: 503,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof ErrorCode;

// Object.keys loses the key type; the object literal above is the one list of codes.
export const errorCodeSchema = z.enum(Object.keys(ErrorCode) as [ErrorCode, ...ErrorCode[]]);

export const errorBodySchema = z.object({ error: z.object({ code: errorCodeSchema, message: z.string() }) });
export type ErrorBody = z.infer<typeof errorBodySchema>;

// ---------------------------------------------------------------------------
// Identity and streams

export const userSchema = z.object({ id: z.string(), name: z.string(), color: z.string() });
export type User = z.infer<typeof userSchema>;
export const actorSchema = userSchema.pick({ id: true, name: true });
export type Actor = z.infer<typeof actorSchema>;

/**
 * NUL and unpaired UTF-16 surrogates: valid in a JavaScript string (JSON's `\u0000`, `\ud800`),
 * but Postgres refuses them in jsonb and text. Refused at the boundary with the field's code,
 * so one bad append never reaches the log.
 */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}
const storable = (what: string) => [isStorableText, `${what} must not contain NUL characters or unpaired surrogates`] as const;

/**
 * Bidirectional formatting controls (embeddings, overrides, isolates, marks). In a name they
 * would reorder the text shown after it ("Eve\u202E" turns the rest of a feed line around), so
 * names refuse them; the UI also isolates every name in `<bdi>`.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;

export const userNameSchema = z
  .string()
  .refine(...storable("Name"))
  .refine((s) => !BIDI_CONTROLS.test(s), "Name must not contain bidirectional control characters")
  .transform((s) => s.trim())
  .pipe(z.string().min(1, "Name must not be empty").max(32, "Name must be at most 32 characters"));

export const roomNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,40}$/, "Room names are 1–40 letters, digits, '-' or '_'");

export const messageTextSchema = z
  .string()
  .refine(...storable("Message"))
  .refine((s) => s.trim().length >= 1, "Message must not be empty")
  .refine((s) => s.trim().length <= 4000, "Message must be at most 4000 characters")
  .transform((s) => s.trim());

export const clientIdSchema = z.string().min(1).max(64).refine(...storable("clientId"));

export type StreamName = `room:${string}` | "feed" | `user:${string}`;

export const roomStream = (roomId: string): StreamName => `room:${roomId}`;
export const userStream = (userId: string): StreamName => `user:${userId}`;

/** Parses a stream name as it appears on the wire; `user:me` stays as written. */
export function parseStreamName(s: string): StreamName | null {
  if (s === "feed") return "feed";
  const m = /^(room|user):([A-Za-z0-9_-]{1,64})$/.exec(s);
  if (!m) return null;
  return s as StreamName;
}

export const streamNameSchema = z.custom<StreamName>((s) => typeof s === "string" && parseStreamName(s) !== null, "Not a stream name");

export function roomOfStream(stream: string): string | null {
  return stream.startsWith("room:") ? stream.slice(5) : null;
}

// ---------------------------------------------------------------------------
// Events

/**
 * A room id as the server makes them (a room name, lower-cased) and as a stream name holds it.
 * Checked at the edge, so a NUL or a path can never reach a database query.
 */
export const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const isRoomId = (s: string): boolean => ROOM_ID.test(s);
const roomId = z.string().regex(ROOM_ID, "Not a room id");
/** A position in a stream: seq 0 is "before the first event". */
const seqSchema = z.number().int().min(0);
/** An event's own seq: they start at 1. */
const eventSeqSchema = z.number().int().min(1);

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

export const PREVIEW_CHARS = 140;
export function previewOf(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= PREVIEW_CHARS ? flat : `${flat.slice(0, PREVIEW_CHARS - 1)}…`;
}

/** Display names are up to 32 characters and may hold spaces, so a mention may run to four words. */
const MENTION = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}_.-]+(?: [\p{L}\p{N}_.-]+){0,3})/gu;

/**
 * The names each `@` in a message may stand for, lower-cased, longest first: "@Ada Lovelace,
 * hi" → [["ada lovelace", "ada"]]. The server mentions the longest that is someone's name.
 */
export function mentionCandidates(text: string): string[][] {
  const groups: string[][] = [];
  for (const m of text.matchAll(MENTION)) {
    const words = m[2]!.split(" ");
    const names: string[] = [];
    for (let n = words.length; n >= 1; n--) {
      const name = words.slice(0, n).join(" ").replace(/[.-]+$/, "").toLowerCase();
      if (name && name.length <= 32 && !names.includes(name)) names.push(name);
    }
    if (names.length > 0) groups.push(names);
  }
  return groups;
}

/**
 * The text in pieces, mentions marked, for display: a mention runs to the longest of its
 * candidate names found in `known` (lower-cased names), else to its first word.
 */
export function mentionSpans(text: string, known: ReadonlySet<string>): Array<{ text: string; mention: boolean }> {
  const spans: Array<{ text: string; mention: boolean }> = [];
  let at = 0;
  for (const m of text.matchAll(MENTION)) {
    const start = m.index + m[1]!.length;
    const words = m[2]!.split(" ");
    let name = "";
    for (let n = words.length; n >= 1 && !name; n--) {
      const candidate = words.slice(0, n).join(" ").replace(/[.-]+$/, "");
      if (n === 1 || known.has(candidate.toLowerCase())) name = candidate;
    }
    if (!name) continue;
    if (start > at) spans.push({ text: text.slice(at, start), mention: false });
    spans.push({ text: `@${name}`, mention: true });
    at = start + 1 + name.length;
  }
  if (at < text.length) spans.push({ text: text.slice(at), mention: false });
  return spans;
}

// ---------------------------------------------------------------------------
// Cursors: `stream=seq` pairs joined by `,` — the SSE id, Last-Event-ID and long-poll cursor.

export type Cursor = Map<string, number>;

export function formatCursor(cursor: Cursor): string {
  return [...cursor].map(([stream, seq]) => `${stream}=${seq}`).join(",");
}

/** Parses a cursor; `null` when malformed. An empty string is the empty cursor. */
export function parseCursor(text: string): Cursor | null {
  const cursor: Cursor = new Map();
  if (text.trim() === "") return cursor;
  for (const part of text.split(",")) {
    const eq = part.lastIndexOf("=");
    if (eq <= 0) return null;
    const stream = part.slice(0, eq).trim();
    const seqText = part.slice(eq + 1).trim();
    if (!parseStreamName(stream) || !/^\d{1,15}$/.test(seqText)) return null;
    cursor.set(stream, Number(seqText));
  }
  return cursor;
}

// ---------------------------------------------------------------------------
// WebSocket frames, client → server

const unit = z.number().finite().min(0).max(1);

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

// ---------------------------------------------------------------------------
// WebSocket frames, server → client

// Validated by the client before anything acts on them (lib/realtime/decode.ts); the server
// builds its frames as these types, so it cannot send one the client would drop.

export const cursorStateSchema = z.object({ x: unit, y: unit, name: z.string(), color: z.string() });
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

export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  restarting: 1012,
  tooSlow: 1013,
  sessionInvalid: 4401,
} as const;

// ---------------------------------------------------------------------------
// HTTP bodies

export const sessionBodySchema = z.object({ name: userNameSchema });
export const createRoomBodySchema = z.object({ name: roomNameSchema });
export const postMessageBodySchema = z.object({ text: z.string(), clientId: clientIdSchema });
// Both null: the pointer left the canvas (the long-poll client's `x: null, y: null` frame).
export const cursorBodySchema = z
  .object({ x: unit.nullable(), y: unit.nullable() })
  .refine((b) => (b.x === null) === (b.y === null), "x and y are both numbers or both null");
export const readBodySchema = z.object({ seq: z.number().int().min(0) });

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

export const roomInfoSchema = z.object({ id: roomId, name: z.string(), createdAt: z.iso.datetime(), head: seqSchema });
export type RoomInfo = z.infer<typeof roomInfoSchema>;
/** `GET`/`POST /api/session`. */
export const sessionAnswerSchema = z.object({ user: userSchema });
/**
 * `GET /api/rooms?limit=&after=&q=`: a page of rooms; `next` is the `after` of the following
 * page, null on the last (absent from a version 1 server, which answers every room at once).
 */
export const roomsAnswerSchema = z.object({ rooms: z.array(roomInfoSchema), next: z.string().nullable().optional() });
export type RoomsAnswer = z.infer<typeof roomsAnswerSchema>;
/** `POST /api/rooms`. */
export const roomAnswerSchema = z.object({ room: roomInfoSchema });
/** A page of a stream's history, ascending (`/api/rooms/:id/events`, `/api/feed`). */
export const eventsPageSchema = z.object({ events: z.array(realtimeEventSchema), hasMore: z.boolean() });
/** `GET /api/notifications`: the newest mentions, ascending, and the read marker. */
export const notificationsAnswerSchema = z.object({ events: z.array(realtimeEventSchema), readSeq: seqSchema });

export const roomStateSchema = z.object({ members: z.array(userSchema), typing: z.array(actorSchema), cursors: cursorMapSchema });
export type RoomState = z.infer<typeof roomStateSchema>;

export const pollAnswerSchema = z.object({
  events: z.array(realtimeEventSchema),
  cursor: z.string().refine((c) => parseCursor(c) !== null, "Not a cursor"),
  rooms: z.record(z.string(), roomStateSchema),
  /** Streams whose position is too old to replay: reload their history. */
  resets: z.record(z.string(), seqSchema).optional(),
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

// ---------------------------------------------------------------------------
// The ops page's summary of one instance (`GET /api/ops`)

/**
 * A latency quantile read from histogram buckets: `ms` is the upper bound of the bucket it falls
 * in. `over` means it lies past the highest bound — then `ms` is that bound and the latency is
 * more (the page shows "> 2500 ms"), which is when it matters most.
 */
export const latencyQuantileSchema = z.object({ ms: z.number(), over: z.boolean() });
export type LatencyQuantile = z.infer<typeof latencyQuantileSchema>;

export const opsSampleSchema = z.object({
  at: z.number(),
  connections: z.object({ ws: z.number(), sse: z.number(), longpoll: z.number() }),
  /** Messages appended per second over the last interval. */
  messagesPerSec: z.number(),
  /** Durable events handed to subscribers per second. */
  deliveriesPerSec: z.number(),
  /** Null when nothing was fanned out in the interval. */
  fanoutP50: latencyQuantileSchema.nullable(),
  fanoutP99: latencyQuantileSchema.nullable(),
  /** Mean appends per group-commit batch over the last interval. */
  batchSizeMean: z.number().nullable(),
  commitP99: latencyQuantileSchema.nullable(),
  slowConsumerCloses: z.number(),
});
export type OpsSample = z.infer<typeof opsSampleSchema>;

export const opsSnapshotSchema = z.object({ instance: z.string(), uptimeS: z.number(), samples: z.array(opsSampleSchema) });
export type OpsSnapshot = z.infer<typeof opsSnapshotSchema>;
