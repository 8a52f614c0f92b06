// Throwaway databases for benchmarks: a fresh database on the local Postgres server (dropped
// after), PGlite in memory, or PGlite on disk in a temporary directory (removed after) — durable
// as the app runs it (each commit fsynced), or relaxed (fsync off, PGlite's own default).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { openDatabase, type Database } from "../../server/db/database";
import { migrate } from "../../server/db/migrate";
import { createDatabaseOn, dropDatabaseOn } from "../../test/helpers/postgres";
import { REPO_DIR } from "./common";

export const MIGRATIONS_DIR = path.join(REPO_DIR, "prisma/migrations");
export const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export type DbTarget = "postgres" | "pglite-memory" | "pglite-disk" | "pglite-disk-relaxed";

export interface BenchDatabase {
  target: DbTarget;
  db: Database;
  /** postgres:// URL of the fresh database (Postgres only), for a server in another process. */
  url?: string;
  /** PGlite's directory on disk (pglite-disk and pglite-disk-relaxed only). */
  dataDir?: string;
  drop(): Promise<void>;
}

export function baseDatabaseUrl(): string {
  return process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

/** True when the Postgres server answers. */
export async function postgresAvailable(base = baseDatabaseUrl()): Promise<boolean> {
  const c = new pg.Client({ connectionString: base, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Durability settings worth stating next to any number measured on this server. */
export async function postgresSettings(base = baseDatabaseUrl()): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    const out: Record<string, string> = {};
    for (const name of ["server_version", "fsync", "synchronous_commit", "wal_sync_method", "shared_buffers", "max_connections"]) {
      const r = await c.query<{ v: string }>(`SELECT current_setting($1) AS v`, [name]);
      out[name] = r.rows[0]!.v;
    }
    return out;
  } finally {
    await c.end();
  }
}

/** A new empty `rt_bench_*` database on the Postgres server; returns its URL. */
export function createPostgresDatabase(base = baseDatabaseUrl()): Promise<string> {
  return createDatabaseOn(base, "rt_bench");
}

export function dropPostgresDatabase(url: string, base = baseDatabaseUrl()): Promise<void> {
  return dropDatabaseOn(base, url);
}

/** A new, empty, migrated database of the given kind. */
export async function openBenchDatabase(target: DbTarget, opts: { poolSize?: number } = {}): Promise<BenchDatabase> {
  if (target === "postgres") {
    const url = await createPostgresDatabase();
    try {
      const db = await openDatabase({ url, poolSize: opts.poolSize ?? 10 });
      await migrate(db, MIGRATIONS_DIR);
      return {
        target,
        db,
        url,
        async drop() {
          await db.close().catch(() => {});
          await dropPostgresDatabase(url);
        },
      };
    } catch (err) {
      await dropPostgresDatabase(url).catch(() => {});
      throw err;
    }
  }
  if (target === "pglite-memory") {
    const db = await openDatabase({ dataDir: "memory://" });
    await migrate(db, MIGRATIONS_DIR);
    return { target, db, drop: () => db.close() };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "rt-bench-pglite-"));
  const dataDir = path.join(dir, "pglite");
  const db = await openDatabase({ dataDir, durability: target === "pglite-disk-relaxed" ? "relaxed" : "durable" });
  await migrate(db, MIGRATIONS_DIR);
  return {
    target,
    db,
    dataDir,
    async drop() {
      await db.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
