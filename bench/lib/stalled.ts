// Stalled HTTP consumers for bench:slow, beside its stalled WebSockets: SSE readers and long
// pollers that send their requests and never read a byte of the answers (raw TCP sockets,
// paused from the start), so everything sent to them piles up in the server's kernel send
// buffers, then in its memory — unless the server lets them go.
import net from "node:net";
import { signInMany } from "./clients";
import { openRawSse } from "./sse";

export interface StalledHttpOptions {
  port: number;
  room: string;
  /** SSE streams of the room that are never read. */
  sse: number;
  /** Connections each pipelining `pipelined` polls of the room and reading no answer. */
  polls: number;
  pipelined?: number;
  /** People the stalled consumers are signed in as. */
  people?: number;
}

export interface StalledHttp {
  sse: number;
  polls: number;
  close(): void;
}

export async function openStalledHttp(o: StalledHttpOptions): Promise<StalledHttp> {
  const cookies = await signInMany(`http://127.0.0.1:${o.port}`, Math.max(1, o.people ?? 10), "stalled");
  const sockets: net.Socket[] = [];
  const close = () => {
    for (const s of sockets) s.destroy();
  };
  try {
    for (let i = 0; i < o.sse; i++) {
      const sock = await openRawSse({ port: o.port, path: `/api/stream?streams=room:${o.room}`, headers: { Cookie: cookies[i % cookies.length]! }, onEvents: () => {} });
      sock.pause();
      sockets.push(sock);
    }
    const pipelined = o.pipelined ?? 10;
    for (let i = 0; i < o.polls; i++) {
      const cookie = cookies[i % cookies.length]!;
      const sock = net.connect({ host: "127.0.0.1", port: o.port });
      sock.on("error", () => {});
      sock.pause();
      // Live from now (no cursor: the head), held until events come; the next ones, answered at once.
      const get = (n: number) => `GET /api/poll?streams=room:${o.room}&wait=25&client=stall${i}-${n} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${cookie}\r\n\r\n`;
      sock.write(Array.from({ length: pipelined }, (_, n) => get(n)).join(""));
      sockets.push(sock);
    }
  } catch (err) {
    close();
    throw err;
  }
  return { sse: o.sse, polls: o.polls, close };
}
