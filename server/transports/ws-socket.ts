// The socket a WebSocket connection speaks through. The connection's protocol logic
// (`WsConnection` in ws.ts) sees only this small interface: in production it is `ws`
// (`WsSocket`), in tests an in-memory pair that delivers frames when the test says so.
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { TickCork } from "./tick-cork";
import { frameHeaderLength, wsTextFrame } from "./ws-frame";

export interface ConnectionSocket {
  /** Frames sent now can still reach the peer (not closing or closed). */
  readonly isOpen: boolean;
  /** Bytes sent that the peer has not taken yet (what a slow reader leaves behind). */
  readonly bufferedAmount: number;
  /** Sends one text frame. */
  sendText(text: string): void;
  /**
   * Sends a whole server text frame made once for every socket (`wsTextFrame`); the frames
   * of one tick may be held and leave together.
   */
  sendFrame(frame: Buffer): void;
  /** Hands the frames held for this tick over now, so `bufferedAmount` counts only a real backlog. */
  flush(): void;
  /** Starts the closing handshake; the socket is gone for good soon after, answered or not. */
  close(code: number, reason: string): void;
  /** Drops the connection at once, with no closing handshake. */
  terminate(): void;
  ping(): void;
  /** Stops reading the peer's frames (they wait in TCP buffers) until `resumeReading`. */
  pauseReading(): void;
  resumeReading(): void;
}

const AS_TEXT = { binary: false } as const;
/** A peer that never answers the closing handshake must not hold the socket open. */
const CLOSE_TIMEOUT_MS = 2_000;

/** A `ws` WebSocket as a `ConnectionSocket`. */
export class WsSocket implements ConnectionSocket {
  /**
   * The TCP socket under `ws`, for frames made once for everyone (`sendFrame`), and its cork:
   * the frames of one tick (a commit batch's events) leave in one write.
   */
  private readonly tcp: { socket: Duplex; cork: TickCork } | undefined;

  constructor(private readonly ws: WebSocket) {
    const socket = (ws as unknown as { _socket?: Duplex })._socket;
    this.tcp = socket && { socket, cork: new TickCork(socket) };
  }

  get isOpen(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** A frame of this socket's own (an answer, a member list), held with the tick's others. */
  sendText(text: string): void {
    this.sendFrame(wsTextFrame(text));
  }

  /**
   * Writes the frame to the TCP socket as it is, with no per-socket header or options. Safe
   * beside ws's own sends (pings, close): with compression off and no Blob ever sent, ws writes
   * each frame to the socket at once and never queues, so frames cannot interleave;
   * `bufferedAmount` counts these bytes too.
   */
  sendFrame(frame: Buffer): void {
    if (this.tcp) {
      this.tcp.cork.hold();
      this.tcp.socket.write(frame);
    } else this.ws.send(frame.subarray(frameHeaderLength(frame)), AS_TEXT);
  }

  flush(): void {
    this.tcp?.cork.flush();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_TIMEOUT_MS).unref();
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    this.ws.ping();
  }

  pauseReading(): void {
    this.ws.pause();
  }

  resumeReading(): void {
    this.ws.resume();
  }
}
