// The embedded database's own process: PGlite (Postgres compiled to WebAssembly) served on a
// Unix socket, so its queries run on this process's thread and not on the app's. Started and
// supervised by the app (embedded.ts), which talks to it over the socket with the same `pg`
// driver it uses for any Postgres, and over the IPC channel for the few things a socket cannot
// ask: ready, dump the data directory, stop.
//
// It lives as long as the app: when the app's IPC channel closes — it stopped, or was killed —
// this process checkpoints, closes the database and exits, so nothing is orphaned.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import { DataDirClosing, lockDataDir } from "./datadir-lock";
import { PrivateNodeFS, fsyncCount, makeTreePrivate, startParams, syncTree, type Durability } from "./pglite-disk";
import { servePGlite, type PGliteServer } from "./pglite-server";

export interface ChildOptions {
  /** A data directory, or "memory://". */
  dataDir: string;
  durability: Durability;
  socketPath: string;
  /** A data directory tarball to start from (a file). */
  loadDataDirFile?: string;
  /** The app's pid, written into the lock beside ours. */
  appPid: number;
}

/** Parent → child: a question (answered with its id), or stop. */
export type ChildRequest =
  | { type: "dump"; id: number; file: string }
  | { type: "fsyncs"; id: number }
  | { type: "stop" };
/** Child → parent. */
export type ChildReply =
  | { type: "ready" }
  | { type: "failed"; message: string }
  | { type: "answer"; id: number; value?: number; error?: string };

const send = (reply: ChildReply) => process.send?.(reply);

async function main(opts: ChildOptions): Promise<void> {
  let releaseLock = () => {};
  let db: PGlite;
  if (opts.dataDir.startsWith("memory://")) {
    const loadDataDir = opts.loadDataDirFile ? new Blob([readFileSync(opts.loadDataDirFile)]) : undefined;
    db = await PGlite.create({ dataDir: opts.dataDir, loadDataDir });
  } else {
    releaseLock = await lockWhenFree(opts.dataDir, opts.appPid);
    try {
      const fresh = readdirSync(opts.dataDir).length === 0;
      // Owner-only, files included: it holds every message and session.
      makeTreePrivate(opts.dataDir);
      db = await PGlite.create({ fs: new PrivateNodeFS(opts.dataDir, opts.durability), startParams: startParams(opts.durability) });
      if (fresh && opts.durability === "durable") await syncTree(opts.dataDir);
    } catch (err) {
      releaseLock();
      throw err;
    }
  }
  const server: PGliteServer = await servePGlite(db, opts.socketPath);

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await server.close();
      // PGlite's close shuts Postgres down cleanly: a checkpoint, then the files are closed.
      await db.close();
      releaseLock();
      process.exit(0);
    })());

  process.on("message", (req: ChildRequest) => {
    if (req.type === "stop") void stop();
    else if (req.type === "fsyncs") send({ type: "answer", id: req.id, value: fsyncCount() });
    else if (req.type === "dump") {
      db.dumpDataDir("none").then(
        async (blob) => {
          writeFileSync(req.file, Buffer.from(await blob.arrayBuffer()), { mode: 0o600 });
          send({ type: "answer", id: req.id });
        },
        (err: Error) => send({ type: "answer", id: req.id, error: err.message }),
      );
    }
  });
  // The app is gone (stopped or killed): so is its database.
  process.on("disconnect", () => void stop());
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => {}); // a ^C reaches the whole group: the app stops us in its own time
  send({ type: "ready" });
}

/** The data directory's lock, waiting up to 10 s for the database process of an app that is gone to close. */
async function lockWhenFree(dataDir: string, app: number): Promise<() => void> {
  for (let waited = 0; ; waited += 50) {
    try {
      return lockDataDir(dataDir, { app });
    } catch (err) {
      if (!(err instanceof DataDirClosing) || waited >= 10_000) throw err;
      await sleep(50);
    }
  }
}

const opts = JSON.parse(process.argv[2] ?? "{}") as ChildOptions;
main(opts).catch((err: Error) => {
  send({ type: "failed", message: err.message });
  process.exitCode = 1;
  process.disconnect?.();
});
