// Found: no security headers (the signed-in app framed inside a same-site page) and /metrics
// public. Every answer now says nosniff, no framing and a Referrer-Policy; pages carry a CSP
// with a fresh script nonce and no 'unsafe-inline' scripts; /metrics can live on its own port.
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxy } from "../../proxy";
import { startServer, type TestServer } from "../helpers/server";
import { rawRequest } from "../helpers/raw-http";

function expectCommon(headers: Record<string, string | string[] | undefined>, what: string): void {
  expect(headers["x-content-type-options"], what).toBe("nosniff");
  expect(headers["x-frame-options"], what).toBe("DENY");
  expect(headers["referrer-policy"], what).toBeTruthy();
  expect(String(headers["content-security-policy"]), what).toContain("frame-ancestors 'none'");
}

// Servers start in hooks (their longer timeout): a fresh database takes a while on a busy machine.
let s: TestServer;
let apart: TestServer;
beforeAll(async () => {
  [s, apart] = await Promise.all([startServer(), startServer({ env: { METRICS_PORT: "0" } })]);
}, 180_000);
afterAll(() => Promise.all([s.stop(), apart.stop()]));

describe("security headers", () => {
  it("are on every API answer: success, refusal, unknown path, operations", async () => {
    const { cookie } = await s.signIn("Ada");
    for (const [path, headers] of [
      ["/api/session", { cookie }],
      ["/api/session", {}],
      ["/api/nope", {}],
      ["/healthz", {}],
      ["/metrics", {}],
    ] as const) {
      const res = await rawRequest(s.url, { path, headers });
      expectCommon(res.headers, path);
      expect(String(res.headers["content-security-policy"])).toContain("default-src 'none'");
    }
    const refused = await rawRequest(s.url, { method: "POST", path: "/api/rooms", headers: { cookie, "content-type": "text/plain" }, body: "x" });
    expectCommon(refused.headers, "415");
  });

  it("pages get a CSP with a per-request nonce and no 'unsafe-inline' for scripts", () => {
    const one = proxy(new NextRequest("http://127.0.0.1:3000/rooms/general"));
    const two = proxy(new NextRequest("http://127.0.0.1:3000/"));
    const policy = one.headers.get("content-security-policy")!;
    expectCommon(Object.fromEntries(one.headers), "page");
    const script = policy.split(";").map((d) => d.trim()).find((d) => d.startsWith("script-src"))!;
    expect(script).toMatch(/'nonce-[A-Za-z0-9+/=]{20,}'/);
    expect(script).not.toContain("unsafe-inline");
    expect(script).not.toContain("unsafe-eval");
    expect(two.headers.get("content-security-policy")).not.toBe(policy);
    // Next reads the nonce from the request's copy of the policy while rendering.
    expect(one.headers.get("x-middleware-request-content-security-policy")).toBe(policy);
  });
});

describe("METRICS_PORT", () => {
  it("serves /metrics on its own listener only, on the same host", async () => {
    const s = apart;
    const publicAnswer = await rawRequest(s.url, { path: "/metrics" });
    expect(publicAnswer.status).toBe(404);
    expect(publicAnswer.body).not.toContain("rt_");
    const addr = s.app.metricsServer!.address();
    expect(typeof addr === "object" && addr?.address).toBe("127.0.0.1");
    const port = typeof addr === "object" && addr ? addr.port : 0;
    const own = await rawRequest(`http://127.0.0.1:${port}`, { path: "/metrics" });
    expect(own.status).toBe(200);
    expect(own.body).toContain("rt_http_requests_total");
    expect((await rawRequest(`http://127.0.0.1:${port}`, { path: "/api/session" })).status).toBe(404);
  });

  it("without it, /metrics stays on the main port", async () => {
    expect((await rawRequest(s.url, { path: "/metrics" })).status).toBe(200);
    expect(s.app.metricsServer).toBeNull();
  });
});
