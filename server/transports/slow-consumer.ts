// The slow consumer on the HTTP transports (SSE streams, long-poll answers): a reader that stops
// reading leaves what is sent to it in the server's memory. The kernel's send buffer fills
// first, then Node's, without bound. Ending the response (`end()`) frees none of it: the bytes
// still wait to go, for as long as the peer keeps the connection open. So such a consumer is
// destroyed instead: its socket closed at once and what it held freed. Its client reconnects
// like after any dropped connection and resumes by Last-Event-ID or its poll cursor, so nothing
// is lost and nothing comes twice (the `id` of an event the client did not get whole never
// reached it).
import type { Socket } from "node:net";

/** Bytes a consumer may leave unsent in the server's memory before it is destroyed. */
export const MAX_BACKLOG_BYTES = 1024 * 1024;
/** A consumer whose socket asked the server to wait, and has not drained since, is destroyed after this. */
export const WRITE_STALL_MS = 30_000;

/** Why a consumer was destroyed: too much unsent, or nothing taken for too long. */
export type TooSlowReason = "backlog" | "stalled";

export interface WriteGuardOptions {
  /** Unsent bytes (what the consumer holds in this process); default: the socket's. */
  backlog?: () => number;
  /** Hands over writes held back for this tick, so they are not mistaken for a backlog. */
  flush?: () => void;
  maxBytes?: number;
  stallMs?: number;
  /** Called once, just before the socket is destroyed. */
  onTooSlow: (reason: TooSlowReason) => void;
  /** Called once the guard stops watching (the socket closed, or was destroyed). */
  onDone?: () => void;
}

/**
 * Watches one connection's writes: `check` after writing destroys it past the backlog bound,
 * and starts the write-stall clock when its socket asks the writer to wait (the stall clock
 * stops at the socket's next `drain`).
 */
export class WriteGuard {
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  private readonly maxBytes: number;

  constructor(
    private readonly socket: Socket,
    private readonly opts: WriteGuardOptions,
  ) {
    this.maxBytes = opts.maxBytes ?? MAX_BACKLOG_BYTES;
    socket.once("close", this.stop);
  }

  /** Unsent bytes held for this connection now. */
  get backlog(): number {
    return this.done ? 0 : (this.opts.backlog?.() ?? this.socket.writableLength);
  }

  /** After a write: false when the connection was destroyed for being too slow. */
  check(): boolean {
    if (this.done) return false;
    if (this.backlog > this.maxBytes) {
      this.opts.flush?.();
      if (this.backlog > this.maxBytes) return this.destroy("backlog"), false;
    }
    if (this.timer === null && this.socket.writableNeedDrain) {
      this.timer = setTimeout(() => this.destroy("stalled"), this.opts.stallMs ?? WRITE_STALL_MS);
      this.timer.unref();
      this.socket.once("drain", this.drained);
    }
    return true;
  }

  /** Closes the connection at once (no `end()`: that would keep the backlog until the peer reads it). */
  destroy(reason: TooSlowReason): void {
    if (this.done) return;
    this.stop();
    this.opts.onTooSlow(reason);
    this.socket.destroy();
  }

  private readonly drained = (): void => {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  };

  /** Stops watching (the socket closed). */
  readonly stop = (): void => {
    if (this.done) return;
    this.done = true;
    this.drained();
    this.socket.off("drain", this.drained);
    this.socket.off("close", this.stop);
    this.opts.onDone?.();
  };
}
