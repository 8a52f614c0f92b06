// The realtime client: one per tab. It keeps one resume position per stream, shared by every
// transport, so switching between WebSocket, SSE and long polling loses and repeats nothing.
//
// - Rooms ride the WebSocket; when it cannot open (a proxy strips Upgrade) they ride long
//   polling, and the WebSocket is tried again in the background every minute.
// - The feed and notifications ride SSE; when no byte arrives (a buffering proxy) they ride
//   long polling, with the same background retry.
// - Messages go through an outbox: pending while offline, sent with their clientId when a
//   transport is up (again after every reconnect — the server appends each clientId once),
//   removed on ack.
import {
  CloseCode,
  roomOfStream,
  roomStream,
  CURSOR_TICK_MS,
  errorBodySchema,
  formatCursor,
  parseCursor,
  POLL_MAX_WAIT_S,
  postedMessageSchema,
  realtimeEventSchema,
  restartingReasonSchema,
  SEND_BURST,
  SEND_RATE_PER_S,
  SSE_PING_MS,
  sseReadSchema,
  sseResetSchema,
  TYPING_RENEW_MS,
  type ErrorCode,
  type PollAnswer,
  type RealtimeEvent,
  type ServerFrame,
  type User,
} from "../protocol";
import { applyPresenceDiff } from "../presence-diff";
import { TokenBucket } from "../token-bucket";
import { Backoff, BACKOFF_BASE_MS, BACKOFF_CAP_MS } from "./backoff";
import { decode, InvalidPayload } from "./decode";
import { Emitter } from "./emitter";
import { PollChannel, type PollFailure } from "./poll-channel";
import { SseChannel } from "./sse-channel";
import type { SseFailure } from "./sse-channel";
import type { SseMessage } from "./sse-reader";
import {
  OUTBOX_LIMIT,
  type ClientEvents,
  type ClientOptions,
  type ConnectionStatus,
  type FeedTransport,
  type FrameLog,
  type OutboxEntry,
  type RoomsTransport,
  type TransportMode,
} from "./types";
import { WsChannel } from "./ws-channel";

/**
 * Cursor sends: at most every animation frame (the canvas sees to that) and 30 Hz over
 * WebSocket — ⌈1000/30⌉ ms apart, since 33 would fit 31 sends in a second; coarser over HTTP.
 */
export const CURSOR_WS_MAX_HZ = 30;
export const CURSOR_WS_INTERVAL_MS = Math.ceil(1000 / CURSOR_WS_MAX_HZ);
export const CURSOR_HTTP_INTERVAL_MS = 200;

/** A WebSocket that has not opened by then counts as a failure to open. */
export const WS_OPEN_TIMEOUT_MS = 4_000;
/** Failures to open in a row before falling back to long polling. */
export const FAILURES_BEFORE_FALLBACK = 2;
/** A stream with no first byte by then is held by a buffering proxy: fall back to long polling. */
export const SSE_FIRST_BYTE_TIMEOUT_MS = 5_000;
/** While on long polling, how often to try the better transport again in the background. */
export const UPGRADE_RETRY_MS = 60_000;
/** A join on a socket that looks open gets its answer within this, or the socket is replaced. */
export const ANSWER_TIMEOUT_MS = 5_000;
/** The local close code for a socket that left a join unanswered (it looked open but was dead). */
const CLOSE_UNANSWERED = 4000;
/**
 * An event stream quiet for longer than this has died: the server writes `: ping` every 15 s,
 * so a laptop waking from sleep on an old stream finds it silent for minutes.
 */
const SSE_QUIET_MS = 2 * SSE_PING_MS;
/**
 * Messages unacknowledged at once over the WebSocket (one per room), and the burst of our own
 * pace: half the server's burst, so up to a second of network bunching stays within its limit.
 */
const SEND_WINDOW = SEND_BURST / 2;
/** An upstream HTTP request (message, typing, cursor) with no answer by then is given up and tried again. */
export const HTTP_TIMEOUT_MS = 10_000;
/** The least a `rate_limited` (or overloaded) reply holds the outbox: the server refills in that time. */
const SEND_HOLD_MS = 1_000;

/** Error codes that say "not now" rather than "never": the frame may be sent again as it is. */
const RETRYABLE: ReadonlySet<string> = new Set(["rate_limited", "overloaded", "unavailable", "internal"]);

export class RealtimeClient extends Emitter<ClientEvents> {
  private readonly positions = new Map<string, number>();
  private readonly rooms = new Set<string>();
  /**
   * Each joined room's members as the WebSocket last told them: a `presence_diff` (protocol
   * 1.1) changes this list, and the page is handed the result as a whole.
   */
  private readonly members = new Map<string, User[]>();
  private outbox: OutboxEntry[] = [];
  private readonly sentAt = new Map<string, number>();
  private readonly feedStreams: string[];
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private mode: TransportMode;
  private roomsTransport: RoomsTransport;
  private feedTransport: FeedTransport;
  private status: ConnectionStatus;
  private readonly ws: WsChannel;
  private readonly sse: SseChannel;
  private readonly poll: PollChannel;
  private readonly wsBackoff: Backoff;
  private readonly sseBackoff: Backoff;
  private readonly pollBackoff: Backoff;
  private readonly sendBackoff: Backoff;
  /** Paces the outbox under the server's send limit (PROTOCOL.md), so a backlog drains without `rate_limited`. */
  private readonly sendPacer = new TokenBucket(SEND_RATE_PER_S, SEND_WINDOW);
  /** No message goes out before this time (a rate_limited or overloaded reply asked us to wait). */
  private sendHoldUntil = 0;
  private wsFailures = 0;
  private sseFailures = 0;
  private wsEverOpened = false;
  private sseEverOpened = false;
  private wsTimer: ReturnType<typeof setTimeout> | null = null;
  private sseTimer: ReturnType<typeof setTimeout> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  /** Upstream requests on their way, so that waking up can cut those a dead connection holds. */
  private readonly httpInFlight = new Set<AbortController>();
  /** Armed while a join waits for its answer on a socket that was already open. */
  private answerTimer: ReturnType<typeof setTimeout> | null = null;
  /** Joins the server could not take just then (rate_limited, overloaded, internal), asked again later. */
  private readonly rejoinTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly rejoinBackoff: Backoff;
  private started = false;
  private offline = false;
  private signedOut = false;
  private readonly typingSentAt = new Map<string, number>();
  private readonly cursorPending = new Map<string, { x: number; y: number } | null>();
  private readonly cursorTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly lastCursorSent = new Map<string, number>();
  /** Rooms where the last cursor sent was a position, not `null`: others see it. */
  private readonly cursorShown = new Set<string>();
  private readonly opts: Required<
    Pick<ClientOptions, "wsOpenTimeoutMs" | "upgradeRetryMs" | "pollWaitS" | "sseFirstByteTimeoutMs" | "failuresBeforeFallback" | "answerTimeoutMs">
  > &
    ClientOptions;

  constructor(options: ClientOptions = {}) {
    super();
    this.opts = {
      wsOpenTimeoutMs: WS_OPEN_TIMEOUT_MS,
      upgradeRetryMs: UPGRADE_RETRY_MS,
      pollWaitS: POLL_MAX_WAIT_S,
      sseFirstByteTimeoutMs: SSE_FIRST_BYTE_TIMEOUT_MS,
      failuresBeforeFallback: FAILURES_BEFORE_FALLBACK,
      answerTimeoutMs: ANSWER_TIMEOUT_MS,
      ...options,
    };
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.feedStreams = options.feedStreams ?? [];
    this.mode = options.transport ?? "auto";
    this.roomsTransport = this.mode === "longpoll" ? "longpoll" : "websocket";
    this.feedTransport = this.mode === "longpoll" ? "longpoll" : "sse";
    this.status = {
      rooms: { transport: this.roomsTransport, state: "idle" },
      feed: { transport: this.feedTransport, state: "idle" },
      reconnects: 0,
      rttMs: null,
      invalidFrames: 0,
    };
    const backoff = { baseMs: options.backoffBaseMs ?? BACKOFF_BASE_MS, capMs: options.backoffCapMs ?? BACKOFF_CAP_MS, random: options.random };
    this.wsBackoff = new Backoff(backoff);
    this.sseBackoff = new Backoff(backoff);
    this.pollBackoff = new Backoff(backoff);
    this.sendBackoff = new Backoff({ ...backoff, baseMs: SEND_HOLD_MS });
    this.rejoinBackoff = new Backoff({ ...backoff, baseMs: SEND_HOLD_MS });
    this.outbox = (options.storage?.load() ?? []).map((e) => ({ ...e, status: e.status === "failed" ? "failed" : "pending" }));

    const wsUrl = this.baseUrl ? `${this.baseUrl.replace(/^http/, "ws")}/ws` : defaultWsUrl();
    const create = options.createWebSocket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as import("./types").WebSocketLike);
    this.ws = new WsChannel(wsUrl, create, this.opts.wsOpenTimeoutMs, {
      onOpen: () => this.handleWsOpen(),
      onFrame: (frame, bytes) => this.handleFrame(frame, bytes),
      onInvalidFrame: (invalid, bytes) => {
        // Garbled or not, it came through: the socket is alive.
        this.clearAnswerTimer();
        this.reportInvalid("websocket", invalid, bytes);
      },
      onClose: (code, reason, opened) => this.handleWsClose(code, reason, opened),
      onSend: (type, bytes) => this.emit("frame", { direction: "out", transport: "websocket", type, bytes, at: Date.now() }),
    });
    const streamsQuery = encodeURIComponent(this.feedStreams.join(","));
    this.sse = new SseChannel(`${this.baseUrl}/api/stream?streams=${streamsQuery}`, this.fetchImpl, this.opts.sseFirstByteTimeoutMs, {
      cursor: () => this.cursorFor(this.feedStreams),
      onFirstByte: () => this.handleSseOpen(),
      onMessage: (msg, bytes) => this.handleSseMessage(msg, bytes),
      onId: (id) => this.advance(id),
      onEnd: (error, gotBytes, retryMs) => this.handleSseEnd(error, gotBytes, retryMs),
    });
    this.poll = new PollChannel(this.baseUrl, this.fetchImpl, this.opts.pollWaitS, options.tabId ?? randomId("t"), {
      streams: () => this.pollStreams(),
      cursor: (streams) => this.cursorFor(streams),
      onAnswer: (answer, bytes, rtt) => this.handlePollAnswer(answer, bytes, rtt),
      onError: (err) => this.handlePollError(err),
      nextDelay: () => this.pollBackoff.next(),
      onSuccess: () => {
        this.pollBackoff.reset();
        this.setState("poll", "connected");
      },
    });
  }

  // ---------------------------------------------------------------------------
  // Public API

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connectAll();
  }

  stop(): void {
    this.started = false;
    this.disconnectAll();
  }

  getStatus(): ConnectionStatus {
    return structuredClone(this.status);
  }

  getOutbox(): OutboxEntry[] {
    return this.outbox.map((e) => ({ ...e }));
  }

  /** The last seq seen of a stream (`room:<id>`, `feed`, `user:me`). */
  position(stream: string): number | undefined {
    return this.positions.get(stream);
  }

  /** Follows a room from `since` (the newest seq the page already shows), or live when absent. */
  join(room: string, since?: number): void {
    const stream = roomStream(room);
    if (since !== undefined) this.positions.set(stream, since);
    this.rooms.add(room);
    // A socket that has been open a while may be dead without knowing it: watch for the answer.
    if (this.roomsTransport === "websocket") this.sendJoin(room, { watch: true });
    else this.poll.restart();
    // Messages for this room kept from before (a reload while offline) can go out now.
    this.flushOutbox();
  }

  leave(room: string): void {
    if (!this.rooms.has(room)) return;
    this.cancelRejoin(room);
    this.forgetCursor(room);
    this.rooms.delete(room);
    this.members.delete(room);
    this.positions.delete(roomStream(room));
    if (this.roomsTransport === "websocket") this.ws.send({ type: "leave", room });
    else this.poll.restart();
  }

  /** Queues a message; it goes out now or when a transport is up. Null when the outbox is full. */
  send(room: string, text: string): OutboxEntry | null {
    if (this.outbox.filter((e) => e.status !== "failed").length >= OUTBOX_LIMIT) {
      this.emit("error", { code: "outbox_full", message: `At most ${OUTBOX_LIMIT} messages can wait to be sent` });
      return null;
    }
    const entry: OutboxEntry = { clientId: randomId("c"), room, text, status: "pending", createdAt: new Date().toISOString() };
    this.outbox.push(entry);
    this.typingSentAt.delete(room);
    this.outboxChanged();
    this.flushOutbox();
    return { ...entry };
  }

  /** Sends a failed message again (same clientId, so it can never appear twice). */
  retry(clientId: string): void {
    const e = this.outbox.find((x) => x.clientId === clientId);
    if (!e) return;
    e.status = "pending";
    delete e.error;
    this.outboxChanged();
    this.flushOutbox();
  }

  discard(clientId: string): void {
    this.outbox = this.outbox.filter((e) => e.clientId !== clientId);
    this.sentAt.delete(clientId);
    this.outboxChanged();
  }

  /** Typing: call on each keystroke (renewals are throttled); `stop` clears at once. */
  typing(room: string, stop = false): void {
    const now = Date.now();
    if (!stop) {
      const last = this.typingSentAt.get(room) ?? 0;
      if (now - last < TYPING_RENEW_MS) return;
      this.typingSentAt.set(room, now);
    } else {
      if (!this.typingSentAt.has(room)) return;
      this.typingSentAt.delete(room);
    }
    if (this.roomsTransport === "websocket") {
      this.ws.send(stop ? { type: "typing", room, stop: true } : { type: "typing", room });
    } else {
      void this.http(`/api/rooms/${encodeURIComponent(room)}/typing`, stop ? { stop: true } : {}, "typing");
    }
  }

  /**
   * The pointer moved (normalized to [0,1]) or left the canvas (null). Latest wins. Ignored for
   * a room not joined (yet, or any more): the page may draw its canvas before its join goes out.
   */
  moveCursor(room: string, pos: { x: number; y: number } | null): void {
    if (!this.rooms.has(room)) return;
    this.cursorPending.set(room, pos);
    if (this.cursorTimers.has(room)) return;
    const interval = this.roomsTransport === "websocket" ? CURSOR_WS_INTERVAL_MS : CURSOR_HTTP_INTERVAL_MS;
    const wait = Math.max(0, (this.lastCursorSent.get(room) ?? 0) + interval - Date.now());
    this.cursorTimers.set(
      room,
      setTimeout(() => {
        this.cursorTimers.delete(room);
        if (!this.cursorPending.has(room)) return;
        const pos = this.cursorPending.get(room)!;
        this.cursorPending.delete(room);
        this.lastCursorSent.set(room, Date.now());
        this.sendCursor(room, pos);
      }, wait),
    );
  }

  private sendCursor(room: string, pos: { x: number; y: number } | null): void {
    if (this.roomsTransport === "websocket") this.ws.send({ type: "cursor", room, x: pos?.x ?? null, y: pos?.y ?? null });
    else void this.http(`/api/rooms/${encodeURIComponent(room)}/cursor`, pos ?? { x: null, y: null }, "cursor");
    if (pos) this.cursorShown.add(room);
    else this.cursorShown.delete(room);
  }

  /** Leaving a room: nothing pending goes out after the leave, and a cursor others see is hidden before it. */
  private forgetCursor(room: string): void {
    const timer = this.cursorTimers.get(room);
    if (timer) clearTimeout(timer);
    this.cursorTimers.delete(room);
    this.cursorPending.delete(room);
    this.lastCursorSent.delete(room);
    if (this.cursorShown.has(room)) this.sendCursor(room, null);
  }

  /** Forces a transport (the inspector's toggle, `?transport=`); "auto" negotiates again. */
  setTransport(mode: TransportMode): void {
    this.mode = mode;
    this.wsFailures = this.sseFailures = 0;
    this.roomsTransport = mode === "longpoll" ? "longpoll" : "websocket";
    this.feedTransport = mode === "longpoll" ? "longpoll" : "sse";
    this.status.rooms.transport = this.roomsTransport;
    this.status.feed.transport = this.feedTransport;
    if (this.started && !this.offline) {
      this.disconnectAll();
      this.connectAll();
    }
    this.emitStatus();
  }

  get transportMode(): TransportMode {
    return this.mode;
  }

  /** Drops the live connections; they come back as after a network blip. */
  dropConnection(): void {
    if (!this.started || this.offline) return;
    this.disconnectAll();
    this.setState("rooms", "reconnecting");
    this.setState("feed", "reconnecting");
    this.wsTimer = setTimeout(() => this.connectAll(), 500);
  }

  /** Simulates (or reports) being offline: no traffic until back online. */
  setOffline(offline: boolean): void {
    if (this.offline === offline) return;
    this.offline = offline;
    if (offline) {
      this.disconnectAll();
      this.setState("rooms", "offline");
      this.setState("feed", "offline");
    } else if (this.started) {
      this.wsBackoff.reset();
      this.sseBackoff.reset();
      this.connectAll();
    }
  }

  get isOffline(): boolean {
    return this.offline;
  }

  /**
   * The page became visible or the network came back: reconnect now what is down, and check
   * what looks up. After a laptop slept, or the network changed under it, a socket can still
   * look open while nothing reaches it any more (half-open TCP): only an answer proves it alive.
   */
  wake(): void {
    if (!this.started || this.offline || this.signedOut) return;
    if (this.roomsTransport === "websocket") {
      if (this.ws.isOpen) this.probeRooms();
      else if (this.wsTimer) {
        clearTimeout(this.wsTimer);
        this.wsTimer = null;
        this.connectRooms();
      }
    }
    if (this.feedTransport === "sse" && this.feedStreams.length > 0) {
      if (this.sse.active && this.sse.quietForMs > SSE_QUIET_MS) {
        this.setState("feed", "reconnecting");
        this.sse.connect();
      } else if (!this.sse.active && this.sseTimer) {
        clearTimeout(this.sseTimer);
        this.sseTimer = null;
        this.sse.connect();
      }
    }
    // A held poll on a dead connection would wait out its whole timeout; one waiting to retry
    // after an error would wait out its backoff. Either way: ask again now.
    if (this.poll.isRunning) this.poll.restart();
    // So would a message posted just before the laptop slept: cut it; it goes again (same clientId).
    for (const request of this.httpInFlight) request.abort();
  }

  /** Wires the browser's online/offline and visibility events; returns the unwiring. */
  attachToBrowser(win: Window = window, doc: Document = document): () => void {
    // `online` also comes without an `offline` before it (a new network, a laptop waking up).
    const online = () => (this.offline ? this.setOffline(false) : this.wake());
    const offline = () => this.setOffline(true);
    const visible = () => {
      if (doc.visibilityState === "visible") this.wake();
    };
    win.addEventListener("online", online);
    win.addEventListener("offline", offline);
    doc.addEventListener("visibilitychange", visible);
    return () => {
      win.removeEventListener("online", online);
      win.removeEventListener("offline", offline);
      doc.removeEventListener("visibilitychange", visible);
    };
  }

  // ---------------------------------------------------------------------------
  // Connecting

  private connectAll(): void {
    if (this.offline || this.signedOut) return;
    if (this.roomsTransport === "websocket") this.connectRooms();
    if (this.feedStreams.length > 0 && this.feedTransport === "sse") {
      this.setState("feed", "connecting");
      this.sse.connect();
    }
    if (this.roomsTransport === "longpoll") this.setState("rooms", "connecting");
    if (this.feedTransport === "longpoll" && this.feedStreams.length > 0) this.setState("feed", "connecting");
    this.poll.restart();
    this.flushOutbox();
  }

  private disconnectAll(): void {
    for (const t of [this.wsTimer, this.sseTimer, this.flushTimer, this.answerTimer]) if (t) clearTimeout(t);
    this.wsTimer = this.sseTimer = this.flushTimer = this.answerTimer = null;
    // A new connection joins every room anyway.
    for (const room of [...this.rejoinTimers.keys()]) this.cancelRejoin(room);
    this.ws.close();
    this.sse.close();
    this.poll.stop();
    for (const e of this.outbox) if (e.status === "sending") e.status = "pending";
  }

  private connectRooms(): void {
    this.setState("rooms", this.wsEverOpened ? "reconnecting" : "connecting");
    this.ws.connect();
  }

  private pollStreams(): string[] {
    const streams: string[] = [];
    if (this.roomsTransport === "longpoll") for (const r of this.rooms) streams.push(roomStream(r));
    if (this.feedTransport === "longpoll") streams.push(...this.feedStreams);
    return streams;
  }

  private joinFrame(room: string) {
    const since = this.positions.get(roomStream(room));
    return since === undefined ? { type: "join", room } : { type: "join", room, since };
  }

  /**
   * Sends a join. `watch`: the socket was open before, so it may be dead without knowing it;
   * the server answers every join (`joined`, `reset` or `error`), so no frame at all within
   * `answerTimeoutMs` means nothing gets through: drop the socket and reconnect.
   */
  private sendJoin(room: string, { watch }: { watch: boolean }): void {
    if (!this.ws.send(this.joinFrame(room)) || !watch || this.answerTimer) return;
    const timer = setTimeout(() => {
      if (this.answerTimer !== timer) return;
      this.answerTimer = null;
      this.ws.close();
      this.handleWsClose(CLOSE_UNANSWERED, "no answer from the server", true);
    }, this.opts.answerTimeoutMs);
    this.answerTimer = timer;
  }

  /**
   * Checks an open socket by joining a followed room again from its position: the server
   * answers with `joined` (and any events we missed, which dedup by seq handles). With no
   * room followed nothing rides the socket, and the next join is watched the same way.
   */
  private probeRooms(): void {
    const room = this.rooms.values().next().value;
    if (room !== undefined) this.sendJoin(room, { watch: true });
  }

  private clearAnswerTimer(): void {
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = null;
  }

  // --- WebSocket -------------------------------------------------------------

  private handleWsOpen(): void {
    if (this.wsEverOpened) this.status.reconnects++;
    this.wsEverOpened = true;
    this.wsFailures = 0;
    this.wsBackoff.reset();
    this.sendPacer.reset();
    if (this.roomsTransport === "longpoll") {
      // The background upgrade worked: rooms move to the WebSocket, from the same positions.
      this.roomsTransport = "websocket";
      this.status.rooms.transport = "websocket";
      this.poll.restart();
    }
    // A socket that just opened is alive: its joins need no watching. They are every join a
    // refusal had put off, too.
    for (const room of [...this.rejoinTimers.keys()]) this.cancelRejoin(room);
    for (const room of this.rooms) this.sendJoin(room, { watch: false });
    this.setState("rooms", "connected");
    for (const e of this.outbox) if (e.status === "sending") e.status = "pending";
    this.flushOutbox();
  }

  private handleWsClose(code: number, reason: string, opened: boolean): void {
    this.clearAnswerTimer();
    for (const e of this.outbox) if (e.status === "sending") e.status = "pending";
    if (code === CloseCode.sessionInvalid) return this.handleSignedOut();
    if (!this.started || this.offline) return;
    if (this.roomsTransport === "longpoll") {
      // A background upgrade attempt failed: stay on long polling, try again later.
      this.wsTimer = setTimeout(() => this.ws.connect(), this.opts.upgradeRetryMs);
      return;
    }
    let delay = this.wsBackoff.next();
    if (!opened) {
      this.wsFailures++;
      if (this.mode === "auto" && this.wsFailures >= this.opts.failuresBeforeFallback) {
        // Blocked, or just down? Only a server that answers HTTP but not the upgrade is behind
        // a proxy that strips it; a server that is down gets the same backoff as always.
        this.setState("rooms", "reconnecting");
        void this.serverAnswersHttp().then((answers) => {
          if (!this.started || this.offline || this.roomsTransport !== "websocket" || this.ws.isOpen) return;
          if (answers) return this.fallBackRooms();
          this.wsTimer = setTimeout(() => {
            this.wsTimer = null;
            this.connectRooms();
          }, delay);
        });
        return;
      }
    }
    if (code === CloseCode.restarting) delay = this.restartDelay(reason) ?? delay;
    if (code === CloseCode.tooSlow) delay = Math.min(delay, 250);
    this.setState("rooms", "reconnecting");
    this.wsTimer = setTimeout(() => {
      this.wsTimer = null;
      this.connectRooms();
    }, delay);
  }

  /** Whether the server answers a plain request (and is not draining). */
  private async serverAnswersHttp(): Promise<boolean> {
    try {
      const res = await this.fetchImpl(`${this.baseUrl}/readyz`, { cache: "no-store" });
      return res.ok;
    } catch {
      return false;
    }
  }

  private fallBackRooms(): void {
    this.roomsTransport = "longpoll";
    this.status.rooms.transport = "longpoll";
    this.setState("rooms", "connecting");
    this.poll.restart();
    this.flushOutbox();
    this.wsTimer = setTimeout(() => this.ws.connect(), this.opts.upgradeRetryMs);
  }

  /** The delay a restarting server (1012) asked for, at most a minute; null: our own backoff. */
  private restartDelay(reason: string): number | null {
    if (reason === "") return null;
    const r = decode(restartingReasonSchema, reason);
    if (r instanceof InvalidPayload) {
      this.reportInvalid("websocket", r, reason.length, "close 1012");
      return null;
    }
    return Math.min(r.reconnectAfterMs, 60_000);
  }

  /**
   * A payload from the server that failed validation: dropped before the stores see it, shown
   * in the inspector's frames (marked invalid) and counted in the status, and reported as an
   * `invalid_frame` error. The connection carries on.
   */
  private reportInvalid(transport: FrameLog["transport"], invalid: InvalidPayload, bytes: number, type?: string): void {
    const what = type ?? invalid.claimedType ?? "frame";
    this.status.invalidFrames++;
    this.emit("frame", { direction: "in", transport, type: what, bytes, at: Date.now(), invalid: invalid.reason });
    this.emit("error", { code: "invalid_frame", message: `Invalid ${what} from the server, dropped: ${invalid.reason}` });
    this.emitStatus();
  }

  private handleFrame(frame: ServerFrame, bytes: number): void {
    this.emit("frame", { direction: "in", transport: "websocket", type: frame.type, bytes, at: Date.now() });
    // Any frame at all shows the socket carries traffic again.
    this.clearAnswerTimer();
    switch (frame.type) {
      case "joined":
        this.rejoinBackoff.reset();
        // Joined live (no history loaded): resume from the head the server stated, so a
        // reconnect before the first event still misses nothing.
        if (this.rooms.has(frame.room) && !this.positions.has(roomStream(frame.room))) this.positions.set(roomStream(frame.room), frame.head);
        this.emit("joined", { room: frame.room, head: frame.head, members: frame.members });
        // The members in the answer are the room's presence as of joining.
        return this.showMembers(frame.room, frame.members);
      case "event":
        return this.accept(frame.event);
      case "ack":
        return this.handleAck(frame.clientId, frame.seq);
      case "presence":
        return this.showMembers(frame.room, frame.members);
      case "presence_diff":
        return this.showMembers(frame.room, applyPresenceDiff(this.members.get(frame.room) ?? [], frame));
      case "typing":
        this.emit("typing", { room: frame.room, users: frame.users });
        return;
      case "cursors":
        this.emit("cursors", { room: frame.room, cursors: frame.cursors, snapshot: frame.full === true });
        return;
      case "reset":
        return this.resetPosition(roomStream(frame.room), frame.head);
      case "error":
        return this.handleError(frame.code, frame.message, frame.clientId, frame.room);
      default: {
        const unknown: never = frame;
        void unknown;
      }
    }
  }

  private showMembers(room: string, members: User[]): void {
    // A late frame for a room left meanwhile must not bring its list back.
    if (this.rooms.has(room)) this.members.set(room, members);
    this.emit("presence", { room, members });
  }

  // --- SSE -------------------------------------------------------------------

  private handleSseOpen(): void {
    if (this.sseEverOpened) this.status.reconnects++;
    this.sseEverOpened = true;
    this.sseFailures = 0;
    this.sseBackoff.reset();
    if (this.feedTransport === "longpoll") {
      this.feedTransport = "sse";
      this.status.feed.transport = "sse";
      this.poll.restart();
    }
    this.setState("feed", "connected");
  }

  private handleSseMessage(msg: SseMessage, bytes: number): void {
    if (msg.event === "read") {
      // Not an event of the log: the stream position stays where it is.
      const read = decode(sseReadSchema, msg.data);
      if (read instanceof InvalidPayload) return this.reportInvalid("sse", read, bytes, msg.event);
      this.sseFrameIn(msg, bytes);
      this.emit("read", read);
      return;
    }
    if (msg.event === "reset") {
      const reset = decode(sseResetSchema, msg.data);
      if (reset instanceof InvalidPayload) return this.reportInvalid("sse", reset, bytes, msg.event);
      this.sseFrameIn(msg, bytes);
      this.resetPosition(reset.stream, reset.head);
    } else {
      // The position does not move on an event we could not read: a reconnect before the next one asks for it again.
      const event = decode(realtimeEventSchema, msg.data);
      if (event instanceof InvalidPayload) return this.reportInvalid("sse", event, bytes, msg.event);
      this.sseFrameIn(msg, bytes);
      this.accept(event);
    }
    this.advance(msg.id);
  }

  private sseFrameIn(msg: SseMessage, bytes: number): void {
    this.emit("frame", { direction: "in", transport: "sse", type: msg.event, bytes, at: Date.now() });
  }

  private handleSseEnd(error: SseFailure | null, gotBytes: boolean, retryMs: number | null): void {
    if (error?.status === 401) return this.handleSignedOut();
    if (!this.started || this.offline) return;
    if (this.feedTransport === "longpoll") {
      this.sseTimer = setTimeout(() => this.sse.connect(), this.opts.upgradeRetryMs);
      return;
    }
    const delay = Math.max(retryMs ?? 0, this.sseBackoff.next());
    this.setState("feed", "reconnecting");
    // A request with no answer at all is a server that is down, or no network: keep trying.
    // Silence, or an answer that is no event stream, may be a proxy in the way.
    if (!gotBytes && error && error.kind !== "network") {
      this.sseFailures++;
      if (this.mode === "auto" && this.sseFailures >= this.opts.failuresBeforeFallback) {
        // Silence is a buffering proxy. A refusal (403, 502, a proxy's HTML page) is a proxy
        // that blocks the stream only if the server answers plain requests; a server that is
        // restarting answers neither, and gets the usual backoff.
        if (error.kind === "silent") return this.fallBackFeed();
        void this.serverAnswersHttp().then((answers) => {
          if (!this.started || this.offline || this.signedOut || this.feedTransport !== "sse" || this.sse.active) return;
          if (answers) return this.fallBackFeed();
          this.scheduleSseConnect(delay);
        });
        return;
      }
    }
    this.scheduleSseConnect(delay);
  }

  private scheduleSseConnect(delay: number): void {
    if (this.sseTimer) clearTimeout(this.sseTimer);
    this.sseTimer = setTimeout(() => {
      this.sseTimer = null;
      this.sse.connect();
    }, delay);
  }

  private fallBackFeed(): void {
    this.feedTransport = "longpoll";
    this.status.feed.transport = "longpoll";
    this.setState("feed", "connecting");
    this.poll.restart();
    this.sseTimer = setTimeout(() => this.sse.connect(), this.opts.upgradeRetryMs);
  }

  // --- Long polling ----------------------------------------------------------

  private handlePollAnswer(answer: PollAnswer, bytes: number, rtt: number): void {
    this.emit("frame", { direction: "in", transport: "longpoll", type: `poll(${answer.events.length})`, bytes, at: Date.now() });
    if (answer.events.length === 0 && rtt < 1000) this.status.rttMs = rtt;
    for (const [stream, head] of Object.entries(answer.resets ?? {})) this.resetPosition(stream, head);
    for (const e of answer.events) this.accept(e);
    this.advance(answer.cursor);
    for (const [room, state] of Object.entries(answer.rooms ?? {})) {
      if (this.roomsTransport !== "longpoll" || !this.rooms.has(room)) continue;
      this.emit("presence", { room, members: state.members });
      this.emit("typing", { room, users: state.typing });
      this.emit("cursors", { room, cursors: state.cursors, snapshot: true });
    }
    if (this.roomsTransport === "longpoll") this.setState("rooms", "connected");
    if (this.feedTransport === "longpoll" && this.feedStreams.length > 0) this.setState("feed", "connected");
    this.emitStatus();
  }

  private handlePollError(err: PollFailure): void {
    if (err.status === 401) return this.handleSignedOut();
    if (err.invalid) this.reportInvalid("longpoll", err.invalid.payload, err.invalid.bytes, "poll");
    else this.emit("error", { code: err.code ?? "network", message: err.message });
    if (this.roomsTransport === "longpoll") this.setState("rooms", "reconnecting");
    if (this.feedTransport === "longpoll" && this.feedStreams.length > 0) this.setState("feed", "reconnecting");
  }

  // ---------------------------------------------------------------------------
  // Events, positions and the outbox

  /** Takes a durable event once: anything at or below the stream's position is a repeat. */
  private accept(event: RealtimeEvent): void {
    const key = event.stream.startsWith("user:") ? "user:me" : event.stream;
    const at = this.positions.get(key);
    if (at !== undefined && event.seq <= at) return;
    this.positions.set(key, event.seq);
    if (event.type === "message" && this.outbox.some((e) => e.clientId === event.data.clientId)) {
      // Our own message came back before (or instead of) its ack: it is sent.
      this.handleAck(event.data.clientId, event.seq);
    }
    this.emit("event", event);
  }

  /** The server says our position in a stream cannot be resumed: start over from its head. */
  private resetPosition(stream: string, head: number): void {
    const key = stream.startsWith("user:") ? "user:me" : stream;
    this.positions.set(key, head);
    this.emit("reset", { stream: key, head });
  }

  /** Moves positions forward to a cursor the server sent (SSE id, poll cursor). */
  private advance(cursorText: string): void {
    const cursor = parseCursor(cursorText);
    if (!cursor) return;
    for (const [stream, seq] of cursor) {
      const key = stream.startsWith("user:") ? "user:me" : stream;
      const room = roomOfStream(key);
      if (room !== null && !this.rooms.has(room)) continue;
      if ((this.positions.get(key) ?? -1) < seq) this.positions.set(key, seq);
    }
  }

  private cursorFor(streams: string[]): string {
    const c = new Map<string, number>();
    for (const s of streams) {
      const seq = this.positions.get(s);
      if (seq !== undefined) c.set(s, seq);
    }
    return formatCursor(c);
  }

  private handleAck(clientId: string, seq: number): void {
    const entry = this.outbox.find((e) => e.clientId === clientId);
    if (!entry) return;
    const sent = this.sentAt.get(clientId);
    if (sent !== undefined) this.status.rttMs = Date.now() - sent;
    this.sentAt.delete(clientId);
    this.outbox = this.outbox.filter((e) => e !== entry);
    this.sendBackoff.reset();
    this.emit("ack", { clientId, room: entry.room, seq });
    this.outboxChanged();
    this.emitStatus();
    // Room in the window for the next one.
    this.flushOutbox();
  }

  /**
   * Joins the room again after a backoff: the server refused its join for now (too many at
   * once, its log busy or failing), or says this connection is not in a room we follow (a
   * re-join that failed on its side). Otherwise the room would sit silent on a working socket.
   */
  private rejoinLater(room: string): void {
    if (!this.rooms.has(room) || this.rejoinTimers.has(room)) return;
    const timer = setTimeout(() => {
      this.rejoinTimers.delete(room);
      if (this.rooms.has(room) && this.roomsTransport === "websocket" && this.ws.isOpen) this.sendJoin(room, { watch: false });
      // The room's messages held back for the join go after it (the server takes frames in order).
      this.flushOutbox();
    }, Math.max(SEND_HOLD_MS, this.rejoinBackoff.next()));
    this.rejoinTimers.set(room, timer);
  }

  private cancelRejoin(room: string): void {
    const timer = this.rejoinTimers.get(room);
    if (timer) clearTimeout(timer);
    this.rejoinTimers.delete(room);
  }

  private handleError(code: ErrorCode, message: string, clientId?: string, room?: string): void {
    this.emit("error", { code, message });
    // The server lost a room we follow: join again, and what was refused for it goes again after.
    const lostRoom = code === "not_joined" && room !== undefined && this.rooms.has(room);
    if (room !== undefined && (lostRoom || (clientId === undefined && RETRYABLE.has(code)))) this.rejoinLater(room);
    if (!clientId) return;
    const entry = this.outbox.find((e) => e.clientId === clientId);
    if (!entry) return;
    if (RETRYABLE.has(code) || lostRoom) {
      entry.status = "pending";
      this.holdSends();
    } else {
      entry.status = "failed";
      entry.error = { code, message };
    }
    this.outboxChanged();
    // A failed message leaves the window: the next one may go.
    this.flushOutbox();
  }

  /**
   * Sends waiting messages in the order they were written: one unacknowledged message per room
   * (the next goes when the server has acknowledged it), up to SEND_WINDOW rooms at once over
   * the WebSocket and one request at a time over HTTP, paced under the server's rate. One per
   * room keeps a room's messages in the order they were written even when the server refuses
   * one for now (`rate_limited`, `overloaded`, `internal`): nothing after it is on its way, so
   * it goes again first. Under the server's 10 a second, a round trip under 100 ms costs no speed.
   */
  private flushOutbox(): void {
    if (this.offline || this.signedOut || !this.started) return;
    const hold = this.sendHoldUntil - Date.now();
    if (hold > 0) return this.scheduleFlush(hold);
    const overWs = this.roomsTransport === "websocket";
    if (overWs && !this.ws.isOpen) return;
    const window = overWs ? SEND_WINDOW : 1;
    const busy = new Set(this.outbox.filter((e) => e.status === "sending").map((e) => e.room));
    let inFlight = this.outbox.filter((e) => e.status === "sending").length;
    let changed = false;
    for (const e of this.outbox) {
      if (inFlight >= window) break;
      // A room's first waiting message holds back the rest of that room.
      if (busy.has(e.room) || e.status === "failed") continue;
      if (e.status !== "pending" || !this.rooms.has(e.room) || this.rejoinTimers.has(e.room)) {
        busy.add(e.room);
        continue;
      }
      busy.add(e.room);
      if (!this.sendPacer.take()) {
        this.scheduleFlush(this.sendPacer.waitMs);
        break;
      }
      if (overWs) {
        if (!this.ws.send({ type: "send", room: e.room, text: e.text, clientId: e.clientId })) break;
        e.status = "sending";
        this.sentAt.set(e.clientId, Date.now());
        changed = true;
      } else {
        void this.postMessage(e);
      }
      inFlight++;
    }
    if (changed) this.outboxChanged();
  }

  /** The server asked us to slow down (or could not take a message now): wait, longer each time. */
  private holdSends(): void {
    const wait = Math.max(SEND_HOLD_MS, this.sendBackoff.next());
    this.sendHoldUntil = Date.now() + wait;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.scheduleFlush(wait);
  }

  private async postMessage(entry: OutboxEntry): Promise<void> {
    entry.status = "sending";
    this.sentAt.set(entry.clientId, Date.now());
    this.outboxChanged();
    const res = await this.http(`/api/rooms/${encodeURIComponent(entry.room)}/messages`, { text: entry.text, clientId: entry.clientId }, "send");
    if (!this.outbox.includes(entry)) return this.flushOutbox(); // discarded meanwhile
    const text = res?.text ?? null;
    if (res && text !== null && (res.status === 200 || res.status === 201)) {
      const answer = decode(postedMessageSchema, text);
      if (!(answer instanceof InvalidPayload)) return this.handleAck(entry.clientId, answer.event.seq);
      // Stored or not, we cannot tell: it goes again below, and its clientId keeps it from doubling.
      this.reportInvalid("http", answer, text.length, "send");
    } else if (res && res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 401) {
      const body = text === null ? null : decode(errorBodySchema, text);
      const error = body instanceof InvalidPayload ? null : body?.error;
      return this.handleError(error?.code ?? "bad_request", error?.message ?? `HTTP ${res.status}`, entry.clientId);
    }
    if (res?.status === 401) return this.handleSignedOut();
    // Rate limited, overloaded, unreachable or unreadable: it goes again, still first in line.
    entry.status = "pending";
    this.outboxChanged();
    this.holdSends();
  }

  private scheduleFlush(ms: number): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushOutbox();
    }, ms);
  }

  /**
   * POSTs upstream (a message, typing, a cursor) and reads the answer whole. Null when no
   * answer came: unreachable, or nothing within HTTP_TIMEOUT_MS (a request on a connection that
   * died under a sleeping laptop would otherwise hold the outbox forever), or cut off by `wake`.
   */
  private async http(path: string, body: unknown, type: string): Promise<{ status: number; text: string } | null> {
    const text = JSON.stringify(body);
    this.emit("frame", { direction: "out", transport: "http", type, bytes: text.length, at: Date.now() });
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), HTTP_TIMEOUT_MS);
    this.httpInFlight.add(controller);
    try {
      const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: text,
        credentials: "same-origin",
        signal: controller.signal,
      });
      return { status: res.status, text: await res.text() };
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
      this.httpInFlight.delete(controller);
    }
  }

  private outboxChanged(): void {
    this.opts.storage?.save(this.outbox);
    this.emit("outbox", this.getOutbox());
  }

  private handleSignedOut(): void {
    this.signedOut = true;
    this.disconnectAll();
    this.setState("rooms", "signed-out");
    this.setState("feed", "signed-out");
    this.emit("signedOut", undefined);
  }

  private setState(which: "rooms" | "feed" | "poll", state: ConnectionStatus["rooms"]["state"]): void {
    if (which === "poll") {
      if (this.roomsTransport === "longpoll") this.status.rooms.state = state;
      if (this.feedTransport === "longpoll" && this.feedStreams.length > 0) this.status.feed.state = state;
    } else {
      this.status[which].state = state;
    }
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit("status", this.getStatus());
  }
}

/** The cursor tick the server coalesces on; exported for components that animate to it. */
export const SERVER_CURSOR_TICK_MS = CURSOR_TICK_MS;

function defaultWsUrl(): string {
  if (typeof location === "undefined") return "ws://localhost:3000/ws";
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}

export function randomId(prefix: string): string {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  let s = "";
  for (const b of bytes) s += b.toString(36).padStart(2, "0");
  return `${prefix}-${s.slice(0, 14)}`;
}
