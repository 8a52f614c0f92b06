// Reads a V8 sampling heap profile (.heapprofile, as the child's profileStop writes it beside
// its CPU profile when asked for `heap`) and adds up the bytes allocated per function: self
// (allocated by the function itself) and total (by it and what it called), plus self per area.
// The samples include what was collected before the profile stopped, so this is what a window
// allocated, the work every young-generation collection pays for, not what it kept.
//   node_modules/.bin/tsx bench/lib/heapprofile.ts FILE.heapprofile [--top 25]
import { areaOf, label, printProfiles, type CallFrame } from "./cpuprofile";
import { isMain, table } from "./common";

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
export interface HeapProfile {
  head: HeapNode;
}

export interface HeapSummary {
  totalBytes: number;
  functions: Array<{ fn: string; where: string; area: string; selfBytes: number; totalBytes: number }>;
  areas: Array<{ area: string; selfBytes: number }>;
}

export function summarizeHeapProfile(p: HeapProfile): HeapSummary {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  const areas = new Map<string, number>();
  let all = 0;
  const walk = (node: HeapNode, stack: ReadonlySet<string>) => {
    const { fn, where } = label(node.callFrame);
    const key = `${fn}\u0000${where}`;
    frames.set(key, node.callFrame);
    const onStack = stack.has(key) ? stack : new Set([...stack, key]);
    all += node.selfSize;
    self.set(key, (self.get(key) ?? 0) + node.selfSize);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + node.selfSize);
    // Counted once per function however often it recurs on the stack.
    if (node.selfSize > 0) for (const k of onStack) total.set(k, (total.get(k) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child, onStack);
  };
  walk(p.head, new Set());
  return {
    totalBytes: all,
    functions: [...total.keys()].map((k) => {
      const [fn, where] = k.split("\u0000") as [string, string];
      return { fn, where, area: areaOf(frames.get(k)!), selfBytes: self.get(k) ?? 0, totalBytes: total.get(k) ?? 0 };
    }),
    areas: [...areas].map(([area, selfBytes]) => ({ area, selfBytes })).sort((a, b) => b.selfBytes - a.selfBytes),
  };
}

export function heapProfileMarkdown(s: HeapSummary, top = 25): string {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const pct = (n: number) => `${((n / Math.max(1, s.totalBytes)) * 100).toFixed(1)}%`;
  const bySelf = [...s.functions].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top);
  const byTotal = [...s.functions].filter((f) => f.area === "server" || f.area === "lib").sort((a, b) => b.totalBytes - a.totalBytes).slice(0, top);
  return [
    `Allocated in the window (sampled): ${mib(s.totalBytes)} MiB. Percentages are of that.`,
    "**Allocated by area (self)**",
    table(["area", "MiB", "%"], s.areas.map((a) => [a.area, mib(a.selfBytes), pct(a.selfBytes)])),
    `**Top ${top} functions by bytes allocated themselves**`,
    table(["function", "where", "area", "self MiB", "self %", "total %"], bySelf.map((f) => [f.fn, f.where, f.area, mib(f.selfBytes), pct(f.selfBytes), pct(f.totalBytes)])),
    "**The app's own functions by bytes allocated with their callees**",
    table(["function", "where", "total MiB", "total %", "self %"], byTotal.map((f) => [f.fn, f.where, mib(f.totalBytes), pct(f.totalBytes), pct(f.selfBytes)])),
  ].join("\n\n");
}

if (isMain(import.meta.url)) {
  printProfiles("tsx bench/lib/heapprofile.ts FILE.heapprofile [--top N]", (p, top) => heapProfileMarkdown(summarizeHeapProfile(p as HeapProfile), top));
}
