// The HTTP transports (SSE, long polling) as the server runs them, but in milliseconds: a real hub
// over an event log in memory, a workspace that knows a few rooms, and a plain HTTP server on
// 127.0.0.1 that hands each request to the transport with the session its `x-session` header
// names (errors answered as the API's router does). Every connection is closed by `close()`.
import http from "node:http";
import net from "node:net";
import type { Session } from "../../server/auth";
import type { EventLog } from "../../server/eventlog";
import { Hub } from "../../server/hub";
import { HttpError, sendError } from "../../server/http/respond";
import { silentLogger } from "../../server/log";
import { createMetrics, type Metrics } from "../../server/metrics";
import { ManualClock } from "../../server/state/clock";
import type { Workspace } from "../../server/workspace";
import type { Actor, RealtimeEvent, User } from "../../lib/protocol";

export const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
export const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
export const sessionOf = (user: User, id = `s-${user.id}`): Session => ({ id, user, expiresAt: Number.MAX_SAFE_INTEGER });

/** An event log in memory: every stream's events, commits handed to the hub as the real log does. */
export function memoryLog() {
  const streams = new Map<string, RealtimeEvent[]>();
  let listener: ((events: RealtimeEvent[]) => void) | null = null;
  /** Streams whose head cannot be read (the database is down for them). */
  const failing = new Set<string>();
  /** Streams whose next head read fails, and only that one. */
  const failOnce = new Set<string>();
  /** While set, `heads` waits for it (a slow database). */
  let headsGate: Promise<void> | null = null;
  /** Streams whose `head` waits (a slow query). */
  const headGates = new Map<string, Promise<void>>();
  /** The streams each `heads` call asked for (each call is a query). */
  const headsAsked: string[][] = [];
  const headOf = (s: string) => streams.get(s)?.length ?? 0;
  const log = {
    onCommit: (l: (events: RealtimeEvent[]) => void) => ((listener = l), () => void (listener = null)),
    head: async (s: string) => {
      const gate = headGates.get(s);
      if (gate) await gate;
      if (failing.has(s) || failOnce.delete(s)) throw new Error(`the log cannot read ${s}`);
      return headOf(s);
    },
    heads: async (list: string[]) => {
      headsAsked.push([...list]);
      if (headsGate) await headsGate;
      return new Map(list.map((s) => [s, headOf(s)]));
    },
    readAfter: async (s: string, after: number, limit: number) => (streams.get(s) ?? []).slice(after, after + limit),
  };
  const append = (stream: string, type: RealtimeEvent["type"] = "message.posted", data: Record<string, unknown> = {}, actor: Actor = ada): RealtimeEvent => {
    const list = streams.get(stream) ?? [];
    streams.set(stream, list);
    const e = { stream, seq: list.length + 1, type, actor, at: new Date(0).toISOString(), data } as unknown as RealtimeEvent;
    list.push(e);
    return e;
  };
  return {
    log: log as unknown as EventLog,
    failing,
    failOnce,
    headsAsked,
    /** Holds `heads` until the returned function is called. */
    holdHeads(): () => void {
      let open!: () => void;
      headsGate = new Promise<void>((r) => (open = r));
      return () => {
        headsGate = null;
        open();
      };
    },
    /** Holds `head(stream)` until the returned function is called. */
    holdHead(stream: string): () => void {
      let open!: () => void;
      headGates.set(stream, new Promise<void>((r) => (open = r)));
      return () => {
        headGates.delete(stream);
        open();
      };
    },
    /** Appends without telling the hub (another instance's commit, or one made before). */
    append,
    /** Appends one event per stream named and hands them to the hub together, as one commit. */
    commit(...items: Array<string | { stream: string; type?: RealtimeEvent["type"]; data?: Record<string, unknown> }>): RealtimeEvent[] {
      const events = items.map((i) => (typeof i === "string" ? append(i) : append(i.stream, i.type, i.data)));
      listener?.(events);
      return events;
    },
  };
}

/** The workspace as the transports use it: which rooms exist, and who joined which. */
export function memoryWorkspace(rooms: string[] = ["general", "design"]) {
  const joins: string[] = [];
  let failJoins = false;
  let joinsGate: Promise<void> | null = null;
  const workspace = {
    roomExists: async (room: string) => rooms.includes(room),
    recordJoin: async (room: string, actor: Actor) => {
      if (joinsGate) await joinsGate;
      if (failJoins) throw new Error("the database is down");
      joins.push(`${actor.id}@${room}`);
    },
  };
  return {
    workspace: workspace as unknown as Workspace,
    joins,
    failJoins: (on: boolean) => void (failJoins = on),
    /** Holds `recordJoin` until the returned function is called. */
    holdJoins(): () => void {
      let open!: () => void;
      joinsGate = new Promise<void>((r) => (open = r));
      return () => {
        joinsGate = null;
        open();
      };
    },
  };
}

export function hubWorld() {
  const clock = new ManualClock();
  const metrics = createMetrics({ defaultMetrics: false });
  const log = memoryLog();
  const hub = new Hub({ log: log.log, clock, logger: silentLogger, metrics, presenceGraceMs: 1_000 });
  return { clock, metrics, log, hub };
}

/** A metric's value for the labels given (summed over the others), after a scrape. */
export async function metric(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const all = await metrics.registry.getMetricsAsJSON();
  const m = all.find((x) => x.name === name);
  if (!m) throw new Error(`no metric ${name}`);
  return (m.values as Array<{ labels: Record<string, string | number>; value: number }>)
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((n, v) => n + v.value, 0);
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, session: Session) => Promise<void>;

/** A server on 127.0.0.1 that hands every request to `handle`, as the API's router would. */
export async function serve(handle: Handler, sessions: Session[]) {
  const sockets = new Set<net.Socket>();
  const errors: unknown[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const session = sessions.find((s) => s.id === req.headers["x-session"]) ?? sessions[0]!;
    handle(req, res, url, session).catch((err: unknown) => {
      if (err instanceof HttpError) return sendError(res, err);
      errors.push(err);
      res.statusCode = 500;
      res.end();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    /** What a handler threw that was not an HttpError (should stay empty). */
    errors,
    /** The server's side of every open connection. */
    sockets,
    async close(): Promise<void> {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Lets sockets, streams and promises run until `done()` holds (a bounded number of turns of the real event loop). */
export async function until(done: () => boolean, what = "the condition"): Promise<void> {
  for (let i = 0; i < 5_000; i++) {
    if (done()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A few turns of the real event loop: for checking that something did NOT happen. */
export async function turns(n = 30): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** A raw TCP client: for HTTP/1.0 and pipelined requests, which `http.request` does not send. */
export async function rawClient(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const state = { text: "", closed: false };
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (state.text += d));
  socket.on("error", () => {});
  socket.on("close", () => (state.closed = true));
  return {
    socket,
    get text() {
      return state.text;
    },
    get closed() {
      return state.closed;
    },
    send: (text: string) => socket.write(text),
    close: () => socket.destroy(),
  };
}
