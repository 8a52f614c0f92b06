// Reads a V8 CPU profile (.cpuprofile, as `node --cpu-prof` or the child's profileStop writes
// it) and adds up time per function: self time (the function itself on top of the stack) and
// total time (anywhere on the stack, counted once per sample), plus self time per area (the
// app's server code, ws, pg, Node's internals, GC, idle).
//   node_modules/.bin/tsx bench/lib/cpuprofile.ts FILE.cpuprofile [--top 25]
import { readFileSync } from "node:fs";
import path from "node:path";
import { isMain, parseArgs, REPO_DIR, table } from "./common";

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  fn: string;
  where: string;
  area: string;
  selfMs: number;
  totalMs: number;
  /** Of the profile's time excluding idle. */
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  durationMs: number;
  /** Time not idle: the process was running JavaScript, GC or native code. */
  busyMs: number;
  functions: FunctionTime[];
  areas: Array<{ area: string; selfMs: number; selfPct: number }>;
}

/** Where a frame's code lives, in a few words. */
export function areaOf(f: CallFrame): string {
  const name = f.functionName;
  if (name === "(idle)") return "idle";
  if (name === "(garbage collector)") return "GC";
  if (name === "(program)") return "native (program)";
  const url = f.url;
  if (url === "") return "native";
  if (url.startsWith("node:")) return "node internals";
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const rel = path.relative(REPO_DIR, url.replace(/^file:\/\//, ""));
  if (rel.startsWith("server/")) return "server";
  if (rel.startsWith("lib/")) return "lib";
  if (rel.startsWith("bench/")) return "bench";
  return "other";
}

export function label(f: CallFrame): { fn: string; where: string } {
  const url = f.url.replace(/^file:\/\//, "");
  const file = url.includes("node_modules/") ? url.slice(url.lastIndexOf("node_modules/") + 13) : url.startsWith("/") ? path.relative(REPO_DIR, url) : url;
  return { fn: f.functionName || "(anonymous)", where: file ? `${file}:${f.lineNumber + 1}` : "" };
}

export function summarizeProfile(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) => {
    const { fn, where } = label(n.callFrame);
    return `${fn}\u0000${where}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  let idleUs = 0;
  let allUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the time since the previous sample: it belongs to sample i - 1, and
    // the last sample gets the mean.
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1]! : 0;
    const node = byId.get(p.samples[i]!);
    if (!node || dt <= 0) continue;
    allUs += dt;
    const area = areaOf(node.callFrame);
    if (area === "idle") {
      idleUs += dt;
      continue;
    }
    const k = keyOf(node);
    frames.set(k, node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      if (n.callFrame.functionName === "(root)") break;
      const nk = keyOf(n);
      frames.set(nk, n.callFrame);
      if (seen.has(nk)) continue;
      seen.add(nk);
      total.set(nk, (total.get(nk) ?? 0) + dt);
    }
  }
  const busyUs = allUs - idleUs;
  const pct = (us: number) => Math.round((us / Math.max(1, busyUs)) * 1000) / 10;
  const functions = [...total.keys()].map((k) => {
    const [fn, where] = k.split("\u0000") as [string, string];
    const s = self.get(k) ?? 0;
    const t = total.get(k) ?? 0;
    return { fn, where, area: areaOf(frames.get(k)!), selfMs: s / 1000, totalMs: t / 1000, selfPct: pct(s), totalPct: pct(t) };
  });
  return {
    durationMs: (p.endTime - p.startTime) / 1000,
    busyMs: busyUs / 1000,
    functions,
    areas: [...areas].map(([area, us]) => ({ area, selfMs: us / 1000, selfPct: pct(us) })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function profileMarkdown(s: ProfileSummary, top = 25): string {
  const ms = (n: number) => n.toFixed(0);
  const bySelf = [...s.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  const byTotal = [...s.functions].filter((f) => f.area === "server" || f.area === "lib").sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
  return [
    `Profile: ${ms(s.durationMs)} ms, busy (not idle) ${ms(s.busyMs)} ms (${((s.busyMs / s.durationMs) * 100).toFixed(0)}%). Percentages are of the busy time.`,
    "**Self time by area**",
    table(["area", "self ms", "self %"], s.areas.map((a) => [a.area, ms(a.selfMs), `${a.selfPct}%`])),
    `**Top ${top} functions by self time**`,
    table(["function", "where", "area", "self ms", "self %", "total %"], bySelf.map((f) => [f.fn, f.where, f.area, ms(f.selfMs), `${f.selfPct}%`, `${f.totalPct}%`])),
    `**The app's own functions by total time (self + callees)**`,
    table(["function", "where", "total ms", "total %", "self %"], byTotal.map((f) => [f.fn, f.where, ms(f.totalMs), `${f.totalPct}%`, `${f.selfPct}%`])),
  ].join("\n\n");
}

/**
 * The command line of a profile reader: each file named, read as JSON and written out as
 * markdown (`--top N`: how many functions in each table).
 */
export function printProfiles(usage: string, markdown: (profile: unknown, top: number) => string): void {
  const args = parseArgs();
  const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && all[i - 1] !== "--top");
  if (files.length === 0) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  for (const file of files) {
    console.log(`### ${path.basename(file)}\n`);
    console.log(markdown(JSON.parse(readFileSync(file, "utf8")), args.num("top", 25)));
    console.log("");
  }
}

if (isMain(import.meta.url)) {
  printProfiles("tsx bench/lib/cpuprofile.ts FILE.cpuprofile [--top N]", (p, top) => profileMarkdown(summarizeProfile(p as CpuProfile), top));
}
