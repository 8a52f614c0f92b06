// Reading `?streams=` and a cursor from a request, shared by SSE and long polling.
import type { IncomingMessage } from "node:http";
import { HttpError } from "../http/respond";
import type { Workspace } from "../workspace";
import { parseCursor, parseStreamName, roomOfCanvasStream, roomOfStream, userStream, type Cursor, type StreamName, type User } from "../../lib/protocol";

const MAX_STREAMS = 20;

/** The streams a request asks for, with `user:me` resolved; another person's stream is refused. */
export async function resolveStreams(param: string | null, user: User, workspace: Workspace): Promise<StreamName[]> {
  const names = [...new Set((param ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new HttpError("bad_stream", "Name at least one stream, e.g. ?streams=feed,user:me");
  if (names.length > MAX_STREAMS) throw new HttpError("bad_stream", `At most ${MAX_STREAMS} streams per request`);
  const out = new Set<StreamName>();
  for (const name of names) {
    const stream = name === "user:me" ? userStream(user.id) : parseStreamName(name);
    if (!stream) throw new HttpError("bad_stream", `Unknown stream "${name}"; streams are room:<id>, canvas:<id>, feed and user:me`);
    if (stream.startsWith("user:") && stream !== userStream(user.id)) {
      throw new HttpError("bad_stream", "You can only read your own notifications (user:me)");
    }
    // A room's canvas (protocol 1.3) is as private as its chat.
    const room = roomOfStream(stream) ?? roomOfCanvasStream(stream);
    if (room !== null && !(await workspace.roomExists(room, user.id))) throw new HttpError("unknown_room", `There is no room "${room}"`, {}, room);
    // `user:me` and one's own `user:<id>` are one stream, read once.
    out.add(stream);
  }
  return [...out];
}

/** The resume position as sent: `Last-Event-ID` first, then `?cursor=` (of `query`). */
export function cursorText(req: IncomingMessage, query: URLSearchParams): string {
  // Node gives this header as one string (repeats joined); an empty one counts as absent.
  return req.headers["last-event-id"]?.toString() || query.get("cursor") || "";
}

/** The resume position: `Last-Event-ID` first, then `?cursor=`; `user:me` keys resolved. */
export function readCursor(req: IncomingMessage, url: URL, user: User): Cursor {
  const cursor = cursorOf(cursorText(req, url.searchParams), user);
  if (!cursor) throw new HttpError("bad_cursor", "Malformed cursor; expected stream=seq pairs joined by commas");
  return cursor;
}

/** A cursor as sent, `user:me` keys resolved to `user`'s stream; null when malformed. */
export function cursorOf(text: string, user: User): Cursor | null {
  const parsed = parseCursor(text);
  if (!parsed) return null;
  const cursor: Cursor = new Map();
  for (const [stream, seq] of parsed) cursor.set(stream === "user:me" ? userStream(user.id) : stream, seq);
  return cursor;
}
