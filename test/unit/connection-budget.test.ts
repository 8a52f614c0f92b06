// The connection caps (per person, per address), the per-person rate buckets, and the
// file-handle check at start, as plain functions.
import { describe, expect, it } from "vitest";
import { ConnectionBudget } from "../../server/connection-budget";
import { FD_RESERVE, fileHandleWarning, plannedFileHandles, readOpenFileLimit } from "../../server/fd-budget";
import { createMetrics } from "../../server/metrics";
import { PersonRates, SEND_LIMITS } from "../../server/ratelimit";

const budget = (perPerson: number, perAddress: number, onPersonIdle?: (id: string) => void) =>
  new ConnectionBudget({ perPerson, perAddress, addressOf: () => "unused", metrics: createMetrics({ defaultMetrics: false }), onPersonIdle });

describe("ConnectionBudget", () => {
  it("refuses a person's connection past their cap, whatever the transport, and takes it again once one is released", () => {
    const b = budget(3, 100);
    const leases = (["ws", "sse", "longpoll"] as const).map((kind) => b.acquire(kind, "ada", "10.0.0.1"));
    expect(leases.every((l) => l.ok)).toBe(true);
    const refused = b.acquire("ws", "ada", "10.0.0.2");
    expect(refused).toMatchObject({ ok: false, scope: "person", limit: 3 });
    expect(b.acquire("sse", "lin", "10.0.0.1").ok).toBe(true);
    const first = leases[0]!;
    if (!first.ok) throw new Error("unreachable");
    first.lease.release();
    first.lease.release(); // twice is harmless: the slot is freed once
    expect(b.heldBy("ada")).toBe(2);
    expect(b.acquire("longpoll", "ada", "10.0.0.1").ok).toBe(true);
    expect(b.acquire("longpoll", "ada", "10.0.0.1").ok).toBe(false);
  });

  it("refuses an address's connection past its cap, for any person", () => {
    const b = budget(100, 2);
    expect(b.acquire("ws", "ada", "10.0.0.1").ok).toBe(true);
    expect(b.acquire("ws", "lin", "10.0.0.1").ok).toBe(true);
    expect(b.acquire("ws", "kai", "10.0.0.1")).toMatchObject({ ok: false, scope: "address", limit: 2 });
    expect(b.acquire("ws", "kai", "10.0.0.2").ok).toBe(true);
  });

  it("forgets people and addresses with nothing open, and says when a person's last connection went", () => {
    const idle: string[] = [];
    const b = budget(5, 5, (id) => idle.push(id));
    const a = b.acquire("ws", "ada", "10.0.0.1");
    const c = b.acquire("sse", "ada", "10.0.0.1");
    if (!a.ok || !c.ok) throw new Error("refused");
    a.lease.release();
    expect(idle).toEqual([]);
    c.lease.release();
    expect(idle).toEqual(["ada"]);
    expect([b.heldBy("ada"), b.heldAt("10.0.0.1")]).toEqual([0, 0]);
  });
});

describe("PersonRates", () => {
  it("is one bucket per person and kind, however many connections draw on it", () => {
    let t = 0;
    const rates = new PersonRates({ now: () => t });
    let taken = 0;
    // Fifty connections of one person, each asking for as many sends as one connection could.
    for (let conn = 0; conn < 50; conn++) for (let i = 0; i < SEND_LIMITS.send.burst; i++) if (rates.take("ada", "send")) taken++;
    expect(taken).toBe(SEND_LIMITS.send.burst);
    expect(rates.take("lin", "send")).toBe(true);
    t += 1000;
    let more = 0;
    while (rates.take("ada", "send")) more++;
    expect(more).toBe(SEND_LIMITS.send.rate);
  });

  it("drops a person's buckets once they have no connection and the buckets have refilled, and keeps a connected person's", () => {
    let t = 0;
    const connected = new Set(["lin"]);
    const rates = new PersonRates({ now: () => t, isConnected: (id) => connected.has(id) });
    rates.take("ada", "send");
    rates.take("lin", "send");
    rates.forget("ada"); // not yet refilled: kept, or closing every socket would refill it
    expect(rates.size).toBe(2);
    t += 10_000;
    rates.take("kai", "cursor"); // a later take sweeps
    expect(rates.size).toBe(2); // lin (connected) and kai; ada went
    for (let i = 0; i < SEND_LIMITS.send.burst; i++) expect(rates.take("ada", "send")).toBe(true);
  });
});

describe("file-handle budget", () => {
  const limits = (soft: string, hard: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax processes             63360                63360                processes\nMax open files            ${soft}                 ${hard}                 files\n`;

  it("reads the soft and hard open-file limits from /proc/self/limits", () => {
    expect(readOpenFileLimit(limits("1024", "524288"))).toEqual({ soft: 1024, hard: 524288 });
    expect(readOpenFileLimit(limits("unlimited", "unlimited"))).toEqual({ soft: Infinity, hard: Infinity });
    expect(readOpenFileLimit("no such line")).toBeNull();
  });

  it("warns, naming the numbers, when the soft limit is below a few addresses at their cap plus the server's own files", () => {
    const caps = { perPerson: 20, perAddress: 200 };
    const planned = plannedFileHandles(caps);
    expect(planned).toBe(10 * 200 + FD_RESERVE);
    const low = fileHandleWarning({ soft: 1024, hard: 524_288 }, caps);
    expect(low).toMatchObject({ soft: 1024, hard: 524_288, planned });
    expect(low!.message).toContain("ulimit -n 3024");
    expect(fileHandleWarning({ soft: 1024, hard: 1024 }, caps)!.message).toContain("hard and soft");
    expect(fileHandleWarning({ soft: planned, hard: planned }, caps)).toBeNull();
    expect(fileHandleWarning({ soft: 2000, hard: 2000 }, { perPerson: 20, perAddress: 50 })).toBeNull();
    expect(fileHandleWarning(null, caps)).toBeNull();
  });
});
