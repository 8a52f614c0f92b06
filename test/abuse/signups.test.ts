// Finding 7, sign-ups: one address made 480 sessions in 3 s, each a person kept for good.
// Sessions are now limited per client address (a burst of 60, then one a second), and the
// address is the peer's own unless the peer is a trusted proxy.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../server/state/clock";
import { startServer, type TestServer } from "../helpers/server";

// 127.0.0.2 plays the reverse proxy (Linux routes all of 127/8 to loopback); test clients
// connect from 127.0.0.1, an ordinary untrusted peer.
const PROXY = "127.0.0.2";
let s: TestServer;
// Time stands still, so the limit's refill (one a second) cannot blur the burst on a slow machine.
const clock = new ManualClock();

beforeAll(async () => {
  s = await startServer({ env: { TRUSTED_PROXIES: PROXY }, clock });
});
afterAll(() => s.stop());

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: string;
}

/** `POST /api/session` from `localAddress`, with an `X-Forwarded-For` when given. */
function signUp(name: string, o: { localAddress?: string; forwardedFor?: string } = {}): Promise<Answer> {
  const body = JSON.stringify({ name });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${s.url}/api/session`,
      {
        method: "POST",
        localAddress: o.localAddress ?? "127.0.0.1",
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...(o.forwardedFor ? { "x-forwarded-for": o.forwardedFor } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("sign-ups per client address", () => {
  it("takes a burst of 60 from one address, refuses the 61st with 429 rate_limited and Retry-After; X-Forwarded-For from an untrusted peer changes nothing", async () => {
    // Each with a different forged X-Forwarded-For: none of them buys a fresh allowance.
    for (let i = 0; i < 60; i++) {
      const a = await signUp(`burst ${i}`, { forwardedFor: `198.51.100.${i + 1}` });
      expect(a.status, a.body).toBe(200);
    }
    for (const forwardedFor of [undefined, "203.0.113.9", "10.1.2.3, 192.0.2.44"]) {
      const refused = await signUp("one too many", { forwardedFor });
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "rate_limited" } });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    const metrics = await (await s.api("/metrics")).text();
    expect(metrics).toMatch(/rt_rate_limited_total\{type="session"\} [1-9]/);
  });

  it("counts a trusted proxy's clients by their own address: another client behind it still signs in", async () => {
    const viaProxy = await signUp("behind the proxy", { localAddress: PROXY, forwardedFor: "203.0.113.7" });
    expect(viaProxy.status, viaProxy.body).toBe(200);
    // The limited address stays limited, whichever way it comes.
    expect((await signUp("still me", { localAddress: PROXY, forwardedFor: "127.0.0.1" })).status).toBe(429);
  });

  it("refills at one a second: after a refusal's Retry-After the address signs in again", async () => {
    const refused = await signUp("too soon");
    expect(refused.status).toBe(429);
    clock.advance(Number(refused.retryAfter) * 1000);
    expect((await signUp("in time")).status).toBe(200);
    expect((await signUp("and again too soon")).status).toBe(429);
  });
});
