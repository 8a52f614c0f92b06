// The WebSocket transport (`/ws`): chat, typing, presence and cursors.
// Authenticates in the upgrade, validates every frame with the protocol's schemas, hands each
// to the command executor in order, and speaks to the hub through the Subscriber interface.
// Knows nothing of rooms' rules: it only follows the rooms the executor has it join.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { randomBytes } from "node:crypto";
import { WebSocketServer, type WebSocket } from "ws";
import { DuplicateCookieError, type Session, type Sessions } from "../auth";
import { isForeignOrigin } from "../http/origin";
import type { ProxyTrust } from "../http/proxy-trust";
import type { DisconnectOptions, DisconnectReason, Hub, Outgoing, RoomFrame, Subscriber } from "../hub";
import type { Logger } from "../log";
import { counterFor, type Metrics, type Tally } from "../metrics";
import type { ConnectionBudget } from "../connection-budget";
import { PersonRates, WindowCounter } from "../ratelimit";
import { systemClock, type Clock, type Timer } from "../state/clock";
import { wsEventFrame, wsRoomFrame } from "./ws-frame";
import { WsSocket, type ConnectionSocket } from "./ws-socket";
import type { Workspace } from "../workspace";
import type { CommandContext, Reply } from "../commands/context";
import { decodeFrame, errorFrame, isServerTrouble } from "../commands/errors";
import { CommandExecutor } from "../commands/executor";
import {
  CloseCode,
  CURSOR_TICK_MS,
  MAX_FRAME_BYTES,
  MAX_REPLAY,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_1_1,
  PROTOCOL_VERSION_1_2,
  roomStream,
  canvasStream,
  type ProtocolVersion,
  type ClientFrame,
  type ErrorCode,
  type RestartingReason,
  type ServerFrame,
  type User,
} from "../../lib/protocol";

/** What one connection needs: the hub and workspace it acts on, and its limits. */
export interface WsConnectionOptions {
  hub: Hub;
  workspace: Workspace;
  logger: Logger;
  metrics?: Metrics;
  /** Time for the rate limits and the pong deadline (tests move it by hand). */
  clock?: Clock;
  /** Above this many buffered bytes a socket is too slow for durable events: close 1013. */
  maxBufferedBytes?: number;
  /** Above this many buffered bytes cursor frames are skipped for the socket. */
  cursorSkipBytes?: number;
  /**
   * The person's rate limits, shared by all their connections. Absent (protocol tests): each
   * connection has buckets of its own.
   */
  rates?: PersonRates;
  /** The subprotocol the socket speaks (default `rt.v1`): 1.1 hears presence as diffs. */
  version?: ProtocolVersion;
  /** Carries out the frames; one over `hub` and `workspace` unless given. */
  executor?: CommandExecutor;
}

export interface WsTransportOptions extends WsConnectionOptions {
  /** Who an upgrade's cookie names, and where a socket's pongs are noted as its activity. */
  sessions: Pick<Sessions, "fromRequest" | "seen">;
  /** Origins allowed besides the app's own. */
  allowedOrigins: string[];
  /** Caps on the connections a person and an address hold; none when absent. */
  budget?: ConnectionBudget;
  /** Whose word on the app's own origin (X-Forwarded-Host/-Proto) is believed. */
  trust: ProxyTrust;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
}

/** Every socket is pinged this often; one that has not answered within the timeout is dropped. */
export const WS_PING_INTERVAL_MS = 30_000;
export const WS_PONG_TIMEOUT_MS = 10_000;

/** Bad frames tolerated per window before the connection is closed for abuse (1008). */
const ABUSE_LIMIT = 50;
const ABUSE_WINDOW_MS = 10_000;
/**
 * Rate-limited frames tolerated per window: a client flushing its offline queue overshoots the
 * limit once and must hear every answer; only one that keeps flooding is closed (1008).
 */
const FLOOD_LIMIT = 500;

// The limits of one connection live with the commands (a long-poll page has the same).
// FRAME_RATE: a person's frames past it are dropped unread here (no JSON.parse, no schema).
export { FRAME_RATE, JOIN_RATE, MAX_ROOMS_PER_CONNECTION } from "../commands/limits";
/**
 * Frames over a limit that are dropped without an answer (over FRAME_RATE, or cursor and typing
 * input over the person's limit) tolerated per ABUSE_WINDOW_MS: past it the connection is
 * closed 1008. A connection sending cursors at four times their limit passes it within seconds;
 * several tabs of one person sharing the limit at the client's own pace stay far below it.
 */
export const EXCESS_LIMIT = 1_000;

/**
 * Frames read but not yet handled. They wait while an earlier frame waits on the database (a
 * join's replay, a send's checks). As a Go server's read loop or a Node stream's highWaterMark
 * does, the connection then stops reading the socket: the peer's further frames stay in TCP
 * buffers and flow control slows it down, instead of piling up here. It reads again once the
 * queue is half drained. Closing (1008) is only the backstop: frames ws had already read from
 * the kernel still arrive after the pause (at most one read of 64 KiB, about 2,000 of the
 * smallest frames), so only a socket that ignores the pause can pass the hard limits.
 */
const INBOX_PAUSE_FRAMES = 32;
const INBOX_PAUSE_BYTES = 256 * 1024;
export const INBOX_MAX_FRAMES = 4_096;
const INBOX_MAX_BYTES = 1024 * 1024;

export class WsTransport {
  readonly wss: WebSocketServer;
  private readonly connections = new Set<WsConnection>();
  private heartbeat: NodeJS.Timeout | null = null;
  private draining = false;

  constructor(private readonly opts: WsTransportOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => selectProtocol(protocols),
    });
  }

  start(): void {
    const interval = this.opts.pingIntervalMs ?? WS_PING_INTERVAL_MS;
    const timeout = this.opts.pongTimeoutMs ?? WS_PONG_TIMEOUT_MS;
    this.heartbeat = setInterval(() => {
      for (const c of this.connections) c.ping(timeout);
    }, interval);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.connections.size;
  }

  /** Takes an upgrade for `/ws`: session (401), origin (403) and subprotocol (400) checked first. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    if (this.draining) return rejectUpgrade(socket, 503, "Service Unavailable", "The server is restarting");
    const offered = parseProtocols(req.headers["sec-websocket-protocol"]);
    if (offered.length > 0 && !selectProtocol(new Set(offered))) {
      return rejectUpgrade(
        socket,
        400,
        "Bad Request",
        `Unsupported protocol version; this server speaks ${PROTOCOL_VERSION_1_2}, ${PROTOCOL_VERSION_1_1} and ${PROTOCOL_VERSION}`,
      );
    }
    // A page on another origin must not open a socket with the visitor's cookie (cross-site
    // WebSocket hijacking): browsers always send Origin with a WebSocket.
    if (isForeignOrigin(req, this.opts.trust, this.opts.allowedOrigins)) {
      // Code `forbidden`, as in version 1 (HTTP calls answer the newer `forbidden_origin`).
      return rejectUpgrade(socket, 403, "Forbidden", "Origin not allowed");
    }
    let session: Session | null;
    try {
      session = await this.opts.sessions.fromRequest(req);
    } catch (err) {
      if (err instanceof DuplicateCookieError) return rejectUpgrade(socket, 400, "Bad Request", err.message, err.code);
      this.opts.logger.error({ err }, "session lookup failed during upgrade");
      return rejectUpgrade(socket, 503, "Service Unavailable", "Try again shortly");
    }
    if (!session) return rejectUpgrade(socket, 401, "Unauthorized", "Sign in first");
    if (socket.destroyed) return;
    // A drain that began while the session was read has closed every socket it knew: this one
    // would be left open, never told to move.
    if (this.draining) return rejectUpgrade(socket, 503, "Service Unavailable", "The server is restarting");
    const admitted = this.opts.budget?.admit("ws", req, session.user.id);
    if (admitted && !admitted.ok) {
      return rejectUpgrade(socket, 429, "Too Many Requests", admitted.message, "too_many_connections", {
        "Retry-After": String(admitted.retryAfterS),
      });
    }
    // The TCP socket closes on every path (refused handshake, either side's close, terminate,
    // a dropped peer): its slot is free again only then, when its file handle is.
    if (admitted) socket.once("close", () => admitted.lease.release());
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, session));
  }

  /** Closes every socket with 1012 in small batches, each told when to come back. */
  async drain(spreadMs: number): Promise<void> {
    this.draining = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const all = [...this.connections];
    const batches = Math.max(1, Math.min(10, all.length));
    for (let i = 0; i < batches; i++) {
      for (const c of all.filter((_, j) => j % batches === i)) {
        c.disconnect("draining", { reconnectAfterMs: Math.round(Math.random() * spreadMs) });
      }
      if (i < batches - 1) await new Promise((r) => setTimeout(r, 20));
    }
  }

  private accept(ws: WebSocket, session: Session): void {
    const version = ws.protocol === PROTOCOL_VERSION_1_2 || ws.protocol === PROTOCOL_VERSION_1_1 ? ws.protocol : PROTOCOL_VERSION;
    const conn = new WsConnection(new WsSocket(ws), session, { ...this.opts, version }, () => this.connections.delete(conn));
    this.connections.add(conn);
    ws.on("message", (data, isBinary) => conn.handleMessage(data as Buffer, isBinary));
    ws.on("pong", () => {
      conn.handlePong();
      // A page open on the device counts as its activity (written every few minutes at most).
      this.opts.sessions.seen(session.id);
    });
    ws.on("close", () => conn.handleClose());
    ws.on("error", (err) => conn.handleSocketError(err));
  }
}

/**
 * One browser tab's connection: a hub subscriber for every room it joined. The protocol logic,
 * speaking through a `ConnectionSocket` (`ws` in production, an in-memory pair in tests); the
 * socket's owner hands it the peer's frames (`handleMessage`), pongs and the close.
 */
export class WsConnection implements Subscriber {
  readonly id = `ws-${randomBytes(6).toString("base64url")}`;
  readonly transport = "ws" as const;
  readonly user: User;
  readonly sessionId: string;
  private readonly rooms = new Set<string>();
  /** Rooms whose canvas this connection follows (protocol 1.3). */
  private readonly canvases = new Set<string>();
  /** Protocol 1.1 (and 1.2): presence after `joined` comes as `presence_diff` frames, not full lists. */
  private readonly presenceDiffs: boolean;
  /** Protocol 1.2: told when the person's read position in a room moves. */
  private readonly hearsReads: boolean;
  private readonly clock: Clock;
  private readonly rates: PersonRates;
  private readonly abuse: WindowCounter;
  private readonly flood: WindowCounter;
  /** Frames dropped without an answer for being over a limit (EXCESS_LIMIT). */
  private readonly excess: WindowCounter;
  /** Frames waiting for their turn, and their size on the wire (see INBOX_PAUSE_FRAMES). */
  private readonly inbox: Array<{ frame: ClientFrame; bytes: number }> = [];
  private inboxBytes = 0;
  private dispatching = false;
  private readingPaused = false;
  /** Set while a ping waits for its pong (a pong cancels it). */
  private pongTimer: Timer | null = null;
  /**
   * Rooms whose cursor frames this socket skipped while slow. A skipped frame may have held a
   * `null` no later frame repeats, so each gets the room's full cursor set once the socket has
   * caught up; the timer checks for that while any is owed.
   */
  private readonly cursorsOwed = new Set<string>();
  private cursorsOwedTimer: Timer | null = null;
  private closed = false;
  private readonly log: Logger;
  private readonly maxBuffered: number;
  private readonly cursorSkip: number;
  /** The frames-out tally for durable events, looked up once: it is bumped per delivery. */
  private readonly eventsOut: Tally | undefined;
  private readonly executor: CommandExecutor;
  /** What the executor knows of this connection: who, its rooms, and how to follow one. */
  private readonly commands: CommandContext;

  constructor(
    private readonly socket: ConnectionSocket,
    session: Session,
    private readonly opts: WsConnectionOptions,
    private readonly onGone: () => void,
  ) {
    this.user = session.user;
    this.sessionId = session.id;
    this.presenceDiffs = opts.version === PROTOCOL_VERSION_1_1 || opts.version === PROTOCOL_VERSION_1_2;
    this.hearsReads = opts.version === PROTOCOL_VERSION_1_2;
    this.clock = opts.clock ?? systemClock;
    const now = () => this.clock.now();
    this.rates = opts.rates ?? new PersonRates({ now });
    this.abuse = new WindowCounter(ABUSE_LIMIT, ABUSE_WINDOW_MS, now);
    this.flood = new WindowCounter(FLOOD_LIMIT, ABUSE_WINDOW_MS, now);
    this.excess = new WindowCounter(EXCESS_LIMIT, ABUSE_WINDOW_MS, now);
    this.log = opts.logger.child({ conn: this.id, user: this.user.id });
    this.maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.cursorSkip = opts.cursorSkipBytes ?? 64 * 1024;
    this.eventsOut = counterFor(opts.metrics?.framesOut, "event");
    this.executor = opts.executor ?? new CommandExecutor({ hub: opts.hub, workspace: opts.workspace, logger: opts.logger, metrics: opts.metrics });
    this.commands = {
      user: this.user,
      transport: "ws",
      source: this.id,
      rates: this.rates,
      rooms: this.rooms,
      subscribe: (room, since) => this.followRoom(room, since),
      unsubscribe: (room) => this.leaveRoom(room),
      followCanvas: (room, since, answer) => this.followCanvas(room, since, answer),
      unfollowCanvas: (room) => this.unfollowCanvas(room),
    };
    opts.hub.register(this);
  }

  // --- Subscriber ----------------------------------------------------------

  onEvent(_stream: string, event: Outgoing): void {
    this.sendFrame(event.encoded(wsEventFrame), this.eventsOut);
  }

  onRoomFrame(frame: RoomFrame): void {
    if (frame.type === "cursors") return this.sendCursors(frame);
    if (frame.type === "canvas.live") {
      // Lossy like cursors: only for a canvas this socket opened, and skipped while it is slow.
      if (!this.canvases.has(frame.room)) return;
      if (this.behindBy(this.cursorSkip)) return void this.opts.metrics?.cursorFramesSkipped.inc();
      return this.sendFrame(frame.encoded(wsRoomFrame), counterFor(this.opts.metrics?.framesOut, frame.type));
    }
    const out = this.presenceDiffs && frame.diff ? frame.diff : frame;
    this.sendFrame(out.encoded(wsRoomFrame), counterFor(this.opts.metrics?.framesOut, out.type));
  }

  /** Cursors are lossy: a slow socket skips them, and is owed the full set once it catches up. */
  private sendCursors(frame: RoomFrame): void {
    if (this.behindBy(this.cursorSkip)) {
      this.opts.metrics?.cursorFramesSkipped.inc();
      this.cursorsOwed.add(frame.room);
      this.checkCursorsOwedSoon();
      return;
    }
    // The full set is the room's current state, so it holds this frame's changes too.
    if (this.cursorsOwed.delete(frame.room)) return this.sendCursorSnapshot(frame.room);
    this.sendFrame(frame.encoded(wsRoomFrame), counterFor(this.opts.metrics?.framesOut, frame.type));
  }

  private payCursorsOwed(): void {
    if (this.closed || this.cursorsOwed.size === 0) return this.stopCursorsOwed();
    if (this.behindBy(this.cursorSkip)) return this.checkCursorsOwedSoon();
    this.stopCursorsOwed();
    for (const room of this.cursorsOwed) this.sendCursorSnapshot(room);
    this.cursorsOwed.clear();
  }

  /** Looks again one cursor tick from now whether the socket has caught up. */
  private checkCursorsOwedSoon(): void {
    this.cursorsOwedTimer ??= this.clock.setTimeout(() => {
      this.cursorsOwedTimer = null;
      this.payCursorsOwed();
    }, CURSOR_TICK_MS);
  }

  private stopCursorsOwed(): void {
    this.cursorsOwedTimer?.cancel();
    this.cursorsOwedTimer = null;
  }

  /** Every cursor in the room but this person's own, marked `full`: the client replaces what it shows. */
  private sendCursorSnapshot(room: string): void {
    if (!this.rooms.has(room)) return;
    const cursors = this.opts.hub.cursorSnapshot(room);
    delete cursors[this.user.id];
    this.send({ type: "cursors", room, cursors, full: true });
  }

  /** Removed from a private room: out of it now, and (1.2) told so. */
  onRemoved(room: string): void {
    if (!this.leaveRoom(room)) return;
    if (this.hearsReads) this.send({ type: "removed", room });
  }

  /** A `read` frame for any room, followed or not: the page's room list shows them all. */
  onRoomRead(room: string, readSeq: number, markedUnread: boolean): void {
    if (this.hearsReads) this.send({ type: "read", room, seq: readSeq, ...(markedUnread ? { unread: true as const } : {}) });
  }

  /** A `muted` frame (1.12) for any room: the page's room list shows them all. */
  onMuted(room: string, muted: boolean): void {
    if (this.hearsReads) this.send({ type: "muted", room, muted });
  }

  onLagged(): void {
    this.opts.metrics?.slowConsumerCloses.inc({ transport: "ws" });
    this.disconnect("too-slow");
  }

  disconnect(reason: DisconnectReason, opts?: DisconnectOptions): void {
    this.close(...closeFor(reason, opts));
  }

  // --- Lifecycle -----------------------------------------------------------

  ping(timeoutMs: number): void {
    if (this.closed || this.pongTimer) return;
    this.socket.ping();
    this.pongTimer = this.clock.setTimeout(() => {
      this.pongTimer = null;
      // While this side is not reading, the peer's pong waits unread behind its frames.
      if (this.readingPaused) return;
      this.log.info("no pong; terminating");
      this.socket.terminate();
      this.cleanup();
    }, timeoutMs);
  }

  handlePong(): void {
    this.pongTimer?.cancel();
    this.pongTimer = null;
  }

  /** The socket closed (either side, or dropped). */
  handleClose(): void {
    this.cleanup();
  }

  handleSocketError(err: Error): void {
    // Oversized frames surface here (ws closes with 1009 itself); the rest is worth a log line.
    if ((err as { code?: string }).code !== "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") this.log.warn({ err }, "socket error");
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.socket.close(code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.pongTimer?.cancel();
    // Frames still waiting would act for a connection that is gone.
    this.inbox.length = 0;
    this.inboxBytes = 0;
    this.stopCursorsOwed();
    this.opts.hub.unregister(this);
    this.rooms.clear();
    this.onGone();
  }

  // --- Frames in -----------------------------------------------------------

  /** One frame from the peer: validated, then queued to take effect in order. */
  handleMessage(data: Buffer | string, isBinary: boolean): void {
    if (this.closed) return;
    // A flood is turned away before it costs a JSON.parse: nothing a real client sends comes
    // this fast, so what is over the rate is dropped unread. The rate is the person's, over
    // all their connections: a flood spread over many sockets is read no faster than one.
    if (!this.rates.take(this.user.id, "frame")) {
      this.opts.metrics?.rateLimited.inc({ type: "frame" });
      // Over the limit like a rate_limited send, only cheaper: it counts toward the same flood
      // close, so a burst too fast to be read is cut off as one that was read and refused.
      if (this.flood.hit()) return this.close(CloseCode.policy, "Too many frames; slow down");
      return this.noteExcess();
    }
    let value: unknown;
    try {
      if (isBinary) throw new Error("binary");
      value = JSON.parse(data.toString());
    } catch {
      return this.refuse(errorFrame("bad_json", "Frames are JSON text"));
    }
    const decoded = decodeFrame(value);
    if ("error" in decoded) return this.refuse(decoded.error);
    const frame = decoded.frame;
    this.opts.metrics?.framesIn.inc({ type: frame.type });
    const bytes = Buffer.byteLength(data);
    if (this.inbox.length >= INBOX_MAX_FRAMES || this.inboxBytes + bytes > INBOX_MAX_BYTES) {
      return this.close(CloseCode.policy, "Too many pending frames");
    }
    this.inbox.push({ frame, bytes });
    this.inboxBytes += bytes;
    if (!this.readingPaused && (this.inbox.length >= INBOX_PAUSE_FRAMES || this.inboxBytes >= INBOX_PAUSE_BYTES)) {
      this.readingPaused = true;
      this.socket.pauseReading();
    }
    if (!this.dispatching) void this.drainInbox();
  }

  /**
   * Frames take effect in the order they came: a send right after a join finds the room
   * joined. A send holds the line only until its append is queued, not until it commits.
   */
  private async drainInbox(): Promise<void> {
    this.dispatching = true;
    try {
      for (let next = this.inbox.shift(); next && !this.closed; next = this.inbox.shift()) {
        this.inboxBytes -= next.bytes;
        this.answer(await this.executor.execute(next.frame, this.commands));
        if (this.readingPaused && this.inbox.length <= INBOX_PAUSE_FRAMES / 2 && this.inboxBytes <= INBOX_PAUSE_BYTES / 2) {
          this.readingPaused = false;
          if (!this.closed) this.socket.resumeReading();
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Sends a command's answer, and its ack once the message is durable. */
  private answer(reply: Reply): void {
    for (const frame of reply.frames) this.deliverAnswer(frame);
    if (reply.excess) this.noteExcess();
    void reply.later?.then((later) => {
      for (const frame of later.frames) this.deliverAnswer(frame);
    });
  }

  private deliverAnswer(frame: ServerFrame): void {
    if (frame.type === "error") this.refuse(frame);
    else this.send(frame);
  }

  /**
   * Follows a room the executor has checked: replay after `since`, then live. The answer
   * (`joined` or `reset`, the cursors, who is typing) is written at the subscription's start,
   * ahead of the replayed events, so the executor gets no frames back.
   */
  private async followRoom(room: string, since: number | undefined): Promise<ServerFrame[]> {
    if (this.closed) return [];
    const stream = roomStream(room);
    if (this.rooms.has(room)) this.opts.hub.unsubscribe(stream, this);
    this.rooms.add(room);
    const hub = this.opts.hub;
    await hub.subscribe(stream, this, {
      since: since ?? null,
      maxReplay: MAX_REPLAY,
      onStart: (head, reset) => {
        // The answer comes first and already counts this person; entering the room then
        // announces the arrival to everyone in it, this connection included.
        if (this.presenceDiffs) {
          if (!this.answerJoinWithDiffs(room, head, reset)) return;
        } else {
          const before = hub.members(room);
          const present = before.some((m) => m.id === this.user.id);
          const members = present ? before : [...before, this.user];
          this.send(reset ? { type: "reset", room, head } : { type: "joined", room, head, members });
          // The answer may have found the socket too far behind and closed it (1013).
          if (this.closed) return;
          hub.enterRoom(room, this);
          if (reset && present) this.send({ type: "presence", room, members });
        }
        // Always, even empty: a client back from a disconnect still shows cursors that left
        // meanwhile, and only a full set tells it so.
        this.cursorsOwed.delete(room);
        this.sendCursorSnapshot(room);
        const typing = hub.typingUsers(room);
        if (typing.length > 0) this.send({ type: "typing", room, users: typing });
      },
    });
    return [];
  }

  /**
   * Protocol 1.1's answer to a join: the members as last announced to the room (and this
   * person), the very list the `presence_diff` frames that follow change — a reset is followed
   * by that list as a `presence` frame, as the client's list may be from before. The list's
   * JSON is made once per announcement however many join (join churn would otherwise
   * serialize the whole room per join). False when the answer closed the socket.
   */
  private answerJoinWithDiffs(room: string, head: number, reset: boolean): boolean {
    const hub = this.opts.hub;
    const members = hub.announcedMembersJson(room, this.user);
    const roomJson = JSON.stringify(room);
    const framesOut = this.opts.metrics?.framesOut;
    if (reset) this.send({ type: "reset", room, head });
    else this.sendDurable(`{"type":"joined","room":${roomJson},"head":${head},"members":${members}}`, counterFor(framesOut, "joined"));
    // The answer may have found the socket too far behind and closed it (1013).
    if (this.closed) return false;
    hub.enterRoom(room, this);
    if (reset) this.sendDurable(`{"type":"presence","room":${roomJson},"members":${members}}`, counterFor(framesOut, "presence"));
    return true;
  }

  /**
   * Follows a room's canvas stream after `since` (protocol 1.3): the answer first, then the
   * operations after `since`, then live ones, then every drag and selection now.
   */
  private async followCanvas(room: string, since: number, answer: ServerFrame): Promise<ServerFrame[]> {
    if (this.closed) return [];
    const stream = canvasStream(room);
    if (this.canvases.has(room)) this.opts.hub.unsubscribe(stream, this);
    this.canvases.add(room);
    await this.opts.hub.subscribe(stream, this, {
      since,
      onStart: () => {
        this.send(answer);
        if (this.closed) return;
        const live = this.opts.hub.canvasLiveSnapshot(room);
        this.send({ type: "canvas.live", room, drags: live.drags, selections: live.selections, full: true });
      },
    });
    return [];
  }

  private unfollowCanvas(room: string): void {
    if (!this.canvases.delete(room)) return;
    this.opts.hub.unsubscribe(canvasStream(room), this);
  }

  /** Stops following the room and leaves it at once; false when it was not joined. */
  private leaveRoom(room: string): boolean {
    if (!this.rooms.delete(room)) return false;
    this.unfollowCanvas(room);
    this.cursorsOwed.delete(room);
    this.opts.hub.unsubscribe(roomStream(room), this);
    this.opts.hub.leaveRoom(room, this, { immediate: true });
    return true;
  }

  // --- Frames out ----------------------------------------------------------

  /**
   * Answers a frame with an error. A connection that keeps sending bad frames (or keeps going
   * over a rate) is closed; the server's own trouble is never held against it.
   */
  private refuse(frame: Extract<ServerFrame, { type: "error" }>): void {
    const { code } = frame;
    this.opts.metrics?.protocolErrors.inc({ code });
    this.send(frame);
    if (isServerTrouble(code)) return;
    if ((code === "rate_limited" ? this.flood : this.abuse).hit()) this.close(CloseCode.policy, "Too many bad frames");
  }

  /** One more frame dropped silently for being over a limit; a connection that keeps at it is closed. */
  private noteExcess(): void {
    if (this.excess.hit()) this.close(CloseCode.policy, "Too many frames; slow down");
  }

  private send(frame: ServerFrame): void {
    this.sendDurable(JSON.stringify(frame), counterFor(this.opts.metrics?.framesOut, frame.type));
  }

  /** Sends (counted in `out`), unless the socket is so far behind that it must resume from the log instead. */
  private sendDurable(data: string, out: Tally | undefined): void {
    if (!this.sendable()) return;
    out?.inc();
    this.socket.sendText(data);
  }

  /** Sends a whole frame made once for every socket (`wsTextFrame`) as it is. */
  private sendFrame(frame: Buffer, out: Tally | undefined): void {
    if (!this.sendable()) return;
    out?.inc();
    this.socket.sendFrame(frame);
  }

  /** Open, and not so far behind that it must resume from the log instead (then closed 1013). */
  private sendable(): boolean {
    if (this.closed || !this.socket.isOpen) return false;
    if (this.behindBy(this.maxBuffered)) {
      this.onLagged();
      return false;
    }
    return true;
  }

  /** More than `bytes` wait for the kernel (frames held for this tick's write are sent first). */
  private behindBy(bytes: number): boolean {
    if (this.socket.bufferedAmount <= bytes) return false;
    this.socket.flush();
    return this.socket.bufferedAmount > bytes;
  }
}

/** The close code and reason text this transport sends for each reason the server ends a connection. */
function closeFor(reason: DisconnectReason, opts: DisconnectOptions = {}): [code: number, text: string] {
  switch (reason) {
    case "signed-out":
      return [CloseCode.sessionInvalid, "Signed out"];
    case "draining": {
      // The reason text tells the client when to come back (drains spread their reconnects).
      const restarting: RestartingReason = { reconnectAfterMs: opts.reconnectAfterMs ?? 0 };
      return [CloseCode.restarting, JSON.stringify(restarting)];
    }
    case "too-slow":
      return [CloseCode.tooSlow, "Too far behind; resume from the log"];
    case "changed": {
      // Come back at once: the person is read again, under their new name (protocol 1.9).
      const again: RestartingReason = { reconnectAfterMs: 0 };
      return [CloseCode.restarting, JSON.stringify(again)];
    }
    default: {
      const unknown: never = reason;
      return unknown;
    }
  }
}

/**
 * The subprotocol to speak: the newest offered (a client offers older versions after its own,
 * for older servers); false when the client offers none this server knows.
 */
function selectProtocol(offered: ReadonlySet<string>): ProtocolVersion | false {
  if (offered.has(PROTOCOL_VERSION_1_2)) return PROTOCOL_VERSION_1_2;
  if (offered.has(PROTOCOL_VERSION_1_1)) return PROTOCOL_VERSION_1_1;
  if (offered.has(PROTOCOL_VERSION)) return PROTOCOL_VERSION;
  return false;
}

function parseProtocols(header: string | undefined): string[] {
  return (header ?? "").split(",").map((p) => p.trim()).filter(Boolean);
}

function rejectUpgrade(
  socket: Duplex,
  status: number,
  reason: string,
  message: string,
  code: ErrorCode = codeFor(status),
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function codeFor(status: number): ErrorCode {
  return status === 401 ? "unauthorized" : status === 403 ? "forbidden" : status === 503 ? "unavailable" : "bad_request";
}
