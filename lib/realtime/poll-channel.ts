// The long-poll channel: one request at a time over `/api/poll` for whatever streams the
// client gives it (rooms when WebSocket is blocked, the feed when SSE is buffered, or both).
import { errorBodySchema, pollAnswerSchema, type PollAnswer } from "../protocol";
import { decode, InvalidPayload } from "./decode";

/** Why a poll failed. `invalid`: the server answered 200 with a body that is no poll answer. */
export interface PollFailure {
  status?: number;
  code?: string;
  /** The room the poll was refused for (`unknown_room`, protocol 1.16). */
  room?: string;
  message: string;
  invalid?: { payload: InvalidPayload; bytes: number };
}

export interface PollChannelHooks {
  /** The streams to poll now; none: the channel idles. */
  streams(): string[];
  cursor(streams: string[]): string;
  onAnswer(answer: PollAnswer, bytes: number, rttMs: number): void;
  /** A request failed; the channel retries after `nextDelay()` (its own backoff). */
  onError(error: PollFailure): void;
  nextDelay(): number;
  onSuccess(): void;
}

export class PollChannel {
  private abort: AbortController | null = null;
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;
  /** The first poll after a start is answered at once: it tells us the channel is up. */
  private answerAtOnce = false;
  /**
   * The rooms' state the last answer left us with (protocol 1.3 `state`): sent back, it spares
   * us the rooms' state in answers until it changes. Dropped on every start, so the first answer
   * for a new set of streams carries it in full.
   */
  private roomState: string | null = null;
  /**
   * The ticket of the last answer (`Poll-Next`, protocol 1.17) and the streams it was for: the
   * next poll for the same streams names it, and the server carries on with the subscription
   * that answer left instead of reading the poll afresh. Spent by that poll, dropped on a start.
   */
  private ticket: { next: string; streams: string } | null = null;

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch,
    private readonly waitS: number,
    private readonly tabId: string,
    private readonly hooks: PollChannelHooks,
    /** The document's stint of long polling its polls belong to (protocol 1.21). */
    private readonly doc: () => string | null = () => null,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.answerAtOnce = true;
    this.roomState = null;
    this.ticket = null;
    this.loop();
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    this.abort = null;
  }

  /** The set of streams changed: drop the held request (if any) and poll again at once. */
  restart(): void {
    this.stop();
    this.start();
  }

  private loop(): void {
    const gen = this.generation;
    const streams = this.hooks.streams();
    if (streams.length === 0) {
      this.running = false;
      return;
    }
    const cursor = this.hooks.cursor(streams);
    // A stream without a position yet, or the first poll since (re)starting: ask for an
    // immediate answer, whose cursor gives us the head to hold on from (and tells us the channel
    // is up, with the rooms' state) instead of waiting out a whole held poll first.
    const known = new Set(cursor.split(",").map((pair) => pair.slice(0, pair.lastIndexOf("="))));
    const atOnce = this.answerAtOnce || !streams.every((s) => known.has(s));
    this.answerAtOnce = false;
    const streamList = streams.join(",");
    const ticket = !atOnce && this.ticket?.streams === streamList ? this.ticket.next : null;
    this.ticket = null;
    const params = new URLSearchParams({
      streams: streamList,
      cursor,
      wait: String(atOnce ? 0 : this.waitS),
      client: this.tabId,
      // The page id the frames it sends carry too: the server ties them to this poll (per-page limits, presence).
      conn: this.tabId,
    });
    const doc = this.doc();
    if (doc !== null) params.set("doc", doc);
    if (this.roomState !== null) params.set("state", this.roomState);
    if (ticket !== null) params.set("next", ticket);
    const abort = new AbortController();
    this.abort = abort;
    // A proxy that never answers must not hold us forever: wait plus a margin.
    const timeout = setTimeout(() => abort.abort(), (this.waitS + 10) * 1000);
    const started = Date.now();
    this.fetchImpl(`${this.baseUrl}/api/poll?${params}`, { signal: abort.signal, cache: "no-store", credentials: "same-origin" })
      .then(async (res) => {
        const text = await res.text();
        if (!res.ok) {
          // A proxy's error page is no error body: then the status alone says what happened.
          const body = decode(errorBodySchema, text);
          const code = body instanceof InvalidPayload ? undefined : body.error.code;
          const room = body instanceof InvalidPayload ? undefined : body.error.room;
          throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status, code, room, retryAfterMs: retryAfterMs(res) });
        }
        const answer = decode(pollAnswerSchema, text);
        if (answer instanceof InvalidPayload) {
          // Nothing of it is taken: the same position is asked again, after a backoff.
          const invalid = { payload: answer, bytes: text.length };
          throw Object.assign(new Error(`Invalid poll answer (${answer.reason})`), { status: res.status, code: "invalid_frame", invalid });
        }
        return { answer, bytes: text.length, next: res.headers.get("poll-next") };
      })
      .then(
        ({ answer, bytes, next }) => {
          clearTimeout(timeout);
          if (gen !== this.generation) return;
          this.hooks.onSuccess();
          this.roomState = answer.state ?? null;
          this.ticket = next ? { next, streams: streamList } : null;
          this.hooks.onAnswer(answer, bytes, Date.now() - started);
          if (this.running && gen === this.generation) this.loop();
        },
        (err: Error & PollFailure & { retryAfterMs?: number }) => {
          clearTimeout(timeout);
          if (gen !== this.generation) return;
          this.hooks.onError({ status: err.status, code: err.code, room: err.room, message: err.message, invalid: err.invalid });
          // The hook started the channel over (for other streams): that poll is already on its way.
          if (gen !== this.generation) return;
          if (!this.running || err.status === 401) {
            this.running = false;
            return;
          }
          // A busy server's Retry-After is a floor under our own backoff, spread by up to half
          // again so that everyone it turned away does not return in the same instant.
          const floor = err.retryAfterMs ? err.retryAfterMs * (1 + Math.random() / 2) : 0;
          // (`stop` clears this timer: when it fires, this poll's generation is current.)
          this.timer = setTimeout(() => this.loop(), Math.max(this.hooks.nextDelay(), floor));
        },
      );
  }
}

/** Retry-After in seconds (the only form this server sends), capped at a minute; 0 when absent or not a number. */
function retryAfterMs(res: Response): number {
  const seconds = Number(res.headers.get("retry-after"));
  return seconds > 0 ? Math.min(seconds, 60) * 1000 : 0;
}
