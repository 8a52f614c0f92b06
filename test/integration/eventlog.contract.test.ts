// The event log's contract, numbered, run against every database this run has:
// embedded PGlite always, the real Postgres server when DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventLog, EventLogClosedError, EventLogFullError } from "../../server/eventlog";
import type { Logger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import type { RealtimeEvent } from "../../lib/protocol";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";

const ada = { id: "u_ada", name: "Ada" };
const lin = { id: "u_lin", name: "Lin" };

const message = (stream: `room:${string}`, text: string, clientId?: string) => ({
  stream,
  type: "message" as const,
  actor: ada,
  data: { text, clientId: clientId ?? "" },
  clientId,
});

describe.each(dbKinds)("event log on %s", (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("1. numbers each stream from 1 with no gap, independently of other streams", async () => {
    const log = new EventLog(t.db);
    const a = await Promise.all([1, 2, 3].map((i) => log.append(message("room:c1a", `a${i}`))));
    const b = await log.append(message("room:c1b", "b1"));
    const a4 = await log.append(message("room:c1a", "a4"));
    expect(a.map((r) => r.event.seq)).toEqual([1, 2, 3]);
    expect(b.event.seq).toBe(1);
    expect(a4.event.seq).toBe(4);
    expect(await log.head("room:c1a")).toBe(4);
    expect(await log.head("room:never")).toBe(0);
  });

  it("2. writes appends of one tick in one batch (group commit) and resolves after commit", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const log = new EventLog(t.db, { metrics });
    const batches: number[] = [];
    log.onCommit((events) => batches.push(events.length));
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => log.append(message("room:c2", `m${i}`, `c${i}`))),
    );
    expect(results.map((r) => r.event.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(batches.length).toBeLessThanOrEqual(3);
    // Durable: a fresh read sees every one of them.
    const stored = await log.readAfter("room:c2", 0, 1000);
    expect(stored.map((e) => e.seq)).toEqual(results.map((r) => r.event.seq));
    const batchMetric = await metrics.appendBatchSize.get();
    expect(batchMetric.values.find((v) => v.metricName?.endsWith("_count"))?.value).toBe(batches.length);
  });

  it("3. a repeated clientId returns the first event and appends nothing, within and across batches", async () => {
    const log = new EventLog(t.db);
    const [first, sameBatch] = await Promise.all([
      log.append(message("room:c3", "hello", "k1")),
      log.append(message("room:c3", "hello again", "k1")),
    ]);
    const later = await log.append(message("room:c3", "third time", "k1"));
    expect(first.duplicate).toBe(false);
    expect(sameBatch).toEqual({ event: first.event, duplicate: true });
    expect(later.duplicate).toBe(true);
    expect(later.event).toEqual(first.event);
    // Another person may use the same clientId: keys are per actor.
    const other = await log.append({ ...message("room:c3", "mine", "k1"), actor: lin });
    expect(other.duplicate).toBe(false);
    expect(other.event.seq).toBe(2);
    expect((await log.readAfter("room:c3", 0, 10)).length).toBe(2);
    // The key finds what it appended, per actor; a key never used finds nothing.
    expect(await log.findByKey("room:c3", ada.id, "k1")).toEqual(first.event);
    expect((await log.findByKey("room:c3", lin.id, "k1"))?.seq).toBe(2);
    expect(await log.findByKey("room:c3", ada.id, "k2")).toBeNull();
  });

  it("4. derived events are written with the primary, once, knowing its seq", async () => {
    const log = new EventLog(t.db);
    const withFeed = (clientId: string) => ({
      ...message("room:c4", "hi @Lin", clientId),
      derived: [
        {
          stream: "feed" as const,
          type: "message.posted" as const,
          data: (e: RealtimeEvent) => ({ roomId: "c4", seq: e.seq, preview: "hi @Lin" }),
        },
        {
          stream: "user:u_lin" as const,
          type: "mention" as const,
          data: (e: RealtimeEvent) => ({ roomId: "c4", seq: e.seq, preview: "hi @Lin" }),
        },
      ],
    });
    const feedBefore = await log.head("feed");
    const r1 = await log.append(withFeed("d1"));
    await log.append(withFeed("d1"));
    const feed = await log.readAfter("feed", feedBefore, 10);
    expect(feed).toHaveLength(1);
    expect(feed[0]).toMatchObject({ type: "message.posted", actor: ada, data: { roomId: "c4", seq: r1.event.seq } });
    const mentions = await log.readAfter("user:u_lin", 0, 10);
    expect(mentions).toHaveLength(1);
    expect(mentions[0]!.data).toEqual({ roomId: "c4", seq: 1, preview: "hi @Lin" });
  });

  it("5. reads pages after and before a seq, ascending, with hasMore", async () => {
    const log = new EventLog(t.db);
    for (let i = 1; i <= 25; i++) await log.append(message("room:c5", `m${i}`));
    const after = await log.readAfter("room:c5", 20, 100);
    expect(after.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    const newest = await log.readBefore("room:c5", null, 10);
    expect(newest.events.map((e) => e.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(newest.hasMore).toBe(true);
    const older = await log.readBefore("room:c5", 16, 10);
    expect(older.events.map((e) => e.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await log.readBefore("room:c5", 6, 10);
    expect(oldest.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(oldest.hasMore).toBe(false);
    expect(newest.events[0]).toMatchObject({ stream: "room:c5", type: "message", actor: ada, data: { text: "m16" } });
    expect(new Date(newest.events[0]!.at).toISOString()).toBe(newest.events[0]!.at);
  });

  it("6. refuses appends past its queue bound with a clear error, and loses none it accepted", async () => {
    const log = new EventLog(t.db, { maxQueue: 5 });
    const attempts = Array.from({ length: 8 }, (_, i) =>
      log.append(message("room:c6", `m${i}`)).then(
        (r) => r.event.seq,
        (e: unknown) => e,
      ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    for (const o of outcomes.slice(5)) {
      expect(o).toBeInstanceOf(EventLogFullError);
      expect((o as Error).message).toMatch(/busy/);
    }
    expect(await log.head("room:c6")).toBe(5);
  });

  it("7. close() commits what was accepted, then refuses new appends", async () => {
    const log = new EventLog(t.db);
    const pending = Array.from({ length: 20 }, (_, i) => log.append(message("room:c7", `m${i}`)));
    await log.close();
    expect(log.pending).toBe(0);
    const results = await Promise.all(pending);
    expect(results.at(-1)!.event.seq).toBe(20);
    await expect(log.append(message("room:c7", "late"))).rejects.toBeInstanceOf(EventLogClosedError);
  });

  it("8. tells commit listeners about each batch's new events in seq order, before the appender hears", async () => {
    const log = new EventLog(t.db);
    const seen: number[] = [];
    log.onCommit((events) => seen.push(...events.filter((e) => e.stream === "room:c8").map((e) => e.seq)));
    const acks: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        log.append(message("room:c8", `m${i}`)).then((r) => {
          expect(seen).toContain(r.event.seq);
          acks.push(r.event.seq);
        }),
      ),
    );
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("9. stores text exactly, whatever it holds", async () => {
    const log = new EventLog(t.db);
    const texts = ["<script>alert(1)</script>", "emoji 🎉 and ünïcödé", "quote ' \" \\ backslash", "line\nbreak", "{\"json\":true}"];
    for (const text of texts) await log.append(message("room:c9", text));
    const stored = await log.readAfter("room:c9", 0, 10);
    expect(stored.map((e) => (e.data as { text: string }).text)).toEqual(texts);
  });

  it("11. an append the database refuses fails alone: the rest of its batch commits, in order, gapless", async () => {
    const log = new EventLog(t.db);
    // Validation refuses NUL before the log; called directly, the database refuses it.
    const texts = ["a", "b", "c", "poison\u0000", "d", "e", "f"];
    const outcomes = await Promise.all(
      texts.map((text, i) =>
        log.append(message("room:c11", text, `k${i}`)).then(
          (r) => r.event.seq,
          (e: unknown) => e as Error & { code?: string },
        ),
      ),
    );
    const failed = outcomes.filter((o) => typeof o !== "number");
    expect(failed).toHaveLength(1);
    expect(outcomes[3]).toBe(failed[0]);
    expect(failed[0]!.code).toMatch(/^22/);
    expect(outcomes.filter((o) => typeof o === "number")).toEqual([1, 2, 3, 4, 5, 6]);
    const stored = await log.readAfter("room:c11", 0, 10);
    expect(stored.map((e) => (e.data as { text: string }).text)).toEqual(["a", "b", "c", "d", "e", "f"]);
    // The log goes on from there.
    expect((await log.append(message("room:c11", "g"))).event.seq).toBe(7);
  });

  it("12. a stream whose row went missing is numbered on from its events, not from 1", async () => {
    const log = new EventLog(t.db);
    for (const text of ["a", "b", "c"]) await log.append(message("room:c12", text));
    await t.db.sql.query("DELETE FROM streams WHERE name = 'room:c12'");
    const [d, other] = await Promise.all([log.append(message("room:c12", "d")), log.append(message("room:c12-new", "first"))]);
    expect(d.event.seq).toBe(4);
    expect(other.event.seq).toBe(1);
    expect(await log.head("room:c12")).toBe(4);
    expect((await log.readAfter("room:c12", 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it("13. a commit listener that throws is reported; the other listeners and every appender still hear", async () => {
    const logged: unknown[] = [];
    const logger = { error: (obj: unknown) => logged.push(obj) } as unknown as Logger;
    const log = new EventLog(t.db, { logger });
    const heard: number[] = [];
    log.onCommit(() => {
      throw new Error("listener bug");
    });
    log.onCommit((events) => heard.push(...events.map((e) => e.seq)));
    const results = await Promise.all([1, 2, 3].map((i) => log.append(message("room:c8b", `m${i}`))));
    expect(results.map((r) => r.event.seq)).toEqual([1, 2, 3]);
    expect(heard).toEqual([1, 2, 3]);
    expect(logged).toHaveLength(1);
    expect((logged[0] as { err: Error }).err.message).toBe("listener bug");
    // And the log goes on.
    expect((await log.append(message("room:c8b", "m4"))).event.seq).toBe(4);
  });

  it.runIf(kind === "postgres")("10. issues one NOTIFY per batch carrying only the new heads", async () => {
    const log = new EventLog(t.db, { notifyChannel: "rt_test_events", instanceId: "i-test" });
    const payloads: string[] = [];
    const stop = await t.db.listen("rt_test_events", (p) => payloads.push(p));
    await Promise.all([
      log.append(message("room:c10", "a")),
      log.append(message("room:c10", "b")),
      log.append(message("room:c10b", "c")),
    ]);
    await waitFor(() => payloads.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    await stop();
    expect(payloads).toHaveLength(1);
    expect(JSON.parse(payloads[0]!)).toEqual({ i: "i-test", h: { "room:c10": 2, "room:c10b": 1 } });
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
