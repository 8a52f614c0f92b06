// Prints the tables of bench/RESULTS.md from the latest JSON of each benchmark in bench/out/:
// the machine, each bench's table, its exact command and when it ran.
//   node_modules/.bin/tsx bench/report.ts [append cursors …]
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { appendMarkdown, type AppendResults } from "./append";
import { cursorsMarkdown, type CursorsResults } from "./cursors";
import { fanoutMarkdown, type FanoutResults } from "./fanout";
import { idleMarkdown, type IdleResults } from "./idle";
import { median, OUT_DIR, type BenchReport } from "./lib/common";
import { slowMarkdown, type SlowResults } from "./slow";
import { transportsMarkdown, type TransportsResults } from "./transports";

const render: Record<string, (r: never) => string> = {
  append: appendMarkdown as (r: never) => string,
  cursors: cursorsMarkdown as (r: never) => string,
  fanout: fanoutMarkdown as (r: never) => string,
  transports: transportsMarkdown as (r: never) => string,
  idle: idleMarkdown as (r: never) => string,
  slow: slowMarkdown as (r: never) => string,
};

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(render);
let machineShown = false;
for (const name of names) {
  const file = path.join(OUT_DIR, `${name}.json`);
  if (!existsSync(file)) {
    console.log(`## ${name}\n\n(no results in bench/out/${name}.json)\n`);
    continue;
  }
  const report = JSON.parse(readFileSync(file, "utf8")) as BenchReport<AppendResults | CursorsResults | FanoutResults | TransportsResults | IdleResults | SlowResults>;
  if (!machineShown) {
    const m = report.machine;
    console.log(`Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memGiB} GiB, Node ${m.node}, ${m.platform}, Linux ${m.kernel}\n`);
    machineShown = true;
  }
  const samples = (report.results as { samples: Array<{ background?: number }> }).samples;
  const bg = samples.map((s) => s.background ?? NaN).filter(Number.isFinite);
  console.log(`## ${name}\n`);
  console.log(`\`${report.command}\` — ${report.startedAt.slice(0, 16).replace("T", " ")} UTC, ${samples.length} samples` +
    (bg.length ? `, machine busy before each sample: median ${Math.round(median(bg) * 100)}%, max ${Math.round(Math.max(...bg) * 100)}%` : "") + "\n");
  console.log(render[name]!(report.results as never));
  console.log("");
}
