// The HTTP side of a server, scripted for the realtime client's own tests (test/unit/client*.test.ts):
// `/readyz`, held long polls the test answers, `POST /api/poll/frames` batches answered by a
// handler, and event streams the test writes into. Nothing answers unless the test says so.
import type { ClientFrame, PollAnswer, ServerFrame } from "../../lib/protocol";

export interface HeldPoll {
  url: URL;
  streams: string[];
  cursor: string;
  wait: string;
  /** Whether the client let go of it (abort). */
  aborted: boolean;
  /** Whether it was answered (or failed) already. */
  done: boolean;
  answer(body: PollAnswer | string, status?: number, headers?: Record<string, string>): void;
  /** No answer at all: a refused connection. */
  fail(): void;
}

export interface HeldStream {
  url: string;
  lastEventId: string | null;
  aborted: boolean;
  write(text: string): void;
  close(): void;
}

export class FakeHttp {
  /** What `/readyz` says: true 200, false 503, "down" a refused connection. */
  ready: boolean | "down" = "down";
  readyzCalls = 0;
  readonly polls: HeldPoll[] = [];
  /** Each `POST /api/poll/frames` batch, in order. */
  readonly batches: ClientFrame[][] = [];
  /** How a batch is answered: the frames of its answer (default none), a status and body, or held until let go. */
  onBatch: (frames: ClientFrame[]) => ServerFrame[] | { status: number; body: string } | "hold" = () => [];
  /** The options of each `/readyz` request. */
  readonly readyzInits: Array<RequestInit | undefined> = [];
  readonly streams: HeldStream[] = [];
  /** How `/api/stream` answers: an event stream, a refusal (status), or a refused connection. */
  stream: "ok" | number | "down" = "ok";
  readonly urls: string[] = [];

  /** Frames posted, in order, across batches. */
  get posted(): ClientFrame[] {
    return this.batches.flat();
  }

  /** Polls still held (neither answered nor let go). */
  get held(): HeldPoll[] {
    return this.polls.filter((p) => !p.done && !p.aborted);
  }

  get lastPoll(): HeldPoll {
    const p = this.polls.at(-1);
    if (!p) throw new Error("no poll was made");
    return p;
  }

  readonly fetch: typeof fetch = (input, init) => {
    const url = new URL(String(input));
    this.urls.push(`${init?.method ?? "GET"} ${url.pathname}`);
    const signal = init?.signal ?? undefined;
    if (url.pathname === "/readyz") {
      this.readyzCalls++;
      this.readyzInits.push(init);
      if (this.ready === "down") return Promise.reject(new TypeError("fetch failed"));
      return Promise.resolve(new Response("ok", { status: this.ready ? 200 : 503 }));
    }
    if (url.pathname === "/api/poll/frames") {
      const frames = (JSON.parse(String(init?.body)) as { frames: ClientFrame[] }).frames;
      this.batches.push(frames);
      const a = this.onBatch(frames);
      if (a === "hold") return new Promise<Response>((_, reject) => signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      if (Array.isArray(a)) return Promise.resolve(json({ frames: a }));
      return Promise.resolve(new Response(a.body, { status: a.status }));
    }
    if (url.pathname === "/api/poll") {
      return new Promise<Response>((resolve, reject) => {
        const poll: HeldPoll = {
          url,
          streams: (url.searchParams.get("streams") ?? "").split(",").filter(Boolean),
          cursor: url.searchParams.get("cursor") ?? "",
          wait: url.searchParams.get("wait") ?? "",
          aborted: false,
          done: false,
          answer: (body, status = 200, headers = {}) => {
            poll.done = true;
            resolve(new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } }));
          },
          fail: () => {
            poll.done = true;
            reject(new TypeError("fetch failed"));
          },
        };
        signal?.addEventListener("abort", () => {
          poll.aborted = true;
          reject(new DOMException("aborted", "AbortError"));
        });
        this.polls.push(poll);
      });
    }
    if (url.pathname === "/api/stream") {
      if (this.stream === "down") return Promise.reject(new TypeError("fetch failed"));
      if (typeof this.stream === "number") return Promise.resolve(new Response("no", { status: this.stream }));
      const encoder = new TextEncoder();
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
      const headers = new Headers(init?.headers);
      const held: HeldStream = {
        url: String(input),
        lastEventId: headers.get("Last-Event-ID"),
        aborted: false,
        write: (text) => controller.enqueue(encoder.encode(text)),
        close: () => controller.close(),
      };
      signal?.addEventListener("abort", () => (held.aborted = true));
      this.streams.push(held);
      return Promise.resolve(new Response(body, { headers: { "Content-Type": "text/event-stream" } }));
    }
    return Promise.reject(new TypeError(`no route for ${url.pathname}`));
  };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** One SSE message as the server writes it. */
export function sse(id: string | null, event: string, data: unknown): string {
  return `${id === null ? "" : `id: ${id}\n`}event: ${event}\ndata: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}
