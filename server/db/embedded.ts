// Starts and supervises the embedded database's process (embedded-child.ts) for the app, which
// then reaches it over a Unix socket like any Postgres. The socket's folder is owner-only and the
// socket too: the database trusts whoever connects, as a local Postgres does over its socket.
import { fork, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ChildOptions, ChildReply, ChildRequest } from "./embedded-child";
import type { Durability } from "./pglite-disk";

/** How long a stop waits for the database to checkpoint and exit before killing it. */
const STOP_TIMEOUT_MS = 15_000;
/** A Unix socket's path must fit in 108 bytes. */
const MAX_SOCKET_PATH = 100;
/** The socket's name, as a Postgres client looks for it in the folder it is given. */
const SOCKET_NAME = ".s.PGSQL.5432";

export interface EmbeddedOptions {
  /** A data directory, or "memory://". */
  dataDir: string;
  durability: Durability;
  /** A data directory tarball to start from, or the path of one. */
  loadDataDir?: Blob | string | undefined;
  /** The database process ended without being asked to (crashed, or was killed). */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface EmbeddedDatabase {
  /** A postgres:// URL of the socket. */
  readonly url: string;
  readonly pid: number;
  /** The data directory as a tarball. */
  dump(): Promise<Blob>;
  /** How many fsyncs it has made on disk. */
  fsyncs(): Promise<number>;
  /** Asks it to checkpoint and exit; kills it if it does not in time. */
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL("./embedded-child.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export async function startEmbedded(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const memory = opts.dataDir.startsWith("memory://");
  const dataDir = memory ? opts.dataDir : path.resolve(opts.dataDir);
  const { dir: socketDir, temporary } = socketFolder(memory ? null : dataDir);
  const scratch = mkdtempSync(path.join(tmpdir(), "rt-pglite-"));
  let loadDataDirFile = typeof opts.loadDataDir === "string" ? opts.loadDataDir : undefined;
  if (opts.loadDataDir instanceof Blob) {
    loadDataDirFile = path.join(scratch, "load.tar");
    writeFileSync(loadDataDirFile, Buffer.from(await opts.loadDataDir.arrayBuffer()), { mode: 0o600 });
  }
  const childOpts: ChildOptions = {
    dataDir,
    durability: opts.durability,
    socketPath: path.join(socketDir, SOCKET_NAME),
    loadDataDirFile,
    appPid: process.pid,
  };
  const child = fork(CHILD, [JSON.stringify(childOpts)], {
    execArgv: ["--import", TSX],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const cleanUp = () => {
    rmSync(scratch, { recursive: true, force: true });
    if (temporary) rmSync(socketDir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`The embedded database exited while starting (code ${code}).`));
      child.once("exit", onExit);
      child.on("message", function starting(reply: ChildReply) {
        if (reply.type !== "ready" && reply.type !== "failed") return;
        child.off("message", starting);
        child.off("exit", onExit);
        if (reply.type === "ready") resolve();
        else reject(new Error(reply.message));
      });
    });
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    cleanUp();
    throw err;
  }
  if (opts.loadDataDir instanceof Blob) rmSync(loadDataDirFile!, { force: true });
  type Answer = Extract<ChildReply, { type: "answer" }>;
  /** Questions asked of the child, by id, waiting for its answer. */
  const pending = new Map<number, (reply: Answer) => void>();
  child.once("exit", (code, signal) => {
    cleanUp();
    for (const [id, answer] of pending) answer({ type: "answer", id, error: "The embedded database's process exited" });
    pending.clear();
    if (!stopping) opts.onExit?.(code, signal);
  });
  // A forgotten stop must not keep the app alive: the child follows the app out by itself.
  detach(child);

  child.on("message", (reply: ChildReply) => {
    if (reply.type === "answer") pending.get(reply.id)?.(reply), pending.delete(reply.id);
  });
  let nextId = 1;
  const ask = async (req: Extract<ChildRequest, { id: number }>): Promise<Answer> => {
    attach(child);
    try {
      const reply = await new Promise<Answer>((resolve, reject) => {
        pending.set(req.id, resolve);
        child.send(req, (err) => err && reject(err));
      });
      if (reply.error) throw new Error(reply.error);
      return reply;
    } finally {
      detach(child);
    }
  };

  return {
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}`,
    pid: child.pid!,
    async dump() {
      const id = nextId++;
      const file = path.join(scratch, `dump-${id}.tar`);
      await ask({ type: "dump", id, file });
      const bytes = readFileSync(file);
      rmSync(file, { force: true });
      return new Blob([bytes]);
    },
    async fsyncs() {
      return (await ask({ type: "fsyncs", id: nextId++ })).value!;
    },
    async stop() {
      if (stopping || child.exitCode !== null || child.signalCode !== null) return exited;
      stopping = true;
      attach(child);
      if (child.connected) child.send({ type: "stop" } satisfies ChildRequest);
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Where the socket lives: a folder beside the data directory (`<dir>.socket`, owner-only) when
 * its path is short enough for a socket, else a private folder in the system's temp folder.
 */
function socketFolder(dataDir: string | null): { dir: string; temporary: boolean } {
  if (dataDir) {
    const beside = `${dataDir}.socket`;
    if (path.join(beside, SOCKET_NAME).length <= MAX_SOCKET_PATH) {
      mkdirSync(beside, { recursive: true, mode: 0o700 });
      chmodSync(beside, 0o700);
      return { dir: beside, temporary: false };
    }
  }
  return { dir: mkdtempSync(path.join(tmpdir(), "rt-pg-")), temporary: true };
}

function attach(child: ChildProcess): void {
  child.ref();
  child.channel?.ref();
}

function detach(child: ChildProcess): void {
  child.unref();
  child.channel?.unref();
}
