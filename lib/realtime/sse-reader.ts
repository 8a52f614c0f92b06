// Parses a text/event-stream body as the WHATWG spec says, from chunks of text.
// Used with fetch so the client sees the first byte (and can tell a buffering proxy apart)
// and sets Last-Event-ID itself.

export interface SseMessage {
  /** The last event ID after this message (ids persist across messages, as in EventSource). */
  id: string;
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private lastId = "";
  private pendingId: string | null = null;
  /** The server's requested reconnection delay, if it sent one. */
  retryMs: number | null = null;

  constructor(
    private readonly onMessage: (msg: SseMessage) => void,
    /** Called when an id-only message moves the last event ID without dispatching. */
    private readonly onId?: (id: string) => void,
  ) {}

  get lastEventId(): string {
    return this.lastId;
  }

  push(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the very end might be the first half of CRLF: wait for more.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.pendingId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
    }
  }

  private dispatch(): void {
    if (this.pendingId !== null) {
      this.lastId = this.pendingId;
      this.pendingId = null;
      if (this.data.length === 0) this.onId?.(this.lastId);
    }
    if (this.data.length === 0) {
      this.event = "";
      return;
    }
    const msg = { id: this.lastId, event: this.event || "message", data: this.data.join("\n") };
    this.data = [];
    this.event = "";
    this.onMessage(msg);
  }
}
