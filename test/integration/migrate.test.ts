// Migrations: applied once, in order, recorded as `prisma migrate deploy` records them, and
// refused loudly when an applied one was edited.
import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../server/db/database";
import { migrate, MigrationError, readMigrations } from "../../server/db/migrate";
import { createPostgresDatabase, dbKinds, dropPostgresDatabase, emptyPGlite, MIGRATIONS_DIR } from "../helpers/db";

async function freshDb(kind: "pglite" | "postgres") {
  if (kind === "pglite") {
    const db = await emptyPGlite();
    return { db, drop: () => db.close() };
  }
  const url = await createPostgresDatabase();
  const db = await openDatabase({ url });
  return { db, drop: async () => (await db.close(), await dropPostgresDatabase(url)) };
}

describe.each(dbKinds)("migrations on %s", (kind) => {
  it("apply once, record Prisma's checksum, and seed the general room", async () => {
    const { db, drop } = await freshDb(kind);
    try {
      const first = await migrate(db, MIGRATIONS_DIR);
      expect(first).toEqual(readMigrations(MIGRATIONS_DIR).map((m) => m.name));
      expect(await migrate(db, MIGRATIONS_DIR)).toEqual([]);
      const rows = await db.sql.query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
        'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
      );
      const m = readMigrations(MIGRATIONS_DIR)[0]!;
      expect(rows[0]).toMatchObject({ migration_name: m.name, applied_steps_count: 1 });
      expect(rows[0]!.checksum).toBe(createHash("sha256").update(m.sql).digest("hex"));
      expect(rows[0]!.finished_at).not.toBeNull();
      const rooms = await db.prisma.room.findMany();
      expect(rooms.map((r) => r.id)).toEqual(["general"]);
    } finally {
      await drop();
    }
  });

  it("indexes the case-insensitive name lookup that mentions use", async () => {
    const { db, drop } = await freshDb(kind);
    try {
      await migrate(db, MIGRATIONS_DIR);
      const plan = await db.transaction(async (tx) => {
        // A new table is tiny, so the planner would scan it whatever the indexes: ask it not to.
        await tx.query("SET LOCAL enable_seqscan = off");
        return tx.query<{ "QUERY PLAN": string }>("EXPLAIN SELECT id FROM users WHERE lower(name) = ANY($1::text[])", [["ada", "grace hopper"]]);
      });
      expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/users_name_lower_idx/);
    } finally {
      await drop();
    }
  });

  it("applies new migrations later, and refuses an applied one that was edited", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-migrations-"));
    const { db, drop } = await freshDb(kind);
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(db, dir);
      const extra = path.join(dir, "29990101000000_extra");
      cpSync(path.join(dir, readMigrations(dir)[0]!.name), extra, { recursive: true });
      writeFileSync(path.join(extra, "migration.sql"), 'CREATE TABLE "extra_table" ("id" TEXT PRIMARY KEY);\n');
      expect(await migrate(db, dir)).toEqual(["29990101000000_extra"]);
      expect(await db.sql.query("SELECT * FROM extra_table")).toEqual([]);

      appendFileSync(path.join(extra, "migration.sql"), "-- edited\n");
      await expect(migrate(db, dir)).rejects.toBeInstanceOf(MigrationError);
      await expect(migrate(db, dir)).rejects.toThrow(/changed after it was applied/);
    } finally {
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rolls a failing migration back entirely and records nothing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-migrations-"));
    const { db, drop } = await freshDb(kind);
    try {
      cpSync(MIGRATIONS_DIR, dir, { recursive: true });
      await migrate(db, dir);
      const bad = path.join(dir, "29990101000000_bad");
      cpSync(path.join(dir, readMigrations(dir)[0]!.name), bad, { recursive: true });
      writeFileSync(path.join(bad, "migration.sql"), 'CREATE TABLE "half" ("id" TEXT);\nSELECT no_such_function();\n');
      await expect(migrate(db, dir)).rejects.toThrow();
      const tables = await db.sql.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'");
      expect(tables).toEqual([]);
      const recorded = await db.sql.query(`SELECT 1 FROM "_prisma_migrations" WHERE migration_name = '29990101000000_bad'`);
      expect(recorded).toEqual([]);
    } finally {
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
