// Server-Sent Events (`/api/stream`): the activity feed and notifications.
// One connection carries several streams; each event's `id` is the cursor after it, so a
// reconnect with Last-Event-ID resumes every stream exactly where it stopped.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import type { Session } from "../auth";
import type { ConnectionBudget } from "../connection-budget";
import type { EventLog } from "../eventlog";
import type { Hub, Outgoing, Subscriber } from "../hub";
import { HttpError, sendError } from "../http/respond";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";
import type { Workspace } from "../workspace";
import { readCursor, resolveStreams } from "./streams";
import { TickCork } from "./tick-cork";
import {
  formatCursor,
  SSE_PING_MS,
  SSE_RETRY_MS,
  userStream,
  type Cursor,
  type SseRead,
  type SseReset,
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
  /** Bytes a stream may have unsent before it is ended (the client resumes by Last-Event-ID). */
  maxBufferedBytes?: number;
  /** Caps on the connections a person and an address hold; none when absent. */
  budget?: ConnectionBudget;
}

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
}

/** One SSE message, framed per the spec: multi-line data split, CR/LF refused in id and event. */
export function formatSse(msg: SseMessage): string {
  let out = "";
  if (msg.retry !== undefined) out += `retry: ${Math.floor(msg.retry)}\n`;
  if (msg.id !== undefined) {
    if (/[\r\n\0]/.test(msg.id)) throw new Error("SSE id must not contain CR, LF or NUL");
    out += `id: ${msg.id}\n`;
  }
  if (msg.event !== undefined) {
    if (/[\r\n]/.test(msg.event)) throw new Error("SSE event name must not contain CR or LF");
    out += `event: ${msg.event}\n`;
  }
  if (msg.data !== undefined) for (const line of msg.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

export class SseTransport {
  private readonly streams = new Set<SseConnection>();

  constructor(private readonly opts: SseOptions) {}

  get size(): number {
    return this.streams.size;
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

    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
      Connection: "keep-alive",
    });
    const conn = new SseConnection(res, session, position, this.opts, () => this.streams.delete(conn));
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
    for (const c of [...this.streams]) c.end();
  }
}

class SseConnection implements Subscriber {
  readonly id = `sse-${randomBytes(6).toString("base64url")}`;
  readonly transport = "sse" as const;
  readonly user: User;
  readonly sessionId: string;
  private ended = false;
  private readonly ping: NodeJS.Timeout;
  /** The events of one tick (a commit batch) leave in one write. */
  private readonly cork: TickCork;

  constructor(
    private readonly res: ServerResponse,
    session: Session,
    private readonly position: Cursor,
    private readonly opts: SseOptions,
    private readonly onGone: () => void,
  ) {
    this.user = session.user;
    this.sessionId = session.id;
    this.cork = new TickCork(res);
    opts.hub.register(this);
    this.ping = setInterval(() => this.write(": ping\n\n"), opts.pingIntervalMs ?? SSE_PING_MS);
    this.ping.unref();
  }

  onEvent(stream: string, out: Outgoing): void {
    this.position.set(stream, out.seq);
    this.opts.metrics?.sseEvents.inc();
    this.write(formatSse({ id: formatCursor(this.position), event: out.event.type, data: out.json }));
  }

  reset(stream: StreamName, head: number): void {
    this.position.set(stream, head);
    const reset: SseReset = { stream, head };
    this.write(formatSse({ id: formatCursor(this.position), event: "reset", data: JSON.stringify(reset) }));
  }

  /** `event: read` without an id: the position in the streams does not move. */
  onRead(readSeq: number): void {
    if (!this.position.has(userStream(this.user.id))) return;
    const read: SseRead = { readSeq };
    this.write(formatSse({ event: "read", data: JSON.stringify(read) }));
  }

  onLagged(): void {
    this.opts.metrics?.slowConsumerCloses.inc({ transport: "sse" });
    this.end();
  }

  disconnect(): void {
    this.end();
  }

  write(text: string): void {
    if (this.ended) return;
    this.opts.metrics?.sseBytes.inc(Buffer.byteLength(text));
    this.cork.hold();
    this.res.write(text);
    // A reader that stopped reading: end the stream rather than buffer without bound.
    const bound = this.opts.maxBufferedBytes ?? 1024 * 1024;
    if (this.res.writableLength > bound) {
      this.cork.flush();
      if (this.res.writableLength > bound) this.onLagged();
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.ping);
    this.opts.hub.unregister(this);
    this.res.end();
    this.onGone();
  }
}
