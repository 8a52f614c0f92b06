// Stream fan-out and replay, alone, against a fake event log (as centrifuge's hub_test.go runs
// its hub against an in-memory broker): every rule of delivery — exactly once, in seq order,
// replay meeting live, resets, slow subscribers, pages — checked without a database or a socket.
import { describe, expect, it, vi } from "vitest";
import { StreamFanout, type StreamLog, type StreamSubscriber } from "../../server/hub/fanout";
import type { Outgoing } from "../../server/hub/outgoing";
import { silentLogger, type Logger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import { ManualClock } from "../../server/state/clock";
import { MAX_REPLAY, roomStream, type RealtimeEvent, type StreamName } from "../../lib/protocol";

const S = roomStream("general");
const actor = { id: "u_1", name: "Ada" };

/** An event log in memory. Reads can be held (`pause`) to land commits in the middle of a replay. */
class FakeLog implements StreamLog {
  private readonly streams = new Map<string, RealtimeEvent[]>();
  heads = 0;
  reads: Array<{ stream: string; after: number; limit: number }> = [];
  /** Reads waiting for `resume`. */
  blocked = 0;
  failReads = false;
  failHeads = false;
  /** Reads that succeed before every later one fails (null: no limit). */
  okReads: number | null = null;
  /** Head reads that fail before the others succeed. */
  failNextHeads = 0;
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  /** Appends `n` events to `stream` and returns them (what the log hands the fan-out on commit). */
  commit(stream: StreamName, n: number): RealtimeEvent[] {
    const events = this.streams.get(stream) ?? [];
    this.streams.set(stream, events);
    const added: RealtimeEvent[] = [];
    for (let i = 0; i < n; i++) {
      const seq = events.length + 1;
      const e: RealtimeEvent = { stream, seq, type: "message", actor, at: new Date(0).toISOString(), data: { text: `m${seq}`, clientId: `c${seq}` } };
      events.push(e);
      added.push(e);
    }
    return added;
  }

  async head(stream: string): Promise<number> {
    this.heads++;
    if (this.failHeads || (this.failNextHeads > 0 && this.failNextHeads--)) throw new Error("database unreachable");
    return this.streams.get(stream)?.length ?? 0;
  }

  async readAfter(stream: string, after: number, limit: number): Promise<RealtimeEvent[]> {
    this.reads.push({ stream, after, limit });
    if (this.gate) {
      this.blocked++;
      await this.gate;
      this.blocked--;
    }
    if (this.failReads || (this.okReads !== null && this.okReads-- <= 0)) throw new Error("database unreachable");
    return (this.streams.get(stream) ?? []).slice(after, after + limit);
  }

  pause(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  resume(): void {
    this.open?.();
    this.gate = null;
  }
}

interface TestSubscriber extends StreamSubscriber {
  seqs: number[];
  lagged: number;
}

function subscriber(id: string, transport: StreamSubscriber["transport"] = "ws"): TestSubscriber {
  const sub: TestSubscriber = {
    id,
    transport,
    seqs: [],
    lagged: 0,
    onEvent: (_stream: string, out: Outgoing) => void sub.seqs.push(out.seq),
    onLagged: () => void sub.lagged++,
  };
  return sub;
}

function fanout(log: FakeLog, opts: { replayPage?: number; maxPending?: number; logger?: Logger } = {}): StreamFanout {
  return new StreamFanout({ log, clock: new ManualClock(), logger: silentLogger, ...opts });
}

/** A logger that keeps what it was asked to warn and report. */
function spyLogger() {
  const lines: Array<[string, Record<string, unknown>, string]> = [];
  const logger = {
    warn: (obj: Record<string, unknown>, msg: string) => void lines.push(["warn", obj, msg]),
    error: (obj: Record<string, unknown>, msg: string) => void lines.push(["error", obj, msg]),
  } as unknown as Logger;
  return { logger, lines };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Lets pending promises and timers run until `done` holds (bounded). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setImmediate(r));
  expect(done()).toBe(true);
}

describe("subscribe, then replay, then live", () => {
  it("meets live events committed during the replay without a loss or a duplicate", async () => {
    const log = new FakeLog();
    log.commit(S, 10);
    const f = fanout(log, { replayPage: 3 });
    const sub = subscriber("a");
    log.pause();
    const done = f.subscribe(S, sub, { since: 0 });
    await until(() => log.blocked > 0);
    // Commits land while the first page is being read: they wait behind the replay.
    f.publish(log.commit(S, 5));
    log.resume();
    await done;
    f.publish(log.commit(S, 2));
    await until(() => sub.seqs.length >= 17);
    expect(sub.seqs).toEqual(range(1, 17));
  });

  it("delivers a commit that lands between reading the head and the replay", async () => {
    const log = new FakeLog();
    log.commit(S, 4);
    const f = fanout(log);
    const sub = subscriber("a");
    log.pause();
    const done = f.subscribe(S, sub, { since: 4 });
    await until(() => log.blocked > 0);
    // Committed after the head (4) was read, and not published here yet (another instance's).
    log.commit(S, 1);
    log.resume();
    await done;
    expect(sub.seqs).toEqual([5]);
  });

  it("a live-only join to a stream already followed here asks the log nothing", async () => {
    const log = new FakeLog();
    log.commit(S, 3);
    const f = fanout(log);
    await f.subscribe(S, subscriber("a"));
    const before = { heads: log.heads, reads: log.reads.length };
    const late = subscriber("b");
    const result = await f.subscribe(S, late);
    expect(result).toEqual({ head: 3, reset: false });
    expect({ heads: log.heads, reads: log.reads.length }).toEqual(before);
    f.publish(log.commit(S, 1));
    await until(() => late.seqs.length > 0);
    expect(late.seqs).toEqual([4]);
  });
});

describe("resets", () => {
  it("a position more than MAX_REPLAY behind starts live from the head, replaying nothing", async () => {
    const log = new FakeLog();
    log.commit(S, MAX_REPLAY + 50);
    const f = fanout(log);
    const sub = subscriber("a");
    const starts: Array<[number, boolean]> = [];
    const result = await f.subscribe(S, sub, { since: 49, maxReplay: MAX_REPLAY, onStart: (h, r) => void starts.push([h, r]) });
    expect(result).toEqual({ head: MAX_REPLAY + 50, reset: true });
    expect(starts).toEqual([[MAX_REPLAY + 50, true]]);
    f.publish(log.commit(S, 1));
    await until(() => sub.seqs.length > 0);
    expect(sub.seqs).toEqual([MAX_REPLAY + 51]);
  });

  it("exactly MAX_REPLAY behind is replayed in full", async () => {
    const log = new FakeLog();
    log.commit(S, MAX_REPLAY + 50);
    const f = fanout(log);
    const sub = subscriber("a");
    const result = await f.subscribe(S, sub, { since: 50, maxReplay: MAX_REPLAY });
    expect(result.reset).toBe(false);
    expect(sub.seqs).toEqual(range(51, MAX_REPLAY + 50));
  });

  it("a position beyond the head (the log was reset) starts from the head", async () => {
    const log = new FakeLog();
    log.commit(S, 3);
    const f = fanout(log);
    const sub = subscriber("a");
    expect(await f.subscribe(S, sub, { since: 9 })).toEqual({ head: 3, reset: true });
    f.publish(log.commit(S, 1));
    await until(() => sub.seqs.length > 0);
    expect(sub.seqs).toEqual([4]);
  });
});

describe("slow subscribers", () => {
  it("a replaying subscriber holds up to maxPending live events, is told it lagged past that, and holds up nobody else", async () => {
    const log = new FakeLog();
    log.commit(S, 10);
    const f = fanout(log, { maxPending: 5 });
    const live = subscriber("live");
    await f.subscribe(S, live);
    const patient = subscriber("patient");
    const slow = subscriber("slow");
    log.pause();
    const patientDone = f.subscribe(S, patient, { since: 0 });
    await until(() => log.blocked > 0);
    f.publish(log.commit(S, 5)); // patient holds 5: at the limit, not over
    await until(() => live.seqs.length === 5);
    const slowDone = f.subscribe(S, slow, { since: 0 });
    await until(() => log.blocked > 1);
    f.publish(log.commit(S, 1)); // patient's sixth: over
    await until(() => patient.lagged > 0 && live.seqs.length === 6);
    expect(f.isSubscribed(S, patient)).toBe(false);
    log.resume();
    await Promise.all([patientDone, slowDone]);
    expect(patient.lagged).toBe(1);
    expect(patient.seqs).toEqual([]);
    expect(slow.lagged).toBe(0);
    expect(slow.seqs).toEqual(range(1, 16));
    expect(live.seqs).toEqual(range(11, 16));
  });

  it("when a gap cannot be read from the log, every subscriber of the stream is told it lagged", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log);
    const a = subscriber("a");
    const b = subscriber("b");
    await f.subscribe(S, a);
    await f.subscribe(S, b);
    const [, missing] = [log.commit(S, 1), log.commit(S, 1)];
    log.failReads = true;
    f.publish(missing!); // seq 4 arrives, 3 never did: the fan-out must read 3 and cannot
    await until(() => a.lagged > 0 && b.lagged > 0);
    expect(a.seqs).toEqual([]);
    expect(b.seqs).toEqual([]);
  });
});

describe("ordering", () => {
  it("replays across pages in seq order, one read per page", async () => {
    const log = new FakeLog();
    log.commit(S, 25);
    const f = fanout(log, { replayPage: 10 });
    const sub = subscriber("a");
    await f.subscribe(S, sub, { since: 0 });
    expect(sub.seqs).toEqual(range(1, 25));
    expect(log.reads.map((r) => r.after)).toEqual([0, 10, 20]);
  });

  it("events published out of order (another instance's commit first) go out in seq order, each once", async () => {
    const log = new FakeLog();
    log.commit(S, 10);
    const f = fanout(log);
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    const [eleven, twelve] = log.commit(S, 2);
    f.publish([twelve!]); // 11 is read from the log to fill the gap
    await until(() => sub.seqs.length >= 2);
    f.publish([eleven!]); // arriving late, already delivered: dropped
    f.publish(log.commit(S, 1));
    await until(() => sub.seqs.length >= 3);
    expect(sub.seqs).toEqual([11, 12, 13]);
  });

  it("a subscriber resuming within the recent window replays from memory, not the log", async () => {
    const log = new FakeLog();
    log.commit(S, 5);
    const f = fanout(log);
    await f.subscribe(S, subscriber("a"));
    f.publish(log.commit(S, 20));
    const reads = log.reads.length;
    const back = subscriber("b");
    await f.subscribe(S, back, { since: 12 });
    expect(back.seqs).toEqual(range(13, 25));
    expect(log.reads.length).toBe(reads);
  });
});

describe("catching up with another instance's commits", () => {
  it("reads what the backplane says was committed elsewhere, page by page, and delivers it once", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log, { replayPage: 3 });
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    const before = log.reads.length;
    log.commit(S, 7); // committed on another instance: never published here
    await f.catchUpHeads(new Map([[S, 9]]));
    await until(() => sub.seqs.length >= 7);
    expect(sub.seqs).toEqual(range(3, 9));
    expect(log.reads.slice(before).map((r) => r.after)).toEqual([2, 5, 8]);
    // Told again about a head it has already published: nothing to read.
    await f.catchUpHeads(new Map([[S, 9]]));
    expect(log.reads).toHaveLength(before + 3);
    expect(sub.seqs).toEqual(range(3, 9));
  });

  it("a notification too big to list its streams catches up every stream followed here", async () => {
    const log = new FakeLog();
    const T = roomStream("random");
    const f = fanout(log);
    const a = subscriber("a");
    const b = subscriber("b");
    await f.subscribe(S, a);
    await f.subscribe(T, b);
    log.commit(S, 2);
    log.commit(T, 1);
    await f.catchUpHeads(null);
    await until(() => a.seqs.length >= 2 && b.seqs.length >= 1);
    expect(a.seqs).toEqual([1, 2]);
    expect(b.seqs).toEqual([1]);
  });

  it("ignores streams nobody here has followed, and forgets a stream no one follows any more rather than read it", async () => {
    const log = new FakeLog();
    const f = fanout(log);
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    f.unsubscribe(S, sub);
    const before = log.reads.length;
    log.commit(S, 3);
    log.commit(roomStream("elsewhere"), 3);
    await f.catchUpHeads(new Map([[S, 3], [roomStream("elsewhere"), 3]]));
    expect(log.reads).toHaveLength(before);
    // Forgotten: the next subscriber asks the log for the head it could not know.
    const heads = log.heads;
    const back = subscriber("b");
    expect(await f.subscribe(S, back)).toEqual({ head: 3, reset: false });
    expect(log.heads).toBe(heads + 1);
  });

  it("lists the streams followed here with the last seq published, for the backplane's catch-up", async () => {
    const log = new FakeLog();
    log.commit(S, 4);
    const T = roomStream("random");
    const f = fanout(log);
    const a = subscriber("a");
    await f.subscribe(S, a);
    await f.subscribe(T, a);
    f.publish(log.commit(S, 1));
    await until(() => a.seqs.length > 0);
    expect(f.followedStreams()).toEqual(new Map([[S, 5], [T, 0]]));
    f.unsubscribe(T, a);
    expect(f.followedStreams()).toEqual(new Map([[S, 5]]));
  });
});

/** A fan-out on a manual clock whose stream S (3 events) one subscriber follows. */
async function followedStream() {
  const log = new FakeLog();
  log.commit(S, 3);
  const clock = new ManualClock();
  clock.advance(100_000);
  const f = new StreamFanout({ log, clock, logger: silentLogger });
  const sub = subscriber("a");
  await f.subscribe(S, sub);
  return { log, clock, f, sub };
}

/**
 * Another stream going idle sweeps the idle list; then someone subscribes to S again. Returns
 * how many times that subscriber's join asked the log for S's head.
 */
async function sweepThenSubscribeAgain(f: StreamFanout, log: FakeLog): Promise<number> {
  const other = subscriber("b");
  await f.subscribe(roomStream("random"), other);
  f.unsubscribe(roomStream("random"), other);
  const heads = log.heads;
  await f.subscribe(S, subscriber("c"));
  return log.heads - heads;
}

describe("letting go", () => {
  it("a closed connection's subscriptions all end at once: it hears nothing more from any stream", async () => {
    const log = new FakeLog();
    const T = roomStream("random");
    const f = fanout(log);
    const gone = subscriber("gone");
    const stays = subscriber("stays");
    await f.subscribe(S, gone);
    await f.subscribe(T, gone);
    await f.subscribe(S, stays);
    f.unsubscribeAll(gone);
    expect([f.isSubscribed(S, gone), f.isSubscribed(T, gone), f.isSubscribed(S, stays)]).toEqual([false, false, true]);
    f.publish([...log.commit(S, 1), ...log.commit(T, 1)]);
    await until(() => stays.seqs.length > 0);
    expect(gone.seqs).toEqual([]);
    // Subscribing again later works as for anyone new.
    await f.subscribe(T, gone);
    f.publish(log.commit(T, 1));
    await until(() => gone.seqs.length > 0);
    expect(gone.seqs).toEqual([2]);
  });

  it("keeps a stream nobody follows known for a minute, so a subscriber coming back asks the log nothing", async () => {
    const { log, clock, f, sub } = await followedStream();
    f.unsubscribe(S, sub);
    clock.advance(59_999);
    expect(await sweepThenSubscribeAgain(f, log)).toBe(0);
  });

  it("forgets a stream idle for a minute once another goes idle: its next subscriber asks the log", async () => {
    const { log, clock, f, sub } = await followedStream();
    f.unsubscribe(S, sub);
    clock.advance(60_000);
    expect(await sweepThenSubscribeAgain(f, log)).toBe(1);
  });
});

describe("letting go, while a stream is being published", () => {
  it("forgets after a minute a stream whose last subscriber left while its gap was being read", async () => {
    const { log, clock, f, sub } = await followedStream();
    log.commit(S, 1); // 4: reached this instance only through the log
    log.pause();
    f.publish(log.commit(S, 1)); // 5: the pump reads 4 first, and waits there
    await until(() => log.blocked === 1);
    f.unsubscribe(S, sub);
    log.resume();
    await until(() => log.blocked === 0);
    await new Promise((r) => setImmediate(r));
    clock.advance(60_000);
    expect(await sweepThenSubscribeAgain(f, log)).toBe(1);
  });
});

describe("failures and holes", () => {
  it("a subscribe whose head cannot be read fails, and leaves nothing subscribed", async () => {
    const log = new FakeLog();
    const f = fanout(log);
    const sub = subscriber("a");
    log.failHeads = true;
    await expect(f.subscribe(S, sub, { since: 0 })).rejects.toThrow("database unreachable");
    expect(f.isSubscribed(S, sub)).toBe(false);
    expect(f.followedStreams()).toEqual(new Map());
  });

  it("a subscription ended while its head was being read starts nothing", async () => {
    const log = new FakeLog();
    log.commit(S, 3);
    const f = fanout(log);
    const sub = subscriber("a");
    const starts: number[] = [];
    const done = f.subscribe(S, sub, { since: 0, onStart: (head) => void starts.push(head) });
    f.unsubscribe(S, sub);
    expect(await done).toEqual({ head: 3, reset: false });
    expect(starts).toEqual([]);
    expect(sub.seqs).toEqual([]);
  });

  it("an event whose predecessors the log does not have goes out anyway, after them", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log);
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    // Seq 5 arrives; 3 and 4 are nowhere (a log reset behind this instance's back).
    const [five] = new FakeLog().commit(S, 5).slice(4);
    f.publish([five!]);
    await until(() => sub.seqs.length > 0);
    expect(sub.seqs).toEqual([5]);
    f.publish(log.commit(S, 4).slice(3)); // the log's own 3..6 catch up: 6 is new
    await until(() => sub.seqs.length > 1);
    expect(sub.seqs).toEqual([5, 6]);
  });

  it("a subscriber resuming further back than the recent window reads the log", async () => {
    const log = new FakeLog();
    const f = fanout(log);
    await f.subscribe(S, subscriber("a"));
    f.publish(log.commit(S, 300));
    await until(() => f.followedStreams().get(S) === 300);
    const reads = log.reads.length;
    const back = subscriber("b");
    await f.subscribe(S, back, { since: 40 });
    expect(back.seqs).toEqual(range(41, 300));
    expect(log.reads.length).toBeGreaterThan(reads);
    // Within the last 256 (seq 45 onwards): from memory.
    const near = subscriber("c");
    const before = log.reads.length;
    await f.subscribe(S, near, { since: 44 });
    expect(near.seqs).toEqual(range(45, 300));
    expect(log.reads.length).toBe(before);
  });
});

describe("what an operator counts", () => {
  it("resumes and resets per transport (positions the client brought only), and deliveries per transport", async () => {
    const log = new FakeLog();
    log.commit(S, 5);
    const metrics = createMetrics({ defaultMetrics: false });
    const f = new StreamFanout({ log, clock: new ManualClock(), logger: silentLogger, metrics });
    await f.subscribe(S, subscriber("resumed", "sse"), { since: 3 });
    await f.subscribe(S, subscriber("too-far", "longpoll"), { since: 9 });
    await f.subscribe(S, subscriber("server-chosen", "ws"), { since: 5, resumed: false });
    await f.subscribe(S, subscriber("live", "ws"));
    const byTransport = async (c: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }) =>
      Object.fromEntries((await c.get()).values.map((v) => [v.labels.transport, v.value]));
    expect(await byTransport(metrics.resumes)).toEqual({ sse: 1 });
    expect(await byTransport(metrics.resets)).toEqual({ longpoll: 1 });
    f.publish(log.commit(roomStream("nobody-here"), 1)); // no subscriber here: not a fan-out
    f.publish(log.commit(S, 1));
    await until(() => f.followedStreams().get(S) === 6);
    // sse: 4 and 5 replayed, then 6; each of the others: 6.
    expect(await byTransport(metrics.deliveries)).toEqual({ sse: 3, longpoll: 1, ws: 2 });
    expect((await metrics.fanoutSeconds.get()).values.find((v) => v.metricName === "rt_fanout_seconds_count")?.value).toBe(1);
  });

  it("times each fan-out in seconds", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    try {
      const log = new FakeLog();
      const metrics = createMetrics({ defaultMetrics: false });
      const f = new StreamFanout({ log, clock: new ManualClock(), logger: silentLogger, metrics });
      // A subscriber that takes 5 ms (of fake time) to take its event.
      const slow = { ...subscriber("slow"), onEvent: () => void vi.advanceTimersByTime(5) };
      await f.subscribe(S, slow);
      vi.advanceTimersByTime(1_000); // a clock well past 0: only the difference counts
      f.publish(log.commit(S, 1));
      const sum = (await metrics.fanoutSeconds.get()).values.find((v) => v.metricName === "rt_fanout_seconds_sum")?.value;
      expect(sum).toBeCloseTo(0.005, 9);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("what the fan-out knows of a stream's head", () => {
  it("a client resuming from a position this instance has not published yet (seen through another) is replayed to it, not reset", async () => {
    const log = new FakeLog();
    log.commit(S, 3);
    const f = fanout(log);
    const live = subscriber("live");
    await f.subscribe(S, live);
    const elsewhere = log.commit(S, 2); // committed on another instance; its NOTIFY not here yet
    const resumed = subscriber("resumed");
    expect(await f.subscribe(S, resumed, { since: 5 })).toEqual({ head: 5, reset: false });
    f.publish(elsewhere);
    f.publish(log.commit(S, 1));
    await until(() => live.seqs.length >= 3 && resumed.seqs.length >= 1);
    expect(live.seqs).toEqual([4, 5, 6]);
    expect(resumed.seqs).toEqual([6]);
  });

  it("a position at or within the head this instance knows costs no query of the head", async () => {
    const log = new FakeLog();
    log.commit(S, 5);
    const f = fanout(log);
    await f.subscribe(S, subscriber("a"));
    const heads = log.heads;
    expect(await f.subscribe(S, subscriber("at"), { since: 5 })).toEqual({ head: 5, reset: false });
    expect(await f.subscribe(S, subscriber("within"), { since: 2 })).toEqual({ head: 5, reset: false });
    expect(log.heads).toBe(heads);
  });

  it("a live-only join with a replay limit is never a reset, however long the stream", async () => {
    const log = new FakeLog();
    log.commit(S, MAX_REPLAY + 10);
    const f = fanout(log);
    expect(await f.subscribe(S, subscriber("a"), { maxReplay: MAX_REPLAY })).toEqual({ head: MAX_REPLAY + 10, reset: false });
  });

  it("resuming exactly at the head is no reset", async () => {
    const log = new FakeLog();
    log.commit(S, 4);
    const f = fanout(log);
    expect(await f.subscribe(S, subscriber("a"), { since: 4 })).toEqual({ head: 4, reset: false });
  });

  it("a connection subscribing again while its first attempt fails keeps the second", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log);
    const sub = subscriber("a");
    log.failNextHeads = 1;
    const first = f.subscribe(S, sub, { since: 0 });
    const second = f.subscribe(S, sub, { since: 0 });
    await expect(first).rejects.toThrow();
    await second;
    expect(f.isSubscribed(S, sub)).toBe(true);
    expect(sub.seqs).toEqual([1, 2]);
  });
});

describe("harmless calls", () => {
  it("unsubscribing from a stream never followed, asking about one, or publishing one nobody follows changes nothing", async () => {
    const log = new FakeLog();
    const f = fanout(log);
    const sub = subscriber("a");
    f.unsubscribe(S, sub);
    f.unsubscribeAll(sub);
    expect(f.isSubscribed(S, sub)).toBe(false);
    await f.subscribe(S, sub);
    const T = roomStream("random");
    f.unsubscribe(T, sub);
    expect(f.isSubscribed(T, sub)).toBe(false);
    f.publish([...log.commit(T, 1), ...log.commit(S, 1)]);
    await until(() => sub.seqs.length > 0);
    expect(sub.seqs).toEqual([1]);
  });

  it("a connection that left one stream still leaves the others when it closes", async () => {
    const log = new FakeLog();
    const T = roomStream("random");
    const U = roomStream("third");
    const f = fanout(log);
    const sub = subscriber("a");
    for (const s of [S, T, U]) await f.subscribe(s, sub);
    f.unsubscribe(S, sub);
    f.unsubscribeAll(sub);
    expect([f.isSubscribed(T, sub), f.isSubscribed(U, sub)]).toEqual([false, false]);
  });
});

describe("the stream's own order", () => {
  it("a batch published out of order goes out in order with no read of the log", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log);
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    const reads = log.reads.length;
    f.publish(log.commit(S, 3).reverse());
    await until(() => sub.seqs.length >= 3);
    expect(sub.seqs).toEqual([3, 4, 5]);
    expect(log.reads).toHaveLength(reads);
  });

  it("a late copy of an event already published leaves the stream's position and recent window as they were", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log);
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    const events = log.commit(S, 3);
    f.publish(events);
    await until(() => sub.seqs.length >= 3);
    f.publish([events[1]!]); // 4 again, after 5
    await until(() => true);
    expect(f.followedStreams().get(S)).toBe(5);
    f.publish([events[2]!]); // 5 again: the newest
    await until(() => true);
    expect(f.followedStreams().get(S)).toBe(5);
    const reads = log.reads.length;
    const back = subscriber("b");
    await f.subscribe(S, back, { since: 3 });
    expect(back.seqs).toEqual([4, 5]);
    expect(log.reads).toHaveLength(reads);
  });

  it("a gap is read from the log once, however many subscribers wait for it", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const f = fanout(log);
    const a = subscriber("a");
    const b = subscriber("b");
    await f.subscribe(S, a);
    await f.subscribe(S, b);
    const [three, four] = log.commit(S, 2);
    const reads = log.reads.length;
    f.publish([four!]);
    await until(() => a.seqs.length >= 2 && b.seqs.length >= 2);
    void three;
    expect([a.seqs, b.seqs]).toEqual([[3, 4], [3, 4]]);
    expect(log.reads).toHaveLength(reads + 1);
  });

  it("events published while a gap is being read keep the stream's position at the newest", async () => {
    const log = new FakeLog();
    log.commit(S, 10);
    const f = fanout(log);
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    const [, twelve, thirteen] = log.commit(S, 3);
    log.pause();
    f.publish([twelve!]);
    await until(() => log.blocked > 0);
    f.publish([thirteen!]);
    log.resume();
    await until(() => sub.seqs.length >= 3);
    await until(() => log.blocked === 0);
    expect(sub.seqs).toEqual([11, 12, 13]);
    expect(f.followedStreams().get(S)).toBe(13);
  });
});

describe("what the fan-out logs", () => {
  it("a gap the log does not have is logged with where it was; one the log fills is not", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const { logger, lines } = spyLogger();
    const f = fanout(log, { logger });
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    f.publish(log.commit(S, 2).slice(1)); // 4: 3 is read from the log
    await until(() => sub.seqs.length >= 2);
    expect(lines).toEqual([]);
    const [seven] = new FakeLog().commit(S, 7).slice(6);
    f.publish([seven!]);
    await until(() => sub.seqs.length >= 3);
    // The stream goes on from 7; the subscriber, left a hole, finds the log has nothing either.
    expect(lines).toEqual([
      ["warn", { stream: S, from: 4, to: 7 }, "gap not found in the log"],
      ["warn", { stream: S, at: 4, next: 7 }, "replay found a hole the log cannot fill"],
    ]);
  });

  it("a failed gap fill is logged, every subscriber told it lagged, and the stream goes on for the next ones", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const { logger, lines } = spyLogger();
    const f = fanout(log, { logger });
    const deaf: StreamSubscriber = { id: "deaf", transport: "ws", onEvent() {} }; // takes no lag notice
    const a = subscriber("a");
    await f.subscribe(S, deaf);
    await f.subscribe(S, a);
    log.commit(S, 1);
    log.failReads = true;
    f.publish(log.commit(S, 1));
    await until(() => a.lagged > 0);
    expect(lines.map(([level, obj, msg]) => [level, obj.stream, msg])).toEqual([["error", S, "fan-out gap fill failed; subscribers will resume from the log"]]);
    log.failReads = false;
    f.unsubscribe(S, a);
    f.unsubscribe(S, deaf);
    const next = subscriber("next");
    await f.subscribe(S, next);
    f.publish(log.commit(S, 1));
    // It joined at the head this instance had published (2): 3 and 4 are read on the way to 5.
    await until(() => next.seqs.length >= 3);
    expect(next.seqs).toEqual([3, 4, 5]);
    expect(next.lagged).toBe(0);
  });

  it("a hole a live subscriber cannot have filled is logged and skipped; a failed read tells it it lagged", async () => {
    const log = new FakeLog();
    log.commit(S, 2);
    const { logger, lines } = spyLogger();
    const f = fanout(log, { logger });
    const sub = subscriber("a");
    await f.subscribe(S, sub);
    const [five] = new FakeLog().commit(S, 5).slice(4);
    // Published here after the gap warning, 5 leaves the subscriber a hole (3, 4) to fill itself.
    f.publish([five!]);
    await until(() => sub.seqs.length > 0);
    expect(sub.seqs).toEqual([5]);
    expect(lines.map((l) => l[2])).toEqual(["gap not found in the log", "replay found a hole the log cannot fill"]);

    // The same, but the subscriber's own read fails: it is told it lagged.
    const g = fanout(log, { logger });
    const other = subscriber("b");
    await g.subscribe(S, other);
    log.okReads = 1; // the fan-out's gap read (finding nothing), not the subscriber's
    g.publish([new FakeLog().commit(S, 6)[5]!]);
    await until(() => other.lagged > 0);
    expect(other.seqs).toEqual([]);
    expect(lines.at(-1)?.slice(1).map((x) => (typeof x === "string" ? x : x.stream))).toEqual([S, "replay failed"]);
  });

  it("a replaying subscriber that takes no lag notice is dropped quietly past maxPending", async () => {
    const log = new FakeLog();
    log.commit(S, 3);
    const f = fanout(log, { maxPending: 1 });
    const deaf: StreamSubscriber & { seqs: number[] } = { id: "deaf", transport: "ws", seqs: [], onEvent: (_s, out) => void deaf.seqs.push(out.seq) };
    log.pause();
    const done = f.subscribe(S, deaf, { since: 0 });
    await until(() => log.blocked > 0);
    f.publish(log.commit(S, 2));
    log.resume();
    await done;
    expect(f.isSubscribed(S, deaf)).toBe(false);
  });
});

describe("the bound on idle streams", () => {
  it("keeps up to 10,000 streams nobody follows, forgetting the oldest past that", async () => {
    const log = new FakeLog();
    const f = fanout(log);
    const sub = subscriber("a");
    const stream = (i: number) => roomStream(`idle-${i}`);
    for (let i = 0; i < 10_000; i++) {
      await f.subscribe(stream(i), sub);
      f.unsubscribe(stream(i), sub);
    }
    let heads = log.heads;
    await f.subscribe(stream(0), subscriber("b"));
    expect(log.heads).toBe(heads); // still known
    f.unsubscribe(stream(0), subscriber("b"));
    // 10,001 idle now: the oldest (stream 1, since stream 0 came back) is forgotten.
    await f.subscribe(stream(10_000), sub);
    f.unsubscribe(stream(10_000), sub);
    heads = log.heads;
    await f.subscribe(stream(1), subscriber("c"));
    expect(log.heads).toBe(heads + 1);
  });
});
