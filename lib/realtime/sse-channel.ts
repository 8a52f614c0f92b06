// The SSE channel: the feed and notifications over `/api/stream`, read with fetch so the
// client sees the first byte (a buffering proxy shows as silence) and sends Last-Event-ID itself.
import { SseParser, type SseMessage } from "./sse-reader";

/**
 * Why a stream ended badly. `silent`: answered or not, no byte came in time (a buffering
 * proxy). `refused`: an HTTP answer that is not an event stream — an error status, or a proxy's
 * page in its place. `network`: no answer at all (the server is down, or we are offline).
 */
export interface SseFailure {
  kind: "silent" | "refused" | "network";
  status?: number;
  message: string;
}

export interface SseChannelHooks {
  /** The current resume cursor (Last-Event-ID) for the streams. */
  cursor(): string;
  onFirstByte(): void;
  onMessage(msg: SseMessage, bytes: number): void;
  onId(id: string): void;
  /** The stream ended (`error` null) or failed; `gotBytes` says whether anything arrived first. */
  onEnd(error: SseFailure | null, gotBytes: boolean, retryMs: number | null): void;
}

export class SseChannel {
  private abort: AbortController | null = null;
  private firstByteTimer: ReturnType<typeof setTimeout> | null = null;
  /** When the current stream last gave a byte (or was opened). */
  private lastByteAt = 0;

  constructor(
    private readonly url: string,
    private readonly fetchImpl: typeof fetch,
    private readonly firstByteTimeoutMs: number,
    private readonly hooks: SseChannelHooks,
  ) {}

  get active(): boolean {
    return this.abort !== null;
  }

  /** How long the current stream has been silent: the server pings an idle one every 15 s. */
  get quietForMs(): number {
    return Date.now() - this.lastByteAt;
  }

  connect(): void {
    this.close();
    const abort = new AbortController();
    this.abort = abort;
    this.lastByteAt = Date.now();
    void this.run(abort);
  }

  close(): void {
    if (this.firstByteTimer) clearTimeout(this.firstByteTimer);
    this.firstByteTimer = null;
    this.abort?.abort();
    this.abort = null;
  }

  private async run(abort: AbortController): Promise<void> {
    let gotBytes = false;
    const parser = new SseParser(
      (msg) => this.hooks.onMessage(msg, msg.data.length),
      (id) => this.hooks.onId(id),
    );
    const finish = (error: SseFailure | null) => {
      if (this.abort !== abort) return;
      this.close();
      this.hooks.onEnd(error, gotBytes, parser.retryMs);
    };
    // Cleared by the first byte (and by closing): when it fires, nothing has come.
    this.firstByteTimer = setTimeout(() => finish({ kind: "silent", message: "no data from the event stream (a buffering proxy?)" }), this.firstByteTimeoutMs);
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      const cursor = this.hooks.cursor();
      if (cursor) headers["Last-Event-ID"] = cursor;
      const res = await this.fetchImpl(this.url, { headers, signal: abort.signal, cache: "no-store", credentials: "same-origin" });
      if (!res.ok || !res.body) return finish({ kind: "refused", status: res.status, message: `HTTP ${res.status}` });
      // A proxy may answer 200 with a page of its own (a login or block page): that is no stream.
      const type = res.headers.get("content-type") ?? "";
      if (!/^text\/event-stream\b/i.test(type)) {
        void res.body.cancel().catch(() => undefined);
        return finish({ kind: "refused", status: res.status, message: `not an event stream (${type || "no content type"})` });
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.abort !== abort) return;
        this.lastByteAt = Date.now();
        if (!gotBytes && value.length > 0) {
          gotBytes = true;
          if (this.firstByteTimer) clearTimeout(this.firstByteTimer);
          this.hooks.onFirstByte();
        }
        parser.push(value);
      }
      finish(null);
    } catch (err) {
      if (abort.signal.aborted) return;
      finish({ kind: "network", message: err instanceof Error ? err.message : String(err) });
    }
  }
}
