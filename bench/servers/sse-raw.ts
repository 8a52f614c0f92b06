// Baseline for Server-Sent Events: a bare http server holding SSE streams open (headers, a
// retry line, a ping now and then) — all idle connections need — and, for the transports
// bench, a broadcast: `POST /api/rooms/:id/messages` {text, clientId} becomes one event, its
// bytes made once and written to every open stream. No sessions, no log, no per-subscriber
// cursor: what SSE costs with nothing else in the way.
import http from "node:http";
import { childOptions, failToParent, serveParent } from "../lib/child";
import { takeMessagePost } from "../lib/message-post";


interface Options {
  /** Interval of the `: ping` comment (the app's default: 15 s). */
  pingMs?: number;
}

async function main(): Promise<void> {
  const { pingMs = 15_000 } = childOptions<Options>();
  const streams = new Set<http.ServerResponse>();
  let seq = 0;
  const broadcast = (room: string, text: string, clientId: string): object => {
    const event = { stream: `room:${room}`, seq: ++seq, type: "message", actor: { id: "u_raw", name: "raw" }, at: new Date().toISOString(), data: { text, clientId } };
    // The shape of the app's SSE messages: the cursor as the id, the type as the event name.
    const bytes = Buffer.from(`id: room:${room}=${seq}\nevent: message\ndata: ${JSON.stringify(event)}\n\n`);
    for (const res of streams) res.write(bytes);
    return event;
  };
  const server = http.createServer((req, res) => {
    if (takeMessagePost(req, res, broadcast)) return;
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
  }, pingMs);
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
