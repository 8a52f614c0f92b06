// People using the app in cluster tests: the project's RealtimeClient in Node, each with its own
// session, recording what it received (and, for WebSocket, every raw event frame per
// connection, so a duplicate the client would silently drop still shows).
import WebSocket from "ws";
import { makeClient, type TestClient } from "../helpers/client";
import { waitFor } from "../helpers/server";
import type { Cluster } from "./cluster";
import type { RealtimeClient } from "../../lib/realtime/client";
import type { ClientOptions, WebSocketLike } from "../../lib/realtime/types";
import type { Actor, CursorMap, RealtimeEvent, User } from "../../lib/protocol";

export interface Peer {
  name: string;
  user: User;
  cookie: string;
  client: RealtimeClient;
  tc: TestClient;
  /** clientIds this peer queued, in order. */
  sent: string[];
  /** clientId → seq of every ack heard. */
  acked: Map<string, number>;
  /** Per WebSocket connection: the seqs of every event frame, per stream, as they arrived. */
  rawWs: Map<string, number[]>[];
  /** The latest members / typing / cursors heard per room. */
  members: Map<string, User[]>;
  typing: Map<string, Actor[]>;
  cursors: Map<string, CursorMap>;
  roomEvents(room: string): RealtimeEvent[];
  stop(): void;
}

export interface PeerOptions extends ClientOptions {
  /** Where the client connects: nginx by default, or one instance directly. */
  base?: string;
  /** Rooms to follow from seq 0. */
  rooms?: string[];
  /** An existing session (another tab of the same person); a new one by default. */
  session?: { user: User; cookie: string };
}

export async function makePeer(cluster: Cluster, name: string, opts: PeerOptions = {}): Promise<Peer> {
  const base = opts.base ?? cluster.url;
  const { user, cookie } = opts.session ?? (await cluster.signIn(name, base));
  const rawWs: Map<string, number[]>[] = [];
  const createWebSocket = (url: string, protocols: string[]): WebSocketLike => {
    const ws = new WebSocket(url, protocols, { headers: { cookie } });
    const seen = new Map<string, number[]>();
    rawWs.push(seen);
    ws.on("message", (data) => {
      const frame = JSON.parse(String(data)) as { type: string; event?: RealtimeEvent };
      if (frame.type !== "event" || !frame.event) return;
      const list = seen.get(frame.event.stream) ?? [];
      list.push(frame.event.seq);
      seen.set(frame.event.stream, list);
    });
    ws.on("error", () => {});
    return ws as unknown as WebSocketLike;
  };
  const { rooms, base: _base, session: _session, ...clientOpts } = opts;
  const tc = makeClient(base, cookie, { createWebSocket, wsOpenTimeoutMs: 2_000, ...clientOpts });
  const peer: Peer = {
    name,
    user,
    cookie,
    client: tc.client,
    tc,
    sent: [],
    acked: new Map(),
    rawWs,
    members: new Map(),
    typing: new Map(),
    cursors: new Map(),
    roomEvents: (room) => tc.events.filter((e) => e.stream === `room:${room}`),
    stop: () => tc.client.stop(),
  };
  const c = tc.client;
  c.on("ack", ({ clientId, seq }) => peer.acked.set(clientId, seq));
  c.on("presence", ({ room, members }) => peer.members.set(room, members));
  c.on("typing", ({ room, users }) => peer.typing.set(room, users));
  c.on("cursors", ({ room, cursors, snapshot }) => {
    const now = snapshot ? {} : { ...(peer.cursors.get(room) ?? {}) };
    for (const [id, v] of Object.entries(cursors)) if (v) now[id] = v;
    else delete now[id];
    peer.cursors.set(room, now);
  });
  c.on("joined", ({ room, members }) => peer.members.set(room, members));
  c.start();
  for (const room of rooms ?? []) c.join(room, 0);
  return peer;
}

/** Waits until the peer's rooms and feed are connected (on whatever transport). */
export async function connected(peers: Peer[], what: "rooms" | "feed" | "both" = "rooms"): Promise<void> {
  await waitFor(
    () =>
      peers.every((p) => {
        const s = p.client.getStatus();
        const rooms = s.rooms.state === "connected";
        const feed = s.feed.state === "connected" && p.client.position("feed") !== undefined;
        return what === "rooms" ? rooms : what === "feed" ? feed : rooms && feed;
      }),
    20_000,
    `${what} connected`,
  );
}

/** Problems in raw WebSocket delivery: within one connection, each stream's seqs must go up by one. */
export function rawProblems(peer: Peer): string[] {
  const problems: string[] = [];
  peer.rawWs.forEach((conn, i) => {
    for (const [stream, seqs] of conn) {
      for (let j = 1; j < seqs.length; j++) {
        if (seqs[j] !== seqs[j - 1]! + 1) problems.push(`${peer.name} ws#${i} ${stream}: ${seqs[j - 1]} then ${seqs[j]}`);
      }
    }
  });
  return problems;
}

/** Writers sending one message each `everyMs` until stopped. */
export function startTraffic(writers: Peer[], room: string, everyMs: number): { stop(): void; queued(): number } {
  let n = 0;
  const timers = writers.map((w, i) =>
    setInterval(() => {
      const entry = w.client.send(room, `${w.name} #${n++}`);
      if (entry) w.sent.push(entry.clientId);
    }, everyMs + i * 7),
  );
  return {
    stop: () => timers.forEach(clearInterval),
    queued: () => writers.reduce((sum, w) => sum + w.sent.length, 0),
  };
}

/** Waits until every writer's outbox is empty: each queued message was acknowledged. */
export async function allAcked(writers: Peer[], ms = 60_000): Promise<void> {
  await waitFor(() => writers.every((w) => w.client.getOutbox().length === 0), ms, "every queued message acknowledged").catch((err: Error) => {
    const left = writers.map((w) => `${w.name}: ${JSON.stringify(w.client.getOutbox().map((e) => e.status))} ${JSON.stringify(w.client.getStatus())}`);
    throw new Error(`${err.message}\n${left.join("\n")}`);
  });
}
