// The event log's contract, numbered, run against every database this run has:
// embedded PGlite always, the real Postgres server when DATABASE_URL is set.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMIT_DELAY_BELOW, EventLog, GUESS_PAUSE_MS, EventLogClosedError, EventLogFullError, MAX_NOTIFY_BYTES, notifyPayload } from "../../server/eventlog";
import type { Logger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import type { RealtimeEvent } from "../../lib/protocol";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { openDatabase, type Database, type Sql, type Transaction } from "../../server/db/database";
import { startRoundTripProxy } from "../helpers/round-trip-proxy";

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
    const said: string[] = [];
    const logger = { error: (obj: unknown, msg: string) => (logged.push(obj), said.push(msg)) } as unknown as Logger;
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
    expect(said).toEqual(["a commit listener failed"]);
    // And the log goes on.
    expect((await log.append(message("room:c8b", "m4"))).event.seq).toBe(4);
    // With no logger to tell, the appenders still hear.
    const quiet = new EventLog(t.db);
    quiet.onCommit(() => {
      throw new Error("listener bug");
    });
    expect((await quiet.append(message("room:c8b", "m5"))).event.seq).toBe(5);
  });

  it("14. a repeat within one batch is answered in that batch's one commit, and a batch of repeats alone tells no listener", async () => {
    const log = new EventLog(t.db);
    const commits: string[][] = [];
    log.onCommit((events) => commits.push(events.map((e) => (e.data as { text: string }).text)));
    const [a, again, b] = await Promise.all([
      log.append(message("room:c14", "a", "k-a")),
      log.append(message("room:c14", "a again", "k-a")),
      log.append(message("room:c14", "b", "k-b")),
    ]);
    expect([a.event.seq, again, b.event.seq]).toEqual([1, { event: a.event, duplicate: true }, 2]);
    expect(commits).toEqual([["a", "b"]]);
    await Promise.all([log.append(message("room:c14", "x", "k-a")), log.append(message("room:c14", "y", "k-b"))]);
    expect(commits).toEqual([["a", "b"]]);
  });

  it("15. an append's effect runs in its transaction, after the batch's rows, only when it is new", async () => {
    const log = new EventLog(t.db);
    const seen: string[] = [];
    const withEffect = (text: string, clientId: string) => ({
      ...message("room:c15", text, clientId),
      effect: async (tx: Sql, event: RealtimeEvent) => {
        // The whole batch is written: this effect sees its own row and the ones after it.
        const rows = await tx.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE stream = 'room:c15'");
        seen.push(`${event.seq}:${rows[0]!.n}`);
      },
    });
    await Promise.all([log.append(withEffect("one", "e1")), log.append(withEffect("two", "e2"))]);
    await log.append(withEffect("one again", "e1"));
    expect(seen).toEqual(["1:2", "2:2"]);
    // An effect that fails takes its batch with it: nothing of it is committed.
    const failing = { ...message("room:c15", "three", "e3"), effect: async () => Promise.reject(new Error("effect failed")) };
    await expect(log.append(failing)).rejects.toThrow("effect failed");
    expect(await log.head("room:c15")).toBe(2);
  });

  it("16. counts the queue with the batch in flight, and lets an appender append again as soon as it hears", async () => {
    const log = new EventLog(t.db, { maxQueue: 4, maxBatch: 2 });
    const first = Array.from({ length: 4 }, (_, i) => log.append(message("room:c16", `m${i}`)));
    // The first batch of two has left the queue for the database; two wait.
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.pending).toBe(4);
    await expect(log.append(message("room:c16", "one too many"))).rejects.toBeInstanceOf(EventLogFullError);
    await Promise.all(first);
    expect(log.pending).toBe(0);
    // A full log: the appender that just heard of its append may append at once.
    const tight = new EventLog(t.db, { maxQueue: 1 });
    const next = await tight.append(message("room:c16", "a")).then(() => tight.append(message("room:c16", "b")));
    expect(next.event.seq).toBe(6);
  });

  it("16b. under load waits a moment for more: what comes while a batch commits, and just after, commits in one batch", async () => {
    const gate = holdingFirst(t.db);
    const log = new EventLog(gate.db, { commitDelayMs: 60_000 });
    const batches: string[][] = [];
    log.onCommit((events) => batches.push(events.map((e) => (e.data as { text: string }).text)));
    // After a quiet spell an append commits at once: its transaction has begun (and is held).
    const a = log.append(message("room:c16b", "a"));
    await gate.begun;
    const b = log.append(message("room:c16b", "b"));
    gate.release();
    await a;
    // The batch after it waits for more: what comes a turn of the event loop later joins it.
    await new Promise((resolve) => setImmediate(resolve));
    const c = log.append(message("room:c16b", "c"));
    // Once the batch is full enough it starts without waiting longer (the test would time out otherwise).
    const rest = Array.from({ length: COMMIT_DELAY_BELOW - 2 }, (_, i) => log.append(message("room:c16b", `r${i}`)));
    await Promise.all([b, c, ...rest]);
    expect(batches.map((batch) => batch.length)).toEqual([1, COMMIT_DELAY_BELOW]);
    expect(batches[1]!.slice(0, 2)).toEqual(["b", "c"]);
    // Quiet again: the next append commits at once, not after the delay.
    await log.append(message("room:c16b", "quiet"));
    expect(batches.at(-1)).toEqual(["quiet"]);
    // A batch can be no fuller than `maxBatch`: one that size does not wait either.
    const small = holdingFirst(t.db);
    const capped = new EventLog(small.db, { commitDelayMs: 60_000, maxBatch: 2 });
    const held = capped.append(message("room:c16b", "s0"));
    await small.begun;
    const two = [capped.append(message("room:c16b", "s1")), capped.append(message("room:c16b", "s2"))];
    small.release();
    await Promise.all([held, ...two]);
  });

  it("17. says why it refuses: busy or shutting down, by name and in words", async () => {
    const log = new EventLog(t.db, { maxQueue: 1 });
    const accepted = log.append(message("room:c17", "a"));
    const busy = (await log.append(message("room:c17", "b")).catch((e: Error) => e)) as Error;
    expect([busy.name, busy.message, (busy as EventLogFullError).code]).toEqual([
      "EventLogFullError",
      "The event log is busy (1 appends waiting); try again shortly",
      "overloaded",
    ]);
    await accepted;
    await log.close();
    const closed = (await log.append(message("room:c17", "c")).catch((e: Error) => e)) as Error;
    expect([closed.name, closed.message, (closed as EventLogClosedError).code]).toEqual([
      "EventLogClosedError",
      "The server is shutting down; try again shortly",
      "unavailable",
    ]);
  });

  it("18. is idle at once with nothing to do, not while a batch is being written; a listener that unsubscribed hears nothing more", async () => {
    const log = new EventLog(t.db);
    await log.idle();
    // The batch has left the queue and is in its transaction: close() waits for its commit.
    const closing = new EventLog(t.db);
    let committed = false;
    const writing = closing.append(message("room:c18-close", "a")).then(() => (committed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closing.pending).toBe(1);
    await closing.close();
    expect(committed).toBe(true);
    await writing;
    const heard: number[] = [];
    const stop = log.onCommit((events) => heard.push(...events.map((e) => e.seq)));
    await log.append(message("room:c18", "a"));
    stop();
    await log.append(message("room:c18", "b"));
    expect(heard).toEqual([1]);
  });

  it("19. reads one event, a page forwards with hasMore, only some types backwards, and heads of several streams", async () => {
    const log = new EventLog(t.db);
    for (const text of ["a", "b", "c"]) await log.append(message("room:c19", text));
    await log.append({ stream: "room:c19", type: "message.deleted", actor: ada, data: { seq: 2, clientId: "" } });
    expect((await log.readOne("room:c19", 2))?.data).toEqual({ text: "b", clientId: "" });
    expect(await log.readOne("room:c19", 9)).toBeNull();
    const page = await log.readAfterPage("room:c19", 1, 2);
    expect([page.events.map((e) => e.seq), page.hasMore]).toEqual([[2, 3], true]);
    const last = await log.readAfterPage("room:c19", 2, 2);
    expect([last.events.map((e) => e.seq), last.hasMore]).toEqual([[3, 4], false]);
    // Exactly `limit` events before: no more to read.
    const messages = await log.readBefore("room:c19", null, 3, ["message"]);
    expect([messages.events.map((e) => e.seq), messages.hasMore]).toEqual([[1, 2, 3], false]);
    const all = await log.readBefore("room:c19", null, 3);
    expect([all.events.map((e) => e.seq), all.hasMore]).toEqual([[2, 3, 4], true]);
    expect(await log.heads(["room:c19", "room:c19-never"])).toEqual(new Map([["room:c19", 4], ["room:c19-never", 0]]));
    expect(await log.heads([])).toEqual(new Map());
  });

  it("20. counts appends by stream kind, repeats, and each commit's time in seconds", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const log = new EventLog(t.db, { metrics });
    const started = performance.now();
    await Promise.all([
      log.append({ ...message("room:c20", "a", "m1"), derived: [{ stream: "feed", type: "message.posted", data: (e: RealtimeEvent) => ({ roomId: "c20", seq: e.seq, preview: "a" }) }] }),
      log.append(message("room:c20", "b", "m2")),
    ]);
    await log.append(message("room:c20", "a again", "m1"));
    const elapsedSeconds = (performance.now() - started) / 1000;
    const appends = (await metrics.appends.get()).values.map((v) => [v.labels.stream_kind, v.value]);
    expect(new Map(appends as [string, number][])).toEqual(new Map([["room", 2], ["feed", 1]]));
    expect((await metrics.appendDuplicates.get()).values[0]?.value).toBe(1);
    const commit = (await metrics.commitSeconds.get()).values;
    const sum = commit.find((v) => v.metricName?.endsWith("_sum"))!.value;
    expect(commit.find((v) => v.metricName?.endsWith("_count"))!.value).toBe(2);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThanOrEqual(elapsedSeconds);
  });

  it("21. retries a batch the database aborted for a conflict, up to three tries; other failures fail at once", async () => {
    for (const code of ["40001", "40P01", "55P03"]) {
      const { db, tries } = failingFirst(t.db, 1, code);
      const r = await new EventLog(db).append(message(`room:c21-${code}`, "a"));
      expect([r.event.seq, tries()]).toEqual([1, 2]);
    }
    const thrice = failingFirst(t.db, 3, "40001");
    await expect(new EventLog(thrice.db).append(message("room:c21-thrice", "a"))).rejects.toMatchObject({ code: "40001" });
    expect(thrice.tries()).toBe(3);
    for (const code of ["XX000", undefined]) {
      const other = failingFirst(t.db, 1, code);
      await expect(new EventLog(other.db).append(message("room:c21-other", "a"))).rejects.toThrow("injected");
      expect(other.tries()).toBe(1);
    }
    // Even a failure that is no error object at all fails a batch's appenders, rather than leaving them waiting.
    const bare: Database = { ...t.db, sql: t.db.sql, transaction: () => Promise.reject(null) };
    const log = new EventLog(bare);
    const outcomes = await Promise.all(["a", "b"].map((text) => log.append(message("room:c21-bare", text)).then(() => "ok", (e: unknown) => e)));
    expect(outcomes).toEqual([null, null]);
  });

  it("22. splits a batch around an append refused for its data, whatever the class; a failure of another kind fails the batch", async () => {
    for (const code of ["22P05", "23505", "54000"]) {
      const { db } = refusingText(t.db, "refuse-me", code);
      const log = new EventLog(db);
      const stream = `room:c22-${code}` as const;
      const outcomes = await Promise.all(["a", "refuse-me", "b"].map((text) => log.append(message(stream, text)).then((r) => r.event.seq, (e: { code?: string }) => e.code)));
      expect(outcomes).toEqual([1, code, 2]);
    }
    for (const code of ["XX000", "2350", "235050", 23505, undefined]) {
      const { db } = refusingText(t.db, "refuse-me", code);
      const log = new EventLog(db);
      const outcomes = await Promise.all(["a", "refuse-me", "b"].map((text) => log.append(message("room:c22-whole", text)).then(() => "ok", () => "failed")));
      expect(outcomes).toEqual(["failed", "failed", "failed"]);
    }
  });

  it("23. counts a split batch's halves still to be written as waiting", async () => {
    // [a, refuse-me, b, c] fails and splits: [a, refuse-me] (split again: a, then refuse-me
    // alone, refused), then [b, c] — its transaction, the first after the refusal, held until
    // the count is read.
    const { db: refusing } = refusingText(t.db, "refuse-me", "22P05");
    let refused = false;
    let gated = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const beforeTheRest = new Promise<void>((r) => (reached = r));
    const held = async () => {
      if (refused && !gated) {
        gated = true;
        reached();
        await gate;
      }
    };
    const db: Database = {
      ...refusing,
      transaction: async (fn) => (await held(), refusing.transaction(fn)),
      commitStatement: async (text, params) => (await held(), refusing.commitStatement(text, params)),
    };
    const log = new EventLog(db, { maxQueue: 4, maxBatch: 4 });
    const stream = "room:c23" as const;
    const outcomes = Promise.all(
      ["a", "refuse-me", "b", "c"].map((text) =>
        log.append(message(stream, text)).then(
          (r) => r.event.seq,
          (e: { code?: string }) => {
            refused = true;
            return e.code;
          },
        ),
      ),
    );
    await beforeTheRest;
    // a and refuse-me have their answers; b and c are still on their way.
    expect(log.pending).toBe(2);
    // Room for two more, not five: the third is refused.
    const more = ["d", "e", "f"].map((text) => log.append(message(stream, text)).then(() => "ok", (e: Error) => e.name));
    release();
    expect(await Promise.all(more)).toEqual(["ok", "ok", "EventLogFullError"]);
    expect(await outcomes).toEqual([1, "22P05", 2, 3]);
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

  it("24. commits a batch in one round trip to the database once it knows the heads, two under the lock, four when it names a stream new to the log", async () => {
    const proxy = await startRoundTripProxy(t.url!);
    const db = await openDatabase({ url: proxy.url, poolSize: 1 });
    try {
      const log = new EventLog(db);
      await log.append(message("room:c24", "first"));
      proxy.reset();
      // Numbered from the head the last commit left: one statement, its own transaction, takes
      // the lock and writes the rows and the heads.
      const batch = await Promise.all(["a", "b", "c"].map((text, i) => log.append(message("room:c24", text, `k${i}`))));
      expect(batch.map((r) => r.event.seq)).toEqual([2, 3, 4]);
      expect(proxy.roundTrips()).toBe(1);

      // Under the lock (an edit's effect runs between the rows and the COMMIT, so it is never
      // guessed): BEGIN, the lock and the repeats' lookup in one; the rows, the heads in another.
      proxy.reset();
      const effects: number[] = [];
      const edited = await log.append({ ...message("room:c24", "d", "k3"), effect: async (_tx, e) => void effects.push(e.seq) });
      expect([edited.event.seq, effects]).toEqual([5, [5]]);
      expect(proxy.roundTrips()).toBe(3);

      proxy.reset();
      // A repeat found and a stream created in one batch: each numbered under its lock.
      const [again, fresh] = await Promise.all([log.append(message("room:c24", "a", "k0")), log.append(message("room:c24b", "x", "k0"))]);
      expect([again.duplicate, again.event.seq, fresh.duplicate, fresh.event.seq]).toEqual([true, 2, false, 1]);
      expect(proxy.roundTrips()).toBe(4);
      expect(await log.heads(["room:c24", "room:c24b"])).toEqual(new Map([["room:c24", 5], ["room:c24b", 1]]));
    } finally {
      await db.close();
      await proxy.close();
    }
  });

  it("25. parses and plans each statement once per connection; later batches only bind and run them", async () => {
    const proxy = await startRoundTripProxy(t.url!);
    const db = await openDatabase({ url: proxy.url, poolSize: 1 });
    try {
      const log = new EventLog(db);
      await log.append(message("room:c25", "first", "k-first"));
      // The first batch on the connection sent its statements to be parsed (the lock, the
      // repeats' lookup, the insert).
      expect(proxy.parses()).toBeGreaterThanOrEqual(3);
      proxy.reset();
      for (const [i, text] of ["a", "b", "c"].entries()) await log.append(message("room:c25", text, `k${i}`));
      const again = await log.append(message("room:c25", "a", "k0"));
      expect(again).toMatchObject({ duplicate: true, event: { seq: 2 } });
      expect(await log.heads(["room:c25"])).toEqual(new Map([["room:c25", 4]]));
      expect(await log.heads(["room:c25"])).toEqual(new Map([["room:c25", 4]]));
      // Three batches, a repeat and two reads of the heads: the heads' statement parsed once, the batches' none.
      expect(proxy.parses()).toBe(1);
    } finally {
      await db.close();
      await proxy.close();
    }
  });

  it("27. a batch numbered from heads another writer has moved on keeps nothing, and is written under the lock: gapless, each once", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let now = 1_000_000;
    const here = new EventLog(t.db, { metrics, now: () => now });
    const there = new EventLog(t.db);
    const stream = "room:c27" as const;
    const guesses = async () => Object.fromEntries((await metrics.appendGuesses.get()).values.map((v) => [v.labels.outcome, v.value]));
    await here.append(message(stream, "a", "k-a"));
    // Another instance writes: `here` still knows the head as 1.
    await there.append(message(stream, "b", "k-b"));
    const c = await here.append(message(stream, "c", "k-c"));
    expect(c).toMatchObject({ duplicate: false, event: { seq: 3 } });
    expect(await guesses()).toEqual({ missed: 1 });
    // The stream is written under the lock for a while: no miss after a miss.
    await there.append(message(stream, "d", "k-d"));
    expect((await here.append(message(stream, "e", "k-e"))).event.seq).toBe(5);
    expect(await guesses()).toEqual({ missed: 1 });
    now += GUESS_PAUSE_MS;
    // A send tried again, its first try committed: the guess cannot look it up, and misses on
    // the unique index; under the lock it is found.
    const again = await here.append(message(stream, "c", "k-c"));
    expect(again).toMatchObject({ duplicate: true, event: { seq: 3 } });
    expect(await guesses()).toEqual({ missed: 2 });
    now += GUESS_PAUSE_MS;
    // Told of the other's commit (its NOTIFY), the next guess is right.
    const f = await there.append(message(stream, "f", "k-f"));
    here.heard(new Map([[stream, f.event.seq]]));
    expect((await here.append(message(stream, "g", "k-g"))).event.seq).toBe(7);
    expect(await guesses()).toEqual({ missed: 2, right: 1 });
    const stored = await here.readAfter(stream, 0, 10);
    expect(stored.map((e) => [e.seq, (e.data as { text: string }).text])).toEqual([[1, "a"], [2, "b"], [3, "c"], [4, "d"], [5, "e"], [6, "f"], [7, "g"]]);
    expect(await here.head(stream)).toBe(7);
  });

  it("31. a guess that meets another writer holding its stream's lock waits for it, then misses and keeps nothing: no deadlock, gapless", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const here = new EventLog(t.db, { metrics });
    const there = new EventLog(t.db);
    const stream = "room:c31" as const;
    await here.append(message(stream, "a", "k-a"));
    // Another instance holds the stream's lock, its row for seq 2 written and not yet committed
    // (an append with an effect runs it between its rows and its COMMIT).
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const b = there.append({ ...message(stream, "b", "k-b"), effect: async () => (holding(), await released) });
    await held;
    let answered = false;
    const c = here.append(message(stream, "c", "k-c")).finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false);
    release();
    expect((await b).event.seq).toBe(2);
    expect((await c).event.seq).toBe(3);
    const guesses = Object.fromEntries((await metrics.appendGuesses.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(guesses).toEqual({ missed: 1 });
    const stored = await here.readAfter(stream, 0, 10);
    expect(stored.map((e) => [e.seq, (e.data as { text: string }).text])).toEqual([[1, "a"], [2, "b"], [3, "c"]]);
  });

  it("28. a stream whose row went is written under the lock, not guessed past it", async () => {
    const log = new EventLog(t.db);
    await log.append(message("room:c28", "a"));
    await log.append(message("room:c28", "b"));
    await t.db.sql.query("DELETE FROM streams WHERE name = 'room:c28'");
    expect((await log.append(message("room:c28", "c"))).event.seq).toBe(3);
    expect(await log.heads(["room:c28"])).toEqual(new Map([["room:c28", 3]]));
    expect((await log.readAfter("room:c28", 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
  });

  it.runIf(kind === "postgres")("29. a batch the database committed but whose answer was lost fails: it is not written again", async () => {
    const proxy = await startCommitCutter(t.url!);
    const db = await openDatabase({ url: proxy.url, poolSize: 1, onError: () => {} });
    try {
      const log = new EventLog(db);
      await log.append(message("room:c29", "first"));
      proxy.cutAfterNextWrite();
      // Without a clientId (as a member added is appended), a second write would be a second event.
      const outcome = await log.append(message("room:c29", "second")).then(() => "acked", (e: Error) => e.message);
      expect(outcome).not.toBe("acked");
      const stored = await t.db.sql.query<{ seq: string; data: { text: string } }>("SELECT seq, data FROM events WHERE stream = 'room:c29' ORDER BY seq");
      expect(stored.map((r) => [Number(r.seq), r.data.text])).toEqual([[1, "first"], [2, "second"]]);
    } finally {
      await db.close().catch(() => {});
      await proxy.close();
    }
  });

  it("30. a derived event that cannot be built fails its batch, numbered from a guess or under the lock", async () => {
    const log = new EventLog(t.db);
    const unhandled: unknown[] = [];
    const heard = (e: unknown) => unhandled.push(e);
    process.on("unhandledRejection", heard);
    try {
      const withDerived = (text: string, build: () => { roomId: string; seq: number; preview: string }) => ({
        ...message("room:c30", text),
        derived: [{ stream: "user:u_c30" as const, type: "mention" as const, data: build }],
      });
      await log.append(withDerived("a", () => ({ roomId: "c30", seq: 1, preview: "a" })));
      const broken = () => {
        throw new Error("cannot build it");
      };
      await expect(log.append(withDerived("b", broken))).rejects.toThrow("cannot build it");
      expect((await log.append(message("room:c30", "c"))).event.seq).toBe(2);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", heard);
    }
  });

  it("26. a parameter that cannot be sent fails its transaction only: the statement runs again on the next", async () => {
    const db = await openDatabase({ url: t.url!, poolSize: 1 });
    try {
      const text = "SELECT $1::text AS v";
      expect(await db.transaction((tx) => tx.query(text, ["one"]))).toEqual([{ v: "one" }]);
      // The driver cannot convert it, and closes the prepared statement it could not bind.
      const unsendable = { toPostgres: () => { throw new Error("cannot be sent"); } };
      await expect(db.transaction((tx) => tx.query(text, [unsendable]))).rejects.toThrow("cannot be sent");
      expect(await db.transaction((tx) => tx.query(text, ["two"]))).toEqual([{ v: "two" }]);
      expect(await db.transaction((tx) => tx.query(text, ["three"]))).toEqual([{ v: "three" }]);
    } finally {
      await db.close();
    }
  });
});

describe("the NOTIFY payload", () => {
  it("carries the instance and the new heads, or the instance alone when the heads would not fit", () => {
    const heads = new Map([["room:a", 3], ["feed", 9]]);
    expect(notifyPayload("i-1", ["room:a", "feed"], heads)).toBe('{"i":"i-1","h":{"room:a":3,"feed":9}}');
    const many = Array.from({ length: 400 }, (_, i) => `room:${"x".repeat(20)}-${i}`);
    const full = JSON.stringify({ i: "i-1", h: Object.fromEntries(many.map((s) => [s, 1])) });
    expect(Buffer.byteLength(full)).toBeGreaterThan(MAX_NOTIFY_BYTES);
    expect(notifyPayload("i-1", many, new Map(many.map((s) => [s, 1])))).toBe('{"i":"i-1"}');
    // Right at the limit the heads still go.
    const name = "room:" + "y".repeat(MAX_NOTIFY_BYTES - '{"i":"i-1","h":{"room:":1}}'.length);
    const edge = notifyPayload("i-1", [name], new Map([[name, 1]]));
    expect([Buffer.byteLength(edge), JSON.parse(edge).h]).toEqual([MAX_NOTIFY_BYTES, { [name]: 1 }]);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An error as the database reports one: with a SQLSTATE `code` when given. */
function injected(code: string | number | undefined): Error {
  return Object.assign(new Error("injected"), code === undefined ? {} : { code });
}

/** `db` whose first transaction waits, once begun (`begun`), until `release()`. */
function holdingFirst(db: Database) {
  let release!: () => void;
  let begun!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const started = new Promise<void>((resolve) => (begun = resolve));
  let first = true;
  const wrapped: Database = {
    ...db,
    sql: db.sql,
    transaction: (fn) => {
      if (!first) return db.transaction(fn);
      first = false;
      begun();
      return released.then(() => db.transaction(fn));
    },
  };
  return { db: wrapped, begun: started, release };
}

/** `db` whose first `failures` transactions fail with `code` before doing anything. */
function failingFirst(db: Database, failures: number, code: string | undefined) {
  let tries = 0;
  const wrapped: Database = {
    ...db,
    sql: db.sql,
    transaction: (fn) => (++tries <= failures ? Promise.reject(injected(code)) : db.transaction(fn)),
  };
  return { db: wrapped, tries: () => tries };
}

/** `db` whose transactions fail with `code` when a statement carries `text` among its values. */
function refusingText(db: Database, text: string, code: string | number | undefined) {
  const carries = (params: unknown[] | undefined) => JSON.stringify(params ?? []).includes(text);
  const wrapped: Database = {
    ...db,
    sql: db.sql,
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          ...tx,
          query: (q, params) => (carries(params) ? Promise.reject(injected(code)) : tx.query(q, params)),
          queryAndCommit: (q, params) => (carries(params) ? Promise.reject(injected(code)) : tx.queryAndCommit(q, params)),
        } as Transaction),
      ),
    commitStatement: (q, params) => (carries(params) ? Promise.reject(injected(code)) : db.commitStatement(q, params)),
  };
  return { db: wrapped };
}

/**
 * A TCP proxy to Postgres that, once told, lets the client's next write through (a batch that
 * commits itself) and then cuts the connection before its answer comes back: the commit is kept
 * and its sender never hears so.
 */
async function startCommitCutter(databaseUrl: string) {
  const target = new URL(databaseUrl);
  let armed = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    let cut = false;
    client.on("data", (d) => {
      upstream.write(d);
      if (armed) {
        armed = false;
        cut = true;
        // Long enough for the database to commit; the answer is dropped meanwhile.
        setTimeout(() => {
          client.destroy();
          upstream.end();
        }, 200);
      }
    });
    upstream.on("data", (d) => void (cut || client.write(d)));
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    cutAfterNextWrite: () => void (armed = true),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
