// SSE through a real nginx: with the reference config (deploy/nginx.conf) each event arrives as
// it happens; through the hostile config (buffering everything) it does not — which is why
// the client falls back to long polling there.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster";
import { startNginx, type Nginx } from "./nginx";
import { waitFor } from "../helpers/server";

describe("SSE behind nginx", () => {
  let cluster: Cluster;
  let hostile: Nginx;
  let cookie: string;

  beforeAll(async () => {
    cluster = await startCluster({ instances: 1 });
    hostile = await startNginx({ conf: "hostile", upstreams: cluster.instances.map((i) => i.port) });
    ({ cookie } = await cluster.signIn("Ada"));
  });
  afterAll(async () => {
    await hostile?.stop();
    await cluster?.stop();
  });

  /** Opens the feed stream through `base`; returns what has arrived so far and a closer. */
  function openStream(base: string) {
    const received: string[] = [];
    const req = http.get(`${base}/api/stream?streams=feed`, { headers: { cookie, "accept-encoding": "gzip" } });
    const headers = new Promise<http.IncomingHttpHeaders>((resolve) =>
      req.on("response", (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => received.push(chunk));
        resolve(res.headers);
      }),
    );
    req.on("error", () => {});
    return { text: () => received.join(""), headers, close: () => req.destroy() };
  }

  const createRoom = async (name: string) =>
    expect((await cluster.api("/api/rooms", { method: "POST", cookie, body: JSON.stringify({ name }) })).status).toBe(201);

  it("through deploy/nginx.conf, the first event arrives before the next one is produced", async () => {
    const stream = openStream(cluster.url);
    const headers = await stream.headers;
    expect(headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(headers["content-encoding"]).toBeUndefined();
    await waitFor(() => stream.text().includes("retry: 2000"), 10_000, "the stream's first bytes through nginx");
    await createRoom("through-nginx-1");
    await waitFor(() => stream.text().includes('"roomId":"through-nginx-1"'), 10_000, "the first event through nginx");
    await createRoom("through-nginx-2");
    await waitFor(() => stream.text().includes('"roomId":"through-nginx-2"'), 10_000, "the second event through nginx");
    stream.close();
  });

  it("through the hostile config, the same stream sits in the proxy's buffer", async () => {
    const stream = openStream(hostile.url);
    const control = openStream(cluster.url);
    await waitFor(() => control.text().includes("retry: 2000"), 10_000, "control stream");
    await new Promise((r) => setTimeout(r, 500));
    await createRoom("through-hostile");
    // The reference path shows the event is out: only the hostile proxy holds it back.
    await waitFor(() => control.text().includes('"roomId":"through-hostile"'), 10_000, "the event through nginx.conf");
    await new Promise((r) => setTimeout(r, 1000));
    expect(stream.text()).not.toContain('"roomId":"through-hostile"');
    control.close();
    stream.close();
  });
});
