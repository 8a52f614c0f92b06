// A real nginx in front of test instances, configured by the project's own deploy/*.conf files:
// each is rendered with the test's upstream ports and a listen port, its pid, logs and temp
// files in a fresh directory, and run in the foreground (never the system's nginx service).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type NginxConf = "normal" | "hostile";

export interface Nginx {
  port: number;
  /** http://127.0.0.1:<port>, or https:// when started with `tls`. */
  url: string;
  /** With `tls`: the self-signed certificate nginx presents (PEM), for a client to trust. */
  ca?: string;
  /** What nginx has logged at `warn` and above so far. */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

/** Serving TLS with HTTP/2 as deployed, with a self-signed certificate made by deploy/tls-cert.sh. */
export interface NginxTls {
  cert: string;
  key: string;
  /** nginx 1.25.1 and later take `http2 on;`; an older one, `listen … http2`. */
  http2Directive: boolean;
}

const DEPLOY_DIR = fileURLToPath(new URL("../../deploy/", import.meta.url));
const CONF_FILES: Record<NginxConf, string> = { normal: "nginx.conf", hostile: "nginx-hostile.conf" };

export function nginxBinary(): string {
  for (const candidate of ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]) if (existsSync(candidate)) return candidate;
  throw new Error("nginx is not installed (apt-get install -y nginx)");
}

/** nginx's version as [major, minor, patch] (`nginx -v`). */
export function nginxVersion(): [number, number, number] {
  const out = spawnSync(nginxBinary(), ["-v"], { encoding: "utf8" });
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${out.stderr}${out.stdout}`);
  if (!m) throw new Error(`cannot read nginx's version from: ${out.stderr}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * Starts nginx with deploy/nginx.conf (or the hostile one) in front of 127.0.0.1:<upstreams>:
 * over plain HTTP, or with `tls` as deployed (TLS and HTTP/2, a self-signed certificate).
 */
export async function startNginx(opts: { conf: NginxConf; upstreams: number[]; port?: number; tls?: boolean }): Promise<Nginx> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rt-nginx-"));
  // nginx started as root runs its workers as `nobody`: they must reach the temp directories.
  await chmod(dir, 0o755);
  for (const sub of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    await mkdir(path.join(dir, sub));
    await chmod(path.join(dir, sub), 0o777);
  }
  let tls: NginxTls | undefined;
  if (opts.tls) {
    // The deployment's own script, as Compose runs it at first start (it needs openssl).
    const made = spawnSync("sh", [path.join(DEPLOY_DIR, "tls-cert.sh"), dir], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`deploy/tls-cert.sh failed: ${made.stderr}`);
    const [major, minor, patch] = nginxVersion();
    tls = { cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem"), http2Directive: major * 1e6 + minor * 1e3 + patch >= 1_025_001 };
  }
  const template = await readFile(path.join(DEPLOY_DIR, CONF_FILES[opts.conf]), "utf8");
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    await writeFile(path.join(dir, "nginx.conf"), renderNginxConf(template, { dir, port, upstreams: opts.upstreams, tls }));
    try {
      const child = await launch(dir, port);
      return {
        port,
        url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
        ca: tls ? await readFile(tls.cert, "utf8") : undefined,
        errorLog: () => readFile(path.join(dir, "error.log"), "utf8").catch(() => ""),
        async stop() {
          await stopProcess(child, "SIGQUIT", 5_000);
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      // Another process took the port between our probe and nginx's bind: pick another.
      if (opts.port === undefined && attempt < 3 && /Address already in use/.test(String(err))) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

/**
 * The deploy config with test values: each upstream's `server` lines become one per port (with
 * its first line's parameters but `resolve`), `listen` becomes 127.0.0.1:<port>, and pid, logs and temp files
 * move into `dir`. With `tls`, the listener keeps TLS and HTTP/2 with the test's certificate;
 * without, it is plain HTTP (the TLS lines go). Throws if the template no longer has what it rewrites.
 */
export function renderNginxConf(template: string, o: { dir: string; port: number; upstreams: number[]; tls?: NginxTls }): string {
  if (o.upstreams.length === 0) throw new Error("at least one upstream");
  let conf = template;
  const rewrite = (re: RegExp, replacement: string | ((...m: string[]) => string), what: string) => {
    let n = 0;
    conf = conf.replace(re, (...m: string[]) => {
      n++;
      return typeof replacement === "string" ? replacement : replacement(...m);
    });
    if (n === 0) throw new Error(`nginx template: no ${what} to rewrite`);
  };

  rewrite(/^([ \t]*)upstream\s+(\w+)\s*\{([^}]*)\}/gm, (_all, indent, name, body) => {
    const lines = body!.split("\n");
    const servers = lines.filter((l) => /^\s*server\s+\S+/.test(l));
    if (servers.length === 0) throw new Error("nginx template: upstream without servers");
    // The instances here are fixed addresses: no name to look up again (and `resolve` needs nginx 1.27.3).
    const params = (/^\s*server\s+\S+?(\s[^;]*)?;/.exec(servers[0]!)?.[1] ?? "").replace(/\s+resolve\b/, "");
    const generated = o.upstreams.map((p) => `${indent}    server 127.0.0.1:${p}${params};`).join("\n");
    let placed = false;
    const rewritten = lines.flatMap((l) => {
      if (!/^\s*server\s+\S+/.test(l)) return [l];
      if (placed) return [];
      placed = true;
      return [generated];
    });
    return `${indent}upstream ${name} {${rewritten.join("\n")}}`;
  }, "upstream block");

  const tls = o.tls;
  const listen = !tls ? "" : tls.http2Directive ? " ssl" : " ssl http2";
  let listens = 0;
  conf = conf.replace(/^([ \t]*)listen\s+[^;]+;[^\n]*\n/gm, (_all, indent: string) =>
    listens++ === 0 ? `${indent}listen 127.0.0.1:${o.port}${listen};\n` : "",
  );
  if (listens === 0) throw new Error("nginx template: no listen line");
  if (tls) {
    if (!tls.http2Directive) conf = conf.replace(/^[ \t]*http2\s+on;[^\n]*\n/m, "");
    rewrite(/^(\s*)ssl_certificate\s+[^;]+;/m, (_all, indent) => `${indent}ssl_certificate ${tls.cert};`, "ssl_certificate");
    rewrite(/^(\s*)ssl_certificate_key\s+[^;]+;/m, (_all, indent) => `${indent}ssl_certificate_key ${tls.key};`, "ssl_certificate_key");
  } else {
    // Plain HTTP: no HTTP/2 (browsers speak it only over TLS), no certificate, no redirect of
    // plain requests (error 497 is TLS's); the hostile config has none of these to begin with.
    conf = conf.replace(/^[ \t]*(http2\s+on|ssl_\w+\s[^;]*|error_page\s+497\s[^;]*);[^\n]*\n/gm, "");
  }

  rewrite(/^pid\s+[^;]+;/m, `pid ${o.dir}/nginx.pid;`, "pid");
  rewrite(/^error_log\s+[^;]+;/m, `error_log ${o.dir}/error.log warn;`, "error_log");
  rewrite(/^(\s*)access_log\s+[^;]+;/m, (_all, indent) => `${indent}access_log ${o.dir}/access.log;`, "access_log");
  rewrite(
    /^http\s*\{\n/m,
    "http {\n" +
      ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `    ${t}_temp_path ${o.dir}/${t};\n`).join(""),
    "http block",
  );
  return `daemon off;\n${conf}`;
}

async function launch(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(nginxBinary(), ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-e", path.join(dir, "error.log")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  killOnExit(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const early = await Promise.race([exited, new Promise<"running">((r) => setTimeout(() => r("running"), 50))]);
    if (early !== "running") {
      const log = await readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
      throw new Error(`nginx exited (${early}): ${stderr}${log}`);
    }
    if (await canConnect(port)) return child;
    if (Date.now() > deadline) {
      await stopProcess(child, "SIGKILL", 2_000);
      throw new Error(`nginx did not listen on ${port}: ${stderr}`);
    }
  }
}

const children = new Set<ChildProcess>();
let exitHook = false;

/** Kills `child` if this process exits first (a test run that crashed or was interrupted). */
export function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const c of children) c.kill("SIGKILL");
  });
}

/** Signals a child process and waits for it to exit, killing it if it takes longer than `ms`. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals, ms: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

export function canConnect(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * A port nothing listens on now, and that no outgoing connection will take later: chosen below
 * the kernel's range for local ports of outgoing connections. Instances and Redis keep their
 * port across restarts, and a port from that range could be taken meanwhile by one of the many
 * connections the test makes (the restart then fails with EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  const range = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "32768 60999");
  const first = Number(range.trim().split(/\s+/)[0]) || 32768;
  const low = Math.max(1024, first - 12_000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (first - low));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port between ${low} and ${first}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
