// The process: one HTTP server on one port hosting Next's pages and every realtime endpoint,
// so one hub serves WebSocket, SSE and long polling alike.
import next from "next";
import path from "node:path";
import { createApp, type PageHandler } from "./app";
import { ConfigError, loadConfig } from "./config";
import { fileHandleWarning, readOpenFileLimit } from "./fd-budget";
import { createLogger } from "./log";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { instance: config.instanceId });
  const dev = config.env === "development";
  const fdWarning = fileHandleWarning(readOpenFileLimit(), {
    perPerson: config.maxConnectionsPerPerson,
    perAddress: config.maxConnectionsPerAddress,
  });
  if (fdWarning) {
    const { message, ...numbers } = fdWarning;
    logger.warn(numbers, message);
  }

  let handle: PageHandler | undefined = (_req, res) => {
    res.writeHead(503, { "Retry-After": "1" });
    res.end("Starting");
  };
  const app = await createApp({
    config,
    logger,
    pages: config.servePages ? (req, res) => handle!(req, res) : undefined,
    // In development Next serves its HMR socket from its own upgrade listener.
    passUpgrade: (req) => dev && (req.url ?? "").startsWith("/_next/"),
    tuning: { presenceHeartbeatMs: config.presenceHeartbeatMs },
  });

  const nextApp = config.servePages
    ? next({
        dev,
        dir: path.resolve(import.meta.dirname, ".."),
        hostname: config.host === "0.0.0.0" ? "localhost" : config.host,
        port: config.port,
        httpServer: app.server,
      })
    : null;
  if (nextApp) {
    await nextApp.prepare();
    const nextHandler = nextApp.getRequestHandler();
    handle = (req, res) => nextHandler(req, res);
  }

  const port = await app.listen(config.port, config.host);
  logger.info(
    { port, host: config.host, database: app.db.kind, dev, url: `http://localhost:${port}` },
    `ready on http://localhost:${port}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error("drain took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    app
      .shutdown()
      .then(() => nextApp?.close?.())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
