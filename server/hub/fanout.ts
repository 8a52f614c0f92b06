// Stream fan-out and replay: every durable event to every subscriber of its stream, exactly once
// and in seq order per subscription, whatever the transport. It depends on the event log only,
// through `StreamLog` (the EventLog satisfies it; tests use a fake).
//
// A subscription is registered first, then replays the log after its position while live
// events wait in its buffer, then switches to live — so replay and live meet with no gap and no
// duplicate. Events reaching the fan-out out of order (another instance committed in between)
// are filled in from the log.
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type { Clock } from "../state/clock";
import type { Logger } from "../log";
import { counterFor, type Metrics } from "../metrics";
import type { RealtimeEvent } from "../../lib/protocol";
import { Outgoing } from "./outgoing";
import type { Subscriber, Transport } from "./subscriber";

/** The reads the fan-out needs from the event log. */
export interface StreamLog {
  /** The stream's last seq (0 when empty). */
  head(stream: string): Promise<number>;
  /** Up to `limit` events of the stream after seq `after`, in seq order. */
  readAfter(stream: string, after: number, limit: number): Promise<RealtimeEvent[]>;
}

/** What the fan-out uses of a subscriber. */
export type StreamSubscriber = Pick<Subscriber, "id" | "transport" | "onEvent" | "onLagged">;

export interface SubscribeOptions {
  /** Replay everything after this seq; null/undefined: live events only. */
  since?: number | null;
  /**
   * Whether `since` is a position the client brought (a resume, counted in the metrics) rather
   * than one the server chose for it, such as the head it was shown on connecting. Default: true.
   */
  resumed?: boolean;
  /** More missed than this (or `since` beyond the head): start live from the head instead. */
  maxReplay?: number;
  /** Called once the head is known, before any replayed event. */
  onStart?: (head: number, reset: boolean) => void;
}

export interface SubscribeResult {
  head: number;
  reset: boolean;
}

/** Events read from the log per query, replaying or catching up. */
export const REPLAY_PAGE = 500;
/** Live events a replaying subscription may hold before it is told it lagged. */
export const MAX_PENDING = 5_000;
/** The latest events kept per stream, to replay short gaps without asking the database. */
export const RECENT_PER_STREAM = 256;
const MAX_IDLE_STREAMS = 10_000;
const IDLE_STREAM_MS = 60_000;

export interface FanoutOptions {
  log: StreamLog;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  /** Tests make these small to cross page and buffer boundaries with few events. */
  replayPage?: number;
  maxPending?: number;
}

interface Subscription {
  sub: StreamSubscriber;
  lastSeq: number;
  /** Non-null while replaying: live events wait here. */
  pending: Outgoing[] | null;
}

interface StreamState {
  subs: Map<string, Subscription>;
  /** The last seq fanned out here; null until known. */
  lastPublished: number | null;
  inbox: Outgoing[];
  pumping: boolean;
  /** The latest events, contiguous, to replay short gaps without asking the database. */
  recent: Outgoing[];
}

export class StreamFanout {
  private readonly streams = new Map<string, StreamState>();
  /** Streams with no subscriber, oldest first, with when they became idle. */
  private readonly idleStreams = new Map<string, number>();
  /**
   * The streams each subscriber follows, so it can be let go of everywhere at once. Weak: a
   * connection's entry goes with the connection, whatever it left behind.
   */
  private readonly following = new WeakMap<StreamSubscriber, Set<string>>();
  private readonly log: StreamLog;
  private readonly logger: Logger;
  private readonly metrics: Metrics | undefined;
  private readonly replayPage: number;
  private readonly maxPending: number;
  /** Bound once: a labelled counter looked up per delivery costs more than the delivery's bookkeeping. */
  private readonly deliveryCounters: Record<Transport, { inc(): void }> | undefined;

  constructor(private readonly opts: FanoutOptions) {
    this.log = opts.log;
    this.logger = opts.logger;
    this.metrics = opts.metrics;
    this.replayPage = opts.replayPage ?? REPLAY_PAGE;
    this.maxPending = opts.maxPending ?? MAX_PENDING;
    const d = opts.metrics?.deliveries;
    this.deliveryCounters = d && { ws: counterFor(d, "ws")!, sse: counterFor(d, "sse")!, longpoll: counterFor(d, "longpoll")! };
  }

  async subscribe(stream: string, sub: StreamSubscriber, opts: SubscribeOptions = {}): Promise<SubscribeResult> {
    const st = this.streamState(stream);
    const s: Subscription = { sub, lastSeq: 0, pending: [] };
    st.subs.set(sub.id, s);
    let follows = this.following.get(sub);
    if (!follows) this.following.set(sub, (follows = new Set()));
    follows.add(stream);
    const since = opts.since ?? null;
    let head: number;
    let headKnown = false;
    try {
      // A stream followed here knows its head (every commit reaches it, and another instance's
      // commits follow through the backplane's catch-up): a live-only join, or a position
      // within it, costs no query — join churn never reaches the database. Only a stream new
      // here, or a position beyond its head (seen through another instance, or a reset log),
      // needs the database's word.
      const known = st.lastPublished;
      headKnown = known !== null && (since === null || since <= known);
      head = headKnown ? known! : await this.log.head(stream);
    } catch (err) {
      if (st.subs.get(sub.id) === s) this.unsubscribe(stream, sub);
      throw err;
    }
    if (st.lastPublished === null) st.lastPublished = head;
    const reset =
      since !== null && (since > head || (opts.maxReplay !== undefined && head - since > opts.maxReplay));
    s.lastSeq = since === null || reset ? head : since;
    if (since !== null && opts.resumed !== false) this.metrics?.[reset ? "resets" : "resumes"].inc({ transport: sub.transport });
    if (st.subs.get(sub.id) !== s) return { head, reset };
    opts.onStart?.(head, reset);
    // Starting at the head this fan-out knows, nothing is missed: later events reach it live. A
    // head just read from the database is read after too (a commit may land between the two).
    await this.replay(stream, st, s, headKnown && s.lastSeq >= head);
    return { head, reset };
  }

  unsubscribe(stream: string, sub: StreamSubscriber): void {
    this.following.get(sub)?.delete(stream);
    const st = this.streams.get(stream);
    if (!st) return;
    st.subs.delete(sub.id);
    if (st.subs.size === 0 && !st.pumping) this.idle(stream);
  }

  /** Ends every subscription of `sub` (its connection closed). */
  unsubscribeAll(sub: StreamSubscriber): void {
    for (const stream of [...(this.following.get(sub) ?? [])]) this.unsubscribe(stream, sub);
  }

  isSubscribed(stream: string, sub: StreamSubscriber): boolean {
    return this.streams.get(stream)?.subs.has(sub.id) ?? false;
  }

  /** New committed events (local commits, or read after another instance's NOTIFY). */
  publish(events: RealtimeEvent[]): void {
    const started = performance.now();
    const touched = new Map<string, StreamState>();
    for (const e of events) {
      const st = this.streams.get(e.stream);
      if (!st) continue;
      st.inbox.push(new Outgoing(e));
      touched.set(e.stream, st);
    }
    if (touched.size === 0) return;
    for (const [stream, st] of touched) if (!st.pumping) void this.pump(stream, st);
    this.metrics?.fanoutSeconds.observe((performance.now() - started) / 1000);
  }

  /**
   * Another instance moved these heads: read what this fan-out has not published yet.
   * `null` means "some streams changed" (the notification was too big to list them).
   */
  async catchUpHeads(heads: Map<string, number> | null): Promise<void> {
    const targets = heads ? [...heads].filter(([s]) => this.streams.has(s)) : [...this.streams.keys()].map((s) => [s, Infinity] as const);
    await Promise.all(
      targets.map(async ([stream, head]) => {
        const st = this.streams.get(stream);
        if (!st || st.lastPublished === null || head <= st.lastPublished) return;
        if (st.subs.size === 0 && !st.pumping) {
          // Nobody follows it here: forget it rather than read events no one will get.
          this.streams.delete(stream);
          this.idleStreams.delete(stream);
          return;
        }
        this.metrics?.backplaneReads.inc();
        const events = await this.log.readAfter(stream, st.lastPublished, this.replayPage);
        if (events.length > 0) this.publish(events);
        if (events.length === this.replayPage) await this.catchUpHeads(new Map([[stream, head]]));
      }),
    );
  }

  /** Streams that have subscribers here, with the last seq published (for backplane catch-up). */
  followedStreams(): Map<string, number | null> {
    return new Map([...this.streams].filter(([, st]) => st.subs.size > 0).map(([s, st]) => [s, st.lastPublished]));
  }

  /**
   * A stream nobody follows stays known for a while — its head and recent events current — so
   * the next subscriber (a long poll coming back, a reconnect) need not ask the database.
   * Bounded in count and time.
   */
  private idle(stream: string): void {
    this.idleStreams.delete(stream);
    this.idleStreams.set(stream, this.opts.clock.now());
    const now = this.opts.clock.now();
    for (const [name, since] of this.idleStreams) {
      if (this.idleStreams.size <= MAX_IDLE_STREAMS && now - since < IDLE_STREAM_MS) break;
      this.idleStreams.delete(name);
      const st = this.streams.get(name);
      if (st && st.subs.size === 0 && !st.pumping) this.streams.delete(name);
    }
  }

  private streamState(stream: string): StreamState {
    this.idleStreams.delete(stream);
    let st = this.streams.get(stream);
    if (!st) {
      st = { subs: new Map(), lastPublished: null, inbox: [], pumping: false, recent: [] };
      this.streams.set(stream, st);
    }
    return st;
  }

  /** Publishes a stream's inbox in seq order, reading any gap from the log first. */
  private async pump(stream: string, st: StreamState): Promise<void> {
    st.pumping = true;
    try {
      while (st.inbox.length > 0) {
        st.inbox.sort((a, b) => a.seq - b.seq);
        const next = st.inbox[0]!;
        if (st.lastPublished !== null && next.seq <= st.lastPublished) {
          st.inbox.shift();
          continue;
        }
        if (st.lastPublished !== null && next.seq > st.lastPublished + 1) {
          const missing = await this.log.readAfter(stream, st.lastPublished, next.seq - st.lastPublished - 1);
          if (missing.length === 0) {
            this.logger.warn({ stream, from: st.lastPublished, to: next.seq }, "gap not found in the log");
            st.lastPublished = next.seq - 1;
          }
          for (const e of missing) this.fanOut(st, new Outgoing(e));
          continue;
        }
        st.inbox.shift();
        this.fanOut(st, next);
      }
    } catch (err) {
      this.logger.error({ err, stream }, "fan-out gap fill failed; subscribers will resume from the log");
      st.inbox = [];
      for (const s of st.subs.values()) s.sub.onLagged?.();
    } finally {
      st.pumping = false;
      if (st.subs.size === 0) this.idle(stream);
    }
  }

  private fanOut(st: StreamState, out: Outgoing): void {
    st.lastPublished = out.seq;
    const recent = st.recent;
    if (recent.length > 0 && recent[recent.length - 1]!.seq !== out.seq - 1) recent.length = 0;
    recent.push(out);
    if (recent.length > RECENT_PER_STREAM) recent.shift();
    for (const s of st.subs.values()) this.offer(out.event.stream, st, s, out);
  }

  private offer(stream: string, st: StreamState, s: Subscription, out: Outgoing): void {
    if (s.pending) {
      if (s.pending.length >= this.maxPending) {
        st.subs.delete(s.sub.id);
        s.sub.onLagged?.();
        return;
      }
      s.pending.push(out);
      return;
    }
    if (out.seq <= s.lastSeq) return;
    if (out.seq === s.lastSeq + 1) return this.deliver(stream, s, out);
    // A hole between what this subscriber has and this event: replay it from the log.
    s.pending = [out];
    void this.replay(stream, st, s).catch((err: unknown) => {
      this.logger.error({ err, stream }, "replay failed");
      s.sub.onLagged?.();
    });
  }

  /** Delivers the log after `s.lastSeq`, then what waited in `s.pending`, then goes live. */
  private async replay(stream: string, st: StreamState, s: Subscription, upToDate = false): Promise<void> {
    let caughtUp = upToDate;
    let pages = 0;
    for (;;) {
      if (st.subs.get(s.sub.id) !== s) return;
      const pending = s.pending ?? [];
      pending.sort((a, b) => a.seq - b.seq);
      while (pending.length > 0 && pending[0]!.seq <= s.lastSeq + 1) {
        const e = pending.shift()!;
        if (e.seq === s.lastSeq + 1) this.deliver(stream, s, e);
      }
      if (caughtUp && pending.length === 0) {
        s.pending = null;
        return;
      }
      // Between pages, let the event loop turn: pages from memory never wait, and a replay
      // thousands of pages long must not hold every other connection (or a timer) back.
      if (pages++ > 0) await yieldToLoop();
      const page =
        this.fromRecent(st, s.lastSeq) ?? (await this.log.readAfter(stream, s.lastSeq, this.replayPage)).map((e) => new Outgoing(e));
      if (st.subs.get(s.sub.id) !== s) return;
      for (const e of page) if (e.seq === s.lastSeq + 1) this.deliver(stream, s, e);
      caughtUp = page.length < this.replayPage;
      if (caughtUp && pending.length > 0 && pending[0]!.seq > s.lastSeq + 1 && page.length === 0) {
        this.logger.warn({ stream, at: s.lastSeq, next: pending[0]!.seq }, "replay found a hole the log cannot fill");
        s.lastSeq = pending[0]!.seq - 1;
      }
    }
  }

  private deliver(stream: string, s: Subscription, e: Outgoing): void {
    s.lastSeq = e.seq;
    this.deliveryCounters?.[s.sub.transport].inc();
    s.sub.onEvent(stream, e);
  }

  /** The recent events after `seq` when the in-memory window covers them all. */
  private fromRecent(st: StreamState, seq: number): Outgoing[] | null {
    const r = st.recent;
    if (r.length === 0 || st.lastPublished === null) return null;
    if (r[0]!.seq > seq + 1 || r[r.length - 1]!.seq !== st.lastPublished) return null;
    if (seq >= st.lastPublished) return [];
    return r.slice(seq + 1 - r[0]!.seq);
  }
}
