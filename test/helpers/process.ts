// The real server (`server/index.ts`) as an OS process of its own, for tests that must kill it:
// on port 0, API only (no pages), ready once it logs the port it listens on.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Sends `signal` and resolves once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** What it wrote to stdout and stderr (for failure messages). */
  output(): string;
}

const running = new Set<ChildProcess>();
let exitHook = false;

/**
 * `server/index.ts` as a child process: production mode, API only (no pages), on 127.0.0.1,
 * with `env` on top. `node` itself, not a wrapper, so the signals a test sends (SIGTERM to drain,
 * SIGKILL to crash) reach the process that serves and writes.
 */
export function spawnServerProcess(env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      SERVE_PAGES: "false",
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts the server with `env` on top of a quiet production setup; resolves when it is ready. */
export async function spawnServer(env: Record<string, string | undefined>, timeoutMs = 60_000): Promise<ServerProcess> {
  const child = spawnServerProcess(env);
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHook) {
    exitHook = true;
    // A test run that crashes must not leave servers behind.
    process.once("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }

  let out = "";
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("the server did not become ready")), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}:\n${out.split("\n").slice(-20).join("\n")}`));
    };
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const port = /"port":(\d+)[^\n]*"msg":"ready on/.exec(out)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("exit", (code, signal) => fail(new Error(`the server exited while starting (${code ?? signal})`)));
  });

  return {
    url,
    child,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await gone;
    },
    output: () => out,
  };
}
