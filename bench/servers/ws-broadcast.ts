// Baselines for chat fan-out: a bare `ws` server with rooms and nothing else (no auth, no log,
// no validation beyond JSON.parse). Three ways to broadcast:
//   raw    serialize and frame once: one whole WebSocket frame (header + UTF-8 text) written as it
//          is to every TCP socket, no per-socket work in ws (the practical limit of the stack)
//   send   serialize once into a Buffer and `ws.send` it to every socket (ws frames it per socket)
//   naive  JSON.stringify the message again for every socket
// Clients send {"type":"join","room"} and {"type":"send","room","text"}; everyone in the room,
// sender included, gets {"type":"message","room","from","text"}.
import http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { wsTextFrame } from "../../server/transports/ws-frame";
import { childOptions, failToParent, serveParent } from "../lib/child";

interface Options {
  mode: "raw" | "send" | "naive";
}

/** ws's TCP socket (internal, as the app's fan-out uses it): frames written to it go out as they are. */
function tcpOf(ws: WebSocket): Duplex {
  return (ws as unknown as { _socket: Duplex })._socket;
}

async function main(): Promise<void> {
  const { mode } = childOptions<Options>();
  const rooms = new Map<string, Set<WebSocket>>();
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 });
  let nextId = 0;
  const sockets = new Set<WebSocket>();
  wss.on("connection", (ws) => {
    const id = `c${nextId++}`;
    const joined = new Set<string>();
    sockets.add(ws);
    ws.on("message", (data) => {
      let msg: { type?: string; room?: string; text?: string };
      try {
        msg = JSON.parse(data.toString()) as typeof msg;
      } catch {
        return;
      }
      if (typeof msg.room !== "string") return;
      if (msg.type === "join") {
        let set = rooms.get(msg.room);
        if (!set) rooms.set(msg.room, (set = new Set()));
        set.add(ws);
        joined.add(msg.room);
        ws.send(`{"type":"joined","room":${JSON.stringify(msg.room)}}`);
      } else if (msg.type === "send" && typeof msg.text === "string") {
        const set = rooms.get(msg.room);
        if (!set) return;
        const out = { type: "message", room: msg.room, from: id, text: msg.text };
        if (mode === "raw") {
          const frame = wsTextFrame(JSON.stringify(out));
          for (const peer of set) if (peer.readyState === peer.OPEN) tcpOf(peer).write(frame);
        } else if (mode === "send") {
          const bytes = Buffer.from(JSON.stringify(out));
          for (const peer of set) peer.send(bytes, { binary: false });
        } else {
          for (const peer of set) peer.send(JSON.stringify(out));
        }
      }
    });
    ws.on("error", () => {});
    ws.on("close", () => {
      sockets.delete(ws);
      for (const room of joined) rooms.get(room)?.delete(ws);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  serveParent(typeof addr === "object" && addr ? addr.port : 0, {
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    calls: {
      connections: () => ({ ws: sockets.size }),
      /** Bytes queued in this process for the sockets (no slow-consumer policy: unbounded). */
      buffered: () => {
        let total = 0;
        let max = 0;
        for (const ws of sockets) {
          total += ws.bufferedAmount;
          max = Math.max(max, ws.bufferedAmount);
        }
        return { total, max };
      },
    },
  }, { mode });
}

main().catch(failToParent);
