// The app's server for a benchmark: a child process on a fresh Postgres database (dropped when
// the server stops) when Postgres is wanted and answers, else on PGlite in memory (or on disk,
// in the server's temporary data directory, removed when it stops). The embedded database's own
// process is let run on every core, as Postgres does: only the app is pinned.
import { execFileSync } from "node:child_process";
import os from "node:os";
import type { AppServerOptions } from "../servers/app";
import { descendants, startServerChild, type ServerChild, type StartChildOptions } from "./child";
import { createPostgresDatabase, dropPostgresDatabase, postgresAvailable } from "./db";

/** Postgres for the app's server when wanted (the default) and a server answers. */
export async function usePostgres(wanted = true): Promise<boolean> {
  return wanted && (await postgresAvailable());
}

export async function startAppServer(
  opts: { postgres: boolean; pgliteOnDisk?: boolean; tuning?: AppServerOptions["tuning"]; deployedLimits?: boolean },
  child: StartChildOptions = {},
): Promise<ServerChild & { database: "postgres" | "pglite-memory" | "pglite-disk" }> {
  const url = opts.postgres ? await createPostgresDatabase() : undefined;
  try {
    const server = await startServerChild("app", { databaseUrl: url, pgliteOnDisk: opts.pgliteOnDisk, tuning: opts.tuning, deployedLimits: opts.deployedLimits } satisfies AppServerOptions, child);
    if (server.pinned) {
      const all = `0-${os.cpus().length - 1}`;
      for (const pid of descendants(server.pid)) execFileSync("taskset", ["-a", "-p", "-c", all, String(pid)], { stdio: "ignore" });
    }
    return {
      ...server,
      database: url ? "postgres" : opts.pgliteOnDisk ? "pglite-disk" : "pglite-memory",
      async stop() {
        await server.stop();
        if (url) await dropPostgresDatabase(url).catch(() => {});
      },
    };
  } catch (err) {
    if (url) await dropPostgresDatabase(url).catch(() => {});
    throw err;
  }
}
