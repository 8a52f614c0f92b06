// The one mapping from what went wrong to the protocol's error codes, for every transport: a
// WebSocket `error` frame, a long-poll batch's answer and an HTTP error body all use it.
import { AccountError } from "../accounts";
import { CanvasError } from "../canvas";
import { DuplicateCookieError } from "../auth";
import { Prisma } from "../db/generated/client";
import { EventLogClosedError, EventLogFullError } from "../eventlog";
import { WorkspaceError } from "../workspace";
import { clientFrameSchema, clientIdSchema, roomId, type ClientFrame, type ErrorCode, type ServerFrame } from "../../lib/protocol";

export type ErrorFrame = Extract<ServerFrame, { type: "error" }>;

/** A refusal with a protocol code, thrown by a command and answered as an `error`. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The code and message of a failure the protocol names; null for an unexpected one (internal). */
export function knownError(err: unknown): { code: ErrorCode; message: string } | null {
  if (
    err instanceof CommandError ||
    err instanceof WorkspaceError ||
    err instanceof EventLogFullError ||
    err instanceof EventLogClosedError ||
    err instanceof DuplicateCookieError ||
    err instanceof AccountError ||
    err instanceof CanvasError
  ) {
    return { code: err.code, message: err.message };
  }
  // Prisma's "Unable to start a transaction in the given time": the database was busy for
  // longer than a request waits for it (server/db/database.ts#TRANSACTION_WAIT_MS).
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2028") {
    return { code: "overloaded", message: "The database is busy; try again in a moment" };
  }
  return null;
}

/** The error codes that say nothing about the frame: the server's own trouble. */
export function isServerTrouble(code: ErrorCode): boolean {
  return code === "internal" || code === "overloaded" || code === "unavailable";
}

/**
 * An `error` frame. `about` names the message (`clientId`) and the room the frame was for, so
 * a client can tell which join or send to try again.
 */
export function errorFrame(code: ErrorCode, message: string, about: { clientId?: string | undefined; room?: string | undefined } = {}): ErrorFrame {
  const frame: ErrorFrame = { type: "error", code, message };
  if (about.clientId !== undefined) frame.clientId = about.clientId;
  if (about.room !== undefined) frame.room = about.room;
  return frame;
}

/** What a frame is about, for its error: its room, and a send's `clientId`. */
export function aboutFrame(frame: ClientFrame): { clientId?: string; room: string } {
  return "clientId" in frame ? { clientId: frame.clientId, room: frame.room } : { room: frame.room };
}

/** A parsed JSON value as a client frame, or the `bad_frame` error answering it. */
export function decodeFrame(value: unknown): { frame: ClientFrame } | { error: ErrorFrame } {
  const parsed = clientFrameSchema.safeParse(value);
  if (parsed.success) return { frame: parsed.data };
  const type = (value as { type?: unknown } | null)?.type;
  const issue = parsed.error.issues[0];
  const what = `Invalid ${typeof type === "string" ? `"${type}" ` : ""}frame`;
  return { error: errorFrame("bad_frame", `${what}${issue ? `: ${issue.path.join(".") || "type"} ${issue.message}` : ""}`, aboutInvalid(value)) };
}

/**
 * The room and `clientId` of a frame that is invalid elsewhere (a `react` with no emoji in it),
 * where those two are valid: the refusal names them, so the client fails that one frame (kept
 * for Retry) instead of sending it again for good, with its others waiting behind it.
 */
function aboutInvalid(value: unknown): { clientId?: string; room?: string } {
  const { clientId, room } = (typeof value === "object" && value !== null ? value : {}) as { clientId?: unknown; room?: unknown };
  const about: { clientId?: string; room?: string } = {};
  if (clientIdSchema.safeParse(clientId).success) about.clientId = clientId as string;
  if (roomId.safeParse(room).success) about.room = room as string;
  return about;
}
