import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts", "test/abuse/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files start servers and databases; two cores, so two at a time.
    maxWorkers: 2,
    reporters: process.env.CI ? ["default"] : ["default"],
  },
  resolve: { alias: { "@": new URL(".", import.meta.url).pathname } },
});
