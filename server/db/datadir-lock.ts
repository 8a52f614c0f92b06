// PGlite is single-process: two processes on one data directory corrupt it. A pid file next to
// the directory refuses the second one with a clear message; one left by a dead process is
// taken over.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Reads `/proc/<pid>/stat`; injectable for tests. Throws when there is no such file. */
export type ProcStatReader = (pid: number) => string;

const readProcStat: ProcStatReader = (pid) => readFileSync(`/proc/${pid}/stat`, "utf8");

/** The lock is held by a database process whose app is gone: it is closing, and will let go. */
export class DataDirClosing extends Error {}

export interface LockOptions {
  /** The app this database process serves (written beside its own pid); default: this process. */
  app?: number;
  readStat?: ProcStatReader;
}

/**
 * Takes the lock for `dataDir` (creating the directory, owner-only) or throws if a live process
 * holds it. Returns the release function.
 *
 * The lock names two processes, the database's and the app's (`<pid> <app pid>`; a lock from
 * before names one). While the app lives the directory is refused to anyone else; when the app
 * is gone but its database process is still closing (a killed app's child checkpoints and
 * exits), it throws DataDirClosing, and the caller waits a moment and tries again.
 */
export function lockDataDir(dataDir: string, opts: LockOptions = {}): () => void {
  const readStat = opts.readStat ?? readProcStat;
  const record = `${process.pid} ${opts.app ?? process.pid}`;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockFile = path.join(path.dirname(path.resolve(dataDir)), `${path.basename(dataDir)}.lock`);
  try {
    writeFileSync(lockFile, record, { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const [owner = 0, app = owner] = readFileSync(lockFile, "utf8").trim().split(/\s+/).map(Number);
    if (owner && owner !== process.pid) {
      if (isAlive(app, readStat)) {
        throw new Error(
          `The embedded database in ${dataDir} is in use by process ${app}. ` +
            "Stop it, or set DATABASE_URL to a Postgres server to run several instances.",
        );
      }
      if (isAlive(owner, readStat)) throw new DataDirClosing(`The embedded database in ${dataDir} is still closing (process ${owner}).`);
    }
    writeFileSync(lockFile, record, { mode: 0o600 });
  }
  return () => rmSync(lockFile, { force: true });
}

/**
 * Whether `pid` is a running process. A zombie — exited, not yet reaped by its parent, as a
 * server killed with `kill -9` is until its supervisor calls wait() — still answers signal 0,
 * but it holds no files any more: it counts as dead, or a restart right after the kill would
 * be refused.
 */
export function isAlive(pid: number, readStat: ProcStatReader = readProcStat): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const state = processState(pid, readStat);
  return state !== "Z" && state !== "X";
}

/**
 * The state letter from `/proc/<pid>/stat` (R, S, D, Z, …), or undefined where there is no
 * /proc (macOS) or the process is gone. The name field can hold spaces and parentheses, so
 * the state is the first field after the last `)`.
 */
export function processState(pid: number, readStat: ProcStatReader = readProcStat): string | undefined {
  let stat: string;
  try {
    stat = readStat(pid);
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(")") + 1).trim().split(" ")[0] || undefined;
}
