// Baseline for idle connections: a bare http server holding Server-Sent Events streams open
// (headers, a retry line, a ping now and then) and nothing else.
import http from "node:http";
import { failToParent, serveParent } from "../lib/child";

async function main(): Promise<void> {
  const streams = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    if (!req.url?.startsWith("/api/stream")) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache, no-transform", Connection: "keep-alive" });
    res.write("retry: 2000\n\n");
    streams.add(res);
    req.on("close", () => streams.delete(res));
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  const ping = setInterval(() => {
    for (const res of streams) res.write(": ping\n\n");
  }, 15_000);
  ping.unref();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  serveParent(typeof addr === "object" && addr ? addr.port : 0, {
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of streams) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    calls: { connections: () => ({ sse: streams.size }) },
  });
}

main().catch(failToParent);
