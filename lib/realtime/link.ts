// The rooms link: the one way frames go to and come from the server, whatever carries them.
// It owns the transport choice — WebSocket first; after FAILURES_BEFORE_FALLBACK failures to
// open while the server answers plain HTTP (a proxy strips the upgrade), long polling, with
// the WebSocket tried again in the background — and its state (link-state.ts). `send(frame)`
// takes ANY client frame; answers come back as server frames through `onFrame`, on either link.
import { CloseCode, restartingReasonSchema, type ClientFrame, type ServerFrame } from "../protocol";
import { Backoff, type BackoffOptions } from "./backoff";
import { decode, InvalidPayload } from "./decode";
import { channelState, transition, type LinkEvent, type LinkState } from "./link-state";
import { PollUpstream } from "./poll-upstream";
import { randomId } from "./random-id";
import type { ChannelState, FrameLog, RoomsTransport, TransportMode, WebSocketLike } from "./types";
import { WsChannel } from "./ws-channel";

/** The local close code for a socket that left a join unanswered (it looked open but was dead). */
const CLOSE_UNANSWERED = 4000;
/** How soon a dropped connection (the inspector's button) comes back. */
const DROP_RECONNECT_MS = 500;

export interface LinkHooks {
  /** Frames may flow on a fresh link: join every room, send what waits. */
  onUp(): void;
  /** The link went down: what was on its way goes again on the next one. */
  onDown(): void;
  onFrame(frame: ServerFrame): void;
  /** Frames sent over HTTP that got no answer. */
  onUnanswered(frames: ClientFrame[]): void;
  onSignedOut(): void;
  onInvalid(transport: FrameLog["transport"], invalid: InvalidPayload, bytes: number, type?: string): void;
  onLog(log: FrameLog): void;
  /** The state (or what the badge shows of it) changed. */
  onStatus(): void;
  /** A live connection came back after one was lost. */
  onReconnect(): void;
}

export interface LinkOptions {
  baseUrl: string;
  wsUrl: string;
  fetch: typeof fetch;
  createWebSocket: (url: string, protocols: string[]) => WebSocketLike;
  /** The page id sent as `conn` with every upstream batch (limits and presence are per page). */
  conn: string;
  mode: TransportMode;
  wsOpenTimeoutMs: number;
  upgradeRetryMs: number;
  answerTimeoutMs: number;
  failuresBeforeFallback: number;
  backoff: BackoffOptions;
  /** The downstream long poll (shared with the feed): restarted when the rooms move onto or off it. */
  poller: { restart(): void };
}

export class Link {
  private current: LinkState = "idle";
  private doc = randomId("d");
  private started = false;
  private mode: TransportMode;
  private readonly ws: WsChannel;
  private readonly upstream: PollUpstream;
  private readonly backoff: Backoff;
  private failures = 0;
  private everOpened = false;
  /** Whether the last poll answered (null: none yet on this fallback). */
  private pollHealthy: boolean | null = null;
  /** The backoff's retry, or the background upgrade attempt while on long polling. */
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Armed while a join waits for its answer on a socket that was already open. */
  private answerTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly opts: LinkOptions,
    private readonly hooks: LinkHooks,
  ) {
    this.mode = opts.mode;
    this.backoff = new Backoff(opts.backoff);
    this.ws = new WsChannel(opts.wsUrl, opts.createWebSocket, opts.wsOpenTimeoutMs, {
      onOpen: () => this.wsOpened(),
      onFrame: (frame, bytes) => {
        hooks.onLog({ direction: "in", transport: "websocket", type: frame.type, bytes, at: Date.now() });
        // Any frame at all shows the socket carries traffic again.
        this.clearAnswerTimer();
        hooks.onFrame(frame);
      },
      onInvalidFrame: (invalid, bytes) => {
        // Garbled or not, it came through: the socket is alive.
        this.clearAnswerTimer();
        hooks.onInvalid("websocket", invalid, bytes);
      },
      onClose: (code, reason, opened) => this.wsClosed(code, reason, opened),
      onSend: (type, bytes) => hooks.onLog({ direction: "out", transport: "websocket", type, bytes, at: Date.now() }),
    });
    this.upstream = new PollUpstream(opts.baseUrl, opts.fetch, opts.conn, {
      onFrames: (frames) => {
        for (const f of frames) hooks.onLog({ direction: "in", transport: "http", type: f.type, bytes: JSON.stringify(f).length, at: Date.now() });
        for (const f of frames) hooks.onFrame(f);
      },
      onUnanswered: (frames) => hooks.onUnanswered(frames),
      onSignedOut: () => this.signOut(),
      onInvalid: (invalid, bytes, type) => hooks.onInvalid("http", invalid, bytes, type),
      onSend: (type, bytes) => hooks.onLog({ direction: "out", transport: "http", type, bytes, at: Date.now() }),
    }, () => this.doc);
  }

  get state(): LinkState {
    return this.current;
  }

  /** What carries the rooms: long polling when forced or fallen back to, else the WebSocket. */
  get transport(): RoomsTransport {
    return this.mode === "longpoll" || this.current === "fallback-poll" ? "longpoll" : "websocket";
  }

  /**
   * This document's present stint of long polling (protocol 1.21), named on its polls and
   * batches and on its goodbye: a new one each time the link falls back to long polling, so the
   * server tells a stint that said goodbye from the next (a reload, a fallback after a socket).
   */
  get pollDoc(): string {
    return this.doc;
  }

  /** Whether the rooms are long polled now: on long polling, and running (not stopped, offline or signed out). */
  get pollsRooms(): boolean {
    return this.current === "fallback-poll";
  }

  get transportMode(): TransportMode {
    return this.mode;
  }

  /** What the connection badge shows. */
  get channelState(): ChannelState {
    return channelState(this.current, { everOpened: this.everOpened, pollHealthy: this.pollHealthy });
  }

  /** Whether frames can go now (open socket, or long polling). */
  get canSend(): boolean {
    if (this.current === "offline" || this.current === "signed-out") return false;
    return this.transport === "longpoll" || this.ws.isOpen;
  }

  /** Sends any client frame on the current transport; false when it cannot go now. */
  send(frame: ClientFrame): boolean {
    if (this.current === "offline" || this.current === "signed-out") return false;
    if (this.transport === "longpoll") return this.upstream.send(frame);
    return this.ws.send(frame);
  }

  /**
   * A frame just sent on a socket that has been open a while must be answered within
   * `answerTimeoutMs` (the server answers every join): silence means the socket is dead
   * without knowing it (a sleeping laptop's half-open TCP), so it is replaced.
   */
  expectAnswer(): void {
    if (this.transport !== "websocket" || !this.ws.isOpen || this.answerTimer) return;
    // (Any frame, and leaving the state, clear this timer: when it fires, the watch is current.)
    const timer = setTimeout(() => {
      this.answerTimer = null;
      this.ws.close();
      this.wsClosed(CLOSE_UNANSWERED, "no answer from the server", true);
    }, this.opts.answerTimeoutMs);
    this.answerTimer = timer;
  }

  start(): void {
    this.started = true;
    this.dispatch({ type: "start" });
  }

  stop(): void {
    this.started = false;
    this.dispatch({ type: "stop" });
  }

  /** The network went (or came back): either way the backoff starts over for the next try. */
  setOffline(offline: boolean): void {
    this.backoff.reset();
    this.dispatch({ type: offline ? "offline" : "online" });
  }

  signOut(): void {
    if (this.current === "signed-out") return;
    this.dispatch({ type: "signed-out" });
    this.hooks.onSignedOut();
  }

  /** Forces a transport (the inspector's toggle, `?transport=`); "auto" negotiates again. */
  setMode(mode: TransportMode): void {
    this.mode = mode;
    this.failures = 0;
    if (!this.started || this.current === "offline" || this.current === "signed-out") return this.hooks.onStatus();
    this.dispatch({ type: "stop" });
    this.dispatch({ type: "start" });
  }

  /** Drops the live connection; it comes back as after a network blip (a state with none ignores it). */
  drop(): void {
    if (this.current === "fallback-poll") return this.opts.poller.restart();
    this.dispatch({ type: "lost" }, DROP_RECONNECT_MS);
  }

  /**
   * The page woke up: a retry that waits goes now; true when an open socket should be checked.
   * The backoff starts over: if the network is not quite back yet (Wi-Fi still associating), the
   * next try comes within a second, not after the ceiling the outage had grown it to.
   */
  wake(): boolean {
    this.upstream.abortAll();
    if (this.ws.isOpen) return true;
    if (this.current === "backoff" && this.timer) {
      this.backoff.reset();
      this.dispatch({ type: "retry" });
    }
    return false;
  }

  /** The downstream poll answered (or failed): what the badge shows while on long polling. */
  pollAnswered(ok: boolean): void {
    if (this.transport !== "longpoll") return;
    this.pollHealthy = ok;
    this.hooks.onStatus();
  }

  // --- the state machine -----------------------------------------------------------------

  /** `delayMs`: how long `backoff` waits before its retry (null: the caller arms it later). */
  private dispatch(event: LinkEvent, delayMs: number | null = 0): void {
    const from = this.current;
    const to = transition(from, event, { started: this.started, forcedPoll: this.mode === "longpoll" });
    if (to === from) return this.hooks.onStatus();
    // Long polling left for anything but a lost network (the page stopped: closed, hidden,
    // stepping down; or a socket took over): the page says goodbye, so its person's presence
    // through it ends after the grace, as a closed socket's does, not at the polls' lapse (1.20).
    if (from === "fallback-poll" && to !== "offline" && to !== "signed-out") this.upstream.bye();
    // The socket that just opened is the one the next state uses.
    this.leave(event.type === "opened");
    this.current = to;
    // A socket takes the rooms over: the poll goes on for what else it carries (the feed, when
    // SSE is refused), asked once `current` no longer gives it the rooms. A link that stops
    // asks nothing: its client stops the poll, and a poll sent now would renew the presence
    // the goodbye just ended.
    if (from === "fallback-poll" && to !== "idle" && to !== "offline" && to !== "signed-out") this.opts.poller.restart();
    this.enter(to, delayMs);
    this.hooks.onStatus();
  }

  /** Leaving a state: its timers and connections end (entering the next starts what it needs). */
  private leave(keepSocket: boolean): void {
    this.clearTimer();
    this.clearAnswerTimer();
    if (!keepSocket) this.ws.close();
    this.hooks.onDown();
  }

  private enter(state: LinkState, delayMs: number | null): void {
    switch (state) {
      case "connecting":
        this.ws.connect();
        return;
      case "open":
        if (this.everOpened) this.hooks.onReconnect();
        this.everOpened = true;
        this.hooks.onUp();
        return;
      case "backoff":
        if (delayMs !== null) this.arm(delayMs, () => this.dispatch({ type: "retry" }));
        return;
      case "fallback-poll":
        this.doc = randomId("d");
        this.pollHealthy = null;
        this.opts.poller.restart();
        if (this.mode === "auto") this.arm(this.opts.upgradeRetryMs, () => this.ws.connect());
        this.hooks.onUp();
        return;
      case "idle":
      case "offline":
      case "signed-out":
        this.upstream.clear();
        return;
    }
  }

  private arm(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  // --- the WebSocket ---------------------------------------------------------------------

  private wsOpened(): void {
    this.failures = 0;
    this.backoff.reset();
    // On long polling this is the background upgrade: rooms move to the WebSocket, from the same positions.
    this.dispatch({ type: "opened" });
  }

  private wsClosed(code: number, reason: string, opened: boolean): void {
    this.clearAnswerTimer();
    if (code === CloseCode.sessionInvalid) return this.signOut();
    if (!this.started || this.current === "offline" || this.current === "signed-out") return;
    if (this.current === "fallback-poll") {
      // A background upgrade attempt failed: stay on long polling, try again later.
      this.arm(this.opts.upgradeRetryMs, () => this.ws.connect());
      return;
    }
    let delay = this.backoff.next();
    if (!opened) {
      this.failures++;
      if (this.mode === "auto" && this.failures >= this.opts.failuresBeforeFallback) {
        // Blocked, or just down? Only a server that answers HTTP but not the upgrade is behind
        // a proxy that strips it; a server that is down gets the same backoff as always.
        this.dispatch({ type: "lost" }, null);
        void this.serverAnswersHttp().then((answers) => {
          if (this.current !== "backoff" || this.timer) return;
          if (answers) return this.dispatch({ type: "blocked" });
          this.arm(delay, () => this.dispatch({ type: "retry" }));
        });
        return;
      }
    }
    if (code === CloseCode.restarting) delay = this.restartDelay(reason) ?? delay;
    if (code === CloseCode.tooSlow) delay = Math.min(delay, 250);
    this.dispatch({ type: "lost" }, delay);
  }

  /** Whether the server answers a plain request (and is not draining). */
  private async serverAnswersHttp(): Promise<boolean> {
    try {
      const res = await this.opts.fetch(`${this.opts.baseUrl}/readyz`, { cache: "no-store" });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** The delay a restarting server (1012) asked for, at most a minute; null: our own backoff. */
  private restartDelay(reason: string): number | null {
    if (reason === "") return null;
    const r = decode(restartingReasonSchema, reason);
    if (r instanceof InvalidPayload) {
      this.hooks.onInvalid("websocket", r, reason.length, "close 1012");
      return null;
    }
    return Math.min(r.reconnectAfterMs, 60_000);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private clearAnswerTimer(): void {
    if (this.answerTimer) clearTimeout(this.answerTimer);
    this.answerTimer = null;
  }
}
