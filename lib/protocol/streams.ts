// Identity, names, stream names and positions: who acts, where events live, and how a
// reader says how far it has read (a cursor).
import { INVISIBLE } from "../names";
import { MAX_MESSAGE_CHARS } from "./limits";
import { z } from "./zod";

/** `guest: true` (version 1.2): a person without an account, shown with a guest mark. */
export const userSchema = z.object({ id: z.string(), name: z.string(), color: z.string(), guest: z.literal(true).optional() });
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
export const storable = (what: string) => [isStorableText, `${what} must not contain NUL characters or unpaired surrogates`] as const;

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
  .refine((s) => !INVISIBLE.test(s), "Name must not contain invisible characters")
  .transform((s) => s.trim())
  .pipe(z.string().min(1, "Name must not be empty").max(32, "Name must be at most 32 characters"));

export const roomNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,40}$/, "Room names are 1–40 letters, digits, '-' or '_'");

export const messageTextSchema = z
  .string()
  .refine(...storable("Message"))
  .refine((s) => s.trim().length >= 1, "Message must not be empty")
  .refine((s) => s.trim().length <= MAX_MESSAGE_CHARS, `Message must be at most ${MAX_MESSAGE_CHARS} characters`)
  .transform((s) => s.trim());

export const clientIdSchema = z.string().min(1).max(64).refine(...storable("clientId"));

/** Version 1.3: `canvas:<roomId>`, a room's canvas operations, beside its chat. */
export type StreamName = `room:${string}` | "feed" | `user:${string}` | `canvas:${string}`;

export const roomStream = (roomId: string): StreamName => `room:${roomId}`;
export const canvasStream = (roomId: string): StreamName => `canvas:${roomId}`;
export const userStream = (userId: string): StreamName => `user:${userId}`;

/** Parses a stream name as it appears on the wire; `user:me` stays as written. */
export function parseStreamName(s: string): StreamName | null {
  if (s === "feed") return "feed";
  const m = /^(room|user|canvas):([A-Za-z0-9_-]{1,64})$/.exec(s);
  if (!m) return null;
  return s as StreamName;
}

export const streamNameSchema = z.custom<StreamName>((s) => typeof s === "string" && parseStreamName(s) !== null, "Not a stream name");

export function roomOfStream(stream: string): string | null {
  return stream.startsWith("room:") ? stream.slice(5) : null;
}

/** The room whose canvas a `canvas:<roomId>` stream holds (version 1.3); null for other streams. */
export function roomOfCanvasStream(stream: string): string | null {
  return stream.startsWith("canvas:") ? stream.slice(7) : null;
}

/**
 * A room id as the server makes them (a room name, lower-cased) and as a stream name holds it.
 * Checked at the edge, so a NUL or a path can never reach a database query.
 */
export const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const isRoomId = (s: string): boolean => ROOM_ID.test(s);
export const roomId = z.string().regex(ROOM_ID, "Not a room id");
/** A position in a stream: seq 0 is "before the first event". */
export const seqSchema = z.number().int().min(0);
/** An event's own seq: they start at 1. */
export const eventSeqSchema = z.number().int().min(1);

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
