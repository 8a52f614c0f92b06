// The search index (protocol 1.7): each message's words, in `message_words`, kept up to date
// from the event log *after* each commit, never inside it. Words are derived data, like a feed's
// preview, but unlike a preview nobody waits for them: a search finds a message a moment after
// it was acked instead of the ack waiting for its words. Measured, an index inside the append's
// transaction halved the rate of appends (bench/RESULTS.md, "message search off the commit path").
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

/** Events read from one stream per statement. */
const READ_BATCH = 500;
/** How long after a commit the index reads: a burst's commits become one read per stream. */
const DEFAULT_DELAY_MS = 200;

const INDEXED_TYPES = new Set(["message", "message.edited", "message.deleted"]);

export interface SearchIndexOptions {
  logger: Logger;
  /** How long after a commit its stream is read (default 200 ms). */
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
      .catch((err: unknown) => this.opts.logger.warn({ err }, "search index: a read failed; it is tried again at the next commit"))
      .finally(() => {
        this.running = null;
        // Commits that came while reading, or a stream with more than a batch left.
        if (this.dirty.size > 0) this.schedule();
      }));
  }

  private async readAll(): Promise<void> {
    for (const stream of [...this.dirty]) {
      if (this.stopped) return;
      this.dirty.delete(stream);
      try {
        if (await this.readStream(stream)) this.dirty.add(stream); // more than one batch behind
      } catch (err) {
        this.dirty.add(stream);
        throw err;
      }
    }
  }

  /** Indexes one batch of `stream` after its position; true when more events wait. */
  private async readStream(stream: string): Promise<boolean> {
    const [row] = await this.db.sql.query<{ seq: string | number }>("SELECT seq FROM search_positions WHERE stream = $1", [stream]);
    const after = Number(row?.seq ?? 0);
    const events = await this.log.readAfter(stream, after, READ_BATCH);
    if (events.length === 0) return false;
    // A message reads as it now stands: the log folds its edits and its delete into it.
    const messages = new Map<number, string>();
    const changed: number[] = [];
    for (const e of events) {
      if (e.type === "message") messages.set(e.seq, e.data.text);
      else if (e.type === "message.edited" || e.type === "message.deleted") changed.push(e.data.seq);
    }
    // Changed here, written before this batch: read again.
    const stale = changed.filter((seq) => !messages.has(seq));
    if (stale.length > 0) {
      const rows = await this.db.sql.query<{ seq: string | number; text: string | null }>(
        `SELECT seq, data->>'text' AS text FROM events WHERE stream = $1 AND seq = ANY($2::int8[]) AND type = 'message'`,
        [stream, stale],
      );
      for (const r of rows) messages.set(Number(r.seq), r.text ?? "");
    }
    if (messages.size > 0) {
      await this.db.sql.query(
        `INSERT INTO message_words (stream, seq, words)
         SELECT $1, s, to_tsvector('simple', t) FROM unnest($2::int8[], $3::text[]) AS v(s, t)
         ON CONFLICT (stream, seq) DO UPDATE SET words = EXCLUDED.words`,
        [stream, [...messages.keys()], [...messages.values()].map((text) => plainText(text))],
      );
    }
    await this.db.sql.query(
      `INSERT INTO search_positions (stream, seq) VALUES ($1, $2)
       ON CONFLICT (stream) DO UPDATE SET seq = GREATEST(search_positions.seq, EXCLUDED.seq)`,
      [stream, events.at(-1)!.seq],
    );
    return events.length === READ_BATCH;
  }
}
