// A TCP proxy on 127.0.0.1 that can go silent: the connections it carries stay open but nothing
// passes any more, as when a NAT entry or a middlebox drops a flow without a word. New
// connections still go through.
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port pointing at the proxy. */
  via(url: string): string;
  /** Every connection open now stops carrying bytes, both ways, and is never closed. */
  silence(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const flows = new Set<{ client: net.Socket; upstream: net.Socket; silent: boolean }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    const flow = { client, upstream, silent: false };
    flows.add(flow);
    client.on("data", (d) => void (flow.silent || upstream.write(d)));
    upstream.on("data", (d) => void (flow.silent || client.write(d)));
    const end = () => {
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on("error", end);
      s.on("close", () => void (flow.silent || end()));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    silence() {
      for (const flow of flows) flow.silent = true;
    },
    async close() {
      for (const { client, upstream } of flows) {
        client.destroy();
        upstream.destroy();
      }
      flows.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
