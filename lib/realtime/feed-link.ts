// The feed's link: the feed and this person's notifications ride SSE; when no byte arrives (a
// buffering proxy), a proxy refuses the stream while the server answers plain requests, or the
// rooms' link finds WebSockets blocked before the stream has opened, they ride long polling,
// and SSE is tried again in the background.
import { SSE_PING_MS } from "../protocol";
import { Backoff, type BackoffOptions } from "./backoff";
import { SseChannel, type SseFailure } from "./sse-channel";
import type { SseMessage } from "./sse-reader";
import type { ChannelState, FeedTransport, TransportMode } from "./types";

/**
 * An event stream quiet for longer than this has died: the server writes `: ping` every 15 s,
 * so a laptop waking from sleep on an old stream finds it silent for minutes.
 */
const SSE_QUIET_MS = 2 * SSE_PING_MS;

export interface FeedLinkHooks {
  cursor(): string;
  onMessage(msg: SseMessage, bytes: number): void;
  onId(id: string): void;
  onState(state: ChannelState): void;
  onReconnect(): void;
  onSignedOut(): void;
  /** The feed moved onto (or off) the long poll. */
  onTransport(): void;
  serverAnswersHttp(): Promise<boolean>;
}

export class FeedLink {
  transport: FeedTransport;
  private readonly sse: SseChannel;
  private readonly backoff: Backoff;
  private failures = 0;
  private everOpened = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private up = false;
  /** The event stream is open (its first byte came, and it has not ended since). */
  private streaming = false;

  constructor(
    url: string,
    fetchImpl: typeof fetch,
    private mode: TransportMode,
    private readonly opts: { firstByteTimeoutMs: number; upgradeRetryMs: number; failuresBeforeFallback: number; backoff: BackoffOptions },
    private readonly hooks: FeedLinkHooks,
  ) {
    this.transport = mode === "longpoll" ? "longpoll" : "sse";
    this.backoff = new Backoff(opts.backoff);
    this.sse = new SseChannel(url, fetchImpl, opts.firstByteTimeoutMs, {
      cursor: () => hooks.cursor(),
      onFirstByte: () => this.opened(),
      onMessage: (msg, bytes) => hooks.onMessage(msg, bytes),
      onId: (id) => hooks.onId(id),
      onEnd: (error, gotBytes, retryMs) => this.ended(error, gotBytes, retryMs),
    });
  }

  start(): void {
    this.up = true;
    if (this.transport === "sse") {
      this.hooks.onState("connecting");
      this.sse.connect();
    } else this.hooks.onState("connecting");
  }

  stop(): void {
    this.up = false;
    this.streaming = false;
    this.clearTimer();
    this.sse.close();
  }

  setMode(mode: TransportMode): void {
    this.mode = mode;
    this.failures = 0;
    this.transport = mode === "longpoll" ? "longpoll" : "sse";
  }

  resetBackoff(): void {
    this.backoff.reset();
  }

  /** The page woke up: a silent stream is replaced, a waiting retry goes now (its backoff starts over). */
  wake(): void {
    if (this.transport !== "sse") return;
    if (this.sse.active && this.sse.quietForMs > SSE_QUIET_MS) {
      this.hooks.onState("reconnecting");
      this.sse.connect();
    } else if (!this.sse.active && this.timer) {
      this.clearTimer();
      this.backoff.reset();
      this.sse.connect();
    }
  }

  /**
   * The rooms' link found WebSockets blocked while the server answers plain requests: a proxy is
   * in the way, and an event stream that has not opened yet is most likely held by the same
   * proxy. One negotiation for both: the feed rides long polling at once rather than sit
   * "connecting" through its own tries, and SSE is tried again in the background as usual.
   * A stream already open stays (that proxy lets SSE through).
   */
  roomsBlocked(): void {
    if (!this.up || this.mode !== "auto" || this.transport !== "sse" || this.streaming) return;
    this.sse.close();
    this.fallBack();
  }

  private opened(): void {
    this.streaming = true;
    if (this.everOpened) this.hooks.onReconnect();
    this.everOpened = true;
    this.failures = 0;
    this.backoff.reset();
    if (this.transport === "longpoll") {
      this.transport = "sse";
      this.hooks.onTransport();
    }
    this.hooks.onState("connected");
  }

  private ended(error: SseFailure | null, gotBytes: boolean, retryMs: number | null): void {
    this.streaming = false;
    if (error?.status === 401) return this.hooks.onSignedOut();
    if (this.transport === "longpoll") return this.schedule(this.opts.upgradeRetryMs);
    const delay = Math.max(retryMs ?? 0, this.backoff.next());
    this.hooks.onState("reconnecting");
    // A request with no answer at all is a server that is down, or no network: keep trying.
    // Silence, or an answer that is no event stream, may be a proxy in the way.
    if (!gotBytes && error && error.kind !== "network") {
      this.failures++;
      if (this.mode === "auto" && this.failures >= this.opts.failuresBeforeFallback) {
        // Silence is a buffering proxy. A refusal (403, 502, a proxy's HTML page) is a proxy
        // that blocks the stream only if the server answers plain requests; a server that is
        // restarting answers neither, and gets the usual backoff.
        if (error.kind === "silent") return this.fallBack();
        void this.hooks.serverAnswersHttp().then((answers) => {
          if (!this.up || this.transport !== "sse" || this.sse.active) return;
          if (answers) return this.fallBack();
          this.schedule(delay);
        });
        return;
      }
    }
    this.schedule(delay);
  }

  private fallBack(): void {
    this.transport = "longpoll";
    this.hooks.onTransport();
    this.hooks.onState("connecting");
    this.schedule(this.opts.upgradeRetryMs);
  }

  private schedule(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.sse.connect();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
