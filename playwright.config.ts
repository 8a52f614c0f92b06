// End-to-end tests in a real Chromium against the production server (`npm start`), on its own
// port and a fresh embedded database each run. Run `npm run build` first after changing pages:
// the server builds only when no build exists.
import { defineConfig, devices } from "@playwright/test";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const PORT = Number(process.env.E2E_PORT ?? 3210);
const BASE_URL = `http://127.0.0.1:${PORT}`;
// Set once in the runner; its workers inherit it rather than making their own.
process.env.E2E_DATA_DIR ??= mkdtempSync(path.join(tmpdir(), "rt-e2e-"));

// Debian's Chromium when installed (never download browsers here); Playwright's own otherwise.
// Its headless build (`chromium-headless-shell`, what Playwright itself runs headless) first:
// the same engine without the browser's window machinery, and the suite runs in about two
// thirds of the time on two cores. It has no desktop notifications, so the one spec about
// them runs in the full browser. `E2E_BROWSER` names another binary for every spec.
const installed = (...paths: string[]) => paths.find((p) => existsSync(p));
const HEADLESS = process.env.E2E_BROWSER ?? installed("/usr/bin/chromium-headless-shell", "/usr/bin/chromium");
const FULL = process.env.E2E_BROWSER ?? installed("/usr/bin/chromium");
const NEEDS_FULL_BROWSER = /desktop-notifications\.spec\.ts/;

const chromium = (executablePath: string | undefined, full = false) => ({
  ...devices["Desktop Chrome"],
  viewport: { width: 1280, height: 800 },
  // Without Debian's browser, Playwright's own: its full build when the spec needs one.
  ...(executablePath === undefined && full ? { channel: "chromium" } : {}),
  launchOptions: {
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"],
  },
});

export default defineConfig({
  testDir: "./e2e",
  timeout: 30_000,
  expect: { timeout: 7_000 },
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: process.env.CI ? [["list"], ["html", { open: "never" }]] : "list",
  use: {
    baseURL: BASE_URL,
    viewport: { width: 1280, height: 800 },
    // An action that cannot happen (a button that never appears, a list that never settles)
    // fails here with what it waited for, instead of holding the test to its own timeout.
    actionTimeout: 20_000,
    navigationTimeout: 30_000,
    trace: "on-first-retry",
    screenshot: "only-on-failure",
  },
  projects: [
    { name: "chromium", testIgnore: NEEDS_FULL_BROWSER, use: chromium(HEADLESS) },
    { name: "chromium-full", testMatch: NEEDS_FULL_BROWSER, use: chromium(FULL, true) },
  ],
  webServer: {
    command: "node scripts/start.mjs",
    url: `${BASE_URL}/readyz`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(PORT),
      HOST: "127.0.0.1",
      DATA_DIR: process.env.E2E_DATA_DIR,
      LOG_LEVEL: "warn",
      // Every spec signs people in from 127.0.0.1 against this one server: far past the
      // default 60 at once that a real address gets.
      SESSIONS_PER_ADDRESS_PER_MINUTE: "100000",
    },
  },
});
