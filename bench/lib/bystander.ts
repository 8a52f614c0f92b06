// The bystander of the abuse bench: one ordinary person, signed in from a loopback address of
// its own (so caps per client address count it apart from the attacker), chatting in
// `general` over a WebSocket — one message every 100 ms, open loop — and timing each message's
// ack. Once a second it also makes one fresh request (`GET /api/poll?wait=0` on a new TCP
// connection): what a page load or a reconnect would meet when the attacker holds the server's
// file handles or poll slots. Also the small HTTP helper both sides use (a source address of
// one's own is not something `fetch` offers).
import { fork } from "node:child_process";
import http from "node:http";
import os from "node:os";
import { Pacer } from "./clients";
import { Latency, sleep } from "./common";
import { FastWs } from "./fastws";

export interface HttpAnswer {
  status: number;
  body: string;
  /** The first `Set-Cookie`'s name=value. */
  cookie?: string;
  retryAfterS?: number;
}

export interface HttpOptions {
  cookie?: string;
  /** A JSON body (sent as `application/json`, as every state-changing call must be). */
  json?: unknown;
  localAddress?: string;
  agent?: http.Agent;
  timeoutMs?: number;
}

/** One request to the server on 127.0.0.1; rejects on a network error or after `timeoutMs`. */
export function httpRequest(port: number, method: string, path: string, o: HttpOptions = {}): Promise<HttpAnswer> {
  const body = o.json === undefined ? undefined : JSON.stringify(o.json);
  const headers: Record<string, string> = {};
  if (o.cookie) headers.cookie = o.cookie;
  if (body !== undefined) headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path, headers, agent: o.agent ?? false, ...(o.localAddress ? { localAddress: o.localAddress } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const setCookie = res.headers["set-cookie"]?.[0];
          const retry = Number(res.headers["retry-after"]);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            ...(setCookie ? { cookie: setCookie.split(";")[0]! } : {}),
            ...(Number.isFinite(retry) ? { retryAfterS: retry } : {}),
          });
        });
      },
    );
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Signs in as `name`; the cookie, or the refusal's status (0: the request failed). */
export async function trySignIn(port: number, name: string, o: Omit<HttpOptions, "json" | "cookie"> = {}): Promise<{ cookie?: string; status: number }> {
  try {
    const res = await httpRequest(port, "POST", "/api/session", { ...o, json: { name } });
    return res.status === 200 && res.cookie ? { cookie: res.cookie, status: 200 } : { status: res.status };
  } catch {
    return { status: 0 };
  }
}

export interface BystanderFigures {
  /** Messages sent inside the window. */
  sent: number;
  acked: number;
  /** Sends refused with an `error` frame (any code). */
  refused: number;
  /** The refusals' codes, and how many of each. */
  refusedCodes: Record<string, number>;
  /** Sent, and neither acked nor refused within the ack timeout after the window. */
  timeouts: number;
  /** The bystander's WebSocket closed under it (it reconnects). */
  disconnects: number;
  ack: ReturnType<Latency["summary"]>;
  /** Fresh requests (new connection, `GET /api/poll?wait=0`): answered 200, and not. */
  probesOk: number;
  probesFailed: number;
  probe: ReturnType<Latency["summary"]>;
}

export interface Bystander {
  /** Starts counting: sends from now on are the window's. */
  startWindow(): void;
  /** Stops sending and probing; waits (at most the ack timeout) for the window's acks and probes. */
  endWindow(): Promise<BystanderFigures>;
  close(): void;
}

const ROOM = "general";

/** Signs the bystander in, connects, joins `general`, and starts chatting (not yet counted). */
export async function startBystander(o: { port: number; localAddress: string; ackTimeoutMs?: number; sendsPerSecond?: number; probeEveryMs?: number }): Promise<Bystander> {
  const { port, localAddress } = o;
  const ackTimeoutMs = o.ackTimeoutMs ?? 5_000;
  const signedIn = await trySignIn(port, "bystander", { localAddress });
  if (!signedIn.cookie) throw new Error(`the bystander could not sign in (${signedIn.status})`);
  const cookie = signedIn.cookie;

  let counting = false;
  let closed = false;
  let n = 0;
  /** Sends awaiting their ack: when sent, and whether inside the window. */
  const pending = new Map<string, { at: number; counted: boolean }>();
  let probesInFlight = 0;
  let stopped = false;
  const ack = new Latency();
  const probe = new Latency();
  const f = { sent: 0, acked: 0, refused: 0, disconnects: 0, probesOk: 0, probesFailed: 0 };
  const refusedCodes: Record<string, number> = {};

  const onFrame = (payload: Buffer) => {
    // Only acks and errors are read; presence and events (a churning room's many) are skipped
    // unparsed, as a browser would not, but the bystander's clock must stay the server's.
    const head = payload.toString("latin1", 0, Math.min(16, payload.length));
    if (!head.startsWith('{"type":"ack"') && !head.startsWith('{"type":"error"')) return;
    const frame = JSON.parse(payload.toString("utf8")) as { type: string; clientId?: string; code?: string };
    const sent = frame.clientId === undefined ? undefined : pending.get(frame.clientId);
    if (sent === undefined) return;
    pending.delete(frame.clientId!);
    if (!sent.counted) return;
    if (frame.type === "ack") {
      f.acked++;
      ack.record(performance.now() - sent.at);
    } else {
      f.refused++;
      const code = frame.code ?? "?";
      refusedCodes[code] = (refusedCodes[code] ?? 0) + 1;
    }
  };

  let ws: FastWs | null = null;
  let joined = false;
  const connect = async (): Promise<void> => {
    joined = false;
    const socket = await FastWs.connect({
      port,
      path: "/ws",
      localAddress,
      headers: { Cookie: cookie },
      protocols: ["rt.v1"],
      timeoutMs: 10_000,
      onFrame: (payload) => {
        if (!joined && payload.toString("latin1", 0, 17) === '{"type":"joined",') joined = true;
        onFrame(payload);
      },
      onClose: () => {
        if (closed || ws !== socket) return;
        ws = null;
        f.disconnects++;
        void reconnect();
      },
    });
    ws = socket;
    socket.send(JSON.stringify({ type: "join", room: ROOM }));
    const until = performance.now() + 10_000;
    while (!joined && !socket.closed && performance.now() < until) await sleep(10);
  };
  // Bounded: a server that stays unreachable ends the bench's window with timeouts, not a spin.
  const reconnect = async () => {
    for (let attempt = 0; attempt < 20 && !closed && ws === null; attempt++) {
      await sleep(500);
      try {
        await connect();
      } catch {
        // refused or failed: the next attempt
      }
    }
  };
  await connect();
  if (!joined) throw new Error("the bystander could not join general");

  // Chatting starts at once (a warm-up: the first messages of a fresh process are slow for
  // reasons of its own); only the window's sends are counted.
  const pacer = new Pacer(1, o.sendsPerSecond ?? 10, () => {
    if (stopped) return;
    if (!ws || !joined) {
      if (counting) f.sent++; // due but no socket to send on: it counts, and times out
      return;
    }
    const clientId = `b${n++}`;
    pending.set(clientId, { at: performance.now(), counted: counting });
    if (counting) f.sent++;
    ws.send(JSON.stringify({ type: "send", room: ROOM, text: `bystander says hello (${n})`, clientId }));
  });
  pacer.start(5);

  const probeEveryMs = o.probeEveryMs ?? 1_000;
  const prober = setInterval(() => {
    if (!counting) return;
    const t0 = performance.now();
    probesInFlight++;
    httpRequest(port, "GET", "/api/poll?streams=user:me&wait=0", { cookie, localAddress, timeoutMs: ackTimeoutMs })
      .then((res) => {
        if (res.status === 200) {
          f.probesOk++;
          probe.record(performance.now() - t0);
        } else f.probesFailed++;
      })
      .catch(() => f.probesFailed++)
      .finally(() => probesInFlight--);
  }, probeEveryMs);

  return {
    startWindow() {
      counting = true;
    },
    async endWindow() {
      counting = false;
      stopped = true;
      const waiting = () => [...pending.values()].some((p) => p.counted) || probesInFlight > 0;
      const until = performance.now() + ackTimeoutMs;
      while (waiting() && performance.now() < until) await sleep(20);
      // Sends that found no socket count as sent and were never pending: all are timeouts.
      return { ...f, refusedCodes, timeouts: f.sent - f.acked - f.refused, probesFailed: f.probesFailed + probesInFlight, ack: ack.summary(), probe: probe.summary() };
    },
    close() {
      closed = true;
      pacer.stop();
      clearInterval(prober);
      ws?.close();
    },
  };
}

/**
 * The bystander of `startBystander`, run in a child process (bystander-process.ts) so that the
 * attacker's work in this process cannot delay the reading of its acks.
 */
export async function startBystanderProcess(o: Parameters<typeof startBystander>[0]): Promise<Bystander> {
  const child = fork(new URL("./bystander-process.ts", import.meta.url), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  // Ahead of the attacker for the CPU the two share here, as a machine of its own would be
  // (raising a priority needs the privilege; without it, it runs at the bench's).
  try {
    os.setPriority(child.pid!, -10);
  } catch {
    // not permitted: an equal share
  }
  const waiting: Array<{ op: string; resolve: (msg: any) => void; reject: (err: Error) => void }> = [];
  child.on("message", (msg: { op: string; message?: string }) => {
    const next = waiting.shift();
    if (!next) return;
    if (msg.op === "error") next.reject(new Error(`bystander: ${msg.message}`));
    else next.resolve(msg);
  });
  child.on("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the bystander process exited (${code})`));
  });
  const ask = <T>(op: string, extra: object = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      waiting.push({ op, resolve, reject });
      child.send({ op, ...extra });
    });
  try {
    await ask("start", { options: o });
  } catch (err) {
    child.kill();
    throw err;
  }
  return {
    startWindow() {
      void ask("startWindow");
    },
    async endWindow() {
      return (await ask<{ figures: BystanderFigures }>("endWindow")).figures;
    },
    close() {
      ask("close").catch(() => undefined).finally(() => child.kill());
    },
  };
}
