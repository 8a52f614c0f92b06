// Assembles the realtime server: database, event log, hub, transports and the HTTP API on one
// http.Server. Next's page handler is optional, so tests run the whole realtime stack on
// port 0 without building the UI.
import { createHash, randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import path from "node:path";
import { Accounts } from "./accounts";
import { Sessions } from "./auth";
import { listenForCommits, NOTIFY_CHANNEL } from "./backplane/postgres";
import { RedisBus } from "./backplane/redis";
import type { Config } from "./config";
import { openDatabase, type Database } from "./db/database";
import { migrate } from "./db/migrate";
import { EventLog } from "./eventlog";
import { GuestRetention } from "./guests";
import { ConnectionBudget } from "./connection-budget";
import { CommandExecutor } from "./commands/executor";
import { createApi, toHttpError } from "./http/api";
import { csrfRefusal } from "./http/origin";
import { FairShare } from "./http/fair-share";
import { ProxyTrust } from "./http/proxy-trust";
import { sendError, HttpError } from "./http/respond";
import { readHeldConnections } from "./http/refusal-pacing";
import { API_CONTENT_SECURITY_POLICY, COMMON_SECURITY_HEADERS } from "../lib/security-headers";
import { Hub } from "./hub";
import type { Logger } from "./log";
import { createMetrics, type Metrics } from "./metrics";
import { OpsSampler } from "./ops";
import { PersonRates, type RateLimits } from "./ratelimit";
import { systemClock, type Clock } from "./state/clock";
import { LongPollTransport } from "./transports/longpoll";
import { SseTransport } from "./transports/sse";
import { WsTransport } from "./transports/ws";
import { SearchIndex } from "./search-index";
import { Workspace } from "./workspace";

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname ?? __dirname, "../prisma/migrations");

export type PageHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** An already open database (tests); otherwise opened from the config. */
  db?: Database;
  /** Serves everything that is not the realtime API (Next's handler). */
  pages?: PageHandler;
  /** Next's own upgrade listener takes `/_next/*` in development; leave those sockets alone. */
  passUpgrade?: (req: IncomingMessage) => boolean;
  clock?: Clock;
  metrics?: Metrics;
  /** Overrides for tests: heartbeat, grace periods, limits. */
  tuning?: {
    pingIntervalMs?: number;
    pongTimeoutMs?: number;
    presenceGraceMs?: number;
    typingTtlMs?: number;
    pollStateIntervalMs?: number;
    pollPresenceTtlMs?: number;
    pollMaxHeld?: number;
    pollMaxHeldPerSession?: number;
    pollMaxEvents?: number;
    /** How long a woken poll waits to gather more events (protocol 1.3 batching). */
    pollBatchMs?: number;
    /** Bytes of events that end a poll's batch window early. */
    pollBatchBytes?: number;
    /** Least time between two batch windows' ends: how often, at most, a poller is answered. */
    pollPaceMs?: number;
    /** HTTP requests run in one turn of the event loop before the rest wait (`REQUESTS_PER_TURN`). */
    requestsPerTurn?: number;
    ssePingMs?: number;
    /** Unsent bytes an SSE stream may hold before it is destroyed. */
    sseMaxBufferedBytes?: number;
    /** An SSE stream or poll answer whose socket has not drained for this long is destroyed. */
    writeStallMs?: number;
    /** Bytes of events in one poll answer (the rest come with the next poll). */
    pollMaxAnswerBytes?: number;
    wsMaxBufferedBytes?: number;
    coalesceCursors?: boolean;
    drainSpreadMs?: number;
    presenceHeartbeatMs?: number;
    /** A request body that goes this long without a byte is refused with 408. */
    bodyIdleTimeoutMs?: number;
    /** The whole request (headers and body) must arrive within this; 0 turns it off. */
    requestTimeoutMs?: number;
    /** How often Node checks requests against their timeouts. */
    timeoutCheckIntervalMs?: number;
    /** Appends the event log holds (queued and in flight) before answering `overloaded`. */
    appendMaxQueue?: number;
    /** Per-person rate limits instead of SEND_LIMITS (benchmarks whose senders share people). */
    rateLimits?: RateLimits;
  };
}

export interface App {
  server: http.Server;
  /** The listener for `/metrics` alone when METRICS_PORT is set (on the same HOST); else null. */
  metricsServer: http.Server | null;
  db: Database;
  log: EventLog;
  hub: Hub;
  ws: WsTransport;
  sse: SseTransport;
  poll: LongPollTransport;
  /** The connection caps per person and per address, and what each holds now. */
  budget: ConnectionBudget;
  workspace: Workspace;
  sessions: Sessions;
  guests: GuestRetention;
  searchIndex: SearchIndex;
  metrics: Metrics;
  /** Listens on `port` (and the metrics listener on METRICS_PORT); resolves with the port. */
  listen(port: number, host?: string): Promise<number>;
  /** Drains (readyz 503, sockets 1012, streams ended, polls answered, appends committed) and closes. */
  shutdown(): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config, logger } = opts;
  const tuning = opts.tuning ?? {};
  const metrics = opts.metrics ?? createMetrics({ labels: { instance: config.instanceId } });
  const ownsDb = !opts.db;
  const db =
    opts.db ??
    (await openDatabase({
      url: config.databaseUrl,
      dataDir: path.join(config.dataDir, "pglite"),
      durability: config.embeddedDbDurability,
      // Which instance a connection belongs to, in pg_stat_activity.
      applicationName: `realtime-workspace-${config.instanceId}`,
      onError: (err, context) => logger.warn({ err, context }, "database connection error"),
      // The embedded database's process died: nothing can commit any more, so nothing more is
      // acknowledged; exit non-zero for a supervisor (or the person at the terminal) to restart.
      onDatabaseExit: (code, signal) => {
        logger.fatal({ code, signal }, "the embedded database's process exited; stopping");
        process.exit(1);
      },
    }));
  if (ownsDb) {
    const applied = await migrate(db, MIGRATIONS_DIR);
    if (applied.length > 0) logger.info({ applied }, "migrations applied");
  }

  // INSTANCE_ID names this instance in logs and metrics. Instances tell their own NOTIFYs and
  // bus messages from the others' by a name unique to this process, so two processes started
  // with the same INSTANCE_ID by mistake (a copied env file) still hear each other.
  const processId = `${config.instanceId}.${randomBytes(4).toString("hex")}`;
  const log = new EventLog(db, {
    metrics,
    logger: logger.child({ module: "eventlog" }),
    maxQueue: tuning.appendMaxQueue,
    instanceId: processId,
    notifyChannel: db.kind === "postgres" ? NOTIFY_CHANNEL : undefined,
  });
  const clock = opts.clock ?? systemClock;
  const hub = new Hub({
    log,
    clock,
    logger: logger.child({ module: "hub" }),
    metrics,
    presenceGraceMs: tuning.presenceGraceMs,
    typingTtlMs: tuning.typingTtlMs,
    coalesceCursors: tuning.coalesceCursors,
    instanceId: processId,
    presenceHeartbeatMs: tuning.presenceHeartbeatMs,
  });
  const trust = new ProxyTrust(config.trustedProxies);
  // The clock read at each call, as the long-poll transport reads it: a session's trust and a
  // ticket's are measured on one clock.
  const sessions = new Sessions(db, config.sessionSecret, () => Date.now(), (req) => trust.isSecure(req), logger.child({ module: "auth" }));
  const workspace = new Workspace(db.prisma, log);
  // Each message's words for search, written after its commit (never on the ack's path).
  const searchIndex = new SearchIndex(db, log, { logger: logger.child({ module: "search" }) });
  hub.onSignOut((sessionId) => sessions.forget(sessionId));
  hub.onPersonChanged = (userId) => sessions.forgetPerson(userId);

  // Presence, typing and cursors of other instances: Redis pub/sub, when configured.
  const bus = config.redisUrl
    ? new RedisBus(config.redisUrl, deploymentKey(config), processId, logger.child({ module: "redis" }), metrics)
    : null;
  if (bus) await hub.attachBus(bus);
  // Connection caps per person and per client address over all three transports, and the
  // per-person rate limits shared by all of a person's connections. A person's buckets may go
  // once their last connection has closed.
  const rates: PersonRates = new PersonRates({
    limits: tuning.rateLimits,
    isConnected: (personId) => budget.heldBy(personId) > 0,
  });
  const budget: ConnectionBudget = new ConnectionBudget({
    perPerson: config.maxConnectionsPerPerson,
    perAddress: config.maxConnectionsPerAddress,
    addressOf: (req) => trust.clientAddress(req),
    metrics,
    onPersonIdle: (personId) => rates.forget(personId),
  });

  // Every client command, from any transport, goes through this one executor.
  const executor = new CommandExecutor({ hub, workspace, logger: logger.child({ module: "commands" }), metrics });

  const ws = new WsTransport({
    hub,
    workspace,
    sessions,
    logger: logger.child({ module: "ws" }),
    metrics,
    clock,
    allowedOrigins: config.allowedOrigins,
    trust,
    pingIntervalMs: tuning.pingIntervalMs,
    pongTimeoutMs: tuning.pongTimeoutMs,
    maxBufferedBytes: tuning.wsMaxBufferedBytes,
    budget,
    rates,
    executor,
  });
  const sse = new SseTransport({
    hub,
    log,
    workspace,
    logger: logger.child({ module: "sse" }),
    metrics,
    pingIntervalMs: tuning.ssePingMs,
    maxBufferedBytes: tuning.sseMaxBufferedBytes,
    writeStallMs: tuning.writeStallMs,
    budget,
    accepting: () => ready,
  });
  const poll = new LongPollTransport({
    hub,
    log,
    workspace,
    logger: logger.child({ module: "poll" }),
    metrics,
    stateIntervalMs: tuning.pollStateIntervalMs,
    presenceTtlMs: tuning.pollPresenceTtlMs,
    maxHeld: tuning.pollMaxHeld,
    maxHeldPerSession: tuning.pollMaxHeldPerSession,
    maxEvents: tuning.pollMaxEvents,
    budget,
    maxAnswerBytes: tuning.pollMaxAnswerBytes,
    batchMs: tuning.pollBatchMs,
    batchBytes: tuning.pollBatchBytes,
    paceMs: tuning.pollPaceMs,
    writeStallMs: tuning.writeStallMs,
    rates,
    executor,
  });

  // Other instances' commits: read their events from the log (the log is the backplane).
  const stopListening =
    db.kind === "postgres"
      ? await listenForCommits({
          db,
          self: processId,
          catchUp: (heads) => {
            // The log numbers its next batch to these streams from them (EventLog.heard).
            if (heads) log.heard(heads);
            return hub.catchUpHeads(heads);
          },
          logger,
          metrics,
        })
      : null;

  const ops = new OpsSampler(metrics, config.instanceId);
  let ready = true;
  const router = createApi({
    sessions,
    accounts: new Accounts(db, sessions, metrics),
    workspace,
    hub,
    sse,
    poll,
    metrics,
    ops,
    isReady: () => ready,
    limits: {
      sessionsPerAddressPerMinute: config.sessionsPerAddressPerMinute,
      roomsPerPersonBurst: config.roomsPerPersonBurst,
      roomsPerPersonPerHour: config.roomsPerPersonPerHour,
    },
    now: () => clock.now(),
    trust,
    bodyIdleTimeoutMs: tuning.bodyIdleTimeoutMs,
    rates,
    executor,
  });
  const httpLog = logger.child({ module: "http" });

  // With METRICS_PORT, /metrics is served on that listener only, so the public port (and
  // whatever proxies it) never shows it.
  const metricsApart = config.metricsPort !== undefined;

  const SECURITY_HEADERS = Object.entries(COMMON_SECURITY_HEADERS);
  /** Routes whose requests are held open until there is news: long polls and event streams. */
  const HELD_ROUTES: ReadonlySet<string> = new Set(["/api/poll", "/api/stream"]);
  /** What every answer of the API carries, whatever answers it. */
  const apiHeaders = (res: ServerResponse) => {
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    res.setHeader("Content-Security-Policy", API_CONTENT_SECURITY_POLICY);
  };
  /** A long poll that carries on from its last answer (protocol 1.17): counted as any request is. */
  const carryingOn = (res: ServerResponse) => {
    apiHeaders(res);
    res.on("finish", () => metrics.requestAnswered("/api/poll", "GET", res.statusCode));
  };
  const answerRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = metricsApart && url.pathname === "/metrics" ? null : router.match(req.method ?? "GET", url.pathname);
    const toPages = !match && opts.pages !== undefined && !url.pathname.startsWith("/api/") && url.pathname !== "/metrics";
    // Pages get their policy, with a fresh script nonce, from proxy.ts.
    if (toPages) for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    else apiHeaders(res);
    // The label is a route pattern, "pages" or "unmatched", never the path itself: a scanner
    // trying a million paths must not make a million time series.
    const route = match?.pattern ?? (toPages ? "pages" : "unmatched");
    const started = performance.now();
    // A held poll's or stream's duration is how long it was held, not how long it took.
    const timed = !HELD_ROUTES.has(route);
    res.on("finish", () => {
      metrics.requestAnswered(route, req.method ?? "GET", res.statusCode);
      if (timed) metrics.httpSeconds.observe({ route }, (performance.now() - started) / 1000);
    });
    // Draining: the port stays open so /readyz can say so; anything new is refused with 503,
    // which a proxy retries on another instance.
    if (!ready && !OPS_PATHS.has(url.pathname)) {
      return sendError(res, new HttpError("unavailable", "The server is restarting; try again shortly"), {
        "Retry-After": "1",
        Connection: "close",
      });
    }
    if (!match) {
      if (toPages) return void opts.pages!(req, res);
      return sendError(res, new HttpError("not_found", `No such endpoint: ${url.pathname}`));
    }
    if (!match.handler) {
      return sendError(res, new HttpError("method_not_allowed", `Use ${match.allowed.join(" or ")}`), {
        Allow: match.allowed.join(", "),
      });
    }
    const forged = csrfRefusal(req, trust, config.allowedOrigins);
    if (forged) {
      metrics.csrfRefused.inc({ code: forged.code });
      req.resume();
      return sendError(res, forged);
    }
    Promise.resolve(match.handler({ req, res, url, params: match.params })).catch((err: unknown) => {
      const known = toHttpError(err);
      if (!known) httpLog.error({ err, route: match.pattern }, "request failed");
      if (res.headersSent) return void res.end();
      // A body that stopped arriving never finishes: this connection cannot carry another request.
      const close = known?.code === "request_timeout" ? { Connection: "close" } : undefined;
      sendError(res, known ?? new HttpError("internal", "Something went wrong"), close);
    });
  };
  // A burst of requests from one address is answered a slice per turn of the event loop, with
  // every other address's requests and sockets served in between (server/http/fair-share.ts).
  const fairShare = new FairShare({ addressOf: (req) => trust.clientAddress(req), slice: tuning.requestsPerTurn, waiting: metrics.httpWaiting });
  // The requests being answered, so that a drain lets them finish before it closes the log and
  // the database under them.
  const answering = new Set<ServerResponse>();
  let allAnswered: (() => void) | null = null;
  const server = http.createServer({ connectionsCheckingInterval: tuning.timeoutCheckIntervalMs ?? 5_000 }, (req, res) => {
    answering.add(res);
    res.once("close", () => {
      answering.delete(res);
      if (answering.size === 0) allAnswered?.();
    });
    // A long poll that names the subscription its last answer left (protocol 1.17) carries on
    // at once: it was read in full when that subscription began, and comes no faster than the
    // server answers it, so it needs no turn of its own.
    try {
      if (ready && poll.carryOn(req, res, carryingOn)) return;
    } catch (err) {
      httpLog.error({ err, route: "/api/poll" }, "request failed");
      if (!res.headersSent) sendError(res, new HttpError("internal", "Something went wrong"));
      return;
    }
    fairShare.admit(req, () => answerRequest(req, res));
  });
  /**
   * Resolves once every request under way has been answered, or after `ms`, when the ones still
   * going (a body that stopped arriving) are cut.
   */
  const requestsAnswered = async (ms: number) => {
    if (answering.size === 0) return;
    logger.info({ requests: answering.size }, "draining: answering the requests under way");
    const done = new Promise<void>((resolve) => (allAnswered = resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
    if ((await Promise.race([done, late])) === "late") {
      logger.warn({ requests: answering.size }, "draining: requests still unanswered; closing their connections");
      for (const res of answering) res.destroy();
    }
    clearTimeout(timer);
  };
  server.keepAliveTimeout = 65_000;
  // Node's timeouts cover receiving a request, not answering it: a held poll or an SSE stream
  // (requests complete once their headers are in) and an upgraded WebSocket are not cut by
  // them. They bound a client that sends its headers or body slowly; readBody's idle timer
  // answers a stalled body sooner, with a JSON error.
  server.requestTimeout = tuning.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(20_000, server.requestTimeout || 20_000);

  const metricsServer = metricsApart
    ? http.createServer((req, res) => {
        const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
        const match = pathname === "/metrics" ? router.match(req.method ?? "GET", pathname) : null;
        if (!match?.handler) return sendError(res, new HttpError("not_found", "This port serves only /metrics"));
        Promise.resolve(match.handler({ req, res, url: new URL(req.url ?? "/", "http://localhost"), params: {} })).catch((err: unknown) => {
          httpLog.error({ err }, "metrics failed");
          if (!res.headersSent) sendError(res, new HttpError("internal", "Something went wrong"));
        });
      })
    : null;

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    if (pathname === "/ws" && !ready) {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    if (pathname === "/ws") {
      ws.handleUpgrade(req, socket, head).catch((err: unknown) => {
        logger.error({ err }, "upgrade failed");
        socket.destroy();
      });
      return;
    }
    if (opts.passUpgrade?.(req)) return;
    socket.destroy();
  });

  // People who can no longer sign in, gone after the retention period (several instances
  // sweeping at once is harmless: each statement deletes what is there to delete).
  const guests = new GuestRetention(db.prisma, {
    retentionMs: config.guestRetentionDays * 24 * 3600_000,
    logger: logger.child({ module: "guests" }),
  });

  hub.start();
  ws.start();
  ops.start();
  guests.start();
  await searchIndex.start();

  let shuttingDown: Promise<void> | null = null;
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      ready = false;
      metrics.draining.set(1);
      logger.info("draining");
      sse.drain();
      poll.drain();
      await readHeldConnections();
      // Requests under way when the drain began (a message posted, a room being created) are
      // answered before the log and the database close under them: cut off, they would fail,
      // and nginx sends a POST that has reached an instance nowhere else.
      await requestsAnswered(config.shutdownTimeoutMs / 2);
      // Commit what was accepted first, so its senders still hear their acks.
      await log.close();
      await searchIndex.stop();
      const reconnectSpreadMs = tuning.drainSpreadMs ?? 5_000;
      await ws.drain(reconnectSpreadMs);
      hub.stop({ reconnectSpreadMs });
      ops.stop();
      await guests.stop();
      // Only now stop listening: until here /readyz answered 503 to whoever asked.
      server.close();
      metricsServer?.close();
      server.closeIdleConnections();
      await stopListening?.();
      await bus?.stop();
      if (ownsDb) await db.close();
      logger.info("drained");
    })());

  return {
    server,
    metricsServer,
    db,
    log,
    hub,
    ws,
    sse,
    poll,
    budget,
    workspace,
    sessions,
    guests,
    searchIndex,
    metrics,
    async listen(port, host = "127.0.0.1") {
      if (metricsServer) await listenOn(metricsServer, config.metricsPort!, host);
      return listenOn(server, port, host);
    },
    shutdown,
  };
}

function listenOn(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      resolve(typeof addr === "object" && addr ? addr.port : port);
    });
  });
}

/** Answered while draining too: the operator's view of the instance. */
const OPS_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/** Instances sharing a database are one deployment: they share ephemeral state too. */
function deploymentKey(config: Config): string {
  const url = config.databaseUrl ? new URL(config.databaseUrl) : null;
  const identity = url ? `${url.hostname}:${url.port}${url.pathname}` : config.dataDir;
  return createHash("sha256").update(identity).digest("hex").slice(0, 12);
}
