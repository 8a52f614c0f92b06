// The command-line side every benchmark shares: arguments, this process (the load generator)
// pinned to CPU 1, a progress line, the report written (bench/results/<name>.json, kept, and a
// timestamped copy in bench/out/) and the table printed.
import { commandLine, isMain, machineInfo, parseArgs, pinSelf, Progress, writeReport, type Args, type BenchReport } from "./common";

export interface BenchScript<S extends object, R> {
  /** The report's `bench` and its file name in bench/results/ and bench/out/. */
  name: string;
  /** The run's settings from the command line (`args.quick`: the short defaults). */
  settings(args: Args): S;
  run(settings: S, progress: Progress): Promise<R>;
  /** Where the processes run when pinning is available (the report's `settings.pinning`). */
  pinning: string;
  /** The settings as the report records them; without it, the settings and the pinning. */
  recorded?(settings: S, results: R, pinning: string): Record<string, unknown>;
  markdown(results: R): string;
  /** Lines printed after the table, each after a blank line. */
  notes?(results: R): string[];
}

/** Runs the benchmark when `metaUrl`'s module is the script node was started with. */
export function benchScript<S extends object, R>(metaUrl: string, script: BenchScript<S, R>): void {
  if (!isMain(metaUrl)) return;
  runScript(script).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

async function runScript<S extends object, R>(script: BenchScript<S, R>): Promise<void> {
  const args = parseArgs();
  const pinned = pinSelf(1);
  const progress = new Progress(script.name);
  const settings = script.settings(args);
  const startedAt = new Date().toISOString();
  const results = await script.run(settings, progress);
  const pinning = pinned ? script.pinning : "none";
  const report: BenchReport<R> = {
    bench: script.name,
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: args.quick,
    command: commandLine(),
    machine: machineInfo(),
    pinned,
    settings: script.recorded ? script.recorded(settings, results, pinning) : { ...settings, pinning },
    results,
  };
  // `--results NAME`: a second full run kept beside the first (bench/results/NAME.json).
  const file = writeReport(report, args.get("results"));
  console.log(script.markdown(results));
  for (const note of script.notes?.(results) ?? []) console.log(`\n${note}`);
  console.log(`\nJSON: ${file}`);
}
