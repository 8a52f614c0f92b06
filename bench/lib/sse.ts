// A lean Server-Sent Events client for load generation, as lean as the WebSocket one
// (fastws.ts): a raw TCP socket, one GET, and the chunked body handed over as it arrives, cut
// after the last whole event ("\n\n"), without decoding it. Callers scan the bytes for what
// they count (send-time markers). The real `eventsource` client parses every field of every
// event into strings and dispatches a DOM-style event per message: several times the load
// generator's CPU per delivery.
import net from "node:net";

export interface RawSseOptions {
  host?: string;
  port: number;
  /** The stream's path and query, e.g. `/api/stream?streams=room:general`. */
  path: string;
  headers?: Record<string, string>;
  localAddress?: string;
  /** Whole events: the first `end` bytes of `buf` (a view valid only during the call). */
  onEvents: (buf: Buffer, end: number) => void;
  timeoutMs?: number;
}

const EVENT_END = Buffer.from("\n\n");

/** Opens the stream; resolves with its socket once the server answered 200 (rejects otherwise). */
export function openRawSse(o: RawSseOptions): Promise<net.Socket> {
  const host = o.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    sock.setNoDelay(true);
    let head: Buffer | null = Buffer.alloc(0);
    let pending: Buffer | null = null;
    const timer = setTimeout(() => fail(new Error("SSE response timed out")), o.timeoutMs ?? 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    sock.once("error", fail);
    sock.on("connect", () => {
      const lines = [`GET ${o.path} HTTP/1.1`, `Host: ${host}:${o.port}`, "Accept: text/event-stream"];
      for (const [k, v] of Object.entries(o.headers ?? {})) lines.push(`${k}: ${v}`);
      sock.write(`${lines.join("\r\n")}\r\n\r\n`);
    });
    const body = (chunk: Buffer) => {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      const end = buf.lastIndexOf(EVENT_END);
      if (end < 0) return void (pending = buf);
      o.onEvents(buf, end);
      pending = end + 2 < buf.length ? Buffer.from(buf.subarray(end + 2)) : null;
    };
    sock.on("data", (chunk: Buffer) => {
      if (head === null) return body(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const status = head.toString("latin1", 0, head.indexOf("\r\n"));
      if (!/^HTTP\/1\.1 200/.test(status)) return fail(new Error(`SSE answered ${status}`));
      clearTimeout(timer);
      sock.off("error", fail);
      sock.on("error", () => {});
      const rest = head.subarray(end + 4);
      head = null;
      resolve(sock);
      if (rest.length > 0) body(rest);
    });
  });
}
