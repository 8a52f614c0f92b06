// Prints the tables of bench/RESULTS.md from the kept JSON of each benchmark in bench/results/
// (the latest full run of each; a `--results NAME` run under its own name): the machine, each
// bench's table, its exact command and when it ran.
//   node_modules/.bin/tsx bench/report.ts [append cursors … fanout-50rooms …]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { abuseMarkdown, type AbuseResults } from "./abuse";
import { appendMarkdown, type AppendResults } from "./append";
import { canvasMarkdown, type CanvasResults } from "./canvas";
import { cursorsMarkdown, type CursorsResults } from "./cursors";
import { fanoutMarkdown, type FanoutResults } from "./fanout";
import { idleMarkdown, type IdleResults } from "./idle";
import { isMain, median, RESULTS_DIR, type BenchReport, type MachineInfo } from "./lib/common";
import { restartMarkdown, type RestartResults } from "./restart";
import { slowMarkdown, type SlowResults } from "./slow";
import { transportsMarkdown, type TransportsResults } from "./transports";

export type AnyResults = AppendResults | CursorsResults | FanoutResults | TransportsResults | IdleResults | SlowResults | AbuseResults | RestartResults | CanvasResults;

const RENDER: Record<string, (r: never) => string> = {
  append: appendMarkdown as (r: never) => string,
  cursors: cursorsMarkdown as (r: never) => string,
  fanout: fanoutMarkdown as (r: never) => string,
  transports: transportsMarkdown as (r: never) => string,
  idle: idleMarkdown as (r: never) => string,
  slow: slowMarkdown as (r: never) => string,
  abuse: abuseMarkdown as (r: never) => string,
  restart: restartMarkdown as (r: never) => string,
  canvas: canvasMarkdown as (r: never) => string,
};
export const BENCH_NAMES = Object.keys(RENDER);

export function machineLine(m: MachineInfo): string {
  return `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memGiB} GiB, Node ${m.node}, ${m.platform}, Linux ${m.kernel}`;
}

/** One bench's section of RESULTS.md: its heading, command, time and background load, its table. */
export function renderReport(report: BenchReport<AnyResults>, title: string = report.bench): string {
  const render = RENDER[report.bench];
  if (!render) throw new Error(`no table for a bench named "${report.bench}"`);
  const samples = (report.results as { samples: Array<{ background?: number }> }).samples;
  const bg = samples.map((s) => s.background ?? NaN).filter(Number.isFinite);
  const when = `${report.startedAt.slice(0, 16).replace("T", " ")} UTC`;
  const busy = bg.length ? `, machine busy before each sample: median ${Math.round(median(bg) * 100)}%, max ${Math.round(Math.max(...bg) * 100)}%` : "";
  const code = report.git ? `, code at ${report.git.commit}${report.git.dirty ? " (with uncommitted changes)" : ""}` : "";
  return `## ${title}\n\n\`${report.command}\` — ${when}, ${samples.length} samples${busy}${code}\n\n${render(report.results as never)}\n`;
}

function main(argv: string[]): void {
  const kept = existsSync(RESULTS_DIR) ? readdirSync(RESULTS_DIR).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -".json".length)) : [];
  // The benches in their order, then any second runs kept under their own names.
  const names = argv.length ? argv : [...BENCH_NAMES, ...kept.filter((k) => !BENCH_NAMES.includes(k)).sort()];
  let machineShown = false;
  for (const name of names) {
    const file = path.join(RESULTS_DIR, `${name}.json`);
    if (!existsSync(file)) {
      const how = BENCH_NAMES.includes(name) ? `: run \`npm run bench:${name}\`` : "";
      console.log(`## ${name}\n\n(no results in ${path.relative(process.cwd(), file)}${how})\n`);
      continue;
    }
    const report = JSON.parse(readFileSync(file, "utf8")) as BenchReport<AnyResults>;
    if (!machineShown) {
      console.log(`${machineLine(report.machine)}\n`);
      machineShown = true;
    }
    console.log(renderReport(report, name));
  }
}

if (isMain(import.meta.url)) main(process.argv.slice(2));
