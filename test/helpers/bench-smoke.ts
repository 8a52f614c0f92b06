// What the benchmark smoke tests share: whether Postgres is there, and the check that a
// benchmark's results render as its RESULTS.md section.
import { expect } from "vitest";
import { machineInfo } from "../../bench/lib/common";
import { renderReport, type AnyResults } from "../../bench/report";

export const withPostgres = Boolean(process.env.DATABASE_URL);
export const finiteNonNegative = (n: number) => Number.isFinite(n) && n >= 0;

/** RESULTS.md's section for these results, rendered as bench/report.ts renders a kept JSON file. */
export function expectRendered(bench: string, results: AnyResults, rowLabels: string[]): void {
  const md = renderReport({
    bench,
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    quick: true,
    command: `node_modules/.bin/tsx bench/${bench}.ts --quick`,
    machine: machineInfo(),
    pinned: false,
    settings: {},
    results,
  });
  expect(md).toContain(`## ${bench}`);
  expect(md).toMatch(/^\| (--- \| )+---? ?\|?$/m);
  for (const label of rowLabels) expect(md).toContain(`| ${label} |`);
  expect(md).not.toMatch(/undefined|NaN|\[object/);
}

