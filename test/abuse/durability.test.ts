// The embedded database on disk: an acknowledged commit is on the disk (a power cut cannot take
// it back), its files are readable by this user only, and a restart right after `kill -9` is not
// refused because the killed process lingers as a zombie.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/config";
import { lockDataDir, processState } from "../../server/db/datadir-lock";
import { openDatabase, type Database } from "../../server/db/database";
import { migrate } from "../../server/db/migrate";
import { MIGRATIONS_DIR } from "../helpers/db";
import { Sessions } from "../../server/auth";

const mode = (p: string) => statSync(p).mode & 0o777;

/** Every directory and file under `dir`, with its permission bits. */
function modes(dir: string): { path: string; dir: boolean; mode: number }[] {
  const out = [{ path: dir, dir: true, mode: mode(dir) }];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...modes(p));
    else out.push({ path: p, dir: false, mode: mode(p) });
  }
  return out;
}

describe("the embedded database on disk", () => {
  const root = mkdtempSync(path.join(tmpdir(), "rt-durable-"));
  // As the server lays it out: DATA_DIR (not there yet) with the database in pglite/.
  const dataDir = path.join(root, "data");
  const dbDir = path.join(dataDir, "pglite");
  let db: Database;
  /** The fsyncs the database's process has made on disk. */
  const fsyncCount = () => db.fsyncs!();

  beforeAll(async () => {
    db = await openDatabase({ dataDir: dbDir });
    await db.sql.exec("CREATE TABLE t (x int)");
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("runs with fsync on, commits waiting for it", async () => {
    const show = async (name: string) => Object.values((await db.sql.query(`SHOW ${name}`))[0]!)[0];
    expect(await show("fsync")).toBe("on");
    expect(await show("synchronous_commit")).toBe("on");
    // fdatasync, Postgres' default on Linux, does not reach the disk from PGlite; fsync does.
    expect(await show("wal_sync_method")).toBe("fsync");
  });

  it("makes an fsync on disk for every acknowledged commit", async () => {
    const before = await fsyncCount();
    for (let i = 0; i < 3; i++) await db.transaction((tx) => tx.query("INSERT INTO t VALUES ($1)", [i]));
    expect((await fsyncCount()) - before).toBeGreaterThanOrEqual(3);
  });

  it("commits a write that need not survive a crash without an fsync (SET LOCAL synchronous_commit = off)", async () => {
    const before = await fsyncCount();
    for (let i = 0; i < 3; i++) {
      await db.transaction(async (tx) => {
        await tx.exec("SET LOCAL synchronous_commit = off");
        await tx.query("INSERT INTO t VALUES ($1)", [i]);
      });
    }
    expect((await fsyncCount()) - before).toBe(0);
    expect(await db.sql.query("SELECT count(*)::int AS n FROM t")).toEqual([{ n: 6 }]);
  });

  it("signs guests in without waiting for the disk, an account's creation with it; a message after a sign-in puts both on the disk", async () => {
    await migrate(db, MIGRATIONS_DIR);
    const sessions = new Sessions(db, "a".repeat(32));
    let before = await fsyncCount();
    for (let i = 0; i < 5; i++) await sessions.create(`Guest ${i}`, false);
    expect((await fsyncCount()) - before).toBe(0);

    before = await fsyncCount();
    const { session } = await sessions.create("Grace", false, { username: "grace", passwordHash: "scrypt$x", nameKey: "grace" });
    expect((await fsyncCount()) - before).toBeGreaterThanOrEqual(1);

    before = await fsyncCount();
    await sessions.open(session.user, false);
    expect((await fsyncCount()) - before).toBe(0);
    // Any durable commit after them flushes the log up to it, their rows included.
    await db.transaction((tx) => tx.query("INSERT INTO t VALUES (0)"));
    expect((await fsyncCount()) - before).toBeGreaterThanOrEqual(1);
    expect(await db.sql.query("SELECT count(*)::int AS n FROM sessions")).toEqual([{ n: 7 }]);
  });

  it("keeps its files 0600 in 0700 directories, those from before this version included", async () => {
    for (const entry of modes(dataDir)) expect(entry, entry.path).toMatchObject({ mode: entry.dir ? 0o700 : 0o600 });

    // A data directory written by an earlier version, opened again.
    await db.close();
    chmodSync(dbDir, 0o755);
    chmodSync(path.join(dbDir, "PG_VERSION"), 0o666);
    db = await openDatabase({ dataDir: dbDir });
    await db.sql.exec("CREATE TABLE t2 (x int)"); // new files, too
    for (const entry of modes(dbDir)) expect(entry, entry.path).toMatchObject({ mode: entry.dir ? 0o700 : 0o600 });
  }, 120_000);

  it("creates DATA_DIR 0700 for its generated session secret", () => {
    const dir = path.join(root, "config-data");
    loadConfig({ DATA_DIR: dir });
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, "session-secret"))).toBe(0o600);
  });
});

describe.runIf(process.platform === "linux")("the embedded database's lock", () => {
  const root = mkdtempSync(path.join(tmpdir(), "rt-lock-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /**
   * A real zombie: `sh` starts a short `sleep` in the background, prints its pid, then becomes
   * a long `sleep` that never reaps it. Returns the zombie's pid and a way to end the parent.
   */
  async function zombie(): Promise<{ pid: number; parentPid: number; end(): void }> {
    const parent = spawn("sh", ["-c", "sleep 0.05 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
      parent.once("error", reject);
    });
    const end = () => void parent.kill("SIGKILL");
    for (let i = 0; i < 100 && processState(pid) !== "Z"; i++) await new Promise((r) => setTimeout(r, 50));
    if (processState(pid) !== "Z") {
      end();
      throw new Error(`process ${pid} did not become a zombie`);
    }
    return { pid, parentPid: parent.pid!, end };
  }

  it("is taken over from a process that died and is not reaped yet (a zombie)", async () => {
    const z = await zombie();
    try {
      const dir = path.join(root, "z", "pglite");
      lockDataDir(dir)(); // creates the directory
      writeFileSync(`${dir}.lock`, String(z.pid));
      const release = lockDataDir(dir);
      release();

      // A live holder still refuses.
      writeFileSync(`${dir}.lock`, String(z.parentPid));
      expect(() => lockDataDir(dir)).toThrow(`in use by process ${z.parentPid}`);
    } finally {
      z.end();
    }
  });
});
