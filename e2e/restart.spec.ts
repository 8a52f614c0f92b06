// A server restart mid-conversation: the test runs its own server process so it can stop and
// start it. Nothing sent before is lost or repeated, and messages written while the server was
// down wait as pending and arrive exactly once when it is back.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { messageLog, openRoom, sendMessage, signIn, unique } from "./helpers";

const PORT = Number(process.env.E2E_RESTART_PORT ?? 3230);
const BASE = `http://127.0.0.1:${PORT}`;
const dataDir = mkdtempSync(path.join(tmpdir(), "rt-e2e-restart-"));
let server: ChildProcess | null = null;

async function startServer(): Promise<void> {
  server = spawn(process.execPath, ["scripts/start.mjs"], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(PORT),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      // The embedded database: a restart must find everything where it left it.
      DATABASE_URL: "",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      if ((await fetch(`${BASE}/readyz`)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("server did not become ready");
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopServer(): Promise<number | null> {
  const s = server;
  server = null;
  if (!s || s.exitCode !== null) return s?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => s.once("exit", (code) => resolve(code)));
  s.kill("SIGTERM");
  return exited;
}

test.beforeAll(async () => {
  await startServer();
});
test.afterAll(async () => {
  await stopServer();
  rmSync(dataDir, { recursive: true, force: true });
});

test("a restart mid-conversation loses nothing, repeats nothing, and delivers what waited", async ({ browser }) => {
  test.setTimeout(150_000);
  const room = unique("restart");
  const ada = await browser.newContext({ baseURL: BASE });
  const lin = await browser.newContext({ baseURL: BASE });
  const a = await ada.newPage();
  const b = await lin.newPage();
  for (const [page, name] of [[a, "Ada"], [b, "Lin"]] as const) {
    await page.goto("/");
    await signIn(page, name);
  }
  await a.getByLabel("Room name").fill(room);
  await a.getByRole("button", { name: "Create room" }).click();
  await expect(a).toHaveURL(new RegExp(`/rooms/${room}$`));
  await openRoom(b, room);

  await sendMessage(a, "before the restart, from Ada");
  await sendMessage(b, "before the restart, from Lin");
  for (const page of [a, b]) {
    await expect(messageLog(page).getByText("before the restart, from Lin")).toHaveCount(1);
    await expect(messageLog(page).getByText("before the restart, from Ada")).toHaveCount(1);
  }

  expect(await stopServer()).toBe(0);
  await expect(a.getByRole("status")).not.toHaveText(/connected/, { timeout: 15_000 });

  // Written while the server is down: they wait, marked pending.
  await sendMessage(a, "while down, one");
  await sendMessage(a, "while down, two");
  await expect(messageLog(a).getByText("Pending")).toHaveCount(2);

  await startServer();
  for (const page of [a, b]) {
    await expect(messageLog(page).getByText("while down, one")).toHaveCount(1, { timeout: 60_000 });
    await expect(messageLog(page).getByText("while down, two")).toHaveCount(1, { timeout: 60_000 });
  }
  await expect(messageLog(a).getByText("Pending")).toHaveCount(0);
  // Both are back on the WebSocket: a server that was down is not a proxy that blocks upgrades.
  for (const page of [a, b]) await expect(page.getByRole("status")).toHaveText("WebSocket · connected", { timeout: 60_000 });
  await sendMessage(b, "after the restart");
  await expect(messageLog(a).getByText("after the restart")).toHaveCount(1);

  // Nothing repeated, on either side, in the page or in the log.
  for (const page of [a, b]) {
    for (const text of ["before the restart, from Ada", "before the restart, from Lin", "while down, one", "while down, two", "after the restart"]) {
      await expect(messageLog(page).getByText(text, { exact: true })).toHaveCount(1);
    }
  }
  const res = await ada.request.get(`/api/rooms/${room}/events?limit=50`);
  const { events } = (await res.json()) as { events: Array<{ seq: number; data: { text: string } }> };
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  expect(new Set(events.map((e) => e.data.text)).size).toBe(5);
  await ada.close();
  await lin.close();
});
