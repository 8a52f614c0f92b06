// Shared by every benchmark: arguments, a progress line on stderr, statistics, the machine's
// description, CPU pinning and the JSON written to bench/results/ and bench/out/.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as hdr from "hdr-histogram-js";

export const BENCH_DIR = path.resolve(import.meta.dirname, "..");
export const REPO_DIR = path.resolve(BENCH_DIR, "..");
/** Every run's JSON, timestamped, and the latest quick run's (gitignored: scratch). */
export const OUT_DIR = path.join(BENCH_DIR, "out");
/** The latest full run of each benchmark (committed): what RESULTS.md's tables are made from. */
export const RESULTS_DIR = path.join(BENCH_DIR, "results");

// ---------------------------------------------------------------------------
// Arguments: `--quick`, `--runs N`, `--name value` and `--flag`.

export interface Args {
  quick: boolean;
  runs: number | undefined;
  get(name: string): string | undefined;
  num(name: string, fallback: number): number;
  has(name: string): boolean;
}

export function parseArgs(argv = process.argv.slice(2)): Args {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) values.set(a.slice(2, eq), a.slice(eq + 1));
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) values.set(a.slice(2), argv[++i]!);
    else values.set(a.slice(2), "true");
  }
  const num = (name: string, fallback: number) => {
    const v = values.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
    return n;
  };
  return {
    quick: values.has("quick"),
    runs: values.has("runs") ? num("runs", 1) : undefined,
    get: (name) => values.get(name),
    num,
    has: (name) => values.has(name),
  };
}

// ---------------------------------------------------------------------------
// Progress: one line on stderr, rewritten in place on a terminal, throttled otherwise.

export class Progress {
  private last = 0;
  private lastText = "";
  private readonly started = performance.now();
  constructor(
    private readonly name: string,
    private readonly enabled = true,
  ) {}

  update(text: string, force = false): void {
    if (!this.enabled) return;
    const now = performance.now();
    const tty = process.stderr.isTTY;
    if (!force && now - this.last < (tty ? 100 : 2000)) return;
    this.last = now;
    const line = `[${this.name} ${((now - this.started) / 1000).toFixed(0).padStart(3)}s] ${text}`;
    if (tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else if (line !== this.lastText) process.stderr.write(`${line}\n`);
    this.lastText = line;
  }

  /** A line that stays (a finished step). */
  note(text: string): void {
    if (!this.enabled) return;
    const line = `[${this.name}] ${text}`;
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  done(): void {
    if (this.enabled && process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  }
}

// ---------------------------------------------------------------------------
// Statistics

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The lowest and highest of a set of runs' values (NaNs left out): the spread beside a median. */
export type Span = [min: number, max: number];

export function span(xs: number[], digits = 2): Span {
  const ok = xs.filter((x) => !Number.isNaN(x));
  return ok.length ? [round(Math.min(...ok), digits), round(Math.max(...ok), digits)] : [NaN, NaN];
}

/** "median (min–max)" — just the median when the runs agree or there was one. */
export function fmtSpan(med: number, s: Span | undefined, digits?: number): string {
  if (!s || !Number.isFinite(s[0]) || fmt(s[0], digits) === fmt(s[1], digits)) return fmt(med, digits);
  return `${fmt(med, digits)} (${fmt(s[0], digits)}–${fmt(s[1], digits)})`;
}

/** A latency histogram in microseconds (1 µs to 10 min, 3 significant digits). */
export class Latency {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  /** Records a latency given in milliseconds. */
  record(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }
  get count(): number {
    return this.h.totalCount;
  }
  /** Percentile in milliseconds (NaN when empty). */
  p(q: number): number {
    return this.h.totalCount === 0 ? NaN : this.h.getValueAtPercentile(q) / 1000;
  }
  summary(): { count: number; p50: number; p90: number; p99: number; max: number } {
    return { count: this.count, p50: this.p(50), p90: this.p(90), p99: this.p(99), max: this.p(100) };
  }
  reset(): void {
    this.h.reset();
  }
}

export function round(n: number, digits = 2): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** 12345.6 → "12,346"; small numbers keep a few significant digits. */
export function fmt(n: number, digits?: number): string {
  if (!Number.isFinite(n)) return "–";
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2);
  return n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
}

export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  const r = a / b;
  return `${r >= 10 ? r.toFixed(1) : r >= 1 ? r.toFixed(2) : r.toFixed(3)}×`;
}

/** A Markdown table. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------
// The machine

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memGiB: number;
  node: string;
  platform: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1]!.trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    // The machine's cores: availableParallelism() is this process's affinity, 1 once pinned.
    nproc: os.cpus().length,
    cpuModel,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
  };
}

// ---------------------------------------------------------------------------
// Background load: other work on the machine skews every number, so each sample records how
// busy the machine was just before it, and waits (bounded) for a quiet moment first.

function cpuTimes(): { busy: number; total: number } | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** Fraction (0–1) of all cores busy over the next `ms` milliseconds; NaN off Linux. */
export async function machineBusy(ms = 500): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return NaN;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits until the machine is quiet (busy below `maxBusy` over half a second) or `maxWaitMs`
 * passes. Call it while this benchmark's own processes are idle. Returns the last busy fraction.
 */
export async function waitForQuiet(opts: { maxBusy?: number; maxWaitMs?: number; progress?: Progress } = {}): Promise<number> {
  const maxBusy = opts.maxBusy ?? 0.15;
  if ((opts.maxWaitMs ?? 1) <= 0) return round(await machineBusy(100), 3);
  const deadline = performance.now() + (opts.maxWaitMs ?? 15_000);
  for (;;) {
    const busy = await machineBusy(500);
    if (!(busy > maxBusy) || performance.now() >= deadline) return round(busy, 3);
    opts.progress?.update(`waiting for a quiet machine (${Math.round(busy * 100)}% busy)`, true);
  }
}

/**
 * Nanoseconds the process's main thread has spent runnable but waiting for a CPU
 * (/proc/<pid>/schedstat); NaN where the kernel does not say. Its growth over a window is
 * how much other work on the same core held the process back.
 */
export function runQueueWaitNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]);
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------
// CPU pinning: the server on one core, the load generator on another.

let tasksetUsable: boolean | undefined;

/**
 * True when `taskset` runs and the machine has two cores or more. Counts the machine's cores,
 * not this process's affinity: once the load generator has pinned itself to CPU 1,
 * `os.availableParallelism()` says 1, and a server child asked for CPU 0 would silently stay
 * unpinned, inheriting CPU 1 and sharing the load generator's core.
 */
export function hasTaskset(): boolean {
  if (tasksetUsable === undefined) {
    try {
      execFileSync("taskset", ["-V"], { stdio: "ignore" });
      tasksetUsable = os.cpus().length >= 2;
    } catch {
      tasksetUsable = false;
    }
  }
  return tasksetUsable;
}

/** Pins this process (all its threads) to one core; false when pinning is not available. */
export function pinSelf(core: number): boolean {
  if (!hasTaskset()) return false;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", String(core), String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Raises this process's open-file limit (needs `prlimit`; as root the hard limit too). */
export function raiseFileLimit(want: number): number {
  const current = () => {
    try {
      const out = execFileSync("prlimit", ["--pid", String(process.pid), "--nofile", "--raw", "--noheadings"], { encoding: "utf8" });
      const [soft] = out.trim().split(/\s+/).slice(-3);
      return Number(soft);
    } catch {
      return NaN;
    }
  };
  try {
    execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${want}:${want}`], { stdio: "ignore" });
  } catch {
    try {
      // Not allowed to raise the hard limit: take the soft limit up to it.
      const out = execFileSync("prlimit", ["--pid", String(process.pid), "--nofile", "--raw", "--noheadings"], { encoding: "utf8" });
      const hard = Number(out.trim().split(/\s+/).slice(-2)[0]);
      if (hard > 0) execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${hard}:${hard}`], { stdio: "ignore" });
    } catch {
      // no prlimit: keep what we have
    }
  }
  return current();
}

// ---------------------------------------------------------------------------
// Output

export interface BenchReport<R = unknown> {
  bench: string;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  command: string;
  machine: MachineInfo;
  pinned: boolean;
  settings: Record<string, unknown>;
  results: R;
  /** The commit the code under test was at, and whether server/ or lib/ had uncommitted edits. */
  git?: { commit: string; dirty: boolean };
}

/**
 * Writes the report twice: a timestamped copy in bench/out/ (scratch, gitignored), and the
 * latest where it is kept — bench/results/<name>.json for a full run (committed beside
 * RESULTS.md, whose tables are made from it), bench/out/<name>-quick.json for a `--quick` one,
 * so a smoke run never replaces published numbers. `resultsName` keeps a second full run of
 * the same bench beside the first (`--results fanout-50rooms`). Returns the latest's path.
 */
export function writeReport(report: BenchReport, resultsName?: string): string {
  if (resultsName !== undefined && !/^[\w.-]+$/.test(resultsName)) throw new Error(`--results takes a file name (letters, digits, . _ -), got "${resultsName}"`);
  mkdirSync(OUT_DIR, { recursive: true });
  report = { ...report, ...gitState() };
  const stamp = report.startedAt.replace(/[:.]/g, "-");
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(path.join(OUT_DIR, `${report.bench}-${stamp}.json`), text);
  let latest: string;
  if (report.quick) latest = path.join(OUT_DIR, `${resultsName ?? report.bench}-quick.json`);
  else {
    mkdirSync(RESULTS_DIR, { recursive: true });
    latest = path.join(RESULTS_DIR, `${resultsName ?? report.bench}.json`);
  }
  writeFileSync(latest, text);
  return latest;
}

/** The commit the code under test was at, and whether server/lib had uncommitted edits. */
function gitState(): Pick<BenchReport, "git"> {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_DIR, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "server", "lib"], { cwd: REPO_DIR, encoding: "utf8" }).trim() !== "";
    return { git: { commit, dirty } };
  } catch {
    return {};
  }
}

export function commandLine(): string {
  const script = path.relative(REPO_DIR, process.argv[1] ?? "");
  return ["node_modules/.bin/tsx", script, ...process.argv.slice(2)].join(" ");
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True when this module's file is the script node was started with. */
export function isMain(metaUrl: string): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  const self = new URL(metaUrl).pathname;
  return path.resolve(argv1) === self || path.resolve(argv1) === self.replace(/\.ts$/, "");
}

/** Orders of the variants for run i: rotated, so each goes first equally often (alternating runs). */
export function rotation<T>(items: T[], run: number): T[] {
  const k = run % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
