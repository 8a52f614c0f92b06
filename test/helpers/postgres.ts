// Throwaway databases on a Postgres server, for tests and benchmarks alike: a new, empty database
// under a random name next to the server's `base` database, and dropped (connections and all).
import { randomBytes } from "node:crypto";
import pg from "pg";

/** Creates `<prefix>_<random>` on the server `base` (a postgres:// URL) names; returns its URL. */
export async function createDatabaseOn(base: string, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the database `url` names, connecting to the server through `base`. */
export async function dropDatabaseOn(base: string | undefined, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
