// Opens the database: a real Postgres when DATABASE_URL is set, embedded PGlite otherwise.
// Either way the app speaks to it with the `pg` driver: the embedded one runs in a process of
// its own (embedded.ts) behind a Unix socket, so there is one database code path. Exposes one
// small raw-SQL interface (the event log's hot path) and the Prisma client (the rest).
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { startEmbedded } from "./embedded";
import { PrismaClient } from "./generated/client";
import type { Durability } from "./pglite-disk";
import { URGENT_APPLICATION_SUFFIX } from "./pglite-server";

/** How often the LISTEN connection proves it is alive with a cheap query. */
export const LISTEN_CHECK_MS = 30_000;

/**
 * How long a Prisma transaction (a sign-up, a new room) may wait to begin, and then to run.
 * Prisma's own 2 s is shorter than the embedded database can be busy for: one backend, taken in
 * turns, a whole transaction at a time, so sixty people signing up at once wait behind each
 * other, and behind whatever else the app asked of it. Past this the request is refused as
 * `overloaded` (503 with Retry-After), never `internal`.
 */
export const TRANSACTION_WAIT_MS = 10_000;

export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements, without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** The statements of one transaction (`Database.transaction`). */
export interface Transaction extends Sql {
  /**
   * Runs the transaction's last statement and commits it, in one round trip: the COMMIT goes
   * out behind the statement without waiting for its answer. A statement that fails leaves the
   * transaction aborted, and a COMMIT of an aborted transaction rolls it back, so nothing it
   * did is kept, and this rejects with its error. Nothing may be run in the transaction after it.
   */
  queryAndCommit<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
}

/** A notification from LISTEN: the channel's payload. */
export type NotifyHandler = (payload: string) => void;

export interface Database {
  readonly kind: "postgres" | "pglite";
  readonly sql: Sql;
  readonly prisma: PrismaClient;
  /**
   * Runs `fn` in one transaction on one connection; commits when it resolves (unless it
   * committed with `queryAndCommit`), rolls back when it rejects. The connection pipelines:
   * BEGIN goes out with the first statement, and statements started together (without
   * awaiting one before the next) travel together and run in the order they were started.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Runs one statement as a transaction of its own, on the connections `transaction` uses: one
   * round trip, and committed by the time it answers (a statement alone is its own transaction).
   * It fails whole or not at all.
   */
  commitStatement<R = Record<string, unknown>>(text: string, params: unknown[]): Promise<R[]>;
  /**
   * Subscribes to a NOTIFY channel on a dedicated connection. `onReconnect` is called after the
   * connection was lost and re-established (notifications may have been missed meanwhile).
   */
  listen(channel: string, onNotify: NotifyHandler, onReconnect?: () => void): Promise<() => Promise<void>>;
  /** PGlite only: the whole data directory as a tarball (a template for fast test databases). */
  dumpDataDir?(): Promise<Blob>;
  /** PGlite only: a postgres:// URL of its socket, for more connections (other processes included). */
  readonly url?: string;
  /** PGlite only: the pid of the database's own process. */
  readonly pid?: number;
  /** PGlite on disk only: how many fsyncs its process has made (what "durable" costs). */
  fsyncs?(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres:// URL; absent means embedded PGlite in `dataDir`. */
  url?: string | undefined;
  /** For PGlite: a directory, or "memory://" for a throwaway database. */
  dataDir?: string;
  poolSize?: number;
  onError?: (err: Error, context: string) => void;
  /** PGlite only: start from this data directory tarball (or the path of one) instead of an empty one. */
  loadDataDir?: Blob | string;
  /**
   * PGlite on disk only: `durable` (the default) acknowledges a commit once it is fsynced;
   * `relaxed` leaves writing to the OS (a power cut can lose the last commits). See pglite-disk.ts.
   */
  durability?: Durability;
  /** Postgres: how this process's connections show in `pg_stat_activity` (the LISTEN one adds `-listen`). */
  applicationName?: string;
  /** Postgres: how often the LISTEN connection proves it is alive with a cheap query (30 s). */
  listenCheckMs?: number;
  /**
   * PGlite only: its process ended without being asked to. Every query fails from then on; the
   * app exits (nothing unacknowledged was acknowledged: a commit is acked only once it returned).
   */
  onDatabaseExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts);
  return openEmbedded(opts);
}

/** The embedded database: PGlite in its own process, reached over its socket like a Postgres. */
async function openEmbedded(opts: OpenOptions): Promise<Database> {
  const child = await startEmbedded({
    dataDir: opts.dataDir ?? "memory://",
    durability: opts.durability ?? "durable",
    loadDataDir: opts.loadDataDir,
    onExit: opts.onDatabaseExit,
  });
  let db: Database;
  try {
    // One backend behind the socket: connections take turns, a transaction at a time, so a
    // few are plenty (a query waiting for a turn waits in the database process, not here).
    db = openPostgres(child.url, { ...opts, poolSize: opts.poolSize ?? 4 });
    await db.sql.query("SELECT 1");
  } catch (err) {
    await child.stop();
    throw err;
  }
  return {
    ...db,
    kind: "pglite",
    url: child.url,
    pid: child.pid,
    dumpDataDir: () => child.dump(),
    fsyncs: () => child.fsyncs(),
    async close() {
      await db.close();
      await child.stop();
    },
  };
}

// ---------------------------------------------------------------------------

/** Statement texts prepared by name, at most; texts past it run unnamed (parsed every time). */
export const MAX_PREPARED_STATEMENTS = 100;
const statementNames = new Map<string, string>();

/**
 * A statement with parameters as a named prepared statement: each connection parses and plans
 * it the first time and from then on only binds and runs it. Parsing and planning is most of
 * what a small statement costs the embedded database (WebAssembly on one thread), which runs
 * three of them for every commit (the lock, the repeats' lookup, the insert). The app's
 * statements are a fixed set of texts; the bound keeps a text built at run time from growing
 * every connection's set of statements. (The embedded database's server makes each
 * connection's names its own, as a Postgres session's are: pglite-server.ts.)
 */
function prepared(text: string, values: unknown[] | undefined): string | pg.QueryConfig {
  if (values === undefined) return text;
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_PREPARED_STATEMENTS) statementNames.set(text, (name = `rt_${statementNames.size + 1}`));
  return name === undefined ? { text, values } : { name, text, values };
}

function openPostgres(url: string, opts: OpenOptions): Database {
  const { onError } = opts;
  const applicationName = opts.applicationName ?? "realtime-workspace";
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10, application_name: applicationName });
  // Transactions (the event log's batches, which every ack waits on) have connections of their
  // own: a burst of requests holding every pooled connection, and more queued for one, must not
  // stand between a batch and its commit. The embedded database serves them first, too.
  // These connections pipeline (`pg`'s pipeline mode): a statement is sent without waiting for
  // the answer to the one before, and the answers come back in order. So a batch's BEGIN, its
  // lock and its lookup travel together, and so do its insert and COMMIT: two round trips
  // to the database where one at a time took five, each of them a wait for every ack.
  const writers = new pg.Pool({ connectionString: url, max: 2, application_name: `${applicationName}${URGENT_APPLICATION_SUFFIX}`, pipeline: true });
  for (const p of [pool, writers]) {
    // An idle client's error (server restart, network) must not crash the process, nor a
    // checked-out one's: its query fails, and whoever waits on it hears that.
    p.on("error", (err) => onError?.(err, "pg pool idle client"));
    p.on("connect", (client) => client.on("error", (err) => onError?.(err, "pg client")));
  }
  const prisma = new PrismaClient({
    adapter: new PrismaPg(pool),
    transactionOptions: { maxWait: TRANSACTION_WAIT_MS, timeout: TRANSACTION_WAIT_MS },
  });
  const sql: Sql = {
    async query(text, params) {
      return (await pool.query(prepared(text, params))).rows;
    },
    async exec(script) {
      await pool.query(script);
    },
  };
  const listeners = new Set<() => Promise<void>>();

  return {
    kind: "postgres",
    sql,
    prisma,
    async transaction(fn) {
      const client = await writers.connect();
      let failure = false;
      // Statements started in one turn of the loop leave in one write, and the database reads
      // them together: the socket is corked from the first until the turn's microtasks run.
      const stream = client.connection.stream;
      let corked = false;
      const send = <T>(statement: () => T): T => {
        if (!corked) {
          corked = true;
          stream.cork();
          queueMicrotask(() => {
            corked = false;
            stream.uncork();
          });
        }
        return statement();
      };
      // Not awaited here: BEGIN goes out with the first statement, whose answer waits for it.
      const begun = send(() => client.query("BEGIN"));
      begun.catch(() => {});
      let committed = false;
      const run = async <R>(text: string, params?: unknown[]): Promise<R[]> => {
        if (committed) throw new Error("The transaction was committed: nothing more runs in it");
        const [, result] = await Promise.all([begun, send(() => client.query(prepared(text, params)))]);
        return result.rows as R[];
      };
      try {
        const result = await fn({
          query: run,
          exec: async (script) => void (await run(script)),
          async queryAndCommit(text, params) {
            const rows = run(text, params);
            const commit = send(() => client.query("COMMIT"));
            committed = true;
            const [r] = await Promise.all([rows, commit]);
            return r as never;
          },
        });
        if (!committed) await Promise.all([begun, client.query("COMMIT")]);
        return result;
      } catch (err) {
        // Awaited before anything else is sent: a statement pipelined past the ROLLBACK would
        // find its prepared statement's first Parse refused in the aborted transaction.
        await client.query("ROLLBACK").catch(() => {});
        // An error the database did not send (a parameter that could not be converted, a lost
        // connection) may leave the driver sure of a prepared statement the connection no longer
        // has (it closes the statement it could not bind): such a connection is not reused.
        failure = !(err instanceof pg.DatabaseError);
        throw err;
      } finally {
        client.release(failure);
      }
    },
    async commitStatement(text, params) {
      const client = await writers.connect();
      let failure = false;
      try {
        return (await client.query(prepared(text, params))).rows;
      } catch (err) {
        // As in `transaction`: a connection the database did not answer on is not reused.
        failure = !(err instanceof pg.DatabaseError);
        throw err;
      } finally {
        client.release(failure);
      }
    },
    async listen(channel, onNotify, onReconnect) {
      const stop = await listenWithReconnect(url, channel, onNotify, onReconnect, {
        onError,
        applicationName: `${applicationName}-listen`,
        checkMs: opts.listenCheckMs ?? LISTEN_CHECK_MS,
      });
      listeners.add(stop);
      return async () => {
        listeners.delete(stop);
        await stop();
      };
    },
    async close() {
      await Promise.all([...listeners].map((stop) => stop()));
      await prisma.$disconnect();
      await Promise.all([pool.end(), writers.end()]);
    },
  };
}

/**
 * LISTEN on a dedicated connection that comes back by itself (capped, jittered backoff).
 * Whoever listens must treat `onReconnect` as "you may have missed notifications".
 *
 * A connection can die without a word — a host gone, a NAT or proxy dropping an idle flow — and
 * a LISTEN connection only ever reads, so nothing would notice: notifications would just stop.
 * So it sends a cheap query every `checkMs`, and one that fails or does not answer in time
 * counts as lost. TCP keepalive also lets the OS reap such a socket.
 */
async function listenWithReconnect(
  url: string,
  channel: string,
  onNotify: NotifyHandler,
  onReconnect: (() => void) | undefined,
  opts: { onError: OpenOptions["onError"]; applicationName: string; checkMs: number },
): Promise<() => Promise<void>> {
  const timeoutMs = Math.min(10_000, opts.checkMs);
  let client: pg.Client | null = null;
  let stopped = false;
  let attempt = 0;
  let retryTimer: NodeJS.Timeout | null = null;

  /**
   * Ends a connection, politely if it answers: a polite end waits for the server's goodbye,
   * which a dead connection never sends, so past the timeout its socket is destroyed.
   */
  const discard = async (c: pg.Client): Promise<void> => {
    c.removeAllListeners("end");
    c.removeAllListeners("error");
    c.on("error", () => {});
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([c.end().catch(() => {}), gaveUp]);
    clearTimeout(timer);
    c.connection.stream.destroy();
  };

  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: opts.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    c.on("notification", (msg) => {
      if (msg.channel === channel) onNotify(msg.payload ?? "");
    });
    // Until it is `client`, a failure belongs to this attempt (the catch below), not to a live connection.
    c.on("error", (err) => {
      if (client !== c) return;
      opts.onError?.(err, "pg listen connection");
      reconnect();
    });
    c.on("end", () => {
      if (client === c) reconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      void discard(c);
      throw err;
    }
    return c;
  };

  const reconnect = () => {
    if (stopped || retryTimer) return;
    const dead = client;
    client = null;
    if (dead) void discard(dead);
    const delay = Math.random() * Math.min(30_000, 250 * 2 ** attempt++);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect().then(
        (c) => {
          if (stopped) return void discard(c);
          client = c;
          attempt = 0;
          onReconnect?.();
        },
        (err: Error) => {
          opts.onError?.(err, "pg listen reconnect");
          reconnect();
        },
      );
    }, delay);
    retryTimer.unref();
  };

  let checking = false;
  const check = setInterval(() => {
    const c = client;
    if (!c || checking) return;
    checking = true;
    c.query("SELECT 1").then(
      () => void (checking = false),
      (err: Error) => {
        checking = false;
        if (client !== c) return;
        opts.onError?.(err, "pg listen connection check");
        reconnect();
      },
    );
  }, opts.checkMs);
  check.unref();

  try {
    client = await connect();
  } catch (err) {
    clearInterval(check);
    throw err;
  }
  return async () => {
    stopped = true;
    clearInterval(check);
    if (retryTimer) clearTimeout(retryTimer);
    const c = client;
    client = null;
    if (c) await discard(c);
  };
}
