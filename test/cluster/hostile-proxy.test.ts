// The realtime client behind a hostile proxy (deploy/nginx-hostile.conf: Upgrade stripped,
// every response buffered): with transport "auto" it must carry rooms and the feed over long
// polling and still chat and see presence. The same person through the reference proxy
// (deploy/nginx.conf) gets WebSocket and SSE.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster";
import { startNginx, type Nginx } from "./nginx";
import { makePeer, type Peer, type PeerOptions } from "./peers";
import { waitFor } from "../helpers/server";
import type { ConnectionStatus } from "../../lib/realtime/types";

const ROOM = "general";

describe("the client behind a hostile proxy", () => {
  let cluster: Cluster;
  let hostile: Nginx;
  const peers: Peer[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ instances: 2 });
    hostile = await startNginx({ conf: "hostile", upstreams: cluster.instances.map((i) => i.port) });
  });
  afterAll(async () => {
    for (const p of peers) p.stop();
    await hostile?.stop();
    await cluster?.stop();
  });

  const auto: PeerOptions = {
    transport: "auto",
    feedStreams: ["feed", "user:me"],
    rooms: [ROOM],
    // Give up on a silent upgrade or event stream sooner than a browser tab would.
    wsOpenTimeoutMs: 1_500,
    sseFirstByteTimeoutMs: 1_500,
  };
  const peer = async (name: string, opts: PeerOptions) => {
    const p = await makePeer(cluster, name, opts);
    peers.push(p);
    return p;
  };
  const on = (p: Peer, rooms: ConnectionStatus["rooms"]["transport"], feed: ConnectionStatus["feed"]["transport"]) => {
    const s = p.client.getStatus();
    return s.rooms.transport === rooms && s.feed.transport === feed && s.rooms.state === "connected" && s.feed.state === "connected";
  };
  const names = (p: Peer) => (p.members.get(ROOM) ?? []).map((m) => m.name);
  const texts = (p: Peer) => p.roomEvents(ROOM).map((e) => (e.data as { text?: string }).text);

  it("falls back to long polling for rooms and the feed, and still chats and shows presence", async () => {
    const ada = await peer("Ada", { ...auto, base: hostile.url });
    const lin = await peer("Lin", { ...auto, base: hostile.url });
    await waitFor(() => on(ada, "longpoll", "longpoll") && on(lin, "longpoll", "longpoll"), 30_000, "both on long polling").catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify([ada.client.getStatus(), lin.client.getStatus()])}`);
    });
    await waitFor(() => names(ada).includes("Lin") && names(lin).includes("Ada"), 15_000, "each sees the other present");

    ada.client.send(ROOM, "hello @Lin, through the proxy");
    lin.client.send(ROOM, "hi Ada");
    await waitFor(
      () => [ada, lin].every((p) => texts(p).includes("hello @Lin, through the proxy") && texts(p).includes("hi Ada")),
      15_000,
      "both messages at both",
    );
    // The feed and Lin's notifications arrive by long polling too.
    await waitFor(() => lin.tc.events.some((e) => e.type === "mention"), 15_000, "Lin's mention");
    await waitFor(() => ada.tc.events.filter((e) => e.type === "message.posted").length >= 2, 15_000, "the feed at Ada");
    expect(ada.client.getOutbox()).toEqual([]);
    expect(lin.client.getOutbox()).toEqual([]);
    expect(on(ada, "longpoll", "longpoll") && on(lin, "longpoll", "longpoll")).toBe(true);
  });

  it("gets WebSocket and SSE when the same person comes through the reference proxy", async () => {
    const ada = peers.find((p) => p.name === "Ada")!;
    const again = await peer("Ada", { ...auto, session: { user: ada.user, cookie: ada.cookie } });
    await waitFor(() => on(again, "websocket", "sse"), 15_000, "WebSocket and SSE").catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(again.client.getStatus())}`);
    });
    const lin = peers.find((p) => p.name === "Lin")!;
    lin.client.send(ROOM, "still here, on long polling");
    await waitFor(() => texts(again).includes("still here, on long polling"), 15_000, "Lin's message over WebSocket");
    await waitFor(
      () => again.tc.events.some((e) => e.type === "message.posted" && e.data.preview.startsWith("still here")),
      15_000,
      "the feed over SSE",
    );
    expect(again.rawWs.some((conn) => (conn.get(`room:${ROOM}`) ?? []).length > 0), "events came over a WebSocket").toBe(true);
  });
});
