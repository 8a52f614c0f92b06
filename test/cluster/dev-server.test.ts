// `npm run dev`: the same custom server with hot reload. Next serves its HMR socket
// (/_next/hmr) from its own upgrade listener; ours must leave it alone while /ws keeps working.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "./nginx";
import { waitFor } from "../helpers/server";

const ROOT = path.resolve(__dirname, "../..");
let dev: ChildProcess;
let base: string;
let port: number;
const dataDir = mkdtempSync(path.join(tmpdir(), "rt-dev-"));

beforeAll(async () => {
  port = await freePort();
  base = `http://localhost:${port}`;
  // Its own process group, so the watcher and the server it runs stop together.
  dev = spawn("npm", ["run", "dev"], {
    cwd: ROOT,
    detached: true,
    stdio: "ignore",
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: "", REDIS_URL: "", LOG_LEVEL: "warn" },
  });
  await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true, 90_000, "the dev server");
}, 120_000);

afterAll(async () => {
  if (dev?.pid) {
    try {
      process.kill(-dev.pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  rmSync(dataDir, { recursive: true, force: true });
});

function openSocket(url: string, headers: Record<string, string>, protocols?: string[]): Promise<{ first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const timer = setTimeout(() => reject(new Error(`no message from ${url}`)), 30_000);
    ws.on("message", (m) => {
      clearTimeout(timer);
      ws.close();
      resolve({ first: String(m) });
    });
    ws.on("open", () => {
      if (url.endsWith("/ws")) ws.send(JSON.stringify({ type: "join", room: "general" }));
    });
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode} from ${url}`)));
    ws.on("error", reject);
  });
}

it("serves pages, Next's HMR socket and the app's own WebSocket on one port", async () => {
  const page = await fetch(`${base}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<html");

  const hmr = await openSocket(`ws://localhost:${port}/_next/hmr?id=test`, { origin: base });
  expect(JSON.parse(hmr.first)).toHaveProperty("type");

  const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Dev" }) });
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  const app = await openSocket(`ws://localhost:${port}/ws`, { cookie, origin: base }, ["rt.v1"]);
  expect(JSON.parse(app.first)).toMatchObject({ type: "joined", room: "general" });
}, 120_000);
