// Baseline for long polling: a bare http server that holds polls and answers them, and nothing
// else — what a long poll costs with nothing in the way. `POST /api/rooms/:id/messages`
// {text, clientId} becomes one event in a room's list (the last `KEEP` kept); `GET /api/poll?
// cursor=room:<id>=<seq>&wait=<s>` answers at once with the events after `seq`, or holds the
// request until one comes or `wait` passes. Like the app (server/transports/poll-answers.ts),
// an event wakes the held polls after a batch window, windows end at least a pace apart, and
// polls at one position share one encoded answer; the answer has the app's shape
// (`{"events":[…],"cursor":"…"}`). No sessions, no log, no subscriptions kept between polls,
// no room state, no metrics, no limits.
import http from "node:http";
import { childOptions, failToParent, serveParent } from "../lib/child";
import { takeMessagePost } from "../lib/message-post";

/** Events kept per room: a poll further behind starts from the oldest kept. */
const KEEP = 10_000;

interface Options {
  /** How long a woken poll waits for more events (the app's `POLL_BATCH_MS`). */
  windowMs?: number;
  /** Least time between the ends of two windows (the app's `POLL_PACE_MS`). */
  paceMs?: number;
}

interface Room {
  /** The kept events' JSON, oldest first; the last one's seq is `seq`. */
  events: string[];
  seq: number;
  /** Held polls by the seq they wait after. */
  held: Map<number, Set<http.ServerResponse>>;
  /** A window is open: the wake is scheduled. */
  waking: boolean;
  lastWindowEnd: number;
}

async function main(): Promise<void> {
  const { windowMs = 25, paceMs = 50 } = childOptions<Options>();
  const rooms = new Map<string, Room>();
  const roomOf = (id: string): Room => {
    let room = rooms.get(id);
    if (!room) rooms.set(id, (room = { events: [], seq: 0, held: new Map(), waking: false, lastWindowEnd: 0 }));
    return room;
  };

  /** The answer for a poll of `id` after `after`, as bytes. */
  const answerFor = (id: string, room: Room, after: number): Buffer => {
    const from = Math.max(0, room.events.length - (room.seq - after));
    return Buffer.from(`{"events":[${room.events.slice(from).join(",")}],"cursor":"room:${id}=${room.seq}"}`);
  };
  const send = (res: http.ServerResponse, body: Buffer) => {
    res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length, "Cache-Control": "no-store" });
    res.end(body);
  };
  /** Answers every held poll of the room, one encoding per position. */
  const wake = (id: string, room: Room) => {
    room.waking = false;
    room.lastWindowEnd = performance.now();
    for (const [after, polls] of room.held) {
      const body = answerFor(id, room, after);
      for (const res of polls) send(res, body);
    }
    room.held.clear();
  };
  const broadcast = (id: string, text: string, clientId: string): object => {
    const room = roomOf(id);
    const event = { stream: `room:${id}`, seq: ++room.seq, type: "message", actor: { id: "u_raw", name: "raw" }, at: new Date().toISOString(), data: { text, clientId } };
    room.events.push(JSON.stringify(event));
    if (room.events.length > KEEP) room.events.splice(0, room.events.length - KEEP);
    if (!room.waking && room.held.size > 0) {
      room.waking = true;
      const at = Math.max(performance.now() + windowMs, room.lastWindowEnd + paceMs);
      setTimeout(() => wake(id, room), Math.max(0, at - performance.now()));
    }
    return event;
  };

  const server = http.createServer((req, res) => {
    if (takeMessagePost(req, res, broadcast)) return;
    if (!req.url?.startsWith("/api/poll")) return void res.writeHead(404).end();
    const url = new URL(req.url, "http://localhost");
    const cursor = /^room:([\w-]+)=(\d+)$/.exec(url.searchParams.get("cursor") ?? "");
    const id = cursor?.[1] ?? /^room:([\w-]+)/.exec(url.searchParams.get("streams") ?? "")?.[1] ?? "general";
    const room = roomOf(id);
    const after = cursor ? Math.min(Number(cursor[2]), room.seq) : room.seq;
    const waitS = Math.min(25, Number(url.searchParams.get("wait") ?? 25) || 0);
    if (after < room.seq || waitS === 0) return send(res, answerFor(id, room, after));
    let polls = room.held.get(after);
    if (!polls) room.held.set(after, (polls = new Set()));
    polls.add(res);
    const timer = setTimeout(() => {
      if (!room.held.get(after)?.delete(res)) return;
      send(res, answerFor(id, room, after));
    }, waitS * 1000);
    res.on("close", () => {
      clearTimeout(timer);
      room.held.get(after)?.delete(res);
    });
  });
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  serveParent(typeof addr === "object" && addr ? addr.port : 0, {
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    calls: { connections: () => ({ longpoll: [...rooms.values()].reduce((n, r) => n + [...r.held.values()].reduce((m, s) => m + s.size, 0), 0) }) },
  });
}

main().catch(failToParent);
