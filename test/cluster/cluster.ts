// Several real instances of the server as OS processes, on a fresh Postgres database and a
// redis-server of their own, behind a real nginx rendered from deploy/nginx.conf.
// Instances keep their ports across restarts, so nginx's upstream list stays true.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { createPostgresDatabase, dropPostgresDatabase } from "../helpers/db";
import { spawnServerProcess } from "../helpers/process";
import { canConnect, freePort, killOnExit, startNginx, stopProcess, type Nginx, type NginxConf } from "./nginx";
import type { User } from "../../lib/protocol";

export const SESSION_SECRET = "cluster-secret-cluster-secret-0123456789";

export interface Instance {
  readonly id: string;
  readonly port: number;
  /** http://127.0.0.1:<port>, bypassing nginx. */
  readonly url: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** Sends `signal`; resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves when the running process exits, with its exit code. */
  exited(): Promise<number | null>;
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Cluster {
  instances: Instance[];
  nginx: Nginx;
  redis: RedisServer;
  databaseUrl: string;
  /** nginx's URL: what clients use. */
  url: string;
  signIn(name: string, base?: string): Promise<{ user: User; cookie: string }>;
  api(path: string, init?: RequestInit & { cookie?: string; base?: string }): Promise<Response>;
  /** The stream's events in the log, in seq order. */
  logEvents(stream: string): Promise<{ seq: number; clientId: string | null; type: string }[]>;
  /** The last lines each instance wrote (for failure messages). */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  instances?: number;
  conf?: NginxConf;
  /** PRESENCE_HEARTBEAT_MS of every instance. */
  presenceHeartbeatMs?: number;
  env?: Record<string, string>;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rt-cluster-"));
  const cleanups: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: unknown) => console.error("cluster cleanup:", err));
  };
  try {
    const databaseUrl = await createPostgresDatabase();
    cleanups.push(() => dropPostgresDatabase(databaseUrl));
    const redis = await startRedis(await freePort());
    cleanups.push(() => redis.stop());

    const instances: InstanceProcess[] = [];
    for (let i = 0; i < (opts.instances ?? 3); i++) {
      const inst = new InstanceProcess(`n${i + 1}`, await freePort(), path.join(dir, `n${i + 1}.log`), {
        DATABASE_URL: databaseUrl,
        REDIS_URL: redis.url,
        PRESENCE_HEARTBEAT_MS: String(opts.presenceHeartbeatMs ?? 300),
        DATA_DIR: path.join(dir, `data-n${i + 1}`),
        // Every client reaches the instances through nginx on 127.0.0.1, one address to them.
        MAX_CONNECTIONS_PER_ADDRESS: "100000",
        ...opts.env,
      });
      instances.push(inst);
      cleanups.push(() => inst.stop("SIGKILL").then(() => inst.close()));
    }
    // The first one migrates the fresh database alone; the rest start side by side.
    await instances[0]!.start();
    await Promise.all(instances.slice(1).map((i) => i.start()));

    const nginx = await startNginx({ conf: opts.conf ?? "normal", upstreams: instances.map((i) => i.port) });
    cleanups.push(() => nginx.stop());

    const api = (p: string, init: RequestInit & { cookie?: string; base?: string } = {}) => {
      const headers = new Headers(init.headers);
      if (init.cookie) headers.set("cookie", init.cookie);
      if ((init.body || (init.method ?? "GET") !== "GET") && !headers.has("content-type")) headers.set("content-type", "application/json");
      return fetch((init.base ?? nginx.url) + p, { ...init, headers });
    };
    return {
      instances,
      nginx,
      redis,
      databaseUrl,
      url: nginx.url,
      api,
      async signIn(name, base) {
        const res = await api("/api/session", { method: "POST", body: JSON.stringify({ name }), base });
        if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
        const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
        const { user } = (await res.json()) as { user: User };
        return { user, cookie };
      },
      async logEvents(stream) {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          const { rows } = await client.query<{ seq: string; client_id: string | null; type: string }>(
            "SELECT seq, client_id, type FROM events WHERE stream = $1 ORDER BY seq",
            [stream],
          );
          return rows.map((r) => ({ seq: Number(r.seq), clientId: r.client_id, type: r.type }));
        } finally {
          await client.end();
        }
      },
      async logs() {
        const parts = await Promise.all(
          instances.map(async (i) => `--- ${i.id}\n${(await readFile(i.logFile, "utf8").catch(() => "")).split("\n").slice(-30).join("\n")}`),
        );
        return parts.join("\n");
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

class InstanceProcess implements Instance {
  private proc: ChildProcess | null = null;
  private exit: Promise<number | null> = Promise.resolve(null);
  /** A test asked it to stop (so its exit is expected). */
  private stopping = false;
  private readonly out: WriteStream;

  constructor(
    readonly id: string,
    readonly port: number,
    readonly logFile: string,
    private readonly env: Record<string, string>,
  ) {
    this.out = createWriteStream(logFile, { flags: "a" });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.id} is already running`);
    this.stopping = false;
    const proc = spawnServerProcess({
      PORT: String(this.port),
      INSTANCE_ID: this.id,
      SESSION_SECRET,
      LOG_LEVEL: "warn",
      ...this.env,
    });
    this.proc = proc;
    killOnExit(proc);
    this.out.write(`=== ${new Date().toISOString()} start ${this.id} (pid ${proc.pid})\n`);
    proc.stdout!.pipe(this.out, { end: false });
    proc.stderr!.pipe(this.out, { end: false });
    this.exit = new Promise((resolve) =>
      proc.once("exit", (code, signal) => {
        this.out.write(`=== ${new Date().toISOString()} exit ${this.id} code=${code} signal=${signal}\n`);
        // An instance that dies when no test stopped it: say so, with its last words.
        if (!this.stopping) void this.tail().then((t) => console.error(`${this.id} exited on its own (code ${code}, signal ${signal}):\n${t}`));
        resolve(code);
      }),
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!this.running) throw new Error(`${this.id} exited while starting:\n${await this.tail()}`);
      if (await canConnect(this.port)) {
        const res = await fetch(`${this.url}/readyz`).catch(() => null);
        if (res?.status === 200) return;
      }
      if (Date.now() > deadline) throw new Error(`${this.id} did not become ready:\n${await this.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (!this.proc) return null;
    this.stopping = true;
    // A drain is bounded by SHUTDOWN_TIMEOUT_MS (10 s); past 20 s something is wrong.
    return stopProcess(this.proc, signal, 20_000);
  }

  exited(): Promise<number | null> {
    return this.exit;
  }

  close(): Promise<void> {
    return new Promise((r) => this.out.end(() => r()));
  }

  private async tail(): Promise<string> {
    await new Promise((r) => setTimeout(r, 100));
    return (await readFile(this.logFile, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");
  }
}

/** A redis-server of the test's own, so stopping it disturbs nothing else on the machine. */
async function startRedis(port: number): Promise<RedisServer> {
  const server = redisServer(port);
  await server.start();
  return server;
}

/** A redis-server on `port`, not started yet (for an instance that boots before Redis). */
export function redisServer(port: number): RedisServer {
  let proc: ChildProcess | null = null;
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const p = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], {
        stdio: "ignore",
      });
      killOnExit(p);
      proc = p;
      const deadline = Date.now() + 10_000;
      while (!(await canConnect(port))) {
        if (p.exitCode !== null) throw new Error(`redis-server exited (${p.exitCode})`);
        if (Date.now() > deadline) throw new Error("redis-server did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (proc) await stopProcess(proc, "SIGTERM", 5_000);
      proc = null;
    },
  };
  return server;
}
