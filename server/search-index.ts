// The search index (protocol 1.7): each message's words, in `message_words`, kept up to date
// from the event log *after* each commit, never inside it. Words are derived data, like a feed's
// preview, but unlike a preview nobody waits for them: a search finds a message about a second
// after it was acked instead of the ack waiting for its words. Measured, an index inside the
// append's transaction halved the rate of appends (bench/RESULTS.md, "message search off the
// commit path").
//
// The index reads each room's stream from where it stopped (`search_positions`), so it is exact
// whatever happens in between: a commit it hears of marks the stream to read, a restart reads
// every stream whose head is past its position, and reading twice writes the same rows. For a
// `message` it writes the message's words; for an edit or a delete it writes its message's words
// as they now stand (the log folds both into the message), so none of a deleted message's words
// remain. Every instance indexes what it commits; any of them may write a row, the latest read
// of a message being the one that stays.
import type { Database } from "./db/database";
import type { EventLog } from "./eventlog";
import type { Logger } from "./log";
import { plainText } from "../lib/markdown";
import { roomOfStream } from "../lib/protocol";

/** Events read from one stream per read. */
const READ_BATCH = 500;
/** Streams read at once (a few statements for all of them). */
const STREAMS_PER_READ = 200;
/**
 * How long after a commit the index reads: the commits of a second, in every room, become one
 * read. A message can be searched for about this long after its ack.
 */
const DEFAULT_DELAY_MS = 1000;

const INDEXED_TYPES = new Set(["message", "message.edited", "message.deleted"]);

export interface SearchIndexOptions {
  logger: Logger;
  /** How long after a commit its stream is read (default 1 s). */
  delayMs?: number;
}

export class SearchIndex {
  /** Room streams with events the index has not read yet. */
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private offCommit: (() => void) | null = null;

  constructor(
    private readonly db: Database,
    private readonly log: EventLog,
    private readonly opts: SearchIndexOptions,
  ) {}

  /** Follows commits from now on, and reads every stream the index is behind on. */
  async start(): Promise<void> {
    this.offCommit = this.log.onCommit((events) => {
      for (const e of events) if (INDEXED_TYPES.has(e.type) && roomOfStream(e.stream) !== null) this.dirty.add(e.stream);
      if (this.dirty.size > 0) this.schedule();
    });
    const behind = await this.db.sql.query<{ name: string }>(
      `SELECT s.name FROM streams s LEFT JOIN search_positions p ON p.stream = s.name
        WHERE s.name LIKE 'room:%' AND s.head > COALESCE(p.seq, 0)`,
    );
    for (const { name } of behind) this.dirty.add(name);
    if (this.dirty.size > 0) this.schedule(0);
  }

  /** Stops following commits, and waits for a read under way (what is left is read at the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.offCommit?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Reads every stream marked now; resolves once they are indexed up to their heads as of now. */
  async flush(): Promise<void> {
    await this.running;
    await this.runOnce();
  }

  private schedule(delayMs = this.opts.delayMs ?? DEFAULT_DELAY_MS): void {
    if (this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce();
    }, delayMs);
    this.timer.unref();
  }

  private runOnce(): Promise<void> {
    return (this.running ??= this.readAll()
      .catch((err: unknown) => this.opts.logger.warn({ err }, "search index: a read failed; it is tried again in a second"))
      .finally(() => {
        this.running = null;
        // Commits that came while reading, or a stream with more than a batch left.
        if (this.dirty.size > 0) this.schedule();
      }));
  }

  private async readAll(): Promise<void> {
    while (this.dirty.size > 0 && !this.stopped) {
      const streams = [...this.dirty].slice(0, STREAMS_PER_READ);
      for (const stream of streams) this.dirty.delete(stream);
      try {
        for (const stream of await this.read(streams)) this.dirty.add(stream);
      } catch (err) {
        for (const stream of streams) this.dirty.add(stream);
        throw err;
      }
    }
  }

  /**
   * Indexes `streams` from their positions, a batch of events each, in a few statements
   * whatever their number (each statement has a fixed cost, the embedded database's above all);
   * answers the streams with more events waiting.
   */
  private async read(streams: string[]): Promise<string[]> {
    const sql = this.db.sql;
    const positions = await sql.query<{ stream: string; seq: string | number }>("SELECT stream, seq FROM search_positions WHERE stream = ANY($1::text[])", [streams]);
    const after = new Map(positions.map((p) => [p.stream, Number(p.seq)]));
    // Every event after each position (all types: the position passes them all), the text of
    // messages, and the message each change points at.
    const rows = await sql.query<{ stream: string; seq: string | number; type: string; text: string | null; target: string | number | null }>(
      `SELECT e.stream, e.seq, e.type,
              CASE WHEN e.type = 'message' THEN e.data->>'text' END AS text,
              CASE WHEN e.type IN ('message.edited', 'message.deleted') THEN (e.data->>'seq')::int8 END AS target
         FROM unnest($1::text[], $2::int8[]) AS p(stream, after)
        CROSS JOIN LATERAL (
          SELECT stream, seq, type, data FROM events
           WHERE events.stream = p.stream AND events.seq > p.after
           ORDER BY seq LIMIT ${READ_BATCH}) e`,
      [streams, streams.map((s) => after.get(s) ?? 0)],
    );
    if (rows.length === 0) return [];
    // A message reads as it now stands: the log folds its edits and its delete into it. One
    // changed here but written before this batch is read again.
    const words = new Map<string, { stream: string; seq: number; text: string }>();
    const last = new Map<string, number>();
    const counts = new Map<string, number>();
    const stale: Array<{ stream: string; seq: number }> = [];
    for (const r of rows) {
      const seq = Number(r.seq);
      last.set(r.stream, Math.max(last.get(r.stream) ?? 0, seq));
      counts.set(r.stream, (counts.get(r.stream) ?? 0) + 1);
      if (r.type === "message") words.set(`${r.stream}\u0000${seq}`, { stream: r.stream, seq, text: r.text ?? "" });
      else if (r.target !== null) stale.push({ stream: r.stream, seq: Number(r.target) });
    }
    const reread = stale.filter((t) => !words.has(`${t.stream}\u0000${t.seq}`));
    if (reread.length > 0) {
      const current = await sql.query<{ stream: string; seq: string | number; text: string | null }>(
        `SELECT e.stream, e.seq, e.data->>'text' AS text
           FROM unnest($1::text[], $2::int8[]) AS t(stream, seq)
           JOIN events e ON e.stream = t.stream AND e.seq = t.seq AND e.type = 'message'`,
        [reread.map((t) => t.stream), reread.map((t) => t.seq)],
      );
      for (const r of current) words.set(`${r.stream}\u0000${r.seq}`, { stream: r.stream, seq: Number(r.seq), text: r.text ?? "" });
    }
    // The words and the positions in one statement.
    const indexed = [...words.values()];
    const moved = [...last.entries()];
    await sql.query(
      `WITH words AS (
         INSERT INTO message_words (stream, seq, words)
         SELECT s, q, to_tsvector('simple', t) FROM unnest($1::text[], $2::int8[], $3::text[]) AS v(s, q, t)
         ON CONFLICT (stream, seq) DO UPDATE SET words = EXCLUDED.words
       )
       INSERT INTO search_positions (stream, seq) SELECT * FROM unnest($4::text[], $5::int8[])
       ON CONFLICT (stream) DO UPDATE SET seq = GREATEST(search_positions.seq, EXCLUDED.seq)`,
      [indexed.map((w) => w.stream), indexed.map((w) => w.seq), indexed.map((w) => plainText(w.text)), moved.map(([s]) => s), moved.map(([, q]) => q)],
    );
    return [...counts].filter(([, n]) => n === READ_BATCH).map(([stream]) => stream);
  }
}
