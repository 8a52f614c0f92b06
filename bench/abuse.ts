// bench:abuse — each attack of issue 13 for a fixed window against one server while a
// bystander chats, beside a window with no attack. Per window, on a fresh server (the app in a
// child process pinned to CPU 0, PGlite on disk as `npm start` keeps it, or `--db postgres`):
//   the bystander  one person on a loopback address of its own (127.0.0.2) sending a chat
//                  message every 100 ms over a WebSocket: ack p50/p99, refusals, timeouts
//                  (no ack within 5 s), disconnects; and a fresh request every second
//                  (`GET /api/poll?wait=0` on a new connection): what a new page would meet
//   the server     RSS (from /proc/<pid>/status) at the window's start, its peak, and 2 s after
//                  the attacker let go; its open files; the connections it holds per transport
//   the attacker   from 127.0.0.1 (bench/lib/attacks.ts): what the server let it do — the caps
//                  at work show as refusals here, and the target is the bystander's p99 within
//                  2× of the quiet window's with memory bounded
// Connection caps are left at the server's defaults: this bench is the one place they must bite.
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ATTACKS, DEFAULT_ATTACK_SETTINGS, prepareAttack, type Attack, type AttackCounts, type AttackSettings, type Scenario } from "./lib/attacks";
import { startAppServer, usePostgres } from "./lib/app-server";
import { startBystanderProcess, type Bystander, type BystanderFigures } from "./lib/bystander";
import { descendants, SERVER_CHILD_PINNING, serverCore, type ServerChild } from "./lib/child";
import { fmt, fmtSpan, median, Progress, raiseFileLimit, ratio, rotation, round, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { benchScript } from "./lib/script";
import { kernelQueuedBytes } from "./slow";

export const SCENARIOS: Scenario[] = ["quiet", ...ATTACKS];
export type AbuseDb = "pglite" | "pglite-memory" | "postgres";

export interface AbuseOptions {
  scenarios?: Scenario[];
  /** Each window's length. */
  seconds?: number;
  runs?: number;
  db?: AbuseDb;
  attack?: Partial<AttackSettings>;
  /** The longest an attack may take to prepare (sign-ins, sockets) before its window. */
  prepareMs?: number;
  /** After the attacker let go, this long before the server's RSS is read again ("end"). */
  settleMs?: number;
  /** A bystander's message not acked within this is a timeout. */
  ackTimeoutMs?: number;
  quietWaitMs?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  progress?: Progress;
  /** Writes a CPU profile of the server over each window to this directory. */
  profileDir?: string;
}

export interface ServerConnections {
  ws: number;
  sse: number;
  poll: number;
}

export interface AbuseSample {
  scenario: Scenario;
  run: number;
  seconds: number;
  bystander: BystanderFigures;
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
  fdsStart: number;
  fdsPeak: number;
  /** The most connections the server held at once in the window, per transport (sampled every second). */
  serverPeak: ServerConnections;
  /** Bytes the kernel held for the server's connections at most (send queues + unread receive queues). */
  kernelQueuedMax: number;
  /** The most connections the attacker held open at once (its own view). */
  attackerPeakOpen: number;
  attacker: AttackCounts;
  /** The server process died during the window. */
  serverExited?: boolean;
  background: number;
}

export interface AbuseSummary {
  scenario: Scenario;
  runs: number;
  p50Ms: number;
  p99Ms: number;
  p99Span: Span;
  /** This window's bystander p99 ÷ the quiet window's (null without a quiet window). */
  p99VsQuiet: number | null;
  /** Target: p99 within 2× of the quiet run's. */
  withinTarget: boolean | null;
  sent: number;
  acked: number;
  timeouts: number;
  refused: number;
  disconnects: number;
  probesOk: number;
  probesFailed: number;
  rssStartMiB: number;
  rssPeakMiB: number;
  rssEndMiB: number;
  fdsPeak: number;
  serverPeak: ServerConnections;
  kernelQueuedMaxMiB: number;
  attackerPeakOpen: number;
  /** Medians over the runs of each count. */
  attacker: AttackCounts;
  serverExited: number;
}

export interface AbuseResults {
  samples: AbuseSample[];
  summary: AbuseSummary[];
  database: string;
  settings: AttackSettings;
}

const MiB = 1024 * 1024;
const BYSTANDER_ADDRESS = "127.0.0.2";

export async function runAbuse(opts: AbuseOptions = {}): Promise<AbuseResults> {
  const scenarios = opts.scenarios ?? SCENARIOS;
  const runs = opts.runs ?? 1;
  const progress = opts.progress ?? new Progress("abuse", false);
  const settings = { ...DEFAULT_ATTACK_SETTINGS, ...opts.attack };
  const db = opts.db ?? "pglite";
  const postgres = db === "postgres" && (await usePostgres(true));
  if (db === "postgres" && !postgres) throw new Error("--db postgres: no Postgres server answers at DATABASE_URL");
  // The load generator's own file limit must not be what stops an attacker: as high as allowed.
  raiseFileLimit(65_536);
  const samples: AbuseSample[] = [];
  let database = "";
  for (let run = 0; run < runs; run++) {
    for (const scenario of rotation(scenarios, run)) {
      const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
      const label = `${scenario}, run ${run + 1}/${runs}`;
      const { sample, database: d } = await runWindow(scenario, { ...opts, postgres, onDisk: db === "pglite", settings, label, progress, run });
      database = d;
      samples.push({ ...sample, background });
      const b = sample.bystander;
      progress.note(
        `${label}: bystander p50 ${fmt(b.ack.p50)} / p99 ${fmt(b.ack.p99)} ms, ${b.acked}/${b.sent} acked, ${b.timeouts} timed out${b.refused ? `, refused ${JSON.stringify(b.refusedCodes)}` : ""}, ` +
          `${b.probesFailed} fresh requests failed; RSS ${fmt(sample.rssStart / MiB)} → ${fmt(sample.rssPeak / MiB)} → ${fmt(sample.rssEnd / MiB)} MiB; ` +
          `attacker ${JSON.stringify(sample.attacker)}${sample.serverExited ? " — the server died" : ""}`,
      );
    }
  }
  progress.done();
  return { samples, summary: summarize(samples), database, settings };
}

interface WindowOptions extends AbuseOptions {
  postgres: boolean;
  onDisk: boolean;
  settings: AttackSettings;
  label: string;
  progress: Progress;
  run: number;
}

function raisePriority(pid: number): void {
  try {
    os.setPriority(pid, -10);
  } catch {
    // not permitted: an equal share
  }
}

/** RSS and open files of a process, from /proc (read even while its event loop is stuck). */
function processMemory(pid: number): { rss: number; fds: number } {
  let rss = NaN;
  let fds = NaN;
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    if (kb) rss = Number(kb[1]) * 1024;
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // the process has gone
  }
  return { rss, fds };
}

/** A promise, or `fallback` once `ms` have passed (an IPC call to a server whose loop is stuck). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p.catch(() => fallback), new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() => clearTimeout(timer));
}

async function runWindow(scenario: Scenario, o: WindowOptions): Promise<{ sample: Omit<AbuseSample, "background">; database: string }> {
  const { progress, label } = o;
  const seconds = o.seconds ?? 10;
  progress.update(`${label}: starting the server`, true);
  let child: (ServerChild & { database: string }) | null = null;
  let bystander: Bystander | null = null;
  let attack: Attack | null = null;
  let sampler: NodeJS.Timeout | undefined;
  try {
    // A generous start-up bound: the windows before may leave a busy machine behind them.
    child = await startAppServer({ postgres: o.postgres, pgliteOnDisk: o.onDisk, deployedLimits: true }, { core: serverCore(o.serverCore), timeoutMs: 180_000 });
    const srv = child;
    // The server and the bystander stand for machines of their own: raised above whatever else
    // this machine runs, so background work is not counted as the server's latency (needs the
    // privilege to raise a priority; without it they run at the bench's). The server's own
    // processes (the embedded database's) are the server too.
    for (const pid of [srv.pid, ...descendants(srv.pid)]) raisePriority(pid);
    let exited = false;
    const exitWatch = setInterval(() => {
      try {
        process.kill(srv.pid, 0);
      } catch {
        exited = true;
      }
    }, 250);
    try {
      await within(srv.settled(0.1, 5_000), 6_000, undefined);
      bystander = await startBystanderProcess({ port: srv.port, localAddress: BYSTANDER_ADDRESS, ackTimeoutMs: o.ackTimeoutMs });
      if (scenario !== "quiet") {
        progress.update(`${label}: preparing the attack`, true);
        attack = await prepareAttack(scenario, { port: srv.port, settings: o.settings, prepareDeadline: performance.now() + (o.prepareMs ?? 60_000), note: (t) => progress.note(`${label}: ${t}`) });
        // What preparing set going (sign-ins' feed events, presence) is not the window's.
        await within(srv.settled(0.1, 5_000), 6_000, undefined);
      }

      const start = processMemory(srv.pid);
      let rssPeak = start.rss;
      let fdsPeak = start.fds;
      let kernelQueuedMax = 0;
      let attackerPeakOpen = 0;
      const serverPeak: ServerConnections = { ws: 0, sse: 0, poll: 0 };
      let ticks = 0;
      let sampling = false;
      sampler = setInterval(async () => {
        const m = processMemory(srv.pid);
        if (m.rss > rssPeak) rssPeak = m.rss;
        if (m.fds > fdsPeak) fdsPeak = m.fds;
        attackerPeakOpen = Math.max(attackerPeakOpen, attack?.open() ?? 0);
        // Every second: the kernel's queues and the server's own count of its connections.
        if (ticks++ % 4 !== 0 || sampling) return;
        sampling = true;
        kernelQueuedMax = Math.max(kernelQueuedMax, kernelQueuedBytes(srv.port));
        const c = await within(srv.call<ServerConnections>("connections"), 1_000, null);
        if (c) for (const k of ["ws", "sse", "poll"] as const) serverPeak[k] = Math.max(serverPeak[k], c[k]);
        sampling = false;
        progress.update(`${label}: RSS ${fmt(m.rss / MiB)} MiB, ${m.fds} open files, server holds ${c ? `${c.ws} ws, ${c.sse} sse, ${c.poll} polls` : "(no answer)"}, attacker ${JSON.stringify(attack?.counts ?? {})}`);
      }, 250);

      progress.update(`${label}: the ${seconds} s window`, true);
      const profiling = o.profileDir ? srv.profileStart() : null;
      bystander.startWindow();
      const deadline = performance.now() + seconds * 1000;
      const attacking = attack ? attack.run(deadline) : Promise.resolve();
      while (performance.now() < deadline) await sleep(20);
      // The attacker holds what it has until the bystander's last acks are in (or timed out).
      const figures = await bystander.endWindow();
      if (profiling) {
        await profiling;
        mkdirSync(o.profileDir!, { recursive: true });
        const file = path.resolve(o.profileDir!, `abuse-${scenario}-run${o.run + 1}.cpuprofile`);
        await srv.profileStop(file);
        progress.note(`${label}: CPU profile ${file}`);
      }
      attack?.stop();
      // Its loops end at the deadline or on stop; an attempt still under way ends within its timeout.
      await within(attacking, 15_000, undefined);
      const counts = { ...(attack?.counts ?? {}) };
      await sleep(o.settleMs ?? 2_000);
      const end = processMemory(srv.pid);
      clearInterval(sampler);
      return {
        database: srv.database,
        sample: {
          scenario,
          run: o.run,
          seconds,
          bystander: figures,
          rssStart: start.rss,
          rssPeak: Math.max(rssPeak, end.rss || 0),
          rssEnd: end.rss,
          fdsStart: start.fds,
          fdsPeak,
          serverPeak,
          kernelQueuedMax,
          attackerPeakOpen,
          attacker: counts,
          ...(exited ? { serverExited: true } : {}),
        },
      };
    } finally {
      clearInterval(exitWatch);
    }
  } finally {
    clearInterval(sampler);
    attack?.stop();
    bystander?.close();
    await child?.stop();
  }
}

function summarize(samples: AbuseSample[]): AbuseSummary[] {
  const out: AbuseSummary[] = [];
  for (const scenario of [...new Set(samples.map((s) => s.scenario))]) {
    const ss = samples.filter((s) => s.scenario === scenario);
    const m = (f: (s: AbuseSample) => number, d = 1) => round(median(ss.map(f)), d);
    const keys = [...new Set(ss.flatMap((s) => Object.keys(s.attacker)))];
    out.push({
      scenario,
      runs: ss.length,
      p50Ms: m((s) => s.bystander.ack.p50, 2),
      p99Ms: m((s) => s.bystander.ack.p99, 2),
      p99Span: span(ss.map((s) => s.bystander.ack.p99)),
      p99VsQuiet: null,
      withinTarget: null,
      sent: m((s) => s.bystander.sent, 0),
      acked: m((s) => s.bystander.acked, 0),
      timeouts: m((s) => s.bystander.timeouts, 0),
      refused: m((s) => s.bystander.refused, 0),
      disconnects: m((s) => s.bystander.disconnects, 0),
      probesOk: m((s) => s.bystander.probesOk, 0),
      probesFailed: m((s) => s.bystander.probesFailed, 0),
      rssStartMiB: m((s) => s.rssStart / MiB),
      rssPeakMiB: m((s) => s.rssPeak / MiB),
      rssEndMiB: m((s) => s.rssEnd / MiB),
      fdsPeak: m((s) => s.fdsPeak, 0),
      serverPeak: { ws: m((s) => s.serverPeak.ws, 0), sse: m((s) => s.serverPeak.sse, 0), poll: m((s) => s.serverPeak.poll, 0) },
      kernelQueuedMaxMiB: m((s) => s.kernelQueuedMax / MiB),
      attackerPeakOpen: m((s) => s.attackerPeakOpen, 0),
      attacker: Object.fromEntries(keys.map((k) => [k, m((s) => s.attacker[k] ?? 0, 0)])),
      serverExited: ss.filter((s) => s.serverExited).length,
    });
  }
  const quiet = out.find((s) => s.scenario === "quiet");
  for (const s of out) {
    if (!quiet || s === quiet || !(quiet.p99Ms > 0)) continue;
    // No ack at all (every message timed out) is as far from the target as a window can be.
    s.p99VsQuiet = Number.isFinite(s.p99Ms) ? round(s.p99Ms / quiet.p99Ms, 3) : Infinity;
    s.withinTarget = s.p99VsQuiet <= 2 && s.timeouts === 0;
  }
  return out;
}

const TITLES: Record<Scenario, string> = {
  quiet: "no attack",
  connections: "(1) one session opens WebSockets and event streams",
  "stalled-sse": "(2) stalled event-stream readers, 4 KB posts",
  "long-polls": "(3) held long polls from one address",
  "join-churn": "(4) join/leave churn in the bystander's room",
  flood: "(5) one person's sockets: chat and cursor flood",
  "sign-ups": "(6) sign-up flood from one address",
};

/** What the attacker got, in words, from its counts (medians over the runs). */
function achieved(s: AbuseSummary, settings: AttackSettings, seconds: number): string {
  const a = s.attacker;
  const n = (k: string) => fmt(a[k] ?? 0, 0);
  const refusedBy = (...ks: string[]) => fmt(ks.reduce((t, k) => t + (a[k] ?? 0), 0), 0);
  switch (s.scenario) {
    case "quiet":
      return "–";
    case "connections":
      return `${n("wsOpened")} of ${fmt(settings.floodConnections, 0)} WebSockets and ${n("sseOpened")} of ${fmt(settings.floodConnections, 0)} streams accepted; refused ${refusedBy("wsRefused", "sseRefused")}, failed ${refusedBy("wsFailed", "sseFailed")}, closed by the server ${refusedBy("wsClosedByServer", "sseClosedByServer")}`;
    case "stalled-sse":
      return `${n("stalledOpened")} of ${fmt(settings.stalledReaders, 0)} stalled streams accepted (refused ${n("stalledRefused")}, failed ${n("stalledFailed")}); server held ${fmt(s.serverPeak.sse, 0)} at most; ${n("posted")} 4 KB posts (refused ${n("postRefused")}); kernel-held ${fmt(s.kernelQueuedMaxMiB)} MiB`;
    case "long-polls":
      return `${n("people")} sessions (sign-ins refused ${n("signInsRefused")}); server held ${fmt(s.serverPeak.poll, 0)} polls at most (attacker had ${n("peakOutstanding")} out); answered 429 ${n("pollRefused429")}, 503 ${n("pollRefused503")}`;
    case "join-churn":
      return `${n("sockets")} sockets of ${n("people")} people (refused ${n("wsRefused")}); ${n("joined")} of ${n("joins")} joins answered, ${n("errors")} errors, ${n("wsClosedByServer")} closed by the server; ${fmt((a.bytesReceived ?? 0) / MiB)} MiB sent to them`;
    case "flood":
      return `${n("sockets")} sockets of one person (refused ${n("wsRefused")}); ${n("acked")} of ${n("sent")} messages acked (${fmt((a.acked ?? 0) / seconds)}/s), ${n("rateLimited")} rate_limited; ${n("cursorFrames")} cursor frames sent; ${n("wsClosedByServer")} sockets closed by the server`;
    case "sign-ups":
      return `${n("signedUp")} of ${n("tried")} sign-ups accepted (${fmt((a.signedUp ?? 0) / seconds)}/s), refused ${n("refused")}, failed ${n("failed")}`;
    default: {
      const never: never = s.scenario;
      return String(never);
    }
  }
}

export function abuseMarkdown(r: AbuseResults): string {
  const s0 = r.samples[0];
  const seconds = s0?.seconds ?? 10;
  const head =
    `${fmt(seconds, 0)} s windows, a fresh server each (${r.database}); the bystander sends a chat message every 100 ms from its own address ` +
    `and makes a fresh request every second; target: its ack p99 within 2× of the quiet window's, no timeouts, memory bounded.`;
  const rows = r.summary.map((s) => [
    TITLES[s.scenario],
    `${fmt(s.p50Ms)} / ${fmtSpan(s.p99Ms, s.p99Span)}`,
    s.p99VsQuiet === null ? "" : `${Number.isFinite(s.p99VsQuiet) ? ratio(s.p99VsQuiet, 1) : "no acks"} ${s.withinTarget ? "✓" : "✗"}`,
    `${fmt(s.acked, 0)} / ${fmt(s.sent, 0)} (${fmt(s.timeouts, 0)} timed out, ${fmt(s.refused, 0)} refused, ${fmt(s.disconnects, 0)} disconnects)`,
    `${fmt(s.probesFailed, 0)} of ${fmt(s.probesOk + s.probesFailed, 0)}`,
    `${fmt(s.rssStartMiB)} → ${fmt(s.rssPeakMiB)} → ${fmt(s.rssEndMiB)}${s.serverExited ? ` (died in ${s.serverExited} of ${s.runs} runs)` : ""}`,
    fmt(s.fdsPeak, 0),
    achieved(s, r.settings, seconds),
  ]);
  return [
    head,
    table(
      [
        "window",
        "bystander ack p50 / p99 ms (p99 min–max)",
        "p99 vs quiet",
        "acked / sent",
        "fresh requests failed",
        "server RSS MiB start → peak → end",
        "server open files (peak)",
        "what the attacker got",
      ],
      rows,
    ),
  ].join("\n\n");
}

benchScript(import.meta.url, {
  name: "abuse",
  settings: ({ quick, runs, num, get }) => {
    const d = DEFAULT_ATTACK_SETTINGS;
    const q = <T>(full: T, small: T) => (quick ? small : full);
    const db = (get("db") ?? "pglite") as AbuseDb;
    if (!["pglite", "pglite-memory", "postgres"].includes(db)) throw new Error(`--db takes pglite, pglite-memory or postgres, got "${db}"`);
    const scenarios = (get("only")?.split(",") ?? SCENARIOS) as Scenario[];
    for (const s of scenarios) if (!SCENARIOS.includes(s)) throw new Error(`--only takes ${SCENARIOS.join(",")}; got "${s}"`);
    return {
      scenarios,
      seconds: num("seconds", q(10, 2)),
      runs: runs ?? q(3, 1),
      db,
      prepareMs: num("prepare", 60_000),
      settleMs: num("settle", q(2000, 500)),
      ackTimeoutMs: num("ack-timeout", 5000),
      quietWaitMs: num("quiet-wait", q(10_000, 0)),
      ...(get("profile") ? { profileDir: get("profile") } : {}),
      attack: {
        floodConnections: num("connections", q(d.floodConnections, 50)),
        stalledReaders: num("stalled", q(d.stalledReaders, 20)),
        stalledPeople: num("stalled-people", d.stalledPeople),
        posters: num("posters", d.posters),
        pollPeople: num("poll-people", q(d.pollPeople, 5)),
        pollsPerPerson: num("polls-per-person", q(d.pollsPerPerson, 4)),
        churnSockets: num("churn", q(d.churnSockets, 20)),
        churnPeople: num("churn-people", q(d.churnPeople, 20)),
        churnEveryMs: num("churn-every", d.churnEveryMs),
        floodSockets: num("flood-sockets", q(d.floodSockets, 5)),
        floodSendRate: num("flood-send-rate", d.floodSendRate),
        floodCursorRate: num("flood-cursor-rate", q(d.floodCursorRate, 100)),
        signUps: num("sign-ups", q(d.signUps, 200)),
        signUpConcurrency: num("sign-up-concurrency", d.signUpConcurrency),
      },
    };
  },
  run: (settings, progress) => runAbuse({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, results, pinning) => ({ ...settings, database: results.database, pinning }),
  markdown: abuseMarkdown,
});
