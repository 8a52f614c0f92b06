// Chat rooms full of lean WebSocket clients, for the fan-out benchmarks: the server under test
// (ours, a bare `ws` server or Socket.IO) in its child process, its wire protocol, and clients
// connected, joined and warmed up. Messages carry their send time (`~t=<performance.now()>;`);
// each arrival of one is handed to the caller with the receiving client's index.
import { startAppServer } from "./app-server";
import { startServerChild, type ServerChild, type StartChildOptions } from "./child";
import { createRoom, openMany, signInMany } from "./clients";
import { sleep, type Progress } from "./common";
import { FastWs } from "./fastws";

export type RoomServer = "ours" | "raw" | "send" | "naive" | "socketio";

export interface Wire {
  path: string;
  headers(i: number): Record<string, string>;
  protocols: string[];
  /** Handles protocol chatter; true when the frame means "joined". */
  control(ws: FastWs, payload: Buffer): boolean;
  join(ws: FastWs, room: string): void;
  send(ws: FastWs, room: string, text: string, n: number): void;
}

export const MARKER = Buffer.from("~t=");
const PAD = " The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs, and so on.";

/** A ~100-byte chat message stamped with its send time. */
export function timedText(t = performance.now()): string {
  return `~t=${t.toFixed(3)};${PAD}`.slice(0, 100);
}

/** The send time in a payload carrying the marker, else NaN. */
export function sendTimeIn(payload: Buffer): number {
  const at = payload.indexOf(MARKER);
  if (at < 0) return NaN;
  const end = payload.indexOf(0x3b /* ; */, at);
  return Number(payload.toString("latin1", at + MARKER.length, end));
}

/** Every send time in the first `end` bytes of `buf` (several messages in one SSE chunk or poll answer). */
export function forEachSendTime(buf: Buffer, end: number, each: (sentAt: number) => void): void {
  for (let at = buf.indexOf(MARKER); at >= 0 && at < end; at = buf.indexOf(MARKER, at + MARKER.length)) {
    const stop = buf.indexOf(0x3b /* ; */, at);
    each(Number(buf.toString("latin1", at + MARKER.length, stop)));
  }
}

/**
 * Starts the server for `server` pinned to `core`: ours on a fresh database (`root`: another
 * checkout of the repository, to compare an earlier version of the server side by side).
 */
export function startRoomServer(
  server: RoomServer,
  o: { postgres: boolean; pgliteOnDisk?: boolean; core?: number; root?: string; tuning?: Record<string, unknown> },
): Promise<ServerChild> {
  const child: StartChildOptions = { core: o.core, root: o.root };
  if (server === "ours") return startAppServer({ postgres: o.postgres, pgliteOnDisk: o.pgliteOnDisk, tuning: o.tuning }, child);
  if (server === "socketio") return startServerChild("socketio", {}, child);
  return startServerChild("ws-broadcast", { mode: server }, child);
}

export interface RoomClientsOptions {
  server: RoomServer;
  port: number;
  rooms: number;
  perRoom: number;
  /** Distinct people signed in to our server (clients share their sessions). */
  people: number;
  /** Every arrival of a stamped message after the warm-up: receiving client, send time. */
  onTimed: (client: number, sentAt: number) => void;
  label: string;
  progress: Progress;
}

export interface RoomClients {
  wire: Wire;
  /** Client i is member i % perRoom of room floor(i / perRoom). */
  sockets: FastWs[];
  roomNames: string[];
  /** Sends a stamped message from client `i` to its room. */
  send(i: number, text: string): void;
  close(): void;
}

/**
 * Connects `rooms × perRoom` clients, joins each to its room, and sends one message per room
 * that must reach everyone before this resolves (the server may still be busy with the joins:
 * sessions, presence, first-join feed events).
 */
export async function openRoomClients(o: RoomClientsOptions): Promise<RoomClients> {
  const { progress, label } = o;
  const roomNames = Array.from({ length: o.rooms }, (_, r) => (o.server === "ours" && o.rooms === 1 ? "general" : `fan${r}`));
  const wire = await wireFor(o.server, o.port, o.perRoom, roomNames, o.people);
  const total = o.rooms * o.perRoom;
  const joined = new Uint8Array(total);
  let warming = true;
  let warmDelivered = 0;
  const onPayload = (i: number, ws: FastWs, payload: Buffer) => {
    const t = sendTimeIn(payload);
    if (!Number.isNaN(t)) {
      if (warming) warmDelivered++;
      else o.onTimed(i, t);
      return;
    }
    if (wire.control(ws, payload)) joined[i] = 1;
  };
  const sockets: FastWs[] = [];
  const close = () => {
    for (const ws of sockets) ws.close();
  };
  try {
    progress.update(`${label}: connecting ${total} clients`, true);
    const opened = await openMany(
      total,
      (i) =>
        FastWs.connect({
          port: o.port,
          path: wire.path,
          headers: wire.headers(i),
          protocols: wire.protocols,
          onFrame: (payload, _op, ws) => onPayload(i, ws, payload),
        }),
      { concurrency: 100, onProgress: (d) => progress.update(`${label}: connected ${d}/${total}`) },
    );
    sockets.push(...opened);
    sockets.forEach((ws, i) => wire.join(ws, roomNames[Math.floor(i / o.perRoom)]!));
    const deadline = performance.now() + 30_000;
    while (joined.some((j) => j === 0)) {
      if (performance.now() > deadline) throw new Error(`${joined.filter((j) => j === 0).length} clients did not join within 30 s`);
      progress.update(`${label}: joined ${joined.filter((j) => j === 1).length}/${total}`);
      await sleep(50);
    }
    let n = 0;
    for (let room = 0; room < o.rooms; room++) wire.send(sockets[room * o.perRoom]!, roomNames[room]!, timedText(), n++);
    const until = performance.now() + 30_000;
    while (warmDelivered < total && performance.now() < until) {
      progress.update(`${label}: warm-up, ${warmDelivered}/${total} delivered`);
      await sleep(20);
    }
    if (warmDelivered < total) throw new Error(`warm-up: only ${warmDelivered} of ${total} deliveries within 30 s`);
    await sleep(300);
    warming = false;
    let msgNo = n;
    return {
      wire,
      sockets,
      roomNames,
      send: (i, text) => wire.send(sockets[i]!, roomNames[Math.floor(i / o.perRoom)]!, text, msgNo++),
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

const startsWith = (b: Buffer, s: string) => b.length >= s.length && b.toString("latin1", 0, s.length) === s;

export async function wireFor(server: RoomServer, port: number, perRoom: number, rooms: string[], people: number): Promise<Wire> {
  if (server === "ours") {
    const base = `http://127.0.0.1:${port}`;
    const cookies = await signInMany(base, Math.min(people, Math.max(perRoom, 1)), "fan");
    for (const room of rooms) if (room !== "general") await createRoom(base, cookies[0]!, room);
    return {
      path: "/ws",
      protocols: ["rt.v1"],
      // Distinct people within a room (presence counts people), sessions shared across rooms.
      headers: (i) => ({ Cookie: cookies[(i % perRoom) % cookies.length]! }),
      control: (_ws, p) => startsWith(p, '{"type":"joined"'),
      join: (ws, room) => ws.send(`{"type":"join","room":"${room}"}`),
      send: (ws, room, text, n) => ws.send(`{"type":"send","room":"${room}","text":"${text}","clientId":"m${n}"}`),
    };
  }
  if (server === "socketio") {
    // Join once the namespace connect ("40{…}") is answered: earlier events would be dropped.
    const pendingRoom = new WeakMap<FastWs, string>();
    const connected = new WeakSet<FastWs>();
    const join = (ws: FastWs, room: string) => ws.send(`42["join","${room}"]`);
    return {
      path: "/socket.io/?EIO=4&transport=websocket",
      protocols: [],
      headers: () => ({}),
      control: (ws, p) => {
        if (p.length === 1 && p[0] === 0x32) ws.send("3"); // engine.io ping → pong
        else if (startsWith(p, "0{")) ws.send("40"); // engine.io open → connect to "/"
        else if (startsWith(p, "40{")) {
          connected.add(ws);
          const room = pendingRoom.get(ws);
          if (room) join(ws, room);
        }
        return startsWith(p, '42["joined"');
      },
      join: (ws, room) => {
        if (connected.has(ws)) join(ws, room);
        else pendingRoom.set(ws, room);
      },
      send: (ws, room, text) => ws.send(`42["send","${room}","${text}"]`),
    };
  }
  return {
    path: "/",
    protocols: [],
    headers: () => ({}),
    control: (_ws, p) => startsWith(p, '{"type":"joined"'),
    join: (ws, room) => ws.send(`{"type":"join","room":"${room}"}`),
    send: (ws, room, text) => ws.send(`{"type":"send","room":"${room}","text":"${text}"}`),
  };
}
