// A TCP proxy on 127.0.0.1 that can turn into a black hole: the connections it carries stay
// open at both ends but nothing passes any more — what a laptop waking from sleep, or a NAT
// that forgot the mapping, looks like to both sides. New connections pass again.
import net from "node:net";

export interface TcpProxy {
  port: number;
  /** Stops forwarding on every connection open now, without closing any of them. */
  blackHole(): void;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; dead: boolean }>();
  let connections = 0;
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair = { client, upstream, dead: false };
    pairs.add(pair);
    client.on("data", (d) => void (pair.dead || upstream.write(d)));
    upstream.on("data", (d) => void (pair.dead || client.write(d)));
    // A live pair closes together; a dead one closes nothing (the far side never hears).
    const end = () => {
      if (pair.dead) return;
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on("error", () => undefined);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackHole() {
      for (const p of pairs) p.dead = true;
    },
    get connections() {
      return connections;
    },
    async close() {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
