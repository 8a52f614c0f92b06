// Cross-site request forgery: a page elsewhere makes the victim's browser send a request with
// the victim's cookie. Found: a text/plain form replaced the victim's identity, and a page on
// another port of the same host posted messages and created rooms as the victim.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerWith, type Person, type TestServer } from "../helpers/server";
import { rawRequest, upgradeStatus } from "../helpers/raw-http";

let s: TestServer;
let victim: Person;
let own: string;

beforeAll(async () => {
  [s, victim] = await startServerWith(["Victim"], { env: { ALLOWED_ORIGINS: "https://partner.example" } });
  own = s.url; // http://127.0.0.1:<port>: the app's own origin
});
afterAll(() => s.stop());

const path = () => new URL(s.url).host;
const send = (method: string, p: string, headers: Record<string, string>, body?: string) =>
  rawRequest(s.url, { method, path: p, headers: { host: path(), ...headers }, body });

async function roomNames(): Promise<string[]> {
  const res = await s.api("/api/rooms", { cookie: victim.cookie });
  return ((await res.json()) as { rooms: Array<{ id: string }> }).rooms.map((r) => r.id);
}

describe("login CSRF", () => {
  // What `<form enctype="text/plain" method="post">` with one field named `{"name":"Mallory","x":"`
  // and the value `"}` sends: a body that happens to be JSON, under a type a form may use.
  const formBody = '{"name":"Mallory","x":"="}';

  it("refuses a cross-site text/plain form sign-in, and sets no cookie", async () => {
    const res = await send("POST", "/api/session", { "content-type": "text/plain", origin: "http://evil.example", "sec-fetch-site": "cross-site", cookie: victim.cookie }, formBody);
    expect(res.status).toBe(403);
    expect(res.code).toBe("forbidden_origin");
    expect(res.headers["set-cookie"]).toBeUndefined();
  });

  it("refuses text/plain, form and multipart bodies even with no Origin at all (415)", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await send("POST", "/api/session", { "content-type": type }, formBody);
      expect(res.status, type).toBe(415);
      expect(res.code, type).toBe("unsupported_media_type");
      expect(res.headers["set-cookie"], type).toBeUndefined();
    }
    // A bodiless state-changing request must say JSON too (a sign-out by a cross-site beacon).
    const out = await send("DELETE", "/api/session", { cookie: victim.cookie });
    expect(out.status).toBe(415);
    expect((await s.api("/api/session", { cookie: victim.cookie })).status).toBe(200);
  });
});

describe("state-changing calls from another origin", () => {
  it("refuses a foreign Origin posting a message or creating a room, and writes nothing", async () => {
    const json = { "content-type": "application/json", cookie: victim.cookie, origin: "http://evil.example" };
    const post = await send("POST", "/api/rooms/general/messages", json, JSON.stringify({ text: "forged", clientId: "csrf-1" }));
    expect(post.status).toBe(403);
    expect(post.code).toBe("forbidden_origin");
    const room = await send("POST", "/api/rooms", json, JSON.stringify({ name: "forged-room" }));
    expect(room.status).toBe(403);
    expect(room.code).toBe("forbidden_origin");
    expect(await roomNames()).not.toContain("forged-room");
    const history = (await (await s.api("/api/rooms/general/events", { cookie: victim.cookie })).json()) as { events: Array<{ data: { text?: string } }> };
    expect(history.events.some((e) => e.data.text === "forged")).toBe(false);
  });

  it("refuses a same-site page on another port (another origin), by Origin or by Sec-Fetch-Site", async () => {
    const port = Number(new URL(own).port);
    const sibling = `http://127.0.0.1:${port === 65535 ? port - 1 : port + 1}`;
    const json = { "content-type": "application/json", cookie: victim.cookie };
    const byOrigin = await send("POST", "/api/rooms", { ...json, origin: sibling }, JSON.stringify({ name: "sibling-room" }));
    expect(byOrigin.status).toBe(403);
    expect(byOrigin.code).toBe("forbidden_origin");
    // A browser that sends no Origin still sends Sec-Fetch-Site.
    const bySite = await send("POST", "/api/rooms/general/typing", { ...json, "sec-fetch-site": "same-site" }, "{}");
    expect(bySite.status).toBe(403);
    expect(await roomNames()).not.toContain("sibling-room");
  });

  it("compares the scheme too: https:// on the app's host and port is another origin", async () => {
    const https = own.replace(/^http:/, "https:");
    const res = await send("POST", "/api/rooms", { "content-type": "application/json", cookie: victim.cookie, origin: https }, JSON.stringify({ name: "scheme-room" }));
    expect(res.status).toBe(403);
    expect(await roomNames()).not.toContain("scheme-room");
  });

  it("accepts the app's own origin, a configured ALLOWED_ORIGINS one, and curl (no Origin, no Sec-Fetch-Site)", async () => {
    const json = { "content-type": "application/json", cookie: victim.cookie };
    const mine = await send("POST", "/api/rooms", { ...json, origin: own, "sec-fetch-site": "same-origin" }, JSON.stringify({ name: "own-room" }));
    expect(mine.status).toBe(201);
    const partner = await send("POST", "/api/rooms", { ...json, origin: "https://partner.example" }, JSON.stringify({ name: "partner-room" }));
    expect(partner.status).toBe(201);
    const curl = await send("POST", "/api/rooms/general/messages", json, JSON.stringify({ text: "from a script", clientId: "curl-1" }));
    expect(curl.status).toBe(201);
    const charset = await send("POST", "/api/rooms/general/typing", { ...json, "content-type": "application/json; charset=utf-8" }, "{}");
    expect(charset.status).toBe(204);
    const signIn = await send("POST", "/api/session", { "content-type": "application/json" }, JSON.stringify({ name: "Script" }));
    expect(signIn.status).toBe(200);
  });
});

describe("the WebSocket's Origin check", () => {
  const upgrade = (headers: Record<string, string>) => upgradeStatus(s.wsUrl, { cookie: victim.cookie, ...headers });

  it("compares scheme, host and port, and ignores X-Forwarded-Host from a peer that is not a trusted proxy", async () => {
    expect(await upgrade({ origin: own })).toBe(101);
    expect(await upgrade({ origin: own.replace(/^http:/, "https:") })).toBe(403);
    expect(await upgrade({ origin: "http://evil.example" })).toBe(403);
    // The attacker's page names its own host in X-Forwarded-Host: not believed from 127.0.0.1 here.
    expect(await upgrade({ origin: "http://evil.example", "x-forwarded-host": "evil.example" })).toBe(403);
  });
});
