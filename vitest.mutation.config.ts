// The tests a mutation run uses: the fast deterministic unit tests (fake clocks, fake sockets) and
// the event log's contract suite. Each mutant reruns the files that cover it, so files that start
// a server or a database per run are left out — a run over server/state/* took ~55 minutes with
// test/unit/ws-protocol.test.ts in, for the same few kills. docs/MUTATION.md lists what each
// surviving mutant would need. The docs test is left out too: it reads the source files the
// tutorial quotes, and in Stryker's sandbox they hold the instrumented code.
import { defineConfig } from "vitest/config";
import base from "./vitest.config";

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // MUTATION_TESTS narrows a run to the files named (comma-separated): the event log's own
    // contract suite, say, rather than every file that imports the log.
    include: process.env.MUTATION_TESTS ? process.env.MUTATION_TESTS.split(",") : ["test/unit/**/*.test.ts", "test/integration/eventlog.contract.test.ts"],
    exclude: ["node_modules/**", "test/unit/ws-protocol.test.ts", "test/unit/docs.test.ts"],
    maxWorkers: 1,
  },
});
