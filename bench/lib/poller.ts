// A lean long-polling client for load generation, as lean as the WebSocket and SSE ones
// (fastws.ts, sse.ts): one keep-alive TCP connection per poller, each poll a GET written as
// one string, each answer cut by its Content-Length and handed over as bytes. Callers scan the
// bytes for what they count (send-time markers); the poller reads only the answer's tail, after
// its events, for the position to poll from next. Node's http client with JSON.parse costs the
// load generator more per poll than the server spends answering it: at 500 pollers the load
// generator, not the server, would set the latency.
import net from "node:net";

export interface PollPosition {
  cursor: string;
  state?: string;
  /** The answer's `Poll-Next` ticket (protocol 1.17): the next poll names it, as the app's client does. */
  next?: string;
}

export interface LeanPollerOptions {
  host?: string;
  port: number;
  /** Headers sent with every poll (the session's cookie). */
  headers?: Record<string, string>;
  /**
   * Every answer: its status, its body (a view valid only during the call) and its `Poll-Next`
   * ticket (protocol 1.17), when it has one.
   */
  onAnswer: (status: number, body: Buffer, next: string | undefined) => void;
  /** The connection failed or closed; the poller is done. */
  onClose?: (err?: Error) => void;
}

const HEAD_END = Buffer.from("\r\n\r\n");
const POLL_NEXT = /\r\npoll-next:\s*(\S+)/i;
// The answer's top-level fields after its events (server/transports/longpoll.ts#answerJson).
const AFTER_EVENTS = Buffer.from('],"cursor":');

/** The position an answer leaves its poller at: its cursor and rooms' state token (the ticket is its header's). */
export function positionAfter(body: Buffer): PollPosition {
  const at = body.lastIndexOf(AFTER_EVENTS);
  if (at < 0) return JSON.parse(body.toString("utf8")) as PollPosition;
  return JSON.parse(`{${body.toString("utf8", at + 2)}`) as PollPosition;
}

/** One poller on its own keep-alive connection: `get(path)` sends the next poll. */
export class LeanPoller {
  private readonly sock: net.Socket;
  private readonly prefix: string;
  private readonly suffix: string;
  private buf: Buffer | null = null;
  private closed = false;

  private constructor(private readonly o: LeanPollerOptions, sock: net.Socket) {
    this.sock = sock;
    const host = o.host ?? "127.0.0.1";
    this.prefix = "GET ";
    let suffix = ` HTTP/1.1\r\nHost: ${host}:${o.port}\r\nAccept: application/json\r\n`;
    for (const [k, v] of Object.entries(o.headers ?? {})) suffix += `${k}: ${v}\r\n`;
    this.suffix = `${suffix}\r\n`;
    sock.on("data", (chunk: Buffer) => this.read(chunk));
    sock.on("error", (err) => this.close(err));
    sock.on("close", () => this.close());
  }

  static connect(o: LeanPollerOptions): Promise<LeanPoller> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: o.host ?? "127.0.0.1", port: o.port });
      sock.setNoDelay(true);
      sock.once("error", reject);
      sock.once("connect", () => {
        sock.off("error", reject);
        resolve(new LeanPoller(o, sock));
      });
    });
  }

  /** Sends one poll (path and query); its answer arrives through `onAnswer`. */
  get(path: string): void {
    if (!this.closed) this.sock.write(this.prefix + path + this.suffix);
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroy();
    this.o.onClose?.(err);
  }

  get socket(): net.Socket {
    return this.sock;
  }

  private read(chunk: Buffer): void {
    let buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const headEnd = buf.indexOf(HEAD_END);
      if (headEnd < 0) break;
      const head = buf.toString("latin1", 0, headEnd);
      const status = Number(head.slice(9, 12));
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!length) return this.close(new Error(`a poll answer without Content-Length (${head.split("\r\n")[0]})`));
      const end = headEnd + 4 + Number(length[1]);
      if (buf.length < end) break;
      this.o.onAnswer(status, buf.subarray(headEnd + 4, end), POLL_NEXT.exec(head)?.[1]);
      buf = buf.subarray(end);
    }
    this.buf = buf.length > 0 ? Buffer.from(buf) : null;
  }
}
