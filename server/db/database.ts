// Opens the database: a real Postgres when DATABASE_URL is set, embedded PGlite otherwise.
// Exposes one small raw-SQL interface (the event log's hot path) and the Prisma client (the rest).
import { readdirSync } from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { lockDataDir } from "./datadir-lock";
import { PrismaClient } from "./generated/client";
import { type Durability, PrivateNodeFS, makeTreePrivate, startParams, syncTree } from "./pglite-disk";

/** How often the LISTEN connection proves it is alive with a cheap query. */
export const LISTEN_CHECK_MS = 30_000;

export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements, without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/** A notification from LISTEN: the channel's payload. */
export type NotifyHandler = (payload: string) => void;

export interface Database {
  readonly kind: "postgres" | "pglite";
  readonly sql: Sql;
  readonly prisma: PrismaClient;
  /** Runs `fn` in one transaction on one connection; commits when it resolves. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Subscribes to a NOTIFY channel on a dedicated connection. `onReconnect` is called after the
   * connection was lost and re-established (notifications may have been missed meanwhile).
   */
  listen(channel: string, onNotify: NotifyHandler, onReconnect?: () => void): Promise<() => Promise<void>>;
  /** PGlite only: the whole data directory as a tarball (a template for fast test databases). */
  dumpDataDir?(): Promise<Blob>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** postgres:// URL; absent means embedded PGlite in `dataDir`. */
  url?: string | undefined;
  /** For PGlite: a directory, or "memory://" for a throwaway database. */
  dataDir?: string;
  poolSize?: number;
  onError?: (err: Error, context: string) => void;
  /** PGlite only: start from this data directory tarball instead of an empty one. */
  loadDataDir?: Blob;
  /**
   * PGlite on disk only: `durable` (the default) acknowledges a commit once it is fsynced;
   * `relaxed` leaves writing to the OS (a power cut can lose the last commits). See pglite-disk.ts.
   */
  durability?: Durability;
  /** Postgres: how this process's connections show in `pg_stat_activity` (the LISTEN one adds `-listen`). */
  applicationName?: string;
  /** Postgres: how often the LISTEN connection proves it is alive with a cheap query (30 s). */
  listenCheckMs?: number;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) return openPostgres(opts.url, opts);
  return openPGlite(opts.dataDir ?? "memory://", opts.loadDataDir, opts.durability ?? "durable");
}

// ---------------------------------------------------------------------------

function openPostgres(url: string, opts: OpenOptions): Database {
  const { onError } = opts;
  const applicationName = opts.applicationName ?? "realtime-workspace";
  const pool = new pg.Pool({ connectionString: url, max: opts.poolSize ?? 10, application_name: applicationName });
  // An idle client's error (server restart, network) must not crash the process.
  pool.on("error", (err) => onError?.(err, "pg pool idle client"));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const sql: Sql = {
    async query(text, params) {
      return (await pool.query(text, params)).rows;
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
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn({
          query: async (text, params) => (await client.query(text, params)).rows,
          exec: async (script) => void (await client.query(script)),
        });
        await client.query("COMMIT");
        return result;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.release();
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
      await pool.end();
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

// ---------------------------------------------------------------------------

async function openPGlite(dataDir: string, loadDataDir: Blob | undefined, durability: Durability): Promise<Database> {
  if (dataDir.startsWith("memory://")) return wrapPGlite(await PGlite.create({ dataDir, loadDataDir }), () => {});
  const dir = path.resolve(dataDir);
  const releaseLock = lockDataDir(dir);
  let db: PGlite;
  try {
    const fresh = readdirSync(dir).length === 0;
    // Owner-only, files included: it holds every message and session.
    makeTreePrivate(dir);
    db = await PGlite.create({ fs: new PrivateNodeFS(dir, durability), startParams: startParams(durability), loadDataDir });
    if (fresh && durability === "durable") await syncTree(dir);
  } catch (err) {
    releaseLock();
    throw err;
  }
  return wrapPGlite(db, releaseLock);
}

function wrapPGlite(db: PGlite, releaseLock: () => void): Database {
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(db) });
  const sql: Sql = {
    async query(text, params) {
      return (await db.query(text, params)).rows as never[];
    },
    async exec(script) {
      await db.exec(script);
    },
  };
  return {
    kind: "pglite",
    sql,
    prisma,
    transaction(fn) {
      return db.transaction((tx) =>
        fn({
          query: async (text, params) => (await tx.query(text, params)).rows as never[],
          exec: async (script) => void (await tx.exec(script)),
        }),
      );
    },
    async listen(channel, onNotify) {
      // One process owns a PGlite database, so nothing is ever missed: no reconnect to report.
      const unlisten = await db.listen(channel, onNotify);
      return async () => unlisten();
    },
    async dumpDataDir() {
      return db.dumpDataDir("none");
    },
    async close() {
      await prisma.$disconnect();
      await db.close();
      releaseLock();
    },
  };
}
