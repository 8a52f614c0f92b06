// The WebSocket channel: carries rooms (chat, typing, presence, cursors) over `/ws`.
// It only speaks the wire; positions, the outbox and fallbacks belong to the client.
import { CloseCode, OFFERED_PROTOCOLS, serverFrameSchema, type ServerFrame } from "../protocol";
import { decode, InvalidPayload } from "./decode";
import type { WebSocketLike } from "./types";

const OPEN = 1;
/**
 * Each handshake that timed out gives the next twice as long, up to 4× the open timeout. A server
 * that everyone reconnects to at once after a restart answers handshakes late: abandoning one
 * and asking again puts the client at the back of the queue, leaves the server the work of the
 * abandoned one, and keeps the queue as long as the timeout — waiting longer is what drains it.
 */
const MAX_OPEN_TIMEOUT_DOUBLINGS = 2;

export interface WsChannelHooks {
  onOpen(): void;
  onFrame(frame: ServerFrame, bytes: number): void;
  /** A frame that is not JSON or not a frame of the protocol: dropped here. */
  onInvalidFrame(invalid: InvalidPayload, bytes: number): void;
  /** `opened`: whether the socket had opened before it closed. */
  onClose(code: number, reason: string, opened: boolean): void;
  onSend(type: string, bytes: number): void;
}

export class WsChannel {
  private socket: WebSocketLike | null = null;
  private opened = false;
  private openTimer: ReturnType<typeof setTimeout> | null = null;
  /** Handshakes timed out in a row (reset by one that opens). */
  private openTimeouts = 0;

  constructor(
    private readonly url: string,
    private readonly create: (url: string, protocols: string[]) => WebSocketLike,
    private readonly openTimeoutMs: number,
    private readonly hooks: WsChannelHooks,
  ) {}

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  get bufferedAmount(): number {
    return this.socket?.bufferedAmount ?? 0;
  }

  connect(): void {
    this.close();
    this.opened = false;
    let socket: WebSocketLike;
    try {
      // Newest first (1.2: read positions; 1.1: presence as diffs); an older server selects
      // one it knows, whose frames this client reads as well.
      socket = this.create(this.url, [...OFFERED_PROTOCOLS]);
    } catch {
      queueMicrotask(() => this.hooks.onClose(1006, "could not create socket", false));
      return;
    }
    this.socket = socket;
    // A proxy that swallows the upgrade may leave the socket hanging: give up after a while.
    // (Opening, closing and failing all clear this timer, and a socket replaced or given up
    // has its handlers taken away: what fires below is always about the current socket.)
    this.openTimer = setTimeout(() => {
      this.openTimeouts++;
      this.fail(socket, 4000, "open timed out");
    }, this.openTimeoutMs * 2 ** Math.min(this.openTimeouts, MAX_OPEN_TIMEOUT_DOUBLINGS));
    socket.onopen = () => {
      this.clearOpenTimer();
      this.openTimeouts = 0;
      this.opened = true;
      this.hooks.onOpen();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== "string") return this.hooks.onInvalidFrame(new InvalidPayload("not a text frame", undefined), 0);
      const frame = decode(serverFrameSchema, ev.data);
      if (frame instanceof InvalidPayload) this.hooks.onInvalidFrame(frame, ev.data.length);
      else this.hooks.onFrame(frame, ev.data.length);
    };
    socket.onclose = (ev) => this.fail(socket, ev.code, ev.reason);
    socket.onerror = () => {
      // A close event always follows; nothing to do here.
    };
  }

  /** Sends a frame; false when the socket is not open (the caller keeps it for later). */
  send(frame: object): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    const text = JSON.stringify(frame);
    this.socket.send(text);
    this.hooks.onSend((frame as { type?: string }).type ?? "?", text.length);
    return true;
  }

  /** Closes without reporting (a deliberate switch or stop). */
  close(): void {
    this.clearOpenTimer();
    const s = this.socket;
    this.socket = null;
    if (!s) return;
    s.onopen = s.onmessage = s.onclose = null;
    // Closing a socket that is still connecting reports an error afterwards; nobody wants it.
    s.onerror = () => {};
    try {
      s.close(CloseCode.normal, "client closing");
    } catch {
      // already closed
    }
  }

  private fail(socket: WebSocketLike, code: number, reason: string): void {
    this.clearOpenTimer();
    const opened = this.opened;
    this.socket = null;
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = () => {};
    try {
      socket.close();
    } catch {
      // already closed
    }
    this.hooks.onClose(code, reason, opened);
  }

  private clearOpenTimer(): void {
    if (this.openTimer) clearTimeout(this.openTimer);
    this.openTimer = null;
  }
}
