// A proxy in front of a database (Postgres on TCP, or the embedded one's Unix socket) that
// counts round trips: each time a client sends after the database last answered it, the client
// has waited for an answer, and that is one more round trip. It also counts the statements
// clients send to be parsed (the wire protocol's Parse messages).
import net from "node:net";

export interface RoundTripProxy {
  /** A postgres:// URL that reaches the database through the proxy. */
  readonly url: string;
  /** Round trips of every connection since the last `reset()`. */
  roundTrips(): number;
  /** Parse messages (statements sent to be parsed and planned) of every connection since the last `reset()`. */
  parses(): number;
  reset(): void;
  close(): Promise<void>;
}

/** Where `url` (postgres://, with `?host=<directory>` for a Unix socket) points. */
function targetOf(url: string): net.NetConnectOpts {
  const u = new URL(url);
  const port = Number(u.port || 5432);
  const dir = u.searchParams.get("host");
  return dir?.startsWith("/") ? { path: `${dir}/.s.PGSQL.${port}` } : { host: u.hostname, port };
}

export async function startRoundTripProxy(databaseUrl: string): Promise<RoundTripProxy> {
  const target = targetOf(databaseUrl);
  const sockets = new Set<net.Socket>();
  let count = 0;
  let parses = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    // Whether the client has sent since the database last answered.
    let sent = false;
    const messages = clientMessages((type) => {
      if (type === "P") parses++;
    });
    client.on("data", (d) => {
      if (!sent) count++;
      sent = true;
      messages(d);
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      sent = false;
      client.write(d);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const u = new URL(databaseUrl);
  u.searchParams.delete("host");
  u.hostname = "127.0.0.1";
  u.port = String((server.address() as net.AddressInfo).port);
  return {
    url: u.toString(),
    roundTrips: () => count,
    parses: () => parses,
    reset: () => void ((count = 0), (parses = 0)),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Splits what a client sends into the protocol's messages and reports each one's type: the
 * first message (startup) has no type byte, every later one is a type byte and a length that
 * counts itself.
 */
function clientMessages(onMessage: (type: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let started = false;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const head = started ? 1 : 0;
      if (pending.length < head + 4) return;
      const length = pending.readInt32BE(head);
      if (pending.length < head + length) return;
      if (started) onMessage(String.fromCharCode(pending[0]!));
      started = true;
      pending = pending.subarray(head + length);
    }
  };
}
