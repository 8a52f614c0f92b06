// Long polling's upstream: every client frame (join, leave, send, typing, cursor, and any frame
// added later) goes as it would on the WebSocket, batched into one
// `POST /api/poll/frames?conn=<pageId>` with `{"frames":[…],"conn":"<pageId>"}`; the answer
// `{"frames":[…]}` holds, in order, each frame's `ack`/`joined`/`error` (docs/PROTOCOL.md).
// So rooms, the outbox and the throttles never know which transport carries them.
import { z } from "zod";
import { errorBodySchema, serverFrameSchema, type ClientFrame, type ErrorCode, type ServerFrame } from "../protocol";
import { decode, InvalidPayload } from "./decode";

/** An upstream request with no answer by then is given up and tried again. */
export const HTTP_TIMEOUT_MS = 10_000;
/** Frames in one request at most (the server's limit). */
export const POLL_FRAMES_MAX = 50;

const framesAnswerSchema = z.object({ frames: z.array(serverFrameSchema) });

export interface PollUpstreamHooks {
  /** The answers, in the order of the frames sent. */
  onFrames(frames: ServerFrame[]): void;
  /** No answer came for these (unreachable, timed out, 429/5xx): whatever must arrive goes again. */
  onUnanswered(frames: ClientFrame[]): void;
  onSignedOut(): void;
  onInvalid(invalid: InvalidPayload, bytes: number, type: string): void;
  onSend(type: string, bytes: number): void;
}

type Answer = { status: number; text: string } | null;

export class PollUpstream {
  private queue: ClientFrame[] = [];
  private busy = false;
  /** Upstream requests on their way, so that waking up can cut those a dead connection holds. */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch,
    private readonly conn: string,
    private readonly hooks: PollUpstreamHooks,
    /** The document's stint of long polling its frames belong to (protocol 1.21). */
    private readonly doc: () => string | null = () => null,
  ) {}

  /**
   * Sends a frame now, or with the next batch when a request is on its way: one request at a
   * time keeps the frames in the order they were sent (a join before the messages that need
   * it), as one WebSocket does. Always taken (a frame with no answer is reported).
   */
  send(frame: ClientFrame): true {
    this.queue.push(frame);
    if (!this.busy) void this.pump();
    return true;
  }

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.queue.length > 0) await this.post(this.queue.splice(0, POLL_FRAMES_MAX));
    this.busy = false;
  }

  /**
   * Tells the server the page is going (protocol 1.20): its typing and cursor go at once and its
   * presence after the grace, as a closed WebSocket's do, instead of at its polls' lapse. With
   * `keepalive`, so the request outlives a page that is closing; nothing waits for its answer.
   */
  bye(): void {
    this.fetchImpl(`${this.baseUrl}${this.path()}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ frames: [{ type: "bye" }], conn: this.conn }),
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => undefined);
  }

  /** Where frames go: the page (`conn`) and the document's stint of long polling (`doc`, 1.21). */
  private path(): string {
    const doc = this.doc();
    return `/api/poll/frames?conn=${encodeURIComponent(this.conn)}${doc === null ? "" : `&doc=${encodeURIComponent(doc)}`}`;
  }

  /** Cuts every request on its way (a laptop woke up; they go again, same clientIds). */
  abortAll(): void {
    for (const request of this.inFlight) request.abort();
  }

  /** Forgets frames not sent yet (the link stopped). */
  clear(): void {
    this.queue = [];
  }

  private async post(frames: ClientFrame[]): Promise<void> {
    const res = await this.request(this.path(), { frames, conn: this.conn }, frames);
    if (res?.status === 401) return this.hooks.onSignedOut();
    if (res && res.status === 200) {
      const answer = decode(framesAnswerSchema, res.text);
      if (!(answer instanceof InvalidPayload)) return this.hooks.onFrames(answer.frames);
      this.hooks.onInvalid(answer, res.text.length, "frames");
    } else if (res && res.status >= 400 && res.status < 500 && res.status !== 429) {
      // The whole batch was refused (too many frames, too big): each frame gets that answer.
      const error = errorOf(res);
      return this.hooks.onFrames(frames.map((f) => ({ type: "error", ...error, ...target(f) })));
    }
    this.hooks.onUnanswered(frames);
  }

  /**
   * POSTs upstream and reads the answer whole. Null when no answer came: unreachable, or
   * nothing within HTTP_TIMEOUT_MS (a request on a connection that died under a sleeping laptop
   * would otherwise hold the outbox forever), or cut off by `abortAll`.
   */
  private async request(path: string, body: unknown, frames: ClientFrame[]): Promise<Answer> {
    const text = JSON.stringify(body);
    for (const f of frames) this.hooks.onSend(f.type, JSON.stringify(f).length);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), HTTP_TIMEOUT_MS);
    this.inFlight.add(controller);
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
      this.inFlight.delete(controller);
    }
  }
}

/** The error an HTTP refusal carries; a proxy's page is no error body, then the status says it. */
function errorOf(res: { status: number; text: string }): { code: ErrorCode; message: string } {
  const body = decode(errorBodySchema, res.text);
  if (body instanceof InvalidPayload) return { code: "bad_request", message: `HTTP ${res.status}` };
  return { code: body.error.code, message: body.error.message };
}

/** Which frame an error answers: its clientId (the outbox) and its room (a subscription). */
function target(f: ClientFrame): { clientId?: string; room: string } {
  return "clientId" in f ? { clientId: f.clientId, room: f.room } : { room: f.room };
}
