// bench:cursors — 50 people moving their cursors at 60 Hz in one room, against the real server
// (createApp in a child process pinned to its own core), with cursor coalescing on and off in
// the same run. Reports, per receiving client: cursor frames/s and bytes/s; the server's CPU;
// and the delay from a cursor move to its arrival at a few sampled receivers.
import { startAppServer, usePostgres } from "./lib/app-server";
import { cpuDeltaUs, SERVER_CHILD_PINNING, serverCore } from "./lib/child";
import { openMany, Pacer, signInMany } from "./lib/clients";
import { FastWs } from "./lib/fastws";
import { fmt, fmtSpan, Latency, median, Progress, ratio, rotation, round, sleep, span, table, waitForQuiet, type Span } from "./lib/common";
import { benchScript } from "./lib/script";

export type CursorMode = "coalesced" | "uncoalesced";
export const CURSOR_MODES: CursorMode[] = ["coalesced", "uncoalesced"];

export interface CursorsOptions {
  users?: number;
  hz?: number;
  durationMs?: number;
  warmupMs?: number;
  runs?: number;
  modes?: CursorMode[];
  /** Receivers that parse frames to time each cursor's delivery. */
  latencyReceivers?: number;
  /** CPU for the server process; null: no pinning. */
  serverCore?: number | null;
  /** Use a fresh Postgres database when the server answers (faster to start than PGlite). */
  postgres?: boolean;
  quietWaitMs?: number;
  progress?: Progress;
}

export interface CursorsSample {
  mode: CursorMode;
  run: number;
  seconds: number;
  inputsPerSec: number;
  framesPerClientPerSec: number;
  payloadBytesPerClientPerSec: number;
  wireBytesPerClientPerSec: number;
  /** Mean payload of one cursor frame. */
  avgFrameBytes: number;
  /**
   * What every client would have to receive if each input became a frame to everyone: inputs/s
   * × the mean uncoalesced frame. Uncoalesced, a server that falls behind skips frames for slow
   * sockets, so what arrives can be less than this.
   */
  demandBytesPerClientPerSec: number;
  serverCpuPercent: number;
  serverCpuUsPerInput: number;
  loadGenCpuPercent: number;
  delayP50Ms: number;
  delayP99Ms: number;
  background: number;
}

export interface CursorsSummary {
  mode: CursorMode;
  runs: number;
  framesPerClientPerSec: number;
  payloadBytesPerClientPerSec: number;
  wireBytesPerClientPerSec: number;
  demandBytesPerClientPerSec: number;
  serverCpuPercent: number;
  serverCpuUsPerInput: number;
  delayP50Ms: number;
  delayP99Ms: number;
  inputsPerSec: number;
  /** The lowest and highest run. */
  framesSpan: Span;
  payloadBytesSpan: Span;
  serverCpuSpan: Span;
}

export interface CursorsResults {
  samples: CursorsSample[];
  summary: CursorsSummary[];
  /** coalesced ÷ uncoalesced, medians. */
  ratios: { frames: number; payloadBytes: number; wireBytes: number; payloadBytesVsDemand: number; serverCpu: number } | null;
  targets: { framesPerClientMax: number; bytesRatioMax: number; framesMet: boolean | null; bytesMet: boolean | null };
}

const CURSORS_PREFIX = Buffer.from('{"type":"cursors"');
const JOINED_PREFIX = Buffer.from('{"type":"joined"');
/** Cursor x carries the send time modulo this many ms, so a receiver can time its delivery. */
const CLOCK_WRAP_MS = 10_000;

export async function runCursors(opts: CursorsOptions = {}): Promise<CursorsResults> {
  const users = opts.users ?? 50;
  const hz = opts.hz ?? 60;
  const durationMs = opts.durationMs ?? 5000;
  const warmupMs = opts.warmupMs ?? 1000;
  const runs = opts.runs ?? 3;
  const modes = opts.modes ?? CURSOR_MODES;
  const progress = opts.progress ?? new Progress("cursors", false);
  const samples: CursorsSample[] = [];
  const postgres = await usePostgres(opts.postgres);

  for (let run = 0; run < runs; run++) {
    for (const mode of rotation(modes, run)) {
      const background = await waitForQuiet({ maxWaitMs: opts.quietWaitMs ?? 10_000, progress });
      const label = `${mode} run ${run + 1}/${runs}`;
      const s = await measure(mode, { users, hz, durationMs, warmupMs, run, label, progress, latencyReceivers: opts.latencyReceivers ?? 5, postgres, serverCore: serverCore(opts.serverCore) });
      samples.push({ ...s, background });
      progress.note(
        `${label}: ${fmt(s.framesPerClientPerSec)} frames/s and ${fmt(s.payloadBytesPerClientPerSec / 1024)} KiB/s per client, server CPU ${fmt(s.serverCpuPercent)}%`,
      );
    }
  }
  progress.done();
  const summary = summarize(samples);
  const c = summary.find((s) => s.mode === "coalesced");
  const u = summary.find((s) => s.mode === "uncoalesced");
  const ratios = c && u
    ? {
        frames: round(c.framesPerClientPerSec / u.framesPerClientPerSec, 3),
        payloadBytes: round(c.payloadBytesPerClientPerSec / u.payloadBytesPerClientPerSec, 3),
        wireBytes: round(c.wireBytesPerClientPerSec / u.wireBytesPerClientPerSec, 3),
        payloadBytesVsDemand: round(c.payloadBytesPerClientPerSec / u.demandBytesPerClientPerSec, 3),
        serverCpu: round(c.serverCpuPercent / u.serverCpuPercent, 3),
      }
    : null;
  return {
    samples,
    summary,
    ratios,
    targets: {
      framesPerClientMax: 20,
      bytesRatioMax: 1 / 3,
      framesMet: c ? c.framesPerClientPerSec <= 20 : null,
      // Against what uncoalesced delivery needs: what arrives uncoalesced is capped by skipping.
      bytesMet: ratios ? ratios.payloadBytesVsDemand <= 1 / 3 : null,
    },
  };
}

function summarize(samples: CursorsSample[]): CursorsSummary[] {
  return CURSOR_MODES.flatMap((mode) => {
    const ss = samples.filter((s) => s.mode === mode);
    if (ss.length === 0) return [];
    const m = (f: (s: CursorsSample) => number, d = 1) => round(median(ss.map(f)), d);
    return [
      {
        mode,
        runs: ss.length,
        framesPerClientPerSec: m((s) => s.framesPerClientPerSec),
        payloadBytesPerClientPerSec: m((s) => s.payloadBytesPerClientPerSec, 0),
        wireBytesPerClientPerSec: m((s) => s.wireBytesPerClientPerSec, 0),
        demandBytesPerClientPerSec: m((s) => s.demandBytesPerClientPerSec, 0),
        serverCpuPercent: m((s) => s.serverCpuPercent),
        serverCpuUsPerInput: m((s) => s.serverCpuUsPerInput, 2),
        delayP50Ms: m((s) => s.delayP50Ms),
        delayP99Ms: m((s) => s.delayP99Ms),
        inputsPerSec: m((s) => s.inputsPerSec, 0),
        framesSpan: span(ss.map((s) => s.framesPerClientPerSec), 1),
        payloadBytesSpan: span(ss.map((s) => s.payloadBytesPerClientPerSec), 0),
        serverCpuSpan: span(ss.map((s) => s.serverCpuPercent), 1),
      },
    ];
  });
}

interface MeasureOptions {
  users: number;
  hz: number;
  durationMs: number;
  warmupMs: number;
  run: number;
  label: string;
  progress: Progress;
  latencyReceivers: number;
  serverCore: number | undefined;
  postgres: boolean;
}

async function measure(mode: CursorMode, o: MeasureOptions): Promise<Omit<CursorsSample, "background">> {
  o.progress.update(`${o.label}: starting the server`, true);
  const server = await startAppServer({ postgres: o.postgres, tuning: { coalesceCursors: mode === "coalesced" } }, { core: o.serverCore });
  const base = `http://127.0.0.1:${server.port}`;
  let sockets: FastWs[] = [];
  try {
    const cookies = await signInMany(base, o.users, "cursor");
    const frames = new Float64Array(o.users);
    const payload = new Float64Array(o.users);
    const joined = new Uint8Array(o.users);
    const delay = new Latency();
    let measuring = false;

    sockets = await openMany(o.users, (i) =>
      FastWs.connect({
        port: server.port,
        path: "/ws",
        headers: { Cookie: cookies[i]! },
        protocols: ["rt.v1"],
        onFrame: (data) => {
          if (startsWith(data, CURSORS_PREFIX)) {
            if (!measuring) return;
            frames[i]!++;
            payload[i]! += data.length;
            if (i < o.latencyReceivers) recordDelays(data, delay);
          } else if (startsWith(data, JOINED_PREFIX)) joined[i] = 1;
        },
      }),
    );
    for (const ws of sockets) ws.send(JSON.stringify({ type: "join", room: "general" }));
    const joinDeadline = performance.now() + 10_000;
    while (joined.some((j) => j === 0)) {
      if (performance.now() > joinDeadline) throw new Error("not every client joined within 10 s");
      await sleep(20);
    }
    await sleep(300); // presence frames settle

    const pacer = new Pacer(o.users, o.hz, (i, now) => {
      const t = now % CLOCK_WRAP_MS;
      const x = t / CLOCK_WRAP_MS;
      const y = 0.5 + 0.4 * Math.sin(now / 300 + i);
      sockets[i]!.send(`{"type":"cursor","room":"general","x":${x},"y":${y}}`);
    });
    pacer.start();
    o.progress.update(`${o.label}: warm-up`, true);
    await sleep(o.warmupMs);

    // The server's CPU first (an IPC round trip), then the counting window opens, all at once.
    const stats0 = await server.stats();
    measuring = true;
    const wire0 = sockets.map((ws) => ws.bytesRead);
    const sent0 = pacer.sent;
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    while (performance.now() - t0 < o.durationMs) {
      await sleep(250);
      const sec = (performance.now() - t0) / 1000;
      o.progress.update(`${o.label}: ${fmt(sum(frames) / o.users / sec)} frames/s per client`);
    }
    const stats1 = await server.stats();
    const self1 = process.cpuUsage(self0);
    const seconds = (performance.now() - t0) / 1000;
    measuring = false;
    const sent = pacer.sent - sent0;
    pacer.stop();
    const wire = sum(sockets.map((ws, i) => ws.bytesRead - wire0[i]!));
    const cpuUs = cpuDeltaUs(stats0, stats1);
    const avgFrameBytes = sum(payload) / Math.max(1, sum(frames));
    return {
      mode,
      run: o.run,
      seconds: round(seconds, 2),
      inputsPerSec: round(sent / seconds, 0),
      framesPerClientPerSec: round(sum(frames) / o.users / seconds, 1),
      payloadBytesPerClientPerSec: round(sum(payload) / o.users / seconds, 0),
      wireBytesPerClientPerSec: round(wire / o.users / seconds, 0),
      avgFrameBytes: round(avgFrameBytes, 1),
      // Inputs past 60/s per person are dropped by the server's rate limit: count at most that.
      demandBytesPerClientPerSec: round(
        mode === "uncoalesced" ? Math.min(sent / seconds, o.users * o.hz) * avgFrameBytes : sum(payload) / o.users / seconds,
        0,
      ),
      serverCpuPercent: round(cpuUs / 1e4 / seconds, 1),
      serverCpuUsPerInput: round(cpuUs / Math.max(1, sent), 2),
      loadGenCpuPercent: round((self1.user + self1.system) / 1e4 / seconds, 1),
      delayP50Ms: round(delay.p(50), 1),
      delayP99Ms: round(delay.p(99), 1),
    };
  } finally {
    for (const ws of sockets) ws.close();
    await server.stop();
  }
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

function recordDelays(data: Buffer, delay: Latency): void {
  const now = performance.now() % CLOCK_WRAP_MS;
  const frame = JSON.parse(data.toString("utf8")) as { cursors: Record<string, { x: number } | null> };
  for (const c of Object.values(frame.cursors)) {
    if (!c) continue;
    delay.record((now - c.x * CLOCK_WRAP_MS + CLOCK_WRAP_MS) % CLOCK_WRAP_MS);
  }
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

export function cursorsMarkdown(r: CursorsResults): string {
  const rows = r.summary.map((s) => [
    s.mode === "coalesced" ? "coalesced (50 ms tick, latest wins)" : "uncoalesced (a frame per input)",
    fmt(s.inputsPerSec),
    fmtSpan(s.framesPerClientPerSec, s.framesSpan),
    fmtSpan(s.payloadBytesPerClientPerSec / 1024, [s.payloadBytesSpan[0] / 1024, s.payloadBytesSpan[1] / 1024], 1),
    fmt(s.wireBytesPerClientPerSec / 1024, 1),
    fmt(s.demandBytesPerClientPerSec / 1024, 1),
    fmtSpan(s.serverCpuPercent, s.serverCpuSpan),
    fmt(s.serverCpuUsPerInput),
    `${fmt(s.delayP50Ms)} / ${fmt(s.delayP99Ms)}`,
  ]);
  let out = table(
    ["server", "inputs/s", "frames/s per client (min–max)", "payload KiB/s per client (min–max)", "wire KiB/s per client", "needed KiB/s per client", "server CPU % (min–max)", "server CPU µs per input", "move→arrival p50 / p99 ms"],
    rows,
  );
  if (r.ratios) {
    out += `\n\ncoalesced ÷ uncoalesced: frames ${ratio(r.ratios.frames, 1)}, payload bytes ${ratio(r.ratios.payloadBytes, 1)} (${ratio(r.ratios.payloadBytesVsDemand, 1)} of what uncoalesced needs), wire bytes ${ratio(r.ratios.wireBytes, 1)}, server CPU ${ratio(r.ratios.serverCpu, 1)}`;
    const vsNeed = r.ratios.payloadBytesVsDemand <= 1 / 3;
    const vsArrived = r.ratios.payloadBytes <= 1 / 3;
    out += `\ntargets: ≤ ${r.targets.framesPerClientMax} frames/s per client: ${r.targets.framesMet ? "met" : "missed"}; ≤ ⅓ of uncoalesced bytes: ${vsNeed ? "met" : "missed"} against what uncoalesced needs, ${vsArrived ? "met" : "missed"} against what arrived`;
  }
  return out;
}

benchScript(import.meta.url, {
  name: "cursors",
  settings: ({ quick, runs, num }) => ({
    users: num("users", 50),
    hz: num("hz", 60),
    runs: runs ?? (quick ? 1 : 3),
    durationMs: num("duration", quick ? 1000 : 5000),
    warmupMs: num("warmup", quick ? 300 : 1000),
    latencyReceivers: num("latency-receivers", 5),
    quietWaitMs: num("quiet-wait", quick ? 0 : 10_000),
  }),
  run: (settings, progress) => runCursors({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  recorded: (settings, _results, pinning) => ({
    ...settings,
    pinning,
    database: "a fresh Postgres database when one answers, else PGlite in memory (cursors never touch it)",
  }),
  markdown: cursorsMarkdown,
});
