// The benchmarks of failure and abuse still run (see bench-smoke.test.ts for the others): each
// bench's core function in a tiny configuration, asserting only that its results are well formed
// and that RESULTS.md's table renders from them. Never a duration or a rate.
import { describe, expect, it } from "vitest";
import { runAbuse, SCENARIOS } from "../../bench/abuse";
import { runIdle } from "../../bench/idle";
import { runRestart } from "../../bench/restart";
import { runSlow, slowMarkdown } from "../../bench/slow";
import { freePort } from "../cluster/nginx";
import { expectRendered, finiteNonNegative, withPostgres } from "../helpers/bench-smoke";

describe("benchmarks of failure and abuse (smoke)", { timeout: 120_000 }, () => {
  it("slow: a stalled client's server keeps serving the rest; memory and closes are reported", async () => {
    // The default variants: ours with and without stalled clients, raw and naive with them.
    const r = await runSlow({
      clients: 20,
      runs: 1,
      stalledPercent: 10,
      rate: 10,
      textChars: 200,
      warmupMs: 200,
      durationMs: 1500,
      sampleMs: 500,
      postgres: withPostgres,
      quietWaitMs: 0,
      serverCore: null,
    });
    expect(r.samples.map((s) => `${s.server}${s.stalled ? " stalled" : ""}`).sort()).toEqual(["naive stalled", "ours", "ours stalled", "raw stalled"]);
    for (const s of r.samples) {
      expect(s.stalledClients).toBe(s.stalled ? 2 : 0);
      // Ours with stalled WebSockets has as many stalled SSE readers and pollers beside them.
      expect([s.stalledSse, s.stalledPollers]).toEqual(s.server === "ours" && s.stalled ? [2, 2] : [0, 0]);
      expect(s.sent).toBeGreaterThan(0);
      expect(s.deliveredPct).toBeGreaterThan(0);
      expect(finiteNonNegative(s.p99Ms)).toBe(true);
      expect(s.timeline.length).toBeGreaterThanOrEqual(2);
      expect(s.rssMax).toBeGreaterThan(0);
      expect(finiteNonNegative(s.kernelQueuedMax)).toBe(true);
      expect(finiteNonNegative(s.slowCloses)).toBe(true);
    }
    expect(r.summary).toHaveLength(4);
    for (const s of r.summary) expect(Number.isFinite(s.rssSlopeMiBPerMin)).toBe(true);
    expectRendered("slow", r, [
      "ours (1013 above 4 MiB behind; SSE and polls destroyed), all reading",
      "ours (1013 above 4 MiB behind; SSE and polls destroyed), 5% stalled",
      "raw ws, no policy, 5% stalled",
      "naive ws, no policy, 5% stalled",
    ]);
    expect(slowMarkdown(r)).toContain("ours also with 2 stalled SSE readers and 2 stalled polling connections");
  });

  it("idle: connections open and memory per connection is reported", async () => {
    const r = await runIdle({ connections: 20, runs: 1, servers: ["ours-ws", "raw-sse"], people: 2, settleMs: 100, postgres: withPostgres, quietWaitMs: 0, serverCore: null });
    expect(r.samples.map((s) => s.server).sort()).toEqual(["ours-ws", "raw-sse"]);
    for (const s of r.samples) {
      expect(s.reached).toBe(20);
      expect(Number.isFinite(s.rssPerConnection)).toBe(true);
      expect(s.rssAfter).toBeGreaterThan(0);
    }
    expectRendered("idle", r, ["ours, WebSocket (joined to a room)", "bare http SSE server"]);
  });

  // Two restarts of a real server, and the old backoff may wait up to 30 s.
  it.skipIf(!withPostgres)("restart: every client comes back after the kill, with each backoff, and the figures are reported", { timeout: 300_000 }, async () => {
    const r = await runRestart({ clients: 20, people: 4, rooms: 2, runs: 1, downMs: [0], port: await freePort(), quietWaitMs: 0, serverCore: null });
    expect(r.samples.map((s) => s.backoff).sort()).toEqual(["after", "before"]);
    for (const s of r.samples) {
      expect(s.resumed).toBe(20);
      expect(s.timeline.reduce((a, b) => a + b, 0)).toBe(20);
      for (const n of [s.outageMs, s.spreadMs, s.peakPerS, s.attemptsPerClient, s.handshakeP50Ms, s.joinWaitP50Ms]) expect(finiteNonNegative(n)).toBe(true);
      expect(Number.isFinite(s.p95Ms)).toBe(true);
    }
    expectRendered("restart", r, ["before (1 s ×2, cap 30 s)", "after (1 s ×2, cap 4 s)"]);
  });

  // Seven windows, each on a fresh server: longer than the others on a busy machine.
  it("abuse: the quiet window and every attack report the bystander, the server's memory and what the attacker got", { timeout: 900_000 }, async () => {
    const r = await runAbuse({
      seconds: 1,
      runs: 1,
      db: withPostgres ? "postgres" : "pglite-memory",
      settleMs: 100,
      quietWaitMs: 0,
      serverCore: null,
      attack: { floodConnections: 5, stalledReaders: 3, posters: 1, pollPeople: 2, pollsPerPerson: 2, churnSockets: 3, churnPeople: 3, floodSockets: 2, floodCursorRate: 100, signUps: 10, signUpConcurrency: 2 },
    });
    expect(r.samples.map((s) => s.scenario).sort()).toEqual([...SCENARIOS].sort());
    for (const s of r.samples) {
      expect(s.bystander.sent).toBeGreaterThan(0);
      expect(s.bystander.acked + s.bystander.refused + s.bystander.timeouts).toBe(s.bystander.sent);
      expect(s.rssStart).toBeGreaterThan(0);
      expect(s.rssPeak).toBeGreaterThanOrEqual(s.rssStart);
      expect(s.fdsPeak).toBeGreaterThan(0);
    }
    const attacker = (scenario: string) => r.samples.find((s) => s.scenario === scenario)!.attacker;
    // Every attempt is accounted for: accepted, refused with a status, or failed.
    const c = attacker("connections");
    expect(c.wsOpened! + c.wsRefused! + c.wsFailed!).toBe(5);
    expect(c.sseOpened! + c.sseRefused! + c.sseFailed!).toBe(5);
    const st = attacker("stalled-sse");
    expect(st.stalledOpened! + st.stalledRefused! + st.stalledFailed!).toBe(3);
    expect(attacker("long-polls").polls).toBeGreaterThan(0);
    expect(attacker("join-churn").joins).toBeGreaterThan(0);
    expect(attacker("flood").sent).toBeGreaterThan(0);
    const su = attacker("sign-ups");
    expect(su.tried).toBeGreaterThan(0);
    expect(su.signedUp! + su.refused! + su.failed!).toBe(su.tried);
    expect(r.summary.find((s) => s.scenario === "quiet")!.p99VsQuiet).toBeNull();
    expectRendered("abuse", r, [
      "no attack",
      "(1) one session opens WebSockets and event streams",
      "(2) stalled event-stream readers, 4 KB posts",
      "(3) held long polls from one address",
      "(4) join/leave churn in the bystander's room",
      "(5) one person's sockets: chat and cursor flood",
      "(6) sign-up flood from one address",
    ]);
  });
});
