// The edge as deployed: deploy/nginx.conf serving TLS with HTTP/2 (a certificate made by
// deploy/tls-cert.sh) in front of two instances. A browser's tabs share one HTTP/2 connection
// per origin: ten event streams (ten tabs) ride one TCP connection and each gets every event,
// with the API calls and long polls beside them; the WebSocket still upgrades over HTTP/1.1.
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startCluster, type Cluster } from "./cluster";
import { startNginx, type Nginx } from "./nginx";
import { waitFor } from "../helpers/server";

const TABS = 10;

describe("TLS and HTTP/2 at the edge", () => {
  let cluster: Cluster;
  let edge: Nginx;

  beforeAll(async () => {
    // As deployed (docker-compose.yml): the instances believe nginx's X-Forwarded-Proto and
    // -Host, so they know the browser spoke HTTPS (its Origin, the Secure cookie).
    cluster = await startCluster({ instances: 2, env: { TRUSTED_PROXIES: "127.0.0.1" } });
    edge = await startNginx({ conf: "normal", upstreams: cluster.instances.map((i) => i.port), tls: true });
  });
  afterAll(async () => {
    await edge?.stop();
    await cluster?.stop();
  });

  /** A request on `session`; resolves with its status, headers and whole body. */
  function request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string) {
    return new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = session.request(headers, { endStream: body === undefined });
      let text = "";
      let head: http2.IncomingHttpHeaders = {};
      req.setEncoding("utf8");
      req.on("response", (h) => (head = h));
      req.on("data", (chunk: string) => (text += chunk));
      req.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: text }));
      req.on("error", reject);
      if (body !== undefined) req.end(body);
    });
  }

  /** TCP connections nginx holds on its listener now (ESTABLISHED, its side), from /proc/net/tcp. */
  function connectionsTo(port: number): number {
    const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
    return readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .slice(1)
      .filter((line) => {
        const [, local, , state] = line.trim().split(/\s+/);
        return local?.endsWith(`:${hexPort}`) && state === "01";
      }).length;
  }

  it(`carries ${TABS} tabs' event streams on one connection, each receiving every event, with the API calls and a long poll beside them`, async () => {
    const session = http2.connect(edge.url, { ca: edge.ca });
    try {
      await new Promise<void>((resolve, reject) => session.once("connect", () => resolve()).once("error", reject));
      expect(session.alpnProtocol).toBe("h2");

      // As a browser signs in: with its Origin, which the app checks against the https origin
      // nginx forwards (X-Forwarded-Proto and Host from HTTP/2's :scheme and :authority).
      const signIn = await request(
        session,
        { ":method": "POST", ":path": "/api/session", "content-type": "application/json", origin: edge.url },
        JSON.stringify({ name: "Ada" }),
      );
      expect(signIn.status).toBe(200);
      // Spoken over HTTPS: the session cookie is the Secure `__Host-` one.
      expect(String(signIn.headers["set-cookie"])).toMatch(/^__Host-.*; Secure/i);
      const cookie = String(signIn.headers["set-cookie"]).split(";")[0]!;

      const streams = Array.from({ length: TABS }, () => {
        const req = session.request({ ":path": "/api/stream?streams=feed", cookie });
        const s = { req, text: "", headers: null as http2.IncomingHttpHeaders | null };
        req.setEncoding("utf8");
        req.on("response", (h) => (s.headers = h));
        req.on("data", (chunk: string) => (s.text += chunk));
        req.on("error", () => {});
        return s;
      });
      await waitFor(() => streams.every((s) => s.text.includes("retry: 2000")), 10_000, "every stream's first bytes");
      for (const s of streams) {
        expect(s.headers?.[":status"]).toBe(200);
        expect(s.headers?.["content-type"]).toMatch(/^text\/event-stream/);
        expect(s.headers?.["content-encoding"]).toBeUndefined();
      }

      // An event produced on either instance reaches every stream, as it happens.
      for (const room of ["over-h2-1", "over-h2-2"]) {
        const created = await request(session, { ":method": "POST", ":path": "/api/rooms", "content-type": "application/json", cookie }, JSON.stringify({ name: room }));
        expect(created.status).toBe(201);
        await waitFor(() => streams.every((s) => s.text.includes(`"roomId":"${room}"`)), 10_000, `${room} on every stream`);
      }

      // A long poll answers on the same connection while the streams stay open.
      const poll = await request(session, { ":path": "/api/poll?streams=feed&wait=1", cookie });
      expect(poll.status).toBe(200);
      expect(JSON.parse(poll.body)).toHaveProperty("cursor");

      // One TCP connection: every stream is this session's, and nginx holds one connection.
      expect(streams.every((s) => s.req.session === session)).toBe(true);
      expect(streams.every((s) => !s.req.closed)).toBe(true);
      expect(connectionsTo(edge.port)).toBe(1);
      for (const s of streams) s.req.close();
    } finally {
      session.close();
    }
  });

  it("upgrades the WebSocket over HTTP/1.1 on the same listener", async () => {
    const cookie = await new Promise<string>((resolve, reject) => {
      const req = https.request(`${edge.url}/api/session`, { method: "POST", ca: edge.ca, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        resolve(String(res.headers["set-cookie"]?.[0]).split(";")[0]!);
      });
      req.once("error", reject);
      req.end(JSON.stringify({ name: "Lin" }));
    });
    const ws = new WebSocket(`wss://127.0.0.1:${edge.port}/ws`, ["rt.v1"], { ca: edge.ca, headers: { cookie, origin: edge.url } });
    try {
      const joined = new Promise<string>((resolve, reject) => {
        ws.on("message", (data) => {
          const frame = JSON.parse(String(data)) as { type: string; room?: string };
          if (frame.type === "joined") resolve(frame.room ?? "");
        });
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
      });
      await new Promise<void>((resolve, reject) => ws.once("open", () => resolve()).once("error", reject));
      ws.send(JSON.stringify({ type: "join", room: "general" }));
      expect(await joined).toBe("general");
    } finally {
      ws.terminate();
    }
  });

  it("redirects plain HTTP sent to the TLS port to https on the same address", async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`http://127.0.0.1:${edge.port}/rooms?x=1`, resolve).once("error", reject),
    );
    res.resume();
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe(`https://127.0.0.1:${edge.port}/rooms?x=1`);
  });
});
