// A small HTTP proxy on 127.0.0.1 in front of the test server, for what corporate proxies do
// to some paths: `intercept` may answer a request itself (a 403, a 502, a page of HTML);
// everything else is forwarded as it is, long polls included.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface HttpProxy {
  url: string;
  /** Requests the proxy answered itself, by path. */
  readonly intercepted: string[];
  close(): Promise<void>;
}

export async function startHttpProxy(
  targetPort: number,
  intercept: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
): Promise<HttpProxy> {
  const intercepted: string[] = [];
  const server = http.createServer((req, res) => {
    if (intercept(req, res)) {
      intercepted.push(new URL(req.url ?? "/", "http://proxy").pathname);
      return;
    }
    const upstream = http.request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    intercepted,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
