// Servers under test run in a child process pinned to their own core, so the load generator
// (this process) never shares a core with them. The child reports its port once listening
// and answers stats requests (its own CPU time and memory) over the IPC channel.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";
import { BENCH_DIR, hasTaskset, REPO_DIR } from "./common";

export interface ChildStats {
  /** process.cpuUsage() of the server process, µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

type ToChild = { id: number; type: "stats" | "gc" | "call" | "profile-start" | "profile-stop"; name?: string; arg?: unknown };
type FromChild =
  | { type: "ready"; port: number; info?: Record<string, unknown> }
  | { type: "reply"; id: number; value?: unknown; error?: string }
  | { type: "fatal"; error: string };

export interface ServerChild {
  port: number;
  pid: number;
  info: Record<string, unknown>;
  pinned: boolean;
  stats(): Promise<ChildStats>;
  /** Full garbage collection in the child (started with --expose-gc). */
  gc(): Promise<void>;
  /**
   * Resolves once the child's CPU has stayed under `busy` (a fraction of one core) for a
   * second, or after `maxMs` (30 s): what connecting set going (first-join feed events,
   * presence) is done before a window is measured.
   */
  settled(busy?: number, maxMs?: number): Promise<void>;
  /** A named function the child registered (e.g. "seed"). */
  call<T = unknown>(name: string, arg?: unknown): Promise<T>;
  /**
   * Starts V8's CPU profiler in the child (sampling every `intervalUs`, default 1000), and with
   * `heap` its sampling heap profiler too, counting what is allocated whether or not it is
   * collected by the time the profile stops.
   */
  profileStart(intervalUs?: number, opts?: { heap?: boolean }): Promise<void>;
  /**
   * Stops it and writes the profile (a .cpuprofile JSON, as `node --cpu-prof` writes) to `file`;
   * the heap profile, when started, beside it as `.heapprofile` (as Chrome's DevTools writes).
   */
  profileStop(file: string): Promise<void>;
  stop(): Promise<void>;
}

/** The report's words for a benchmark whose server child is pinned (see `serverCore`). */
export const SERVER_CHILD_PINNING = "server child on CPU 0, load generator on CPU 1";

/** The core for a server child: CPU 0 unless the options name one; none for `null`. */
export function serverCore(core: number | null | undefined): number | undefined {
  return core === null ? undefined : (core ?? 0);
}

export interface StartChildOptions {
  /** Core to pin the child to (`taskset -c`); none when pinning is unavailable. */
  core?: number;
  /** Open-file limit for the child (`prlimit`), for many connections. */
  nofile?: number;
  env?: Record<string, string | undefined>;
  /** Extra flags for node (V8 heap sizing, for example). */
  nodeArgs?: string[];
  timeoutMs?: number;
  /**
   * Another checkout of this repository to run the server from (its `bench/servers/<name>.ts`,
   * its server code): an earlier version of the server side by side with this one.
   */
  root?: string;
}

/** Starts `bench/servers/<name>.ts` with `options` (JSON) and waits for its port. */
export async function startServerChild(name: string, options: unknown, o: StartChildOptions = {}): Promise<ServerChild> {
  const root = o.root ? path.resolve(o.root) : REPO_DIR;
  const script = o.root ? path.join(root, "bench", "servers", `${name}.ts`) : path.join(BENCH_DIR, "servers", `${name}.ts`);
  const nodeArgs = ["--expose-gc", ...(o.nodeArgs ?? []), ...(process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? []), "--import", "tsx", script, JSON.stringify(options)];
  let cmd = process.execPath;
  let args = nodeArgs;
  const pinned = o.core !== undefined && hasTaskset();
  if (pinned) {
    args = ["-c", String(o.core), cmd, ...args];
    cmd = "taskset";
  }
  if (o.nofile) {
    args = [`--nofile=${o.nofile}:${o.nofile}`, cmd, ...args];
    cmd = "prlimit";
  }
  const child = spawn(cmd, args, {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_ENV: "production", ...o.env },
  });
  return attach(child, pinned, o.timeoutMs ?? 60_000);
}

function attach(child: ChildProcess, pinned: boolean, timeoutMs: number): Promise<ServerChild> {
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const request = (msg: Omit<ToChild, "id">): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(new Error("server process has exited"));
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ ...msg, id });
    });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server process did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("message", (m: FromChild) => {
      if (m.type === "ready") {
        clearTimeout(timer);
        resolve({
          port: m.port,
          pid: child.pid!,
          info: m.info ?? {},
          pinned,
          stats: () => request({ type: "stats" }) as Promise<ChildStats>,
          gc: async () => void (await request({ type: "gc" })),
          async settled(busy = 0.1, maxMs = 30_000) {
            const cpuUs = (st: ChildStats) => st.cpuUserUs + st.cpuSystemUs;
            const until = performance.now() + maxMs;
            // Quiet for a whole second, not a quarter: work that waits on the database (a crowd's
            // first joins, a few at a time) leaves the server's own CPU quiet between its turns,
            // and one quiet quarter second used to end the wait with seconds of it still to come.
            let quiet = 0;
            while (performance.now() < until && quiet < 4) {
              const a = await (request({ type: "stats" }) as Promise<ChildStats>);
              const t0 = performance.now();
              await new Promise((r) => setTimeout(r, 250));
              const b = await (request({ type: "stats" }) as Promise<ChildStats>);
              quiet = (cpuUs(b) - cpuUs(a)) / 1000 / (performance.now() - t0) < busy ? quiet + 1 : 0;
            }
          },
          call: <T>(name: string, arg?: unknown) => request({ type: "call", name, arg }) as Promise<T>,
          profileStart: async (intervalUs, opts) => void (await request({ type: "profile-start", arg: { intervalUs, heap: opts?.heap ?? false } })),
          profileStop: async (file) => void (await request({ type: "profile-stop", arg: file })),
          async stop() {
            if (exited) return;
            child.kill("SIGTERM");
            const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exitedPromise;
            clearTimeout(t);
          },
        });
      } else if (m.type === "reply") {
        const w = waiting.get(m.id);
        waiting.delete(m.id);
        if (m.error) w?.reject(new Error(m.error));
        else w?.resolve(m.value);
      } else if (m.type === "fatal") {
        clearTimeout(timer);
        reject(new Error(`server process failed: ${m.error}`));
      }
    });
    child.once("exit", (code, signal) => {
      exited = true;
      clearTimeout(timer);
      for (const w of waiting.values()) w.reject(new Error(`server process exited (${code ?? signal})`));
      waiting.clear();
      reject(new Error(`server process exited before it was ready (${code ?? signal})`));
    });
  });
}

// ---------------------------------------------------------------------------
// The child's side

export interface ChildHandlers {
  /** Resolves when the server is stopped (on SIGTERM). */
  stop?: () => Promise<void>;
  calls?: Record<string, (arg: unknown) => unknown>;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/**
 * The CPU time and resident memory of every live process under `pid` (Linux: /proc; elsewhere
 * nothing). Ticks of 10 ms: coarse, but windows are seconds long.
 */
export function descendantsUsage(pid: number): { userUs: number; systemUs: number; rss: number } {
  const total = { userUs: 0, systemUs: 0, rss: 0 };
  for (const c of descendants(pid)) {
    try {
      const stat = readFileSync(`/proc/${c}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // Fields 14 and 15 of stat (utime, stime), counted from the state (field 3).
      total.userUs += (Number(fields[11]) * 1e6) / USER_HZ;
      total.systemUs += (Number(fields[12]) * 1e6) / USER_HZ;
      total.rss += Number(fields[21]) * 4096;
    } catch {
      continue; // it ended meanwhile
    }
  }
  return total;
}

/** Every live process under `pid` (Linux: /proc; elsewhere none). */
export function descendants(pid: number): number[] {
  const children = (p: number): number[] => {
    try {
      return readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const out: number[] = [];
  for (const stack = children(pid); stack.length > 0; ) {
    const c = stack.pop()!;
    out.push(c);
    stack.push(...children(c));
  }
  return out;
}

/** Call from a server script once it listens: answers the parent until SIGTERM. */
export function serveParent(port: number, handlers: ChildHandlers = {}, info?: Record<string, unknown>): void {
  const send = (m: FromChild) => process.send?.(m);
  let inspector: Session | null = null;
  let heapSampling = false;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      inspector!.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    );
  process.on("message", async (m: ToChild) => {
    try {
      let value: unknown;
      if (m.type === "stats") {
        const cpu = process.cpuUsage();
        const mem = process.memoryUsage();
        // A server's own processes count as the server: the embedded database's, for one.
        const helpers = descendantsUsage(process.pid);
        value = {
          cpuUserUs: cpu.user + helpers.userUs,
          cpuSystemUs: cpu.system + helpers.systemUs,
          rss: mem.rss + helpers.rss,
          heapUsed: mem.heapUsed,
          external: mem.external,
          arrayBuffers: mem.arrayBuffers,
        } satisfies ChildStats;
      } else if (m.type === "profile-start") {
        // The in-process inspector: the profile covers only the window the parent asks for.
        inspector = new Session();
        inspector.connect();
        await post("Profiler.enable");
        const { intervalUs, heap } = m.arg as { intervalUs?: number; heap: boolean };
        await post("Profiler.setSamplingInterval", { interval: intervalUs ?? 1000 });
        await post("Profiler.start");
        if (heap) {
          heapSampling = true;
          // One sample per 4 KiB allocated on average, kept whether or not it was collected since.
          await post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        }
      } else if (m.type === "profile-stop") {
        const { profile } = (await post("Profiler.stop")) as { profile: unknown };
        if (heapSampling) {
          heapSampling = false;
          const heap = (await post("HeapProfiler.stopSampling")) as { profile: unknown };
          writeFileSync(String(m.arg).replace(/\.cpuprofile$/, "") + ".heapprofile", JSON.stringify(heap.profile));
        }
        inspector?.disconnect();
        inspector = null;
        writeFileSync(String(m.arg), JSON.stringify(profile));
      } else if (m.type === "gc") {
        const gc = (globalThis as { gc?: () => void }).gc;
        gc?.();
        await new Promise((r) => setTimeout(r, 50));
        gc?.();
      } else {
        const fn = handlers.calls?.[m.name ?? ""];
        if (!fn) throw new Error(`no such call: ${m.name}`);
        value = await fn(m.arg);
      }
      send({ type: "reply", id: m.id, value });
    } catch (err) {
      send({ type: "reply", id: m.id, error: String((err as Error)?.stack ?? err) });
    }
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const done = () => process.exit(0);
    setTimeout(done, 8_000).unref();
    Promise.resolve(handlers.stop?.()).then(done, done);
  };
  process.on("SIGTERM", stop);
  // The parent died: don't linger holding a port and a core.
  process.on("disconnect", stop);
  send({ type: "ready", port, info });
}

/** Reports a startup failure to the parent and exits. */
export function failToParent(err: unknown): never {
  process.send?.({ type: "fatal", error: String((err as Error)?.stack ?? err) } satisfies FromChild);
  console.error(err);
  process.exit(1);
}

export function childOptions<T>(): T {
  return JSON.parse(process.argv[2] ?? "{}") as T;
}

/** CPU µs spent between two stats snapshots. */
export function cpuDeltaUs(a: ChildStats, b: ChildStats): number {
  return b.cpuUserUs - a.cpuUserUs + (b.cpuSystemUs - a.cpuSystemUs);
}
