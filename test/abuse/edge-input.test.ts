// Input checked at the edge. Found: a NUL in a room id reached the database and came back as
// `500 internal` with a stack in the log (over WebSocket as internal errors that never counted
// toward the abuse limit); a right-to-left override in a display name reversed the rest of a
// feed sentence.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, startServerWith, type Person, type TestServer } from "../helpers/server";
import { rawRequest } from "../helpers/raw-http";

let s: TestServer;
let ada: Person;
beforeAll(async () => {
  [s, ada] = await startServerWith(["Ada"]);
});
afterAll(() => s.stop());

describe("room ids", () => {
  const bad = ["gen%00eral", "%00", "a%2Fb", "a.b", "x".repeat(65), "caf%C3%A9"];

  it("answers an invalid room id in a path with unknown_room, never 500", async () => {
    const json = { "content-type": "application/json", cookie: ada.cookie };
    for (const id of bad) {
      for (const [method, path, body] of [
        ["GET", `/api/rooms/${id}/events`, undefined],
        ["POST", `/api/rooms/${id}/messages`, JSON.stringify({ text: "hi", clientId: `nul-${id.length}` })],
        ["POST", `/api/rooms/${id}/typing`, "{}"],
        ["POST", `/api/rooms/${id}/cursor`, JSON.stringify({ x: 0.5, y: 0.5 })],
      ] as const) {
        const res = await rawRequest(s.url, { method, path, headers: json, body });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.code, `${method} ${path}`).toBe("unknown_room");
      }
    }
    const internal = await s.app.metrics.registry.getSingleMetricAsString("rt_http_requests_total");
    expect(internal).not.toMatch(/status="500"/);
  });

  it("answers an invalid room id in a WebSocket frame with bad_frame, counted toward the abuse limit", async () => {
    const a = await s.connect(ada.cookie);
    a.send({ type: "join", room: "gen\u0000eral" });
    const err = await a.next(isType("error"));
    expect(err.code).toBe("bad_frame");
    a.send({ type: "send", room: "\u0000", text: "hi", clientId: "ws-nul" });
    a.send({ type: "typing", room: "a/b" });
    // 51 of them within the window close the socket for abuse (1008), as any bad frame does.
    for (let i = 0; i < 60 && a.closeCode === null; i++) a.send({ type: "join", room: `nul\u0000${i}` });
    expect(await a.closed()).toBe(1008);
    expect(a.of("error").every((f) => f.code === "bad_frame")).toBe(true);
  });
});

describe("display names", () => {
  it("refuses bidirectional control characters with invalid_name", async () => {
    for (const c of ["\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069", "\u200E", "\u200F", "\u061C"]) {
      const res = await s.api("/api/session", { method: "POST", body: JSON.stringify({ name: `Eve${c}lin` }) });
      expect(res.status, `U+${c.codePointAt(0)!.toString(16)}`).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_name");
    }
    // Right-to-left scripts themselves are welcome.
    expect((await s.api("/api/session", { method: "POST", body: JSON.stringify({ name: "سارا" }) })).status).toBe(200);
  });
});
