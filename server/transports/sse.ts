// Server-Sent Events (`/api/stream`): the activity feed and notifications.
// One connection carries several streams; each event's `id` is the cursor after it, so a
// reconnect with Last-Event-ID resumes every stream exactly where it stopped.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import type { Session } from "../auth";
import type { ConnectionBudget } from "../connection-budget";
import type { EventLog } from "../eventlog";
import type { DisconnectReason, Hub, Outgoing, Subscriber } from "../hub";
import { HttpError, sendError } from "../http/respond";
import type { Logger } from "../log";
import { counterFor, type Metrics, type Tally } from "../metrics";
import type { Workspace } from "../workspace";
import { formatSse, sseChunk, sseEventWire } from "./sse-frame";
import { WriteGuard, type TooSlowReason } from "./slow-consumer";
import { readCursor, resolveStreams } from "./streams";
import { TickCork } from "./tick-cork";
import {
  canvasStream,
  roomStream,
  formatCursor,
  SSE_PING_MS,
  SSE_RETRY_MS,
  userStream,
  type Cursor,
  type SseRead,
  type SseReset,
  type SseRoomMuted,
  type SseRoomRead,
  type StreamName,
  type User,
} from "../../lib/protocol";

export interface SseOptions {
  hub: Hub;
  log: EventLog;
  workspace: Workspace;
  logger: Logger;
  metrics?: Metrics;
  pingIntervalMs?: number;
  /**
   * Bytes a stream may have unsent before it is destroyed (the client resumes by Last-Event-ID);
   * default `MAX_BACKLOG_BYTES`. Events' bytes are shared by every stream that holds them.
   */
  maxBufferedBytes?: number;
  /** Caps on the connections a person and an address hold; none when absent. */
  budget?: ConnectionBudget;
  /** A stream whose socket has not drained for this long while bytes wait is destroyed; default `WRITE_STALL_MS`. */
  writeStallMs?: number;
  /** False once the server drains: a stream still being set up then is refused. Default: always. */
  accepting?: () => boolean;
}

export class SseTransport {
  private readonly streams = new Set<SseConnection>();
  /** The per-delivery counters, looked up once. */
  private readonly tallies: SseTallies;

  constructor(private readonly opts: SseOptions) {
    const m = opts.metrics;
    this.tallies = { events: counterFor(m?.sseEvents, ""), bytes: counterFor(m?.sseBytes, ""), encodings: counterFor(m?.sseEncodings, "") };
  }

  get size(): number {
    return this.streams.size;
  }

  /** Bytes written to the open streams that their readers have not taken yet (held in this process). */
  get unsentBytes(): number {
    let n = 0;
    for (const c of this.streams) n += c.unsent;
    return n;
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, session: Session): Promise<void> {
    // Counted from the start, before any database work; the slot is free again when the
    // response closes, whichever way (ended, refused below, or the reader gone).
    const admitted = this.opts.budget?.admit("sse", req, session.user.id);
    if (admitted && !admitted.ok) {
      return sendError(res, new HttpError("too_many_connections", admitted.message), { "Retry-After": String(admitted.retryAfterS) });
    }
    if (admitted) res.once("close", () => admitted.lease.release());
    const streams = await resolveStreams(url.searchParams.get("streams"), session.user, this.opts.workspace);
    const cursor = readCursor(req, url, session.user);
    // Streams without a position start at their current head: live from now, stated in the first id.
    const missing = streams.filter((s) => !cursor.has(s));
    const heads = await this.opts.log.heads(missing);
    const position: Cursor = new Map(streams.map((s) => [s, cursor.get(s) ?? heads.get(s) ?? 0]));
    if (req.destroyed) return;
    // The drain began while this stream was being set up: it would have nothing to end it.
    if (this.opts.accepting?.() === false) {
      return sendError(res, new HttpError("unavailable", "The server is restarting; try again shortly"), { "Retry-After": "1" });
    }

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      Connection: "keep-alive",
    });
    // The headers go now: from here on the body's bytes go straight to the socket (see `SseConnection`).
    res.flushHeaders();
    const conn = new SseConnection(res, session, position, this.opts, this.tallies, () => this.streams.delete(conn));
    this.streams.add(conn);
    res.on("close", () => conn.end());
    // retry, then an id-only message: the client knows its position before any event arrives.
    conn.write(formatSse({ retry: SSE_RETRY_MS }) + formatSse({ id: formatCursor(position) }));
    try {
      await Promise.all(
        streams.map((s) =>
          this.opts.hub.subscribe(s, conn, {
            since: position.get(s)!,
            resumed: cursor.has(s),
            // A position beyond the head: the log was reset. Say so, and go on from the head.
            onStart: (head, reset) => reset && conn.reset(s, head),
          }),
        ),
      );
    } catch (err) {
      this.opts.logger.error({ err }, "SSE subscribe failed");
      conn.end();
    }
  }

  /** Ends every stream (shutdown); browsers reconnect with Last-Event-ID elsewhere. */
  drain(): void {
    for (const c of [...this.streams]) c.disconnect("draining");
  }
}

interface SseTallies {
  events: Tally | undefined;
  bytes: Tally | undefined;
  encodings: Tally | undefined;
}

/**
 * One event stream. Its body goes straight to the TCP socket, HTTP/1.1 chunks made by hand
 * (`sse-frame.ts`), so the bytes of an event are made once for every stream at the same cursor
 * and written as they are. A response that has no socket of its own yet (a request pipelined
 * behind another on its connection) writes through the response instead, framed by Node.
 */
class SseConnection implements Subscriber {
  readonly id = `sse-${randomBytes(6).toString("base64url")}`;
  readonly transport = "sse" as const;
  readonly user: User;
  readonly sessionId: string;
  private ended = false;
  private readonly ping: NodeJS.Timeout;
  /** The socket the body is written to, or null: through the response. */
  private readonly socket: Socket | null;
  /** The response is chunked (HTTP/1.1): every piece of the body is one chunk. */
  private readonly chunked: boolean;
  /** The events of one tick (a commit batch) leave in one write. */
  private readonly cork: TickCork;
  /** Destroys the stream when its reader falls too far behind or stops taking bytes. */
  private readonly guard: WriteGuard;
  /** The cursor as text, made again only when the position moved. */
  private cursorText: string | null = null;
  private readonly writePart = (part: Buffer): void => {
    this.tallies.bytes?.inc(part.length);
    if (this.socket) this.socket.write(part);
    else this.res.write(part);
  };

  constructor(
    private readonly res: ServerResponse,
    session: Session,
    private readonly position: Cursor,
    private readonly opts: SseOptions,
    private readonly tallies: SseTallies,
    private readonly onGone: () => void,
  ) {
    this.user = session.user;
    this.sessionId = session.id;
    // Its headers were flushed just before (`handle`): the body may go straight to the socket.
    const socket = res.socket as Socket | null;
    this.socket = socket;
    this.chunked = socket !== null && res.chunkedEncoding;
    const corked = socket ?? res;
    this.cork = new TickCork(corked);
    this.guard = new WriteGuard(socket ?? (res.req.socket as Socket), {
      // Counted with the bytes held for this tick (corked), not yet the socket's.
      backlog: () => corked.writableLength,
      flush: () => this.cork.flush(),
      maxBytes: opts.maxBufferedBytes,
      stallMs: opts.writeStallMs,
      onTooSlow: (reason) => this.tooSlow(reason),
    });
    opts.hub.register(this);
    this.ping = setInterval(() => this.write(": ping\n\n"), opts.pingIntervalMs ?? SSE_PING_MS);
    this.ping.unref();
  }

  /** Unsent bytes this stream holds. */
  get unsent(): number {
    return this.guard.backlog;
  }

  /**
   * The event's message made once for every stream at this cursor (`sseEventWire`): a stream
   * of the same set writes the same Buffer, one of another set its own `id:` line and then the
   * shared bulk, and a backlog of stalled streams holds one copy of each event between them.
   */
  onEvent(stream: string, out: Outgoing): void {
    if (this.ended) return;
    this.position.set(stream, out.seq);
    this.cursorText = null;
    this.tallies.events?.inc();
    this.cork.hold();
    const wire = out.encoded(sseEventWire);
    // One stream: its cursor is the event's own position, the same for every such stream.
    const cursor = this.position.size === 1 ? wire.aloneCursor : this.cursor();
    wire.writeTo(cursor, this.chunked, this.writePart, this.tallies.encodings);
    this.guard.check();
  }

  private cursor(): string {
    return (this.cursorText ??= formatCursor(this.position));
  }

  reset(stream: StreamName, head: number): void {
    this.position.set(stream, head);
    this.cursorText = null;
    const reset: SseReset = { stream, head };
    this.write(formatSse({ id: formatCursor(this.position), event: "reset", data: JSON.stringify(reset) }));
  }

  /** `event: read` without an id: the position in the streams does not move. */
  onRead(readSeq: number): void {
    if (!this.position.has(userStream(this.user.id))) return;
    const read: SseRead = { readSeq };
    this.write(formatSse({ event: "read", data: JSON.stringify(read) }));
  }

  /** `event: room.read` (protocol 1.2), on streams carrying the person's own, like `read`. */
  onRoomRead(room: string, readSeq: number, markedUnread: boolean): void {
    if (!this.position.has(userStream(this.user.id))) return;
    const read: SseRoomRead = { room, readSeq, ...(markedUnread ? { unread: true as const } : {}) };
    this.write(formatSse({ event: "room.read", data: JSON.stringify(read) }));
  }

  /** `event: room.muted` (protocol 1.12), on streams carrying the person's own, like `room.read`. */
  onMuted(room: string, muted: boolean): void {
    if (!this.position.has(userStream(this.user.id))) return;
    const change: SseRoomMuted = { room, muted };
    this.write(formatSse({ event: "room.muted", data: JSON.stringify(change) }));
  }

  /** Removed from a private room this stream carries: `event: removed`, then the stream ends. */
  onRemoved(room: string): void {
    // The room's canvas is the room's too: a stream carrying either ends.
    if (!this.position.has(roomStream(room)) && !this.position.has(canvasStream(room))) return;
    this.write(formatSse({ event: "removed", data: JSON.stringify({ room }) }));
    this.end();
  }

  /** The hub cannot keep this stream in order: it ends, and the client resumes from the log. */
  onLagged(): void {
    this.opts.metrics?.slowConsumerCloses.inc({ transport: "sse", reason: "lagged" });
    this.end();
  }

  /**
   * SSE has no close codes: every reason ends the stream, and the browser reconnects with its
   * Last-Event-ID (signed out, it is refused 401 then; too slow, the guard destroys what stalls).
   */
  disconnect(_reason: DisconnectReason): void {
    this.end();
  }

  /** Writes one message of this stream's own, then checks the stream is keeping up. */
  write(text: string): void {
    if (this.ended) return;
    this.cork.hold();
    // Through the response (no socket of its own), `chunked` is false: the text as it is.
    this.writePart(sseChunk(text, this.chunked));
    this.guard.check();
  }

  private tooSlow(reason: TooSlowReason): void {
    this.opts.metrics?.slowConsumerCloses.inc({ transport: "sse", reason });
    this.end(true);
  }

  /**
   * Ends the stream. An ended stream's last bytes may still wait for its reader: the guard keeps
   * watching, and destroys it if they stall. `destroying`: the socket is being destroyed, so
   * nothing more is written to it.
   */
  end(destroying = false): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ping);
    this.opts.hub.unregister(this);
    if (!destroying && !this.res.destroyed) {
      this.res.end();
      this.guard.check();
    }
    this.onGone();
  }
}
