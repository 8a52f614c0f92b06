// Cookie tossing: a page elsewhere on the site sets a second session cookie (its own, with
// `Path=/api` so the browser sends it first). Found: the server took the first one, so the
// victim's typing was posted as the attacker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, startServerWith, type Person, type TestServer } from "../helpers/server";
import { rawRequest, upgradeStatus } from "../helpers/raw-http";

describe("two session cookies", () => {
  let s: TestServer;
  let victim: Person;
  let attacker: Person;
  beforeAll(async () => {
    [s, victim, attacker] = await startServerWith(["Victim", "Attacker"]);
  });
  afterAll(() => s.stop());

  it("are refused with 400 duplicate_cookie, whichever comes first, on every authenticated call", async () => {
    const both = `${attacker.cookie}; ${victim.cookie}`;
    const json = { "content-type": "application/json", cookie: both };
    const typing = await rawRequest(s.url, { method: "POST", path: "/api/rooms/general/typing", headers: json, body: "{}" });
    expect(typing.status).toBe(400);
    expect(typing.code).toBe("duplicate_cookie");
    const message = await rawRequest(s.url, { method: "POST", path: "/api/rooms/general/messages", headers: json, body: JSON.stringify({ text: "as whom?", clientId: "toss-1" }) });
    expect(message.status).toBe(400);
    const who = await rawRequest(s.url, { path: "/api/session", headers: { cookie: `${victim.cookie}; ${attacker.cookie}` } });
    expect(who.status).toBe(400);
    expect(who.code).toBe("duplicate_cookie");
    // Nothing was posted in anyone's name.
    const history = (await (await s.api("/api/rooms/general/events", { cookie: victim.cookie })).json()) as { events: Array<{ data: { text?: string } }> };
    expect(history.events.some((e) => e.data.text === "as whom?")).toBe(false);
  });

  it("refuses the WebSocket upgrade too", async () => {
    const status = await upgradeStatus(s.wsUrl, { cookie: `${attacker.cookie}; ${victim.cookie}` });
    expect(status).toBe(400);
  });

  it("one cookie still works", async () => {
    expect((await s.api("/api/session", { cookie: victim.cookie })).status).toBe(200);
  });
});

describe("the session cookie under HTTPS", () => {
  let behindProxy: TestServer;
  let direct: TestServer;
  beforeAll(async () => {
    [behindProxy, direct] = await Promise.all([startServer({ env: { TRUSTED_PROXIES: "127.0.0.1" } }), startServer()]);
  }, 180_000);
  afterAll(() => Promise.all([behindProxy.stop(), direct.stop()]));

  it("is __Host-rt_session (Secure, Path=/, no Domain) behind a trusted TLS proxy, and only that name is read there", async () => {
    const s = behindProxy;
    const https = { "x-forwarded-proto": "https", "x-forwarded-host": "chat.example", "content-type": "application/json" };
    const res = await rawRequest(s.url, { method: "POST", path: "/api/session", headers: https, body: JSON.stringify({ name: "Tls" }) });
    expect(res.status).toBe(200);
    const setCookie = String(res.headers["set-cookie"]);
    expect(setCookie).toMatch(/^__Host-rt_session=[^;]+;/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/Domain=/i);
    const token = setCookie.split(";")[0]!.split("=").slice(1).join("=");
    const asHost = await rawRequest(s.url, { path: "/api/session", headers: { ...https, cookie: `__Host-rt_session=${token}` } });
    expect(asHost.status).toBe(200);
    // A plain `rt_session` (which a plain-HTTP page of the site could plant) is not read under HTTPS.
    const plain = await rawRequest(s.url, { path: "/api/session", headers: { ...https, cookie: `rt_session=${token}` } });
    expect(plain.status).toBe(401);
  });

  it("stays rt_session without Secure when X-Forwarded-Proto comes from a peer that is not a trusted proxy", async () => {
    const s = direct;
    const res = await rawRequest(s.url, {
      method: "POST",
      path: "/api/session",
      headers: { "x-forwarded-proto": "https", "content-type": "application/json" },
      body: JSON.stringify({ name: "Plain" }),
    });
    const setCookie = String(res.headers["set-cookie"]);
    expect(setCookie).toMatch(/^rt_session=/);
    expect(setCookie).not.toMatch(/Secure/);
  });
});
