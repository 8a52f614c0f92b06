// The event log across real OS processes: concurrent writers on one stream stay gapless and
// commit-ordered, and an acknowledged append survives SIGKILL — of a bare writer, and of the
// real server answering 201s.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../server/db/database";
import { migrate } from "../../server/db/migrate";
import { EventLog } from "../../server/eventlog";
import { createPostgresDatabase, createTestDatabase, dropPostgresDatabase, MIGRATIONS_DIR } from "../helpers/db";
import { spawnServer } from "../helpers/process";
import type { RealtimeEvent } from "../../lib/protocol";

const WORKER = path.resolve(__dirname, "../helpers/append-worker.ts");
const hasPostgres = Boolean(process.env.DATABASE_URL);
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function startWorker(opts: object): { child: ChildProcess; acks: Array<{ seq: number; text: string }>; done: Promise<number | null> } {
  // `node --import tsx`, not the tsx wrapper: a SIGKILL must reach the process that writes.
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(opts)], { stdio: ["ignore", "pipe", "inherit"] });
  const acks: Array<{ seq: number; text: string }> = [];
  let buf = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buf += chunk.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const line of lines) {
      const m = /^ack (\d+) (\S+)$/.exec(line);
      if (m) acks.push({ seq: Number(m[1]), text: m[2]! });
    }
  });
  const done = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, acks, done };
}

/**
 * Reads `stream` while `workers` write it, each page checked to continue exactly where the last
 * stopped (a reader never sees n+1 before n), until `total` events were seen. Fails as soon as a
 * writer exits unsuccessfully (killed, crashed), and when the writers are done but the log stops
 * short — never by waiting for the test's timeout. Returns how many reads it took.
 */
async function tailWhileWriting(log: EventLog, stream: string, total: number, workers: Array<{ done: Promise<number | null> }>): Promise<number> {
  let failure: string | null = null;
  let exited = 0;
  for (const [i, w] of workers.entries()) {
    void w.done.then((code) => {
      exited++;
      if (code !== 0) failure ??= `writer ${i + 1} exited with ${code ?? "a signal"}`;
    });
  }
  let seen = 0;
  let reads = 0;
  let idleAfterExit = 0;
  while (seen < total) {
    if (failure) throw new Error(`${failure}, at ${seen} of ${total} events`);
    const page = await log.readAfter(stream, seen, 300);
    reads++;
    page.forEach((e, i) => expect(e.seq).toBe(seen + i + 1));
    if (page.length) seen = page.at(-1)!.seq;
    else if (exited === workers.length && ++idleAfterExit > 20) throw new Error(`the writers are done but the log stops at ${seen} of ${total}`);
    else await new Promise((r) => setTimeout(r, 5));
  }
  expect(await Promise.all(workers.map((w) => w.done))).toEqual(workers.map(() => 0));
  return reads;
}

const writerTargets = hasPostgres ? (["pglite", "postgres"] as const) : (["pglite"] as const);

describe.each(writerTargets)("event log across processes on %s", (kind) => {
  it("4 writer processes × 500 appends to one stream: seq 1..2000, no gap, no duplicate; a tailing reader never sees n+1 before n", async () => {
    // The embedded database serves other processes over its socket, as the app's own connections.
    const testDb = await createTestDatabase(kind);
    cleanups.push(() => testDb.drop());
    const { db, url } = testDb;
    const log = new EventLog(db);

    const workers = ["w1", "w2", "w3", "w4"].map((tag) => startWorker({ url, stream: "room:race", count: 500, concurrency: 25, tag }));
    cleanups.push(() => workers.forEach((w) => w.child.kill("SIGKILL")));
    const reads = await tailWhileWriting(log, "room:race", 2000, workers);
    expect(reads).toBeGreaterThan(1);
    const rows = await db.sql.query<{ seq: number | string; text: string }>(
      "SELECT seq, data->>'text' AS text FROM events WHERE stream = 'room:race' ORDER BY seq",
    );
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(new Set(rows.map((r) => r.text)).size).toBe(2000);
    // Each acknowledgement named the seq the log holds for that text.
    const bySeq = new Map(rows.map((r) => [Number(r.seq), r.text]));
    for (const w of workers) {
      expect(w.acks).toHaveLength(500);
      for (const a of w.acks) expect(bySeq.get(a.seq)).toBe(a.text);
    }
    expect(await log.head("room:race")).toBe(2000);
  }, 120_000);
});

const killTargets = hasPostgres ? (["pglite", "postgres"] as const) : (["pglite"] as const);

describe.each(killTargets)("SIGKILL on %s", (kind) => {
  it("loses no acknowledged append, and a restarted process serves the same history", async () => {
    let url: string | undefined;
    let dataDir: string | undefined;
    if (kind === "postgres") {
      url = await createPostgresDatabase();
      cleanups.push(() => dropPostgresDatabase(url!));
      const db = await openDatabase({ url });
      await migrate(db, MIGRATIONS_DIR);
      await db.close();
    } else {
      const dir = mkdtempSync(path.join(tmpdir(), "rt-kill-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      dataDir = path.join(dir, "pglite");
      const db = await openDatabase({ dataDir });
      await migrate(db, MIGRATIONS_DIR);
      await db.close();
    }

    const w = startWorker({ url, dataDir, stream: "room:kill", count: 100_000, concurrency: 10, tag: "k" });
    const deadline = Date.now() + 60_000;
    while (w.acks.length < 150 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    w.child.kill("SIGKILL");
    await w.done;
    const acked = [...w.acks];
    expect(acked.length).toBeGreaterThanOrEqual(150);

    const db = await openDatabase({ url, dataDir });
    cleanups.push(() => db.close());
    const log = new EventLog(db);
    const events = await log.readAfter("room:kill", 0, 100_000);
    const bySeq = new Map(events.map((e) => [e.seq, (e.data as { text: string }).text]));
    for (const a of acked) expect(bySeq.get(a.seq)).toBe(a.text);
    // Still gapless after the crash, and the log keeps going from its head.
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    const next = await log.append({ stream: "room:kill", type: "message", actor: { id: "u_k", name: "k" }, data: { text: "after", clientId: "after" }, clientId: "after" });
    expect(next.event.seq).toBe(events.length + 1);
    // Starting a writer process and an on-disk database is slow on a busy two-core machine.
  }, 120_000);
});

describe.each(killTargets)("the real server, SIGKILLed on %s", (kind) => {
  it("loses no acknowledged message (201), and restarted on the same data serves the same history", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-server-kill-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    let url: string | undefined;
    if (kind === "postgres") {
      url = await createPostgresDatabase();
      cleanups.push(() => dropPostgresDatabase(url!));
    }
    const env = { DATA_DIR: dir, DATABASE_URL: url, SESSION_SECRET: "kill-test-secret-kill-test-secret-0123" };

    const first = await spawnServer(env);
    cleanups.push(() => first.kill("SIGKILL"));
    const api = (base: string, p: string, cookie: string, body?: unknown) =>
      fetch(base + p, {
        method: body === undefined ? "GET" : "POST",
        headers: { cookie, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const signIn = await fetch(`${first.url}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Kim" }) });
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;

    // Four lanes post as fast as they are answered; only 201s count as acknowledged.
    const acked: Array<{ seq: number; text: string }> = [];
    let killed = false;
    let n = 0;
    const lane = async () => {
      while (!killed) {
        const text = `kill-${n++}`;
        const res = await api(first.url, "/api/rooms/general/messages", cookie, { text, clientId: text }).catch(() => null);
        if (res?.status === 201) acked.push({ seq: ((await res.json()) as { event: RealtimeEvent }).event.seq, text });
      }
    };
    const lanes = Promise.all([lane(), lane(), lane(), lane()]);
    const deadline = Date.now() + 60_000;
    while (acked.length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await first.kill("SIGKILL");
    killed = true;
    await lanes;
    const acknowledged = [...acked];
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);

    const second = await spawnServer(env);
    cleanups.push(() => second.kill("SIGKILL"));
    // The whole history, page by page, newest first.
    const history: RealtimeEvent[] = [];
    let before: number | null = null;
    for (;;) {
      const res = await api(second.url, `/api/rooms/general/events?limit=200${before ? `&before=${before}` : ""}`, cookie);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { events: RealtimeEvent[]; hasMore: boolean };
      history.unshift(...page.events);
      if (!page.hasMore) break;
      before = page.events[0]!.seq;
    }
    const bySeq = new Map(history.map((e) => [e.seq, (e.data as { text: string }).text]));
    for (const a of acknowledged) expect(bySeq.get(a.seq), `seq ${a.seq}`).toBe(a.text);
    expect(history.map((e) => e.seq)).toEqual(Array.from({ length: history.length }, (_, i) => i + 1));
    // The session survived too, and the room goes on from its head.
    const next = await api(second.url, "/api/rooms/general/messages", cookie, { text: "after", clientId: "after" });
    expect(next.status).toBe(201);
    expect(((await next.json()) as { event: RealtimeEvent }).event.seq).toBe(history.length + 1);
    await second.kill("SIGTERM");
  }, 180_000);
});
