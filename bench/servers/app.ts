// The app's realtime server (createApp, no Next) on 127.0.0.1, port 0, for benchmarks.
// Options (JSON argv): the database (PGlite in memory, or a Postgres URL) and tuning overrides.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createApp, MIGRATIONS_DIR, type AppOptions } from "../../server/app";
import { loadConfig } from "../../server/config";
import { openDatabase } from "../../server/db/database";
import { migrate } from "../../server/db/migrate";
import { silentLogger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import { childOptions, failToParent, serveParent } from "../lib/child";
import { SEND_LIMITS, type RateLimits } from "../../server/ratelimit";

/** Every per-person limit × 1,000: what a thousand connections had when the limits were per connection. */
const BENCH_RATE_LIMITS = Object.fromEntries(
  Object.entries(SEND_LIMITS).map(([kind, l]) => [kind, { rate: l.rate * 1000, burst: l.burst * 1000 }]),
) as RateLimits;

export interface AppServerOptions {
  /** A fresh Postgres database's URL; PGlite in memory when absent. */
  databaseUrl?: string;
  /** PGlite in a directory on disk (as `npm start` keeps it) instead of in memory. */
  pgliteOnDisk?: boolean;
  tuning?: AppOptions["tuning"];
  /**
   * Keep every limit a deployment keeps (connection caps, sign-ups, rooms, per-person rates) at
   * its default: bench:abuse measures them. Other benchmarks raise them, to measure the server.
   */
  deployedLimits?: boolean;
  /** Listen on this port instead of any free one: a server restarted where its clients left it. */
  port?: number;
}

async function main(): Promise<void> {
  const opts = childOptions<AppServerOptions>();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "rt-bench-app-"));
  const db = await openDatabase(opts.databaseUrl ? { url: opts.databaseUrl, poolSize: 10 } : { dataDir: opts.pgliteOnDisk ? path.join(dataDir, "pglite") : "memory://" });
  await migrate(db, MIGRATIONS_DIR);
  const config = loadConfig({
    NODE_ENV: "production",
    SESSION_SECRET: "bench-secret-bench-secret-bench-secret-0123",
    DATA_DIR: dataDir,
    INSTANCE_ID: "bench",
    LOG_LEVEL: "silent",
    ...(opts.deployedLimits
      ? {}
      : {
          // Load generators sign in thousands of people (and make rooms) from one address.
          SESSIONS_PER_ADDRESS_PER_MINUTE: "1000000",
          ROOMS_PER_PERSON_BURST: "100000",
          // Benchmarks open thousands of connections from 127.0.0.1, many people each holding a
          // lot: the caps a deployment keeps would measure the caps, not the server.
          MAX_CONNECTIONS_PER_PERSON: process.env.MAX_CONNECTIONS_PER_PERSON ?? "1000000",
          MAX_CONNECTIONS_PER_ADDRESS: process.env.MAX_CONNECTIONS_PER_ADDRESS ?? "1000000",
        }),
  });
  const app = await createApp({
    config,
    logger: silentLogger,
    db,
    metrics: createMetrics({ defaultMetrics: false }),
    // Senders share people (50 people over 1,000 sockets in bench:fanout): per-person rate
    // limits raised as the caps are, so the bench measures fan-out, not the limits.
    tuning: { drainSpreadMs: 0, ...(opts.deployedLimits ? {} : { rateLimits: BENCH_RATE_LIMITS }), ...opts.tuning },
  });
  const port = await app.listen(opts.port ?? 0, "127.0.0.1");
  serveParent(
    port,
    {
      async stop() {
        await app.shutdown();
        await db.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
      calls: {
        connections: () => ({ ws: app.ws.size, sse: app.sse.size, poll: app.poll.size }),
        /** rt_slow_consumer_closes_total, all transports. */
        slowConsumerCloses: async () => (await app.metrics.slowConsumerCloses.get()).values.reduce((n, v) => n + v.value, 0),
        /** rt_append_commit_seconds: batches committed and their total time (start to commit). */
        commits: async () => {
          const values = (await app.metrics.commitSeconds.get()).values;
          const of = (name: string) => values.find((v) => v.metricName === `rt_append_commit_seconds_${name}`)?.value ?? 0;
          return { count: of("count"), seconds: of("sum") };
        },
      },
    },
    { database: db.kind },
  );
}

main().catch(failToParent);
