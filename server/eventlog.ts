// The event log: durable, gapless, commit-ordered sequences per stream, with group commit.
//
// Appends arriving within one tick are written together in one transaction (and under load,
// those arriving while a batch commits and for `COMMIT_DELAY_MS` after):
//   1. lock the batch's stream rows in name order (no deadlock between instances), creating
//      the rows of streams new to the log,
//   2. look up repeated clientIds (after the lock, so no other writer can race us),
//   3. number the new events from the locked heads,
//   4. one INSERT … SELECT FROM unnest(…) for every event of the batch,
//   5. one UPDATE of the heads, and one NOTIFY carrying only the new heads.
// Holding the stream row until commit is what makes seq order equal commit order: a reader
// that has seen seq n can never later see an event with seq ≤ n appear.
//
// Every ack waits for its batch's commit, and the next batch waits too, so the round trips to
// the database are counted: BEGIN, the lock and the lookup go out together (1 and 2: the
// database runs them in order, so the lookup still runs under the lock), and 4 and 5 go out
// with the COMMIT. Two round trips a batch; two more when it names a stream new to the log
// (its row created and locked, then the lookup again), and those of its `effect`s.
//
// Most batches need only one: the log keeps the heads its last commits left, numbers the batch
// from them before it holds the lock, and sends 4 and 5 alone, one statement that is its own
// transaction and takes the locks (1) itself before it writes a row (`commitGuessed`). It moves
// each head only from the value the batch was numbered from, and fails whole if any is another,
// so a guess that missed (another instance wrote) keeps nothing; a repeated clientId fails it
// on the unique index. Either way the batch is then written as above, and its streams are not
// guessed for a while (`GUESS_PAUSE_MS`).
import type { Database, Sql, Transaction } from "./db/database";
import type { Logger } from "./log";
import type { Metrics } from "./metrics";
import type { Actor, EventDataByType, EventType, RealtimeEvent, StreamName } from "../lib/protocol";

export interface DerivedAppend {
  stream: StreamName;
  type: EventType;
  /** Built from the primary event once its seq is known. */
  data: (primary: RealtimeEvent) => EventDataByType[EventType];
}

export interface AppendInput<T extends EventType = EventType> {
  stream: StreamName;
  type: T;
  actor: Actor;
  data: EventDataByType[T];
  /** Idempotency key per (stream, actor): a repeat returns the first event and appends nothing. */
  clientId?: string;
  /** Events written in the same transaction, only when this append is new (feed, mentions). */
  derived?: DerivedAppend[];
  /**
   * Runs in the append's transaction after its event is written, only when it is new, while
   * the stream's row is locked (no other append to the stream can interleave): a change to a
   * message folds itself into the stored message here, so history reads the current state.
   */
  effect?: (tx: Sql, event: RealtimeEvent) => Promise<void>;
}

export interface AppendResult {
  event: RealtimeEvent;
  /** True when the clientId had been seen: `event` is the first one, nothing was appended. */
  duplicate: boolean;
}

/** Called after each commit with the batch's new events, in seq order per stream. */
export type CommitListener = (events: RealtimeEvent[], heads: Map<string, number>) => void;

export class EventLogFullError extends Error {
  override name = "EventLogFullError";
  readonly code = "overloaded" as const;
  constructor(limit: number) {
    super(`The event log is busy (${limit} appends waiting); try again shortly`);
  }
}

export class EventLogClosedError extends Error {
  override name = "EventLogClosedError";
  readonly code = "unavailable" as const;
  constructor() {
    super("The server is shutting down; try again shortly");
  }
}

export interface EventLogOptions {
  /**
   * Most appends written in one transaction. Each batch pays a fixed cost (lock, repeat lookup,
   * commit fsync), so under load larger batches carry more appends per second.
   */
  maxBatch?: number;
  /** Most appends waiting (queued + in flight) before `append` refuses. */
  maxQueue?: number;
  /** How long a commit that follows another waits for more appends (`COMMIT_DELAY_MS`; 0: none). */
  commitDelayMs?: number;
  /** The clock a missed guess's pause is measured on (tests). */
  now?: () => number;
  /** NOTIFY channel for other instances; none on a single process. */
  notifyChannel?: string;
  instanceId?: string;
  metrics?: Metrics;
  /** Where a failing commit listener is reported. */
  logger?: Logger;
}

interface Pending {
  input: AppendInput;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

interface EventRow {
  stream: string;
  seq: number | string;
  type: string;
  actor_id: string;
  actor_name: string;
  at: Date | string;
  data: unknown;
}

/** Postgres error codes worth retrying the whole batch for: nothing was committed. */
const RETRYABLE = new Set(["40001", "40P01", "55P03"]);
/**
 * SQLSTATE classes that blame the data of some row (22 data exception, 23 integrity
 * constraint, 54 program limit such as an oversized row), not the database: retrying the same
 * batch fails again, but its other appends are fine on their own.
 */
const DATA_ERROR_CLASSES = new Set(["22", "23", "54"]);
/**
 * Under load, the next commit waits this long for more appends before it starts (the idea of
 * Postgres' own `commit_delay`). Every commit pays a fixed cost — the lock, the repeat lookup,
 * the round trips, the fsync — and a batch holds what queued while the last one committed: with
 * commits back to back at a few messages each, most of the database's work is that fixed cost.
 * Waiting a moment makes the batches fuller and the commits fewer for the same messages. An
 * append after a quiet spell commits at once: the wait is only ever between two commits.
 */
export const COMMIT_DELAY_MS = 2;
/** A batch this large already spreads its commit's fixed cost: it starts without the wait. */
export const COMMIT_DELAY_BELOW = 32;
/**
 * Streams whose heads the log keeps from its commits, for the next batch to number its events
 * from (`commitGuessed`); past it the least recently written are forgotten (their next batch is
 * written under the lock, and known again).
 */
export const KNOWN_HEADS_MAX = 10_000;
/**
 * After a guess missed, the streams it named are written under the lock for this long. A miss
 * costs a round trip, and a stream that two instances write to at once (a busy room served by
 * both, the public feed) would miss again and again; after the pause a guess is tried again.
 */
export const GUESS_PAUSE_MS = 10_000;
/** The SQLSTATE of the statement that checks a guess when a head it moves is not the one guessed (division by zero). */
const HEADS_MOVED = "22012";
const UNIQUE_VIOLATION = "23505";
/** Locks a batch's stream rows, in name order, and reads their heads. */
const LOCK_STREAMS = "SELECT name, head FROM streams WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE";
/** Keep NOTIFY payloads well under Postgres' 8000-byte limit. */
export const MAX_NOTIFY_BYTES = 7000;

export class EventLog {
  private queue: Pending[] = [];
  private inFlight = 0;
  private flushing = false;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly listeners = new Set<CommitListener>();
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly commitDelayMs: number;
  /** A batch this large starts without the wait: `COMMIT_DELAY_BELOW`, or a whole batch if less. */
  private readonly fullEnough: number;
  /** Ends the wait for a fuller batch early; null when none is waited for. */
  private endGathering: (() => void) | null = null;
  /** Each stream's head as this log's last commit to it left it (or another instance's NOTIFY), least recent first. */
  private readonly known = new Map<string, number>();
  /** Streams a guess missed on, and until when they are written under the lock (least recent first). */
  private readonly contended = new Map<string, number>();
  private readonly now: () => number;

  constructor(
    private readonly db: Database,
    private readonly opts: EventLogOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 1000;
    this.maxQueue = opts.maxQueue ?? 10_000;
    this.commitDelayMs = opts.commitDelayMs ?? COMMIT_DELAY_MS;
    this.fullEnough = Math.min(COMMIT_DELAY_BELOW, this.maxBatch);
    this.now = opts.now ?? Date.now;
  }

  /** Resolves once the event is committed (or found to be a repeat). */
  append<T extends EventType>(input: AppendInput<T>): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new EventLogClosedError());
    if (this.queue.length + this.inFlight >= this.maxQueue) {
      this.opts.metrics?.appendRejected.inc();
      return Promise.reject(new EventLogFullError(this.maxQueue));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ input: input as AppendInput, resolve, reject });
      this.opts.metrics?.appendQueueDepth.set(this.queue.length);
      if (this.queue.length >= this.fullEnough) this.endGathering?.();
      this.schedule();
    });
  }

  /**
   * Heads other instances committed (their NOTIFY): the next batch here to those streams
   * numbers its events from them and guesses right. Only for streams already known.
   */
  heard(heads: Map<string, number>): void {
    for (const [name, head] of heads) {
      const known = this.known.get(name);
      if (known !== undefined && head > known) this.known.set(name, head);
    }
  }

  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events with seq > `after`, ascending, at most `limit`. */
  async readAfter(stream: string, after: number, limit: number): Promise<RealtimeEvent[]> {
    const rows = await this.db.sql.query<EventRow>(
      `SELECT stream, seq, type, actor_id, actor_name, at, data FROM events
        WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [stream, after, limit],
    );
    return rows.map(toEvent);
  }

  /**
   * The oldest `limit` events after `after`, ascending, and whether newer ones exist: a history
   * page read forwards, towards the live end.
   */
  async readAfterPage(stream: string, after: number, limit: number): Promise<{ events: RealtimeEvent[]; hasMore: boolean }> {
    const events = await this.readAfter(stream, after, limit + 1);
    return { events: events.slice(0, limit), hasMore: events.length > limit };
  }

  /** The newest `limit` events before `before` (or the newest of all), ascending; only of `types` when given. */
  async readBefore(
    stream: string,
    before: number | null,
    limit: number,
    types?: readonly EventType[],
  ): Promise<{ events: RealtimeEvent[]; hasMore: boolean }> {
    const rows = await this.db.sql.query<EventRow>(
      `SELECT stream, seq, type, actor_id, actor_name, at, data FROM events
        WHERE stream = $1 AND ($2::int8 IS NULL OR seq < $2::int8) AND ($4::text[] IS NULL OR type = ANY($4::text[]))
        ORDER BY seq DESC LIMIT $3`,
      [stream, before, limit + 1, types ?? null],
    );
    const hasMore = rows.length > limit;
    return { events: rows.slice(0, limit).reverse().map(toEvent), hasMore };
  }

  /** The event at `seq` in `stream`, or null. */
  async readOne(stream: string, seq: number): Promise<RealtimeEvent | null> {
    const rows = await this.db.sql.query<EventRow>(
      `SELECT stream, seq, type, actor_id, actor_name, at, data FROM events WHERE stream = $1 AND seq = $2`,
      [stream, seq],
    );
    return rows[0] ? toEvent(rows[0]) : null;
  }

  /** The event a (stream, actor, clientId) key appended, or null: whether a keyed append happened. */
  async findByKey(stream: string, actorId: string, clientId: string): Promise<RealtimeEvent | null> {
    const rows = await this.db.sql.query<EventRow>(
      `SELECT stream, seq, type, actor_id, actor_name, at, data FROM events
        WHERE stream = $1 AND actor_id = $2 AND client_id = $3`,
      [stream, actorId, clientId],
    );
    return rows[0] ? toEvent(rows[0]) : null;
  }

  /** The last committed seq of each stream (0 for a stream with no events). */
  async heads(streams: string[]): Promise<Map<string, number>> {
    const heads = new Map<string, number>(streams.map((s) => [s, 0]));
    if (streams.length === 0) return heads;
    const rows = await this.db.sql.query<{ name: string; head: number | string }>(
      "SELECT name, head FROM streams WHERE name = ANY($1::text[])",
      [streams],
    );
    for (const r of rows) heads.set(r.name, Number(r.head));
    return heads;
  }

  async head(stream: string): Promise<number> {
    return (await this.heads([stream])).get(stream) ?? 0;
  }

  /** Stops accepting appends and resolves once everything accepted is committed. */
  async close(): Promise<void> {
    this.closed = true;
    this.endGathering?.();
    await this.idle();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  // -------------------------------------------------------------------------

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    // One tick: everything appended in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (let following = false; this.queue.length > 0; following = true) {
        // Under load (this batch queued while the last one committed), gather a moment more.
        if (following && this.commitDelayMs > 0 && this.queue.length < this.fullEnough && !this.closed) await this.gather();
        const batch = this.queue.splice(0, this.maxBatch);
        this.inFlight = batch.length;
        this.opts.metrics?.appendQueueDepth.set(this.queue.length);
        await this.commitBatch(batch);
        this.inFlight = 0;
      }
    } finally {
      this.flushing = false;
      this.inFlight = 0;
      if (this.queue.length > 0) this.schedule();
      else for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Waits `commitDelayMs`, or until the queue holds a batch full enough (or the log closes). */
  private gather(): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.endGathering = null;
        resolve();
      };
      const timer = setTimeout(end, this.commitDelayMs);
      this.endGathering = end;
    });
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let outcome: BatchOutcome | null;
    try {
      outcome = await this.commitGuessed(batch);
    } catch (err) {
      return this.fail(batch, err);
    }
    for (let attempt = 1; !outcome; attempt++) {
      try {
        outcome = await this.db.transaction((tx) => this.writeBatch(tx, batch));
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (attempt < 3 && typeof code === "string" && RETRYABLE.has(code)) continue;
        if (batch.length > 1 && isDataError(err)) {
          // One append the database refuses (a value it cannot store) must not fail the
          // others that happened to share its tick: split the batch and commit the halves in
          // order, until the refused append is alone. A batch with one bad append costs
          // about 2·log2(size) extra transactions, and seq order still follows queue order.
          const half = Math.ceil(batch.length / 2);
          await this.commitBatch(batch.slice(0, half));
          await this.commitBatch(batch.slice(half));
          return;
        }
        return this.fail(batch, err);
      }
    }

    this.remember(outcome.heads);
    const m = this.opts.metrics;
    if (m) {
      m.commitSeconds.observe((performance.now() - started) / 1000);
      m.appendBatchSize.observe(outcome.appended.length);
      for (const e of outcome.appended) m.appends.inc({ stream_kind: e.stream.split(":")[0] });
      const dups = outcome.results.filter((r) => r.duplicate).length;
      if (dups) m.appendDuplicates.inc(dups);
    }
    // Listeners first, so a subscriber sees the event no later than its sender sees the ack.
    if (outcome.appended.length > 0) {
      for (const l of this.listeners) {
        // The batch is committed whatever a listener does: one that throws must neither keep
        // the others from hearing of it nor leave the appenders without their answer.
        try {
          l(outcome.appended, outcome.heads);
        } catch (err) {
          this.opts.logger?.error({ err, events: outcome.appended.length }, "a commit listener failed");
        }
      }
    }
    this.settled(batch);
    batch.forEach((p, i) => p.resolve(outcome.results[i]!));
  }

  /** Every append of the batch fails with `err`. */
  private fail(batch: Pending[], err: unknown): void {
    this.opts.metrics?.appendErrors.inc();
    this.settled(batch);
    for (const p of batch) p.reject(err);
  }

  /** A batch's appends leave the queue's count before their callers hear: one sent at the ack has room. */
  private settled(batch: Pending[]): void {
    this.inFlight = Math.max(0, this.inFlight - batch.length);
  }

  /**
   * The batch in one round trip, numbered from the heads the last commits left (`known`): one
   * statement, a transaction of its own, locks the streams and writes the rows and the heads
   * (`writeStatement`). Only when
   * every stream it names is known and no append has an `effect`; null when it cannot be
   * guessed or the guess missed (nothing of it kept), and the batch is written under the lock.
   *
   * The guess is safe because the statement checks it: holding the lock, it moves each head
   * only from the value the events were numbered from, and fails whole when any head is another
   * (another instance wrote, the stream's row went). A repeated clientId the guess could not
   * look up fails it too, on the unique index. A miss costs a round trip; a repeat is rare (a
   * send tried again after a lost ack), and on one instance the guess is always right.
   */
  private async commitGuessed(batch: Pending[]): Promise<BatchOutcome | null> {
    if (batch.some(({ input }) => input.effect)) return null;
    const names = streamsOf(batch);
    const heads = new Map<string, number>();
    const now = this.now();
    for (const name of names) {
      const head = this.known.get(name);
      if (head === undefined || (this.contended.get(name) ?? 0) > now) return null;
      heads.set(name, head);
    }
    const outcome = this.number(batch, heads, new Map());
    try {
      // One statement, its own transaction: it takes the locks itself, before it writes a row.
      await this.db.commitStatement(...this.writeStatement(batch, outcome));
    } catch (err) {
      // Only an error the database sent says nothing was kept. A connection lost on the way may
      // have lost the answer to a statement that was committed: the batch fails then, as one
      // written under the lock does, rather than being written twice.
      const code = sqlState(err);
      if (code === null) throw err;
      // A head that moved (the statement's check) or a repeated clientId: the guess missed.
      // Any other refusal (a value the database cannot store, a conflict) is the lock's path's
      // to answer: it retries, splits or fails the batch as it always has.
      const missed = code === HEADS_MOVED || code === UNIQUE_VIOLATION;
      this.opts.metrics?.appendGuesses.inc({ outcome: missed ? "missed" : "failed" });
      if (missed) {
        for (const name of names) {
          this.known.delete(name);
          this.contended.delete(name);
          this.contended.set(name, now + GUESS_PAUSE_MS);
        }
        forgetOldest(this.contended, KNOWN_HEADS_MAX);
      }
      return null;
    }
    this.opts.metrics?.appendGuesses.inc({ outcome: "right" });
    return outcome;
  }

  /** The batch under the lock, numbered from the heads it holds: two round trips (see the top). */
  private async writeBatch(tx: Transaction, batch: Pending[]): Promise<BatchOutcome> {
    const names = streamsOf(batch);
    // Started together, so they travel together (with the BEGIN); the database runs the lookup
    // once the lock is held.
    const [locked, found] = await Promise.all([this.lockStreams(tx, names), this.findRepeats(tx, batch)]);
    // A stream new to the log had no row to lock when the lookup ran: look again under its lock.
    const existing = locked.created ? await this.findRepeats(tx, batch) : found;
    const outcome = this.number(batch, locked.heads, existing);
    if (outcome.appended.length > 0) {
      // An effect runs after the rows are written and before the commit; without one, the
      // statement goes out with the COMMIT.
      const effects = batch.some(({ input }, i) => input.effect && !outcome.results[i]!.duplicate);
      const [text, params] = this.writeStatement(batch, outcome);
      await (effects ? tx.query(text, params) : tx.queryAndCommit(text, params));
      // In append order, after every row of the batch is written: an edit may follow its
      // message in the same batch.
      for (const [i, { input }] of batch.entries()) {
        const r = outcome.results[i]!;
        if (input.effect && !r.duplicate) await input.effect(tx, r.event);
      }
    }
    return outcome;
  }

  /**
   * Numbers the batch's new events on from `heads` (the streams' heads before it; moved on
   * here), answering repeats with the events `existing` holds or the batch made first.
   */
  private number(batch: Pending[], heads: Map<string, number>, existing: Map<string, RealtimeEvent>): BatchOutcome {
    const from = new Map(heads);
    const at = new Date().toISOString();
    const appended: RealtimeEvent[] = [];
    const results: AppendResult[] = [];
    const seenInBatch = new Map<string, RealtimeEvent>();

    const next = (stream: string): number => {
      const seq = (heads.get(stream) ?? 0) + 1;
      heads.set(stream, seq);
      return seq;
    };

    for (const { input } of batch) {
      const key = input.clientId === undefined ? null : repeatKey(input.stream, input.actor.id, input.clientId);
      const earlier = key && (existing.get(key) ?? seenInBatch.get(key));
      if (earlier) {
        results.push({ event: earlier, duplicate: true });
        continue;
      }
      const event = {
        stream: input.stream,
        seq: next(input.stream),
        type: input.type,
        actor: { id: input.actor.id, name: input.actor.name },
        at,
        data: input.data,
      } as RealtimeEvent;
      appended.push(event);
      results.push({ event, duplicate: false });
      if (key) seenInBatch.set(key, event);
      for (const d of input.derived ?? []) {
        appended.push({
          stream: d.stream,
          seq: next(d.stream),
          type: d.type,
          actor: event.actor,
          at,
          data: d.data(event),
        } as RealtimeEvent);
      }
    }
    return { appended, results, heads, from, at };
  }

  /**
   * The rows, the new heads and the NOTIFY in one statement, which can be a transaction on its
   * own (a guess) or the last of one that holds the locks already. In the order it runs:
   *   - `locked` takes the streams' row locks in name order (as LOCK_STREAMS does: no deadlock
   *     between writers), waiting for any writer that holds one; under the lock's own
   *     transaction it holds them already;
   *   - `moved` moves each head, only from the value the batch was numbered from, and only once
   *     every row is locked;
   *   - the rows go in only once every head moved, so no row is written before its stream is
   *     locked (a row written first could wait on a writer that waits on it);
   *   - if any head is another (another writer came first, the stream's row went), the
   *     statement fails whole by dividing by zero, and keeps nothing.
   * Under the lock's own heads the check cannot fail; it is what makes a guess safe.
   */
  private writeStatement(batch: Pending[], outcome: BatchOutcome): [string, unknown[]] {
    const { appended, results, heads, from, at } = outcome;
    const clientIds = new Map<RealtimeEvent, string>();
    batch.forEach(({ input }, i) => {
      const r = results[i]!;
      if (!r.duplicate && input.clientId !== undefined) clientIds.set(r.event, input.clientId);
    });
    const changed = [...heads.keys()].sort().filter((s) => heads.get(s) !== from.get(s));
    const notify = Boolean(this.opts.notifyChannel);
    const text = `WITH locked AS (
         SELECT name FROM streams WHERE name = ANY($9::text[]) ORDER BY name FOR UPDATE
       ), moved AS (
         UPDATE streams SET head = h.head FROM unnest($9::text[], $10::int8[], $11::int8[]) AS h(name, head, was)
          WHERE streams.name = h.name AND streams.head = h.was
            AND (SELECT count(*) FROM locked) = cardinality($9::text[])
          RETURNING 1
       ), inserted AS (
         INSERT INTO events (stream, seq, type, actor_id, actor_name, at, data, client_id)
         SELECT s, q, t, a, n, $6::timestamptz, d::jsonb, c
           FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $7::text[], $8::text[])
             AS v(s, q, t, a, n, d, c)
          WHERE (SELECT count(*) FROM moved) = cardinality($9::text[])
       )
       SELECT 1 / ((SELECT count(*) FROM moved) = cardinality($9::text[]))::int AS moved${notify ? ", pg_notify($12, $13)" : ""}`;
    const params = [
      appended.map((e) => e.stream),
      appended.map((e) => e.seq),
      appended.map((e) => e.type),
      appended.map((e) => e.actor.id),
      appended.map((e) => e.actor.name),
      at,
      appended.map((e) => JSON.stringify(e.data)),
      appended.map((e) => clientIds.get(e) ?? null),
      changed,
      changed.map((s) => heads.get(s)!),
      changed.map((s) => from.get(s)!),
      ...(notify ? [this.opts.notifyChannel, notifyPayload(this.opts.instanceId ?? "", changed, heads)] : []),
    ];
    return [text, params];
  }

  /** The heads a commit left: the next batch to these streams numbers its events from them. */
  private remember(heads: Map<string, number>): void {
    for (const [name, head] of heads) {
      this.known.delete(name);
      this.known.set(name, head);
    }
    // The least recently written go first: memory stays bounded however many streams the log holds.
    forgetOldest(this.known, KNOWN_HEADS_MAX);
  }

  /**
   * Locks the streams' rows (in name order) and returns their heads. A stream without a row —
   * new to the log, or its row lost — gets one, its head taken from the events it already
   * has, so numbering continues instead of colliding. The lock is the one source of truth:
   * the heads remembered between batches (`known`) are only a guess that a statement checks
   * under it.
   */
  private async lockStreams(tx: Sql, names: string[]): Promise<{ heads: Map<string, number>; created: boolean }> {
    const lock = (which: string[]) => tx.query<{ name: string; head: number | string }>(LOCK_STREAMS, [which]);
    const heads = new Map((await lock(names)).map((r) => [r.name, Number(r.head)]));
    const missing = names.filter((n) => !heads.has(n));
    if (missing.length > 0) {
      // In name order too, so two writers creating the same streams wait for each other
      // instead of deadlocking. A row another writer created meanwhile is left as it is.
      const created = tx.query(
        `INSERT INTO streams (name, head)
         SELECT n, COALESCE((SELECT max(seq) FROM events WHERE events.stream = n), 0)
           FROM unnest($1::text[]) AS n ORDER BY 1
         ON CONFLICT (name) DO NOTHING`,
        [missing],
      );
      // Sent together, run in order: the rows are there by the time the lock looks for them.
      const [, rows] = await Promise.all([created, lock(missing)]);
      for (const r of rows) heads.set(r.name, Number(r.head));
    }
    return { heads, created: missing.length > 0 };
  }

  private async findRepeats(tx: Sql, batch: Pending[]): Promise<Map<string, RealtimeEvent>> {
    const keyed = batch.filter((p) => p.input.clientId !== undefined);
    const found = new Map<string, RealtimeEvent>();
    if (keyed.length === 0) return found;
    // One probe of the unique index per key. A plain join lets the planner hash the whole
    // events table instead (a scan per batch that grows with the log); LIMIT 1 in a LATERAL
    // subquery keeps it from being flattened into such a join.
    const rows = await tx.query<EventRow & { client_id: string }>(
      `SELECT e.stream, e.seq, e.type, e.actor_id, e.actor_name, e.at, e.data, e.client_id
         FROM unnest($1::text[], $2::text[], $3::text[]) AS k(stream, actor_id, client_id)
         CROSS JOIN LATERAL (
           SELECT * FROM events
            WHERE events.stream = k.stream AND events.actor_id = k.actor_id AND events.client_id = k.client_id
            LIMIT 1
         ) e`,
      [keyed.map((p) => p.input.stream), keyed.map((p) => p.input.actor.id), keyed.map((p) => p.input.clientId)],
    );
    for (const r of rows) found.set(repeatKey(r.stream, r.actor_id, r.client_id), toEvent(r));
    return found;
  }
}

interface BatchOutcome {
  appended: RealtimeEvent[];
  results: AppendResult[];
  /** Each stream's head after the batch. */
  heads: Map<string, number>;
  /** Each stream's head before it: what the batch was numbered from. */
  from: Map<string, number>;
  at: string;
}

/** Drops a map's first (least recently set) entries until it holds `max`. */
function forgetOldest(map: Map<string, number>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

/** The streams a batch writes, in name order (the order they are locked in: no deadlock between instances). */
function streamsOf(batch: Pending[]): string[] {
  const streams = new Set<string>();
  for (const { input } of batch) {
    streams.add(input.stream);
    for (const d of input.derived ?? []) streams.add(d.stream);
  }
  return [...streams].sort();
}

/** The SQLSTATE of an error the database sent; null for any other (a lost connection, the driver's own). */
function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== null && DATA_ERROR_CLASSES.has(code.slice(0, 2));
}

function repeatKey(stream: string, actorId: string, clientId: string): string {
  return `${stream}\u0000${actorId}\u0000${clientId}`;
}

/**
 * `{"i":instance,"h":{stream:head}}`; when too many streams changed to fit, `"h"` is omitted
 * and listeners re-check every stream they follow.
 */
export function notifyPayload(instanceId: string, streams: string[], heads: Map<string, number>): string {
  const h: Record<string, number> = {};
  for (const s of streams) h[s] = heads.get(s)!;
  const full = JSON.stringify({ i: instanceId, h });
  return Buffer.byteLength(full) <= MAX_NOTIFY_BYTES ? full : JSON.stringify({ i: instanceId });
}

function toEvent(r: EventRow): RealtimeEvent {
  return {
    stream: r.stream as StreamName,
    seq: Number(r.seq),
    type: r.type as EventType,
    actor: { id: r.actor_id, name: r.actor_name },
    at: (r.at instanceof Date ? r.at : new Date(r.at)).toISOString(),
    data: (typeof r.data === "string" ? JSON.parse(r.data) : r.data) as never,
  } as RealtimeEvent;
}
