// A lean WebSocket client for load generation: a raw TCP socket, the RFC 6455 handshake, and a
// frame parser that hands each payload over as a view into the received chunk (no copy, no
// event per message, no UTF-8 validation). One load-generator core then receives several times
// more frames per second than with a full client, so the server, not the load generator, is
// what a benchmark measures. Client frames are masked with a zero key (allowed by the RFC).
import { randomBytes } from "node:crypto";
import net from "node:net";

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface FastWsOptions {
  host?: string;
  port: number;
  path?: string;
  headers?: Record<string, string>;
  protocols?: string[];
  /** Each frame's payload: a view valid only during the call. */
  onFrame?: (payload: Buffer, opcode: number, ws: FastWs) => void;
  onClose?: () => void;
  localAddress?: string;
  timeoutMs?: number;
}

export class FastWs {
  frames = 0;
  private pending: Buffer | null = null;
  closed = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly opts: FastWsOptions,
  ) {}

  get bytesRead(): number {
    return this.socket.bytesRead;
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  /** Bytes queued locally, not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  static connect(opts: FastWsOptions): Promise<FastWs> {
    const host = opts.host ?? "127.0.0.1";
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port: opts.port, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
      socket.setNoDelay(true);
      const ws = new FastWs(socket, opts);
      let head: Buffer = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("WebSocket handshake timed out"));
      }, opts.timeoutMs ?? 30_000);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      socket.once("error", fail);
      socket.once("connect", () => {
        const lines = [
          `GET ${opts.path ?? "/"} HTTP/1.1`,
          `Host: ${host}:${opts.port}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
          "Sec-WebSocket-Version: 13",
        ];
        if (opts.protocols?.length) lines.push(`Sec-WebSocket-Protocol: ${opts.protocols.join(", ")}`);
        for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
        socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      });
      const onHandshake = (chunk: Buffer) => {
        head = head.length ? Buffer.concat([head, chunk]) : chunk;
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
        if (!/^HTTP\/1\.1 101/.test(status)) return fail(new Error(`WebSocket upgrade answered ${status}`));
        clearTimeout(timer);
        socket.off("data", onHandshake);
        socket.off("error", fail);
        socket.on("error", () => {});
        socket.on("close", () => {
          ws.closed = true;
          opts.onClose?.();
        });
        socket.on("data", (c: Buffer) => ws.receive(c));
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) ws.receive(rest);
      };
      socket.on("data", onHandshake);
    });
  }

  send(text: string): void {
    if (this.closed) return;
    this.socket.write(frame(OP_TEXT, Buffer.from(text)));
  }

  /** Writes frames built beforehand (a flood's batch: one write, many frames). */
  sendRaw(frames: Buffer): void {
    if (this.closed) return;
    this.socket.write(frames);
  }

  /** Closes at once with a reset: no close handshake, and no TIME_WAIT holding the local port. */
  close(): void {
    this.closed = true;
    try {
      this.socket.resetAndDestroy();
    } catch {
      this.socket.destroy();
    }
  }

  /** Stops reading: the server's sends pile up in TCP buffers (a slow consumer). */
  pause(): void {
    this.socket.pause();
  }

  private receive(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    const n = buf.length;
    while (off + 2 <= n) {
      const b0 = buf[off]!;
      const b1 = buf[off + 1]!;
      let len = b1 & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (off + 4 > n) break;
        len = buf.readUInt16BE(off + 2);
        hdr = 4;
      } else if (len === 127) {
        if (off + 10 > n) break;
        len = Number(buf.readBigUInt64BE(off + 2));
        hdr = 10;
      }
      if (b1 & 0x80) hdr += 4; // servers never mask, but be correct
      if (off + hdr + len > n) break;
      const opcode = b0 & 0x0f;
      const payload = buf.subarray(off + hdr, off + hdr + len);
      off += hdr + len;
      if (opcode === OP_PING) {
        this.socket.write(frame(OP_PONG, Buffer.from(payload)));
        continue;
      }
      if (opcode === OP_CLOSE) {
        this.close();
        return;
      }
      this.frames++;
      this.opts.onFrame?.(payload, opcode, this);
    }
    if (off < n) this.pending = off === 0 && buf === chunk ? Buffer.from(buf) : buf.subarray(off);
  }
}

/** A client frame: FIN, the opcode, masked with a zero key (so the payload goes as is). */
function frame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(hdr + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  out.writeUInt32BE(0, hdr);
  payload.copy(out, hdr + 4);
  return out;
}
