import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts", "test/abuse/**/*.test.ts"],
    // A test that loops forever fails at testTimeout only if the loop yields to the event loop:
    // the hub's replay yields between pages, and the test helpers bound their synchronous loops
    // (frames per flush, frames per socket) and throw. Teardown destroys every connection, so a
    // hook that takes seconds is a leak, not a slow machine; the hook timeout covers start-up.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 5_000,
    // Integration files start servers and databases, and spend most of their time waiting on
    // them: three at a time keep two cores busy (two left them idle a quarter of the run).
    maxWorkers: 3,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
  resolve: { alias: { "@": new URL(".", import.meta.url).pathname } },
});
