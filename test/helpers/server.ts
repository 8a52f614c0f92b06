// A real server on 127.0.0.1, port 0, without Next: the whole realtime stack for tests.
import type { Server } from "node:http";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { createApp, type App, type AppOptions } from "../../server/app";
import { loadConfig } from "../../server/config";
import { silentLogger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import { z } from "zod";
import { CloseCode, restartingReasonSchema, serverFrameSchema, type ServerFrame, type User } from "../../lib/protocol";
import { createTestDatabase, type DbKind, type TestDatabase } from "./db";

/**
 * For suites in which one person makes more rooms than anyone may at once (10): they test
 * rooms, not the limit, so they lift it by name (test/abuse/rooms.test.ts tests the limit).
 */
export const MANY_ROOMS = { ROOMS_PER_PERSON_BURST: "1000" } as const;

/** Someone signed in: who they are and their session cookie. */
export type Person = { user: User; cookie: string };

export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  testDb: TestDatabase;
  signIn(name: string): Promise<{ user: User; cookie: string }>;
  connect(cookie: string, opts?: { protocols?: string[]; headers?: Record<string, string>; maxFrames?: number }): Promise<WsClient>;
  api(path: string, init?: RequestInit & { cookie?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startServer(
  opts: {
    kind?: DbKind;
    tuning?: AppOptions["tuning"];
    testDb?: TestDatabase;
    instanceId?: string;
    /** Extra environment for the config, e.g. ALLOWED_ORIGINS. */
    env?: Record<string, string>;
    /** prom-client's process metrics (CPU, memory, event loop) in /metrics, as in production. */
    defaultMetrics?: boolean;
    /** Time for the hub's rules and the HTTP limits (a ManualClock holds it still). */
    clock?: AppOptions["clock"];
  } = {},
): Promise<TestServer> {
  const testDb = opts.testDb ?? (await createTestDatabase(opts.kind ?? "pglite"));
  const config = loadConfig({
    NODE_ENV: "test",
    SESSION_SECRET: "test-secret-test-secret-test-secret-0123",
    DATA_DIR: "/tmp/rt-test-unused",
    INSTANCE_ID: opts.instanceId,
    ...opts.env,
  });
  const app = await createApp({
    config,
    logger: silentLogger,
    db: testDb.db,
    clock: opts.clock,
    metrics: createMetrics({ defaultMetrics: opts.defaultMetrics ?? false }),
    tuning: { drainSpreadMs: 50, ...opts.tuning },
  });
  // Every connection the server accepted, upgraded ones too (the HTTP server stops tracking
  // those): whatever a test left open is destroyed on stop, so teardown never waits on it.
  const sockets = new Set<Socket>();
  app.server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const port = await app.listen(0);
  const url = `http://127.0.0.1:${port}`;
  const api = (path: string, init: RequestInit & { cookie?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.cookie) headers.set("cookie", init.cookie);
    // JSON, as the API asks of every state-changing call (a bodiless DELETE included).
    if ((init.body || (init.method ?? "GET") !== "GET") && !headers.has("content-type")) headers.set("content-type", "application/json");
    return fetch(url + path, { ...init, headers });
  };
  return {
    app,
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    testDb,
    api,
    async signIn(name) {
      const res = await api("/api/session", { method: "POST", body: JSON.stringify({ name }) });
      if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
      const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
      const { user } = (await res.json()) as { user: User };
      return { user, cookie };
    },
    connect: (cookie, o) => WsClient.open(`ws://127.0.0.1:${port}/ws`, cookie, o),
    async stop() {
      // The graceful drain first (tests check what it says to clients), then nothing is waited
      // for: a socket whose peer never answers the close would hold `server.close` for minutes.
      await app.shutdown();
      app.server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await closeWithin(app.server, STOP_LIMIT_MS);
      if (!opts.testDb) await testDb.drop();
    },
  };
}

/** More frames than any test here expects on one socket: beyond it, the server is looping. */
const MAX_FRAMES_PER_CLIENT = 100_000;

/** Once every connection is destroyed the server closes at once; longer is a leak to report. */
const STOP_LIMIT_MS = 1_000;

/** Closes `server`, failing (not hanging) when something still holds it after `ms`. */
export function closeWithin(server: Server, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not close within ${ms} ms of destroying its connections`)), ms);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** A server with these people signed in, one after another: `[server, ...people]`. */
export async function startServerWith<const N extends readonly string[]>(
  names: N,
  opts?: Parameters<typeof startServer>[0],
): Promise<[TestServer, ...{ -readonly [K in keyof N]: Person }]> {
  const s = await startServer(opts);
  const people: Person[] = [];
  for (const name of names) people.push(await s.signIn(name));
  return [s, ...people] as [TestServer, ...{ -readonly [K in keyof N]: Person }];
}

/**
 * A WebSocket client that records every frame and waits for the ones a test expects. It checks
 * each frame (and a 1012 close's reason) against the protocol's schemas as the browser client
 * does, and keeps any that fail in `invalid`: the server must never send what a client drops.
 */
export class WsClient {
  /** Every frame as the server sent it, in order (one that failed its schema too, to show what came). */
  readonly frames: ServerFrame[] = [];
  readonly invalid: Array<{ text: string; problem: string }> = [];
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;
  closeReason = "";

  /** Set once more frames came than any test expects (a runaway replay): the socket is cut. */
  overflowed = false;

  private constructor(
    readonly ws: WebSocket,
    private readonly maxFrames = MAX_FRAMES_PER_CLIENT,
  ) {
    ws.on("message", (data) => {
      if (this.frames.length >= this.maxFrames) {
        // Keep the test's memory and time bounded: fail the wait instead of recording forever.
        this.overflowed = true;
        ws.terminate();
        return this.wake();
      }
      const text = data.toString();
      const raw: unknown = JSON.parse(text);
      const checked = serverFrameSchema.safeParse(raw);
      if (!checked.success) this.invalid.push({ text, problem: z.prettifyError(checked.error) });
      this.frames.push(raw as ServerFrame);
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      if (code === CloseCode.restarting) {
        let raw: unknown;
        try {
          raw = JSON.parse(this.closeReason);
        } catch {
          raw = undefined;
        }
        const checked = restartingReasonSchema.safeParse(raw);
        if (!checked.success) this.invalid.push({ text: this.closeReason, problem: z.prettifyError(checked.error) });
      }
      this.wake();
    });
  }

  static open(
    url: string,
    cookie: string,
    opts: { protocols?: string[]; headers?: Record<string, string>; maxFrames?: number } = {},
  ): Promise<WsClient> {
    const ws = new WebSocket(url, opts.protocols ?? ["rt.v1"], { headers: { cookie, ...opts.headers } });
    const client = new WsClient(ws, opts.maxFrames);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once("error", reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits for the first frame (from `from` on) matching `pred`; returns it. */
  async next<T extends ServerFrame>(pred: (f: ServerFrame) => f is T, opts?: { from?: number; timeoutMs?: number }): Promise<T>;
  async next(pred: (f: ServerFrame) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<ServerFrame>;
  async next(pred: (f: ServerFrame) => boolean, opts: { from?: number; timeoutMs?: number } = {}): Promise<ServerFrame> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const found = this.frames.slice(opts.from ?? 0).find(pred);
      if (found) return found;
      if (this.overflowed) throw new Error(`more than ${this.maxFrames} frames arrived: the server is looping`);
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits until the socket closes; returns the close code. */
  async closed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === null) {
      if (Date.now() > deadline) throw new Error("socket did not close");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closeCode;
  }

  of<T extends ServerFrame["type"]>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f) => f.type === type) as Extract<ServerFrame, { type: T }>[];
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

export const isType =
  <T extends ServerFrame["type"]>(type: T, extra: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true) =>
  (f: ServerFrame): f is Extract<ServerFrame, { type: T }> =>
    f.type === type && extra(f as Extract<ServerFrame, { type: T }>);

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
