// npm run bench: every benchmark in turn, each in its own process (as `npm run bench:<name>`),
// with the same arguments (e.g. --quick). Stops at the first one that fails.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { BENCH_DIR, REPO_DIR } from "./lib/common";

const BENCHES = ["append", "cursors", "fanout", "transports", "idle", "slow", "abuse", "restart", "canvas"];
const only = process.argv.slice(2).find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const args = process.argv.slice(2).filter((a) => !a.startsWith("--only="));

for (const name of BENCHES.filter((b) => !only || only.includes(b))) {
  process.stderr.write(`\n=== bench:${name} ===\n`);
  const r = spawnSync(path.join(REPO_DIR, "node_modules/.bin/tsx"), [path.join(BENCH_DIR, `${name}.ts`), ...args], {
    cwd: REPO_DIR,
    stdio: "inherit",
  });
  if (r.status !== 0) {
    process.stderr.write(`bench:${name} failed (${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}
