// bench/browser-burst.ts — what a burst costs the page of the person reading it. 2,000 messages
// at ~50/s into an open room while 5 people move their cursors on its canvas, watched in a real
// Chromium: long tasks (PerformanceObserver 'longtask'), the longest gap between animation
// frames, the main thread's busy share (CDP's TaskDuration over the wall time) and the DOM's
// node count at the end. The same burst against the app built from another commit ("before",
// `main` by default) and this tree ("after"), in one run, alternating; the figures to quote are
// the ratios. Nothing here asserts a duration: it measures and reports.
//
//   node_modules/.bin/tsx bench/browser-burst.ts [--before-ref main] [--messages 2000] [--rate 50]
//                                                [--cursors 5] [--runs 1] [--quick] [--profile] [--trace]
//
// The "before" app is `git archive`d from the ref into a temporary folder (with this tree's
// node_modules hard-linked in) and built there once; this tree must be built (`npm run build`).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Page } from "@playwright/test";
import WebSocket from "ws";
import { createRoom, openWs, signIn } from "./lib/clients";
import { commandLine, machineInfo, OUT_DIR, parseArgs, REPO_DIR, round, sleep, writeReport } from "./lib/common";

interface Variant {
  name: "before" | "after";
  dir: string;
}

export interface BurstSample {
  variant: Variant["name"];
  run: number;
  messages: number;
  seconds: number;
  longTasks: number;
  longTaskMs: number;
  maxFrameMs: number;
  p99FrameMs: number;
  framesOver50Ms: number;
  busyPercent: number;
  domNodes: number;
  /** Messages rendered in the list at the end (rows in the DOM). */
  rows: number;
}

const args = parseArgs();
const MESSAGES = args.num("messages", args.quick ? 200 : 2_000);
const RATE = args.num("rate", 50);
const CURSORS = args.num("cursors", 5);
const RUNS = args.runs ?? 1;
/** People posting: the server takes 10 messages a second from one person. */
const WRITERS = Math.max(1, Math.ceil(RATE / 5));
const CURSOR_HZ = 30;

async function main() {
  const started = new Date();
  const beforeRef = args.get("before-ref") ?? "main";
  // `--only after` (or before): one side alone, e.g. with `--profile` to see where its time goes.
  const only = args.get("only");
  const variants: Variant[] = [
    ...(only === "after" ? [] : [{ name: "before" as const, dir: buildAt(beforeRef) }]),
    ...(only === "before" ? [] : [{ name: "after" as const, dir: REPO_DIR }]),
  ];
  if (!existsSync(path.join(REPO_DIR, ".next"))) throw new Error("Build this tree first: npm run build");
  const samples: BurstSample[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Alternate which goes first, so neither always meets a warmer machine.
    const order = run % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      process.stderr.write(`run ${run + 1}/${RUNS}: ${variant.name}…\n`);
      const sample = await measure(variant, run);
      process.stderr.write(`  ${JSON.stringify(sample)}\n`);
      samples.push(sample);
    }
  }
  const summary = summarize(samples);
  console.log(table(summary));
  const startedAt = started.toISOString();
  writeReport({
    bench: "browser-burst",
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: args.quick,
    command: commandLine(),
    machine: machineInfo(),
    pinned: false,
    settings: { messages: MESSAGES, rate: RATE, cursors: CURSORS, cursorHz: CURSOR_HZ, writers: WRITERS, beforeRef, runs: RUNS },
    results: { samples, summary },
  });
}

/** The app at `ref`, built once into a temporary folder that shares this tree's node_modules. */
function buildAt(ref: string): string {
  const sha = execFileSync("git", ["rev-parse", "--short", ref], { cwd: REPO_DIR, encoding: "utf8" }).trim();
  const dir = path.join(os.tmpdir(), `browser-burst-${sha}`);
  if (existsSync(path.join(dir, ".next", "BUILD_ID"))) return dir;
  mkdirSync(dir, { recursive: true });
  execFileSync("sh", ["-c", `git archive ${sha} | tar -x -C ${dir}`], { cwd: REPO_DIR });
  // Next's bundler resolves nothing through a symlink out of the tree: hard links instead
  // (a copy where the two folders are on different disks).
  if (!existsSync(path.join(dir, "node_modules"))) {
    try {
      execFileSync("cp", ["-al", path.join(REPO_DIR, "node_modules"), path.join(dir, "node_modules")]);
    } catch {
      execFileSync("cp", ["-a", path.join(REPO_DIR, "node_modules"), path.join(dir, "node_modules")]);
    }
  }
  // The Prisma client is generated into the tree (gitignored), as `npm install` does.
  execFileSync("node", ["scripts/prisma-generate.mjs"], { cwd: dir, stdio: "inherit" });
  process.stderr.write(`building ${ref} (${sha}) in ${dir}…\n`);
  execFileSync("node_modules/.bin/next", ["build"], { cwd: dir, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  return dir;
}

/** One app server (Next pages and the realtime server) on a free port with a fresh database. */
async function startApp(dir: string): Promise<{ base: string; child: ChildProcess }> {
  const port = 3400 + Math.floor(Math.random() * 500);
  const child = spawn("node", ["scripts/start.mjs"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "browser-burst-data-")),
      LOG_LEVEL: "warn",
      SESSIONS_PER_ADDRESS_PER_MINUTE: "100000",
    },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 240; i++) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok).catch(() => false);
    if (ready) return { base, child };
    await sleep(500);
  }
  child.kill();
  throw new Error(`${dir}: the server did not become ready`);
}

async function measure(variant: Variant, run: number): Promise<BurstSample> {
  const { base, child } = await startApp(variant.dir);
  const browser = await chromium.launch({ executablePath: existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined, args: ["--no-sandbox", "--disable-gpu"] });
  const movers: WebSocket[] = [];
  try {
    const room = `burst${run}`;
    const owner = await signIn(base, "Owner");
    await createRoom(base, owner, room);
    // Some history first: the room is one people have been talking in.
    const talkers = await Promise.all(Array.from({ length: 5 }, (_, i) => signIn(base, `Talker ${i + 1}`)));
    await post(base, talkers, room, 100, "earlier");

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(base);
    await page.getByLabel("Display name").fill("Reader");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByRole("button", { name: "Account and settings" }).waitFor();
    await page.goto(`${base}/rooms/${room}`);
    await page.locator('[role="log"][aria-busy="false"]').waitFor();
    await page.getByRole("log").getByText("earlier 100", { exact: true }).waitFor();

    // Five people moving their cursors over the canvas, 30 times a second each.
    for (let i = 0; i < CURSORS; i++) {
      const cookie = await signIn(base, `Mover ${i + 1}`);
      const ws = await openWs(`${base.replace("http", "ws")}/ws`, { cookie, protocols: ["rt.v1"] });
      ws.send(JSON.stringify({ type: "join", room }));
      movers.push(ws);
    }
    let t = 0;
    const moving = setInterval(() => {
      t += 1;
      movers.forEach((ws, i) => {
        const a = t / 15 + i;
        ws.send(JSON.stringify({ type: "cursor", room, x: 0.5 + 0.4 * Math.cos(a), y: 0.5 + 0.4 * Math.sin(a * 1.3) }));
      });
    }, 1000 / CURSOR_HZ);

    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    // `--profile`: the page's CPU profile over the burst, to bench/out/ (where the time goes).
    const profiling = args.has("profile");
    if (profiling) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.start");
    }
    // `--trace`: Chromium's own trace over the burst (style, layout, paint: the time a CPU
    // profile shows only as "(program)"), to bench/out/, for chrome://tracing or Perfetto.
    const tracing = args.has("trace");
    if (tracing) {
      mkdirSync(OUT_DIR, { recursive: true });
      await browser.startTracing(page, {
        path: path.join(OUT_DIR, `browser-burst-${variant.name}-${run}.trace.json`),
        categories: ["devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "v8.execute"],
      });
    }
    await startObserving(page);
    const taskBefore = await taskDuration(cdp);
    const started = performance.now();

    const writers = await Promise.all(Array.from({ length: WRITERS }, (_, i) => signIn(base, `Writer ${i + 1}`)));
    await post(base, writers, room, MESSAGES, "burst", RATE);
    // The last one on the page (or 10 s): the burst as the reader sees it, to its end.
    await page.getByRole("log").getByText(`burst ${MESSAGES}`, { exact: true }).waitFor({ timeout: 10_000 }).catch(() => undefined);
    await sleep(500);

    const seconds = (performance.now() - started) / 1000;
    const taskAfter = await taskDuration(cdp);
    if (profiling) {
      const { profile } = (await cdp.send("Profiler.stop")) as { profile: unknown };
      mkdirSync(OUT_DIR, { recursive: true });
      writeFileSync(path.join(OUT_DIR, `browser-burst-${variant.name}-${run}.cpuprofile`), JSON.stringify(profile));
    }
    if (tracing) await browser.stopTracing();
    clearInterval(moving);
    const seen = await stopObserving(page);
    return {
      variant: variant.name,
      run,
      messages: MESSAGES,
      seconds: round(seconds, 1),
      longTasks: seen.longTasks.length,
      longTaskMs: Math.round(seen.longTasks.reduce((a, b) => a + b, 0)),
      maxFrameMs: Math.round(Math.max(0, ...seen.frames)),
      p99FrameMs: Math.round(percentile(seen.frames, 0.99)),
      framesOver50Ms: seen.frames.filter((f) => f > 50).length,
      busyPercent: round((100 * (taskAfter - taskBefore)) / seconds, 1),
      domNodes: seen.domNodes,
      rows: seen.rows,
    };
  } finally {
    movers.forEach((ws) => ws.close());
    await browser.close();
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

/** Posts `count` messages to `room` at `rate` a second (as fast as allowed without one), round-robin over `cookies`. */
async function post(base: string, cookies: string[], room: string, count: number, prefix: string, rate?: number): Promise<void> {
  const started = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 1; i <= count; i++) {
    if (rate) {
      const due = started + ((i - 1) * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const cookie = cookies[i % cookies.length]!;
    // Some markdown and the odd long one, as a real conversation has.
    const text = i % 10 === 0 ? `${prefix} ${i}` : i % 7 === 0 ? `**${prefix}** ${i}: ${"a longer line of text ".repeat(8)}` : `${prefix} ${i}`;
    const send = fetch(`${base}/api/rooms/${room}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie },
      body: JSON.stringify({ text: i % 10 === 0 || i === count ? `${prefix} ${i}` : text, clientId: `${prefix}-${i}` }),
    }).then(async (res) => {
      if (res.status !== 201) throw new Error(`post ${i}: ${res.status} ${await res.text()}`);
    });
    if (rate) pending.push(send);
    else await send;
  }
  await Promise.all(pending);
}

/**
 * Starts recording in the page. Written as a string: the bench runs through tsx, whose compiled
 * functions carry helpers the page does not have.
 */
async function startObserving(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    const burst = { longTasks: [], frames: [], stop: false };
    window.__burst = burst;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) burst.longTasks.push(entry.duration);
    }).observe({ type: "longtask" });
    let last = performance.now();
    const frame = (now) => {
      burst.frames.push(now - last);
      last = now;
      if (!burst.stop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  })()`);
}

async function stopObserving(page: Page): Promise<{ longTasks: number[]; frames: number[]; domNodes: number; rows: number }> {
  return page.evaluate(`(() => {
    const burst = window.__burst;
    burst.stop = true;
    const log = document.querySelector('[role="log"]');
    return { longTasks: burst.longTasks, frames: burst.frames, domNodes: document.getElementsByTagName("*").length, rows: log ? log.querySelectorAll("li").length : 0 };
  })()`);
}

async function taskDuration(cdp: { send(method: "Performance.getMetrics"): Promise<{ metrics: Array<{ name: string; value: number }> }> }): Promise<number> {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return metrics.find((m) => m.name === "TaskDuration")?.value ?? 0;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

type Summary = Record<Variant["name"], Omit<BurstSample, "variant" | "run">>;

/** Medians per variant. */
function summarize(samples: BurstSample[]): Summary {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const of = (name: Variant["name"]) => {
    const mine = samples.filter((s) => s.variant === name);
    const m = (k: keyof Omit<BurstSample, "variant" | "run">) => median(mine.map((s) => s[k]));
    return {
      messages: m("messages"),
      seconds: m("seconds"),
      longTasks: m("longTasks"),
      longTaskMs: m("longTaskMs"),
      maxFrameMs: m("maxFrameMs"),
      p99FrameMs: m("p99FrameMs"),
      framesOver50Ms: m("framesOver50Ms"),
      busyPercent: m("busyPercent"),
      domNodes: m("domNodes"),
      rows: m("rows"),
    };
  };
  return { before: of("before"), after: of("after") };
}

function table(s: Summary): string {
  const rows: Array<[string, keyof Summary["before"]]> = [
    ["long tasks", "longTasks"],
    ["long tasks, total ms", "longTaskMs"],
    ["longest frame, ms", "maxFrameMs"],
    ["p99 frame, ms", "p99FrameMs"],
    ["frames over 50 ms", "framesOver50Ms"],
    ["main thread busy, %", "busyPercent"],
    ["DOM nodes at the end", "domNodes"],
    ["message rows in the DOM", "rows"],
  ];
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? "—" : "∞") : `${round(a / b, 3)}×`);
  return [
    "| measure | before | after | after / before |",
    "|---|---|---|---|",
    ...rows.map(([label, k]) => `| ${label} | ${s.before[k]} | ${s.after[k]} | ${ratio(s.after[k], s.before[k])} |`),
  ].join("\n");
}

await main();
