// Load-generator clients for the app's server: sign-in over HTTP, WebSockets that count what
// they receive without parsing it (the load generator must stay cheaper than the server).
import http from "node:http";
import WebSocket from "ws";

export async function signIn(base: string, name: string): Promise<string> {
  const res = await fetch(`${base}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

/** Signs in `n` people (a few at a time); returns their cookies. */
export async function signInMany(base: string, n: number, prefix = "user"): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = Array.from({ length: Math.min(20, n - i) }, (_, j) => signIn(base, `${prefix}${i + j}`));
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

export async function createRoom(base: string, cookie: string, name: string): Promise<void> {
  const res = await fetch(`${base}/api/rooms`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating room ${name} failed: ${res.status} ${await res.text()}`);
}

/** Counts of what one client received. */
export interface Counters {
  frames: number;
  bytes: number;
}

export interface OpenWsOptions {
  cookie?: string;
  protocols?: string[];
  /** Called with every message's raw bytes. */
  onMessage?: (data: Buffer) => void;
  timeoutMs?: number;
  localAddress?: string;
}

/** Opens a WebSocket (no compression) and resolves once it is open. */
export function openWs(url: string, o: OpenWsOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, o.protocols ?? [], {
    headers: o.cookie ? { cookie: o.cookie } : {},
    perMessageDeflate: false,
    handshakeTimeout: o.timeoutMs ?? 30_000,
    ...(o.localAddress ? { localAddress: o.localAddress } : {}),
  });
  if (o.onMessage) ws.on("message", (data) => o.onMessage!(data as Buffer));
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.off("error", reject);
      ws.on("error", () => {});
      resolve(ws);
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`WebSocket upgrade answered HTTP ${res.statusCode}`)));
  });
}

/** Opens `n` things `concurrency` at a time, reporting progress. */
export async function openMany<T>(n: number, open: (i: number) => Promise<T>, opts: { concurrency?: number; onProgress?: (done: number) => void } = {}): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      out[i] = await open(i);
      done++;
      opts.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, opts.concurrency ?? 50) }, worker));
  return out;
}

/** Bytes read from the wire by a WebSocket's TCP socket (headers, framing and payload). */
export function wireBytesRead(ws: WebSocket): number {
  return (ws as unknown as { _socket?: { bytesRead: number } })._socket?.bytesRead ?? 0;
}

export function wireBytesWritten(ws: WebSocket): number {
  return (ws as unknown as { _socket?: { bytesWritten: number } })._socket?.bytesWritten ?? 0;
}

/** Closes sockets without waiting for every close handshake. */
export async function closeAll(sockets: WebSocket[]): Promise<void> {
  for (const ws of sockets) {
    try {
      ws.terminate();
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 50));
}

/** A keep-alive agent for many concurrent HTTP streams to one host. */
export function streamAgent(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/** Sends frames on a schedule: `perSecond` for each of `n` senders, phases spread evenly. */
export class Pacer {
  private timer: NodeJS.Timeout | null = null;
  private readonly due: Float64Array;
  sent = 0;
  constructor(
    private readonly n: number,
    private readonly perSecond: number,
    private readonly send: (i: number, now: number) => void,
  ) {
    const period = 1000 / perSecond;
    const start = performance.now();
    this.due = Float64Array.from({ length: n }, (_, i) => start + (period * i) / n);
  }
  start(tickMs = 2): void {
    const period = 1000 / this.perSecond;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (let i = 0; i < this.n; i++) {
        // Open loop on a fixed schedule; after a stall the missed sends are skipped, not
        // burst out (a browser coalesces pointer moves the same way).
        if (this.due[i]! <= now) {
          this.send(i, now);
          this.sent++;
          this.due[i] = this.due[i]! + period;
          if (this.due[i]! <= now) this.due[i] = now + period;
        }
      }
    }, tickMs);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
