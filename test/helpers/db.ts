// Databases for tests: a throwaway PGlite always, and a fresh database on the real Postgres
// server when DATABASE_URL is set (as `.ci/run` does). Each call gets an empty, migrated database.
import { createHash } from "node:crypto";
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openDatabase, type Database } from "../../server/db/database";
import { migrate, readMigrations } from "../../server/db/migrate";
import { createDatabaseOn, dropDatabaseOn } from "./postgres";

export const MIGRATIONS_DIR = path.resolve(__dirname, "../../prisma/migrations");

export type DbKind = "pglite" | "postgres";

/** The kinds this run can test: PGlite always, Postgres when DATABASE_URL names a server. */
export const dbKinds: DbKind[] = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

export interface TestDatabase {
  db: Database;
  /** A postgres:// URL of the fresh database, for more connections and other processes. */
  url?: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(kind: DbKind): Promise<TestDatabase> {
  if (kind === "pglite") {
    const db = await openDatabase({ dataDir: "memory://", loadDataDir: await pgliteTemplate() });
    await migrate(db, MIGRATIONS_DIR);
    return { db, url: db.url, drop: () => db.close() };
  }
  const url = await createPostgresDatabase();
  const db = await openDatabase({ url, poolSize: 8 });
  await migrate(db, MIGRATIONS_DIR);
  return {
    db,
    url,
    async drop() {
      await db.close();
      await dropPostgresDatabase(url);
    },
  };
}

/** A new empty database on the DATABASE_URL server; returns its URL. */
export async function createPostgresDatabase(): Promise<string> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("DATABASE_URL is not set");
  return createDatabaseOn(base, "rt_test");
}

export function dropPostgresDatabase(url: string): Promise<void> {
  return dropDatabaseOn(process.env.DATABASE_URL, url);
}

/**
 * PGlite data directories made once and shared by every test file (on disk, keyed by the
 * migrations): loading one takes about a second where initdb takes several. `migrated: false`
 * is a freshly initialised database, for tests of the migrations themselves.
 */
const templates = new Map<boolean, Promise<string>>();
/** The template's tarball: a file the database's process reads itself. */
function pgliteTemplate(migrated = true): Promise<string> {
  let t = templates.get(migrated);
  if (!t) {
    t = (async () => {
      const checksums = readMigrations(MIGRATIONS_DIR).map((m) => m.checksum).join();
      const key = createHash("sha256").update(migrated ? checksums : "empty").digest("hex").slice(0, 16);
      const file = path.join(tmpdir(), `rt-pglite-template-${key}.tar`);
      if (existsSync(file)) return file;
      const db = await openDatabase({ dataDir: "memory://" });
      if (migrated) await migrate(db, MIGRATIONS_DIR);
      const dump = await db.dumpDataDir!();
      await db.close();
      const bytes = Buffer.from(await dump.arrayBuffer());
      const partial = `${file}.${process.pid}`;
      writeFileSync(partial, bytes);
      renameSync(partial, file);
      return file;
    })();
    templates.set(migrated, t);
  }
  return t;
}

/** An empty PGlite database with no migrations applied. */
export async function emptyPGlite(): Promise<Database> {
  return openDatabase({ dataDir: "memory://", loadDataDir: await pgliteTemplate(false) });
}
