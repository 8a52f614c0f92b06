// Baseline for chat fan-out: Socket.IO 4.8 doing the same room broadcast (websocket transport
// only, no compression). Clients emit "join" (room) and "send" (room, text); everyone in the
// room, sender included, gets "message" {room, from, text}.
import http from "node:http";
import { Server } from "socket.io";
import { childOptions, failToParent, serveParent } from "../lib/child";

async function main(): Promise<void> {
  childOptions<Record<string, never>>();
  const server = http.createServer();
  const io = new Server(server, {
    transports: ["websocket"],
    perMessageDeflate: false,
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
  });
  io.on("connection", (socket) => {
    socket.on("join", (room: unknown) => {
      if (typeof room !== "string") return;
      void socket.join(room);
      socket.emit("joined", room);
    });
    socket.on("send", (room: unknown, text: unknown) => {
      if (typeof room !== "string" || typeof text !== "string") return;
      io.to(room).emit("message", { room, from: socket.id, text });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  serveParent(typeof addr === "object" && addr ? addr.port : 0, {
    stop: () => new Promise<void>((resolve) => void io.close(() => resolve())),
    calls: { connections: () => ({ ws: io.engine.clientsCount }) },
  });
}

main().catch(failToParent);
