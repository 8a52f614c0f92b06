// bench:fanout's summary: where each server's limit was, so a reader can tell a server's limit
// from the load generator's.
import { describe, expect, it } from "vitest";
import { summarizeFanout, type FanoutSample, type StepResult } from "../../bench/fanout";

const step = (rate: number, pass: boolean, busy: { server: number; wait: number; gen: number }): StepResult => ({
  rate,
  sent: rate,
  expected: rate * 2,
  delivered: pass ? rate * 2 : rate,
  deliveriesPerSec: rate * 2,
  p50Ms: 1,
  p99Ms: pass ? 10 : 200,
  serverCpuPercent: busy.server,
  serverWaitPercent: busy.wait,
  serverCpuUsPerDelivery: 10,
  serverSysUsPerDelivery: 2,
  loadGenCpuPercent: busy.gen,
  pass,
});

const sample = (server: FanoutSample["server"], run: number, steps: StepResult[]): FanoutSample => {
  const passed = steps.filter((s) => s.pass).sort((a, b) => b.rate - a.rate);
  return { server, shape: "2 rooms × 2 clients", run, fixed: [], steps, best: passed[0] ?? null, background: 0 };
};

describe("bench:fanout summary", () => {
  it("gives how busy the server, its wait and the generator were at the failure just above the best", () => {
    const summary = summarizeFanout([
      // Run 1: failed at 300 (the limit) after passing 200; the failure at 450 came first.
      sample("ours", 0, [step(100, true, { server: 20, wait: 1, gen: 10 }), step(450, false, { server: 99, wait: 30, gen: 90 }), step(200, true, { server: 50, wait: 5, gen: 30 }), step(300, false, { server: 70, wait: 20, gen: 40 })]),
      sample("ours", 1, [step(100, true, { server: 20, wait: 1, gen: 10 }), step(150, false, { server: 80, wait: 10, gen: 60 })]),
      // Never failed within its steps: no limit to describe.
      sample("raw", 0, [step(100, true, { server: 10, wait: 0, gen: 20 }), step(150, true, { server: 15, wait: 0, gen: 30 })]),
    ]);
    const ours = summary.find((s) => s.server === "ours")!;
    expect(ours.atLimit).toEqual({ serverCpuPercent: 75, serverWaitPercent: 15, loadGenCpuPercent: 50 });
    expect(summary.find((s) => s.server === "raw")!.atLimit).toBeNull();
  });
});
