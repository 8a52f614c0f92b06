// The embedded database's process, as the app's connections meet it: several `pg` connections
// at once on one PGlite backend, each with the backend to itself from its first message until it
// is idle again; notifications to those that listen; a connection that vanishes mid-transaction
// rolled back; the socket private; the process gone when the database is closed.
import { statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "../../server/db/datadir-lock";
import { openDatabase, type Database } from "../../server/db/database";
import { URGENT_APPLICATION_SUFFIX } from "../../server/db/pglite-server";

describe("the embedded database's process", () => {
  let db: Database;
  /** The socket's folder, from the pool's URL. */
  let socketDir: string;
  const client = async () => {
    const c = new pg.Client({ host: socketDir, user: "postgres", database: "postgres" });
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    db = await openDatabase({ dataDir: "memory://" });
    await db.sql.exec("CREATE TABLE t (id serial PRIMARY KEY, w int NOT NULL, i int NOT NULL)");
    socketDir = new URL(db.url!).searchParams.get("host")!;
  }, 60_000);
  afterAll(() => db?.close());

  it("gives each connection the backend for a whole transaction: six writers at once see only their own rows", async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, () => client()));
    const wrong: string[] = [];
    await Promise.all(
      clients.map(async (c, w) => {
        for (let i = 0; i < 40; i++) {
          await c.query("BEGIN");
          await c.query("INSERT INTO t (w, i) VALUES ($1, $2)", [w, i]);
          // Parameterized: Parse, Bind, Execute, Sync — another connection's messages in between
          // would take this one's unnamed statement or run inside its transaction.
          const { rows } = await c.query<{ n: number; last: number }>("SELECT count(*)::int AS n, max(i)::int AS last FROM t WHERE w = $1", [w]);
          if (rows[0]!.n !== i + 1 || rows[0]!.last !== i) wrong.push(`writer ${w} at ${i}: ${JSON.stringify(rows[0])}`);
          await c.query("COMMIT");
        }
      }),
    );
    await Promise.all(clients.map((c) => c.end()));
    expect(wrong).toEqual([]);
    expect(await db.sql.query("SELECT w, count(*)::int AS n FROM t GROUP BY w ORDER BY w")).toEqual(
      Array.from({ length: 6 }, (_, w) => ({ w, n: 40 })),
    );
  });

  it("serves the event log's connections (application_name …-log) before the others waiting for the backend", async () => {
    const holder = await client();
    const others = await Promise.all(Array.from({ length: 3 }, () => client()));
    const log = new pg.Client({ host: socketDir, user: "postgres", database: "postgres", application_name: `app${URGENT_APPLICATION_SUFFIX}` });
    await log.connect();
    await holder.query("BEGIN"); // the backend is the holder's until it commits
    const order: string[] = [];
    const waiting = [
      ...others.map((c, i) => c.query("SELECT 1").then(() => order.push(`other ${i}`))),
      // The log's query comes last of all, and is answered first once the backend is free.
      new Promise((r) => setTimeout(r, 50)).then(() => log.query("SELECT 1").then(() => order.push("log"))),
    ];
    await new Promise((r) => setTimeout(r, 100));
    await holder.query("COMMIT");
    await Promise.all(waiting);
    expect(order).toEqual(["log", "other 0", "other 1", "other 2"]);
    await Promise.all([holder, log, ...others].map((c) => c.end()));
  });

  it("makes its transactions on connections of their own: a pool held by other queries does not stand in the way", async () => {
    // Every pooled connection busy, more queries queued for one: a transaction still goes ahead.
    const slow = Array.from({ length: 12 }, () => db.sql.query("SELECT pg_sleep(0.05)"));
    const order: string[] = [];
    const tx = db.transaction((t) => t.query("SELECT 1")).then(() => order.push("transaction"));
    void Promise.all(slow).then(() => order.push("pool"));
    await Promise.all([tx, ...slow]);
    expect(order).toEqual(["transaction", "pool"]);
  });

  it("rolls back the transaction of a connection that vanished in it, and serves the others", async () => {
    const gone = await client();
    gone.on("error", () => {}); // its end is the point
    await gone.query("BEGIN");
    await gone.query("INSERT INTO t (w, i) VALUES (99, 1)");
    (gone as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    // The pool's connections wait their turn, then find no trace of it.
    expect(await db.sql.query("SELECT count(*)::int AS n FROM t WHERE w = 99")).toEqual([{ n: 0 }]);
    await db.transaction((tx) => tx.query("INSERT INTO t (w, i) VALUES (98, 1)"));
    expect(await db.sql.query("SELECT count(*)::int AS n FROM t WHERE w = 98")).toEqual([{ n: 1 }]);
  });

  it("gives each connection named statements of its own, as Postgres does, and drops them when it closes", async () => {
    const [a, b] = [await client(), await client()];
    const named = async () =>
      ((await db.sql.query<{ name: string; statement: string }>("SELECT name, statement FROM pg_prepared_statements")) ?? [])
        .filter((r) => r.name.endsWith("_q"))
        .map((r) => r.statement)
        .sort();
    // One name, two statements: each connection runs its own, the first time and after.
    for (let i = 0; i < 3; i++) {
      const [ra, rb] = await Promise.all([
        a.query<{ n: number }>({ name: "q", text: "SELECT $1::int + 1 AS n", values: [i] }),
        b.query<{ n: number }>({ name: "q", text: "SELECT $1::int * 10 AS n", values: [i] }),
      ]);
      expect([ra.rows[0]!.n, rb.rows[0]!.n]).toEqual([i + 1, i * 10]);
    }
    expect(await named()).toEqual(["SELECT $1::int * 10 AS n", "SELECT $1::int + 1 AS n"]);
    await a.end();
    await expect.poll(named).toEqual(["SELECT $1::int * 10 AS n"]);
    // A statement that failed to prepare was never made: deallocating it at the close is no harm.
    await expect(b.query({ name: "bad", text: "SELEC 1" })).rejects.toThrow(/syntax/);
    await b.end();
    await expect.poll(named).toEqual([]);
    expect(await db.sql.query("SELECT 1 AS n")).toEqual([{ n: 1 }]);
  });

  it("keeps the backend for a connection whose next query was cut before its Sync, however idle its last answer said", async () => {
    const other = await client();
    // A pipelining client: one query whole, the next one's Parse and Bind, and (later) the rest.
    const raw = net.connect(path.join(socketDir, ".s.PGSQL.5432"));
    let received = Buffer.alloc(0);
    raw.on("data", (d) => (received = Buffer.concat([received, d])));
    const types = () => [...wireMessages(received)].map((m) => m.type);
    const readyCount = () => types().filter((t) => t === "Z").length;
    const startup = Buffer.from("\0\0\0\0\0\x03\0\0user\0postgres\0database\0postgres\0\0", "binary");
    startup.writeInt32BE(startup.length, 0);
    raw.write(startup);
    await expect.poll(readyCount).toBe(1);
    const query = (sql: string) => [message("P", cstring(""), cstring(sql), int16(0)), message("B", cstring(""), cstring(""), int16(0), int16(0), int16(0))];
    const run = [message("E", cstring(""), int32(0)), message("S")];
    raw.write(Buffer.concat([...query("SELECT 1 AS n"), ...run, ...query("SELECT 2 AS n")]));
    await expect.poll(readyCount).toBe(2);
    // Another connection asks meanwhile; its unnamed statement must not replace the cut query's.
    const answered = other.query<{ n: number }>("SELECT $1::int AS n", [3]);
    await new Promise((r) => setTimeout(r, 100));
    raw.write(Buffer.concat(run));
    await expect.poll(readyCount).toBe(3);
    expect(types()).not.toContain("E");
    const rows = [...wireMessages(received)].filter((m) => m.type === "D").map((m) => m.body.toString("utf8", 6));
    expect(rows).toEqual(["1", "2"]);
    expect((await answered).rows).toEqual([{ n: 3 }]);
    raw.destroy();
    await other.end();
  });

  it("delivers a notification to the connections that listen on its channel, and to no other", async () => {
    const heard: string[] = [];
    const stop = await db.listen("rt_test_channel", (p) => heard.push(p));
    const other = await client();
    const otherHeard: string[] = [];
    other.on("notification", (n) => otherHeard.push(n.payload ?? ""));
    await other.query("LISTEN some_other_channel");
    await db.sql.query("SELECT pg_notify('rt_test_channel', 'one')");
    await db.transaction((tx) => tx.query("SELECT pg_notify('rt_test_channel', 'two')"));
    const until = Date.now() + 5_000;
    while (heard.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await other.query("SELECT 1");
    expect(heard).toEqual(["one", "two"]);
    expect(otherHeard).toEqual([]);
    await other.end();
    await stop();
  });

  it("keeps its socket to this user only", () => {
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(socketDir, ".s.PGSQL.5432")).mode & 0o777).toBe(0o600);
  });

  it("ends its process when the database is closed", async () => {
    const other = await openDatabase({ dataDir: "memory://" });
    const pid = other.pid!;
    expect(isAlive(pid)).toBe(true);
    await other.close();
    expect(isAlive(pid)).toBe(false);
  }, 60_000);
});

/** A frontend message: its type, then a length that counts itself, then the parts. */
function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
const cstring = (s: string) => Buffer.from(`${s}\0`, "utf8");
const int16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const int32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** The backend's messages in `buf`, whole ones only. */
function* wireMessages(buf: Buffer): Generator<{ type: string; body: Buffer }> {
  for (let at = 0; at + 5 <= buf.length; ) {
    const end = at + 1 + buf.readInt32BE(at + 1);
    if (end > buf.length) return;
    yield { type: String.fromCharCode(buf[at]!), body: buf.subarray(at + 5, end) };
    at = end;
  }
}
