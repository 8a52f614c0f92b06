// An in-memory WebSocket for protocol tests: the server end is a `ConnectionSocket`, the client
// end records what it receives. Nothing moves until the test flushes, so a test decides exactly
// which frames each side has seen. Pairs made by one `TestNetwork` are flushed together.
import type { ConnectionSocket } from "../../server/transports/ws-socket";
import { frameHeaderLength } from "../../server/transports/ws-frame";
import type { ServerFrame } from "../../lib/protocol";

/** What the server end hands the peer's frames to (`WsConnection`). */
export interface FrameHandler {
  handleMessage(data: Buffer | string, isBinary: boolean): void;
  handlePong(): void;
  handleClose(): void;
}

type ToServer = { kind: "message"; data: string | Buffer; isBinary: boolean } | { kind: "pong" } | { kind: "close" };
type ToClient = { kind: "text"; text: string } | { kind: "ping" } | { kind: "close"; code: number; reason: string };

/** More frames than any test moves in one flush. */
const MAX_FRAMES_PER_FLUSH = 100_000;

/** Several clients of one server: flushing moves the frames of every pair. */
export class TestNetwork {
  readonly pairs: TestSocketPair[] = [];

  pair(): TestSocketPair {
    const p = new TestSocketPair(this);
    this.pairs.push(p);
    return p;
  }

  /**
   * Delivers everything queued on every pair until nothing moves; returns how many frames moved.
   * A flush is synchronous, so no test timeout can stop it: more frames than any test sends
   * means the two ends feed each other forever, and it throws.
   */
  flush(): number {
    let moved = 0;
    for (;;) {
      let n = 0;
      for (const p of this.pairs) n += p.flushOnce();
      if (n === 0) return moved;
      moved += n;
      if (moved > MAX_FRAMES_PER_FLUSH) throw new Error(`more than ${MAX_FRAMES_PER_FLUSH} frames in one flush: a loop between the ends`);
    }
  }

  /**
   * Flushes until `done()` holds, letting the server's asynchronous work (database queries,
   * commits) run in between. Throws after `ms` of real time.
   */
  async flushUntil(done: () => boolean, what = "a condition", ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      this.flush();
      if (done()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

export class TestSocketPair {
  private toServer: ToServer[] = [];
  private toClient: ToClient[] = [];
  private handler: FrameHandler | null = null;
  /** Bytes of text frames sent by the server and not yet delivered. */
  private undelivered = 0;
  private state: "open" | "closing" | "closed" = "open";

  /** Every frame the client end received, in order. */
  readonly frames: ServerFrame[] = [];
  /** Pings the client end received (it answers each with a pong, unless `autoPong` is off). */
  pings = 0;
  autoPong = true;
  /** False: the client stopped reading; what the server sends piles up (`bufferedAmount`). */
  reading = true;
  /** The server end stopped reading (`pauseReading`): the client's frames wait. */
  paused = false;
  /** False: a socket that delivers the client's frames even while paused. */
  honorsPause = true;
  closeCode: number | null = null;
  closeReason = "";

  /** The server end, for `new WsConnection(pair.server, …)`. */
  readonly server: ConnectionSocket;

  constructor(private readonly network: TestNetwork = new TestNetwork()) {
    const pair = this;
    this.server = {
      get isOpen() {
        return pair.state === "open";
      },
      get bufferedAmount() {
        return pair.undelivered;
      },
      sendText: (text) => this.queueText(text),
      sendFrame: (frame) => this.queueText(frame.subarray(frameHeaderLength(frame)).toString("utf8")),
      flush: () => {},
      close: (code, reason) => {
        if (this.state !== "open") return;
        this.state = "closing";
        this.toClient.push({ kind: "close", code, reason });
      },
      terminate: () => this.closeNow(1006, ""),
      ping: () => {
        if (this.state === "open") this.toClient.push({ kind: "ping" });
      },
      pauseReading: () => void (this.paused = true),
      resumeReading: () => void (this.paused = false),
    };
  }

  /** Connects the server end to the connection that handles its frames. */
  attach(handler: FrameHandler): void {
    this.handler = handler;
  }

  // --- The client end ------------------------------------------------------------

  /** Queues a text frame from the client: an object is sent as JSON, a string as it is. */
  send(frame: unknown): void {
    this.toServer.push({ kind: "message", data: typeof frame === "string" ? frame : JSON.stringify(frame), isBinary: false });
  }

  sendBinary(data: Buffer): void {
    this.toServer.push({ kind: "message", data, isBinary: true });
  }

  /** The client closes (the server end hears it on the next flush). */
  close(): void {
    this.toServer.push({ kind: "close" });
  }

  of<T extends ServerFrame["type"]>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f) => f.type === type) as Extract<ServerFrame, { type: T }>[];
  }

  // --- Moving frames --------------------------------------------------------------

  /** Delivers what is queued on every pair of the network (see `TestNetwork.flush`). */
  flush(): number {
    return this.network.flush();
  }

  /** One round on this pair: the client's queued frames, then the server's. */
  flushOnce(): number {
    return this.flushToServer() + this.flushToClient();
  }

  /** Delivers the client's queued frames to the server end, one by one, until it pauses. */
  flushToServer(): number {
    let moved = 0;
    while (this.toServer.length > 0 && !(this.paused && this.honorsPause)) {
      const f = this.toServer.shift()!;
      moved++;
      if (this.state === "closed" || !this.handler) continue;
      if (f.kind === "message") this.handler.handleMessage(f.data, f.isBinary);
      else if (f.kind === "pong") this.handler.handlePong();
      else this.closeNow(1005, "");
    }
    return moved;
  }

  /** Client frames not yet delivered (held back while the server end is paused). */
  get waiting(): number {
    return this.toServer.length;
  }

  /** Delivers the server's queued frames to the client end. */
  flushToClient(): number {
    if (!this.reading) return 0;
    const batch = this.toClient.splice(0);
    for (const f of batch) {
      if (f.kind === "text") {
        this.undelivered -= Buffer.byteLength(f.text);
        this.frames.push(JSON.parse(f.text) as ServerFrame);
      } else if (f.kind === "ping") {
        this.pings++;
        if (this.autoPong) this.toServer.push({ kind: "pong" });
      } else this.closeNow(f.code, f.reason);
    }
    return batch.length;
  }

  /** Flushes the network until `done()` holds (see `TestNetwork.flushUntil`). */
  async flushUntil(done: () => boolean, what = "a condition", ms = 5_000): Promise<void> {
    try {
      await this.network.flushUntil(done, what, ms);
    } catch (err) {
      throw new Error(`${(err as Error).message}; last frames ${JSON.stringify(this.frames.slice(-5))}`);
    }
  }

  /** Flushes until the client has a frame (after the first `from`) that matches; returns it. */
  async next<T extends ServerFrame>(pred: (f: ServerFrame) => f is T, from?: number): Promise<T>;
  async next(pred: (f: ServerFrame) => boolean, from?: number): Promise<ServerFrame>;
  async next(pred: (f: ServerFrame) => boolean, from = 0): Promise<ServerFrame> {
    let found: ServerFrame | undefined;
    await this.flushUntil(() => (found = this.frames.slice(from).find(pred)) !== undefined, "a frame");
    return found!;
  }

  private queueText(text: string): void {
    if (this.state !== "open") return;
    this.undelivered += Buffer.byteLength(text);
    this.toClient.push({ kind: "text", text });
  }

  private closeNow(code: number, reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.closeCode ??= code;
    if (this.closeCode === code) this.closeReason = reason;
    this.toClient = this.toClient.filter((f) => f.kind !== "text");
    this.undelivered = 0;
    this.handler?.handleClose();
  }
}
