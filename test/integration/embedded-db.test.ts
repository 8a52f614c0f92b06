// The drain's promise and concurrent gaplessness on the embedded database (PGlite), so a run
// without DATABASE_URL checks them too. PGlite opens in one process only, so what the Postgres
// tests do with several writer processes is done here with many concurrent appenders through
// one process's event log, and the drain runs on the real server in a child process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../server/db/database";
import { EventLog } from "../../server/eventlog";
import { createTestDatabase } from "../helpers/db";
import { spawnServer } from "../helpers/process";
import { WsClient } from "../helpers/server";

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("the event log on PGlite under concurrent appends", () => {
  it("4 writers × 25 lanes × 500 appends to one stream: seq 1..2000, no gap, no duplicate; a tailing reader never sees n+1 before n", async () => {
    const t = await createTestDatabase("pglite");
    cleanups.push(() => t.drop());
    const log = new EventLog(t.db);
    const stream = "room:race";
    const acks = new Map<string, number>();
    const writer = async (tag: string) => {
      let next = 0;
      const lane = async () => {
        while (next < 500) {
          const text = `${tag}-${next++}`;
          const { event } = await log.append({ stream, type: "message", actor: { id: `u_${tag}`, name: tag }, data: { text, clientId: text }, clientId: text });
          acks.set(text, event.seq);
        }
      };
      await Promise.all(Array.from({ length: 25 }, lane));
    };
    let done = false;
    const writing = Promise.all(["w1", "w2", "w3", "w4"].map(writer)).finally(() => (done = true));

    let seen = 0;
    let reads = 0;
    let idleAfterDone = 0;
    while (seen < 2000) {
      const page = await log.readAfter(stream, seen, 300);
      reads++;
      page.forEach((e, i) => expect(e.seq).toBe(seen + i + 1));
      if (page.length) seen = page.at(-1)!.seq;
      else if (done && ++idleAfterDone > 20) throw new Error(`the writers are done but the log stops at ${seen} of 2000`);
      else await new Promise((r) => setTimeout(r, 5));
    }
    await writing;
    expect(reads).toBeGreaterThan(1);
    const events = await log.readAfter(stream, 0, 5000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    // Each acknowledgement named the seq the log holds for that text, each text once.
    expect(acks.size).toBe(2000);
    for (const e of events) expect(acks.get((e.data as { text: string }).text)).toBe(e.seq);
    expect(await log.head(stream)).toBe(2000);
  }, 60_000);
});

describe("draining the real server on PGlite", () => {
  it("acknowledges every message it commits before closing the sockets with 1012, and commits every one it acknowledged", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "rt-drain-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = await spawnServer({ DATA_DIR: dir, SESSION_SECRET: "drain-test-secret-drain-test-secret-0123" });
    cleanups.push(() => server.kill("SIGKILL"));
    const signIn = await fetch(`${server.url}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Dee" }) });
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
    const wsUrl = `${server.url.replace("http", "ws")}/ws`;

    // Ten tabs, each sending its burst of ten at once; the drain starts while they are in flight.
    const tabs = await Promise.all(Array.from({ length: 10 }, () => WsClient.open(wsUrl, cookie)));
    for (const tab of tabs) tab.send({ type: "join", room: "general" });
    await Promise.all(tabs.map((tab) => tab.next((f) => f.type === "joined")));
    const sent: string[] = [];
    for (const [t, tab] of tabs.entries()) {
      for (let i = 0; i < 10; i++) {
        const clientId = `d-${t}-${i}`;
        sent.push(clientId);
        tab.send({ type: "send", room: "general", text: clientId, clientId });
      }
    }
    await server.kill("SIGTERM");
    expect(server.child.exitCode, server.output()).toBe(0);
    for (const tab of tabs) expect(await tab.closed(10_000)).toBe(1012);

    const acked = new Map(tabs.flatMap((tab) => tab.of("ack").map((a) => [a.clientId, a.seq] as const)));
    const db = await openDatabase({ dataDir: path.join(dir, "pglite") });
    cleanups.push(() => db.close());
    const rows = await db.sql.query<{ client_id: string; seq: number | string }>(
      "SELECT client_id, seq FROM events WHERE stream = 'room:general' AND client_id LIKE 'd-%'",
    );
    const committed = new Map(rows.map((r) => [r.client_id, Number(r.seq)]));
    // What was committed was acknowledged, with its seq; what was acknowledged was committed.
    expect(Object.fromEntries(acked)).toEqual(Object.fromEntries(committed));
    expect(acked.size).toBeGreaterThan(0);
    for (const id of acked.keys()) expect(sent).toContain(id);
  }, 120_000);
});
