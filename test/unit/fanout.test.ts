// Stream fan-out and replay, alone, against a fake event log (as centrifuge's hub_test.go runs
// its hub against an in-memory broker): every rule of delivery — exactly once, in seq order,
// replay meeting live, resets, slow subscribers, pages — checked without a database or a socket.
import { describe, expect, it } from "vitest";
import { StreamFanout, type StreamLog, type StreamSubscriber } from "../../server/hub/fanout";
import type { Outgoing } from "../../server/hub/outgoing";
import { silentLogger } from "../../server/log";
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
    return this.streams.get(stream)?.length ?? 0;
  }

  async readAfter(stream: string, after: number, limit: number): Promise<RealtimeEvent[]> {
    this.reads.push({ stream, after, limit });
    if (this.gate) {
      this.blocked++;
      await this.gate;
      this.blocked--;
    }
    if (this.failReads) throw new Error("database unreachable");
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

function subscriber(id: string): TestSubscriber {
  const sub: TestSubscriber = {
    id,
    transport: "ws",
    seqs: [],
    lagged: 0,
    onEvent: (_stream: string, out: Outgoing) => void sub.seqs.push(out.seq),
    onLagged: () => void sub.lagged++,
  };
  return sub;
}

function fanout(log: FakeLog, opts: { replayPage?: number; maxPending?: number } = {}): StreamFanout {
  return new StreamFanout({ log, clock: new ManualClock(), logger: silentLogger, ...opts });
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
