// The embedded database's files on disk: on the disk before a commit is acknowledged, and
// readable by this user only.
//
// PGlite is Postgres compiled to WebAssembly; its files go through Emscripten's NODEFS, a thin
// layer over Node's `fs`. Out of the box that loses durability twice over:
//   1. PGlite starts Postgres with `-F` (fsync=off), so a commit never asks for an fsync;
//   2. NODEFS has no `fsync` operation, so even with fsync=on the request is dropped on the way
//      to the OS. (`fdatasync`, Postgres' default way to flush the WAL on Linux, does not even
//      reach NODEFS from the WebAssembly build; `fsync` does.)
// A killed process loses nothing either way (the OS has the writes), but a power cut or kernel
// crash could lose acknowledged messages or leave a torn store. So, unless told otherwise:
// fsync=on, the WAL flushed with `fsync`, and NODEFS given an `fsync` that calls the OS's.
import { chmodSync, fsyncSync, readdirSync } from "node:fs";
import { open, readdir } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";

/**
 * `durable`: a commit returns once its WAL is fsynced (Postgres' own guarantee).
 * `relaxed`: PGlite's default, fsync=off — the OS writes in its own time; for tests and benches.
 */
export type Durability = "durable" | "relaxed";

/** Postgres' start flags for the embedded database. */
export function startParams(durability: Durability): string[] {
  const defaults = PGlite.defaultStartParams;
  if (durability === "relaxed") return [...defaults];
  return [
    ...defaults.filter((p) => p !== "-F"),
    "-c",
    "fsync=on",
    "-c",
    "synchronous_commit=on",
    "-c",
    "wal_sync_method=fsync",
  ];
}

let fsyncs = 0;
/** How many fsyncs the embedded databases of this process have made on disk (tests, checks). */
export const fsyncCount = (): number => fsyncs;

/** Owner-only modes: directories 0700, files 0600 (whatever Postgres asked for). */
const privateMode = (mode: number, isDir: boolean): number => mode & (isDir ? ~0o077 : ~0o177);

/** The slice of Emscripten's module this file touches. */
type SetAttr = (target: unknown, attr: { mode?: number }) => void;
interface EmscriptenFs {
  FS: { isDir(mode: number): boolean };
  NODEFS: {
    /** Runs a Node `fs` call, turning its error into the errno Postgres sees. */
    tryFSOperation<T>(f: () => T): T;
    node_ops: { mknod(parent: unknown, name: string, mode: number, dev: number): unknown; setattr: SetAttr };
    stream_ops: { setattr: SetAttr; fsync?: (stream: { nfd: number }) => number };
  };
}

/**
 * PGlite's NodeFS with the two things NODEFS lacks: an `fsync` that reaches the disk (when
 * durable), and files and directories created owner-only (NODEFS creates them 0666/0777 less
 * the process umask, and the WebAssembly Postgres' own `umask(0077)` never reaches the OS).
 */
export class PrivateNodeFS extends NodeFS {
  constructor(
    dataDir: string,
    private readonly durability: Durability,
  ) {
    super(dataDir);
  }

  override async init(pg: PGlite, opts: Parameters<NodeFS["init"]>[1]) {
    const result = await super.init(pg, opts);
    const patch = (mod: EmscriptenFs) => {
      const { FS, NODEFS } = mod;
      const mknod = NODEFS.node_ops.mknod;
      NODEFS.node_ops.mknod = (parent, name, mode, dev) => mknod(parent, name, privateMode(mode, FS.isDir(mode)), dev);
      // Emscripten's open(O_CREAT) chmods the new file to the mode asked for (0666): same rule.
      const privateSetAttr = (setattr: SetAttr): SetAttr => (target, attr) =>
        setattr(target, attr.mode === undefined ? attr : { ...attr, mode: privateMode(attr.mode, FS.isDir(attr.mode)) });
      NODEFS.node_ops.setattr = privateSetAttr(NODEFS.node_ops.setattr);
      NODEFS.stream_ops.setattr = privateSetAttr(NODEFS.stream_ops.setattr);
      if (this.durability === "durable") {
        // Synchronous like the rest of NODEFS: Postgres waits for it, as it would for fsync(2).
        // A failure reaches Postgres as its errno, and Postgres stops rather than carry on
        // with writes that may not be on the disk (its answer to a failed fsync).
        NODEFS.stream_ops.fsync = (stream) => {
          NODEFS.tryFSOperation(() => fsyncSync(stream.nfd));
          fsyncs++;
          return 0;
        };
      }
    };
    const emscriptenOpts = result.emscriptenOpts;
    // Before NodeFS's own preRun mounts the directory, so nothing is created unpatched.
    emscriptenOpts.preRun = [patch as never, ...(emscriptenOpts.preRun ?? [])];
    return result;
  }
}

/** Makes an existing tree owner-only (a data directory from an earlier version was not). */
export function makeTreePrivate(dir: string): void {
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) makeTreePrivate(p);
    else if (entry.isFile()) chmodSync(p, 0o600);
  }
}

/**
 * fsyncs every file and directory under `dir`. A new database's files are written by PGlite
 * from its initdb image, outside Postgres' own fsync bookkeeping, so they are flushed once here
 * (as `initdb` does for a real Postgres). Several at a time: the disk batches them.
 */
export async function syncTree(dir: string, parallel = 16): Promise<void> {
  const paths: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) paths.push(p);
    }
    paths.push(d); // after its entries: the directory records their names
  };
  await walk(dir);
  paths.push(path.dirname(dir)); // which records `dir` itself
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const handle = await open(paths[next++]!, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}
