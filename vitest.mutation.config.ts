// The tests a mutation run uses: the deterministic unit tests (fake clocks, in-memory sockets,
// PGlite) and the event log's contract suite. The integration tests of real servers are left
// out: each mutant reruns the tests that cover it, and a server start per mutant would take hours.
import { defineConfig } from "vitest/config";
import base from "./vitest.config";

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/unit/**/*.test.ts", "test/integration/eventlog.contract.test.ts"],
    maxWorkers: 1,
  },
});
