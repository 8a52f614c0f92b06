// `npm run test:cluster`: real server processes (several instances behind a real nginx, the dev
// server with its HMR socket), one file at a time
// (each file runs its own cluster; two cores do not fit two). Kept apart from `vitest.config.ts`:
// slow, and it needs Postgres, redis-server and nginx on the machine.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/cluster/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    env: {
      // The machine's Postgres (see shared/DESIGN.md) when the environment names none.
      DATABASE_URL: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    },
  },
  resolve: { alias: { "@": new URL(".", import.meta.url).pathname } },
});
