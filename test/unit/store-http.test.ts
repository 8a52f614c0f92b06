// The stores' HTTP helper: answers are checked against the protocol's schemas before a store
// keeps them, and error bodies become errors with their code. The network is a stand-in
// (`fetch` stubbed) so each answer is exactly what the test says.
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, apiNoContent } from "../../lib/store/http";
import { roomsAnswerSchema } from "../../lib/protocol";

const answer = (status: number, body?: unknown) =>
  vi.stubGlobal("fetch", async () => new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } }));

afterEach(() => {
  vi.unstubAllGlobals();
});

const room = { id: "general", name: "general", createdAt: "2026-11-30T10:00:00.000Z", head: 3 };

describe("api", () => {
  it("resolves with an answer that matches the schema", async () => {
    answer(200, { rooms: [room] });
    await expect(api("/api/rooms", roomsAnswerSchema)).resolves.toEqual({ rooms: [room] });
  });

  it("refuses an answer that does not, naming where it differs, so no store keeps it", async () => {
    for (const body of [{ rooms: [{ ...room, head: "3" }] }, { rooms: "none" }, null, "<html>"]) {
      answer(200, body);
      const err = await api("/api/rooms", roomsAnswerSchema).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ code: "invalid_answer" });
    }
    answer(200, { rooms: [{ ...room, head: "3" }] });
    await expect(api("/api/rooms", roomsAnswerSchema)).rejects.toThrow(/rooms\.0\.head/);
  });

  it("turns an error body into an ApiError with its code, and a body that is none into http_error", async () => {
    answer(409, { error: { code: "room_exists", message: 'A room named "x" already exists' } });
    await expect(api("/api/rooms", roomsAnswerSchema)).rejects.toMatchObject({ status: 409, code: "room_exists" });
    answer(502, { oops: true });
    await expect(apiNoContent("/api/notifications/read")).rejects.toMatchObject({ status: 502, code: "http_error" });
  });

  it("takes a 204 with no body", async () => {
    answer(204);
    await expect(apiNoContent("/api/notifications/read", { method: "POST", body: { seq: 1 } })).resolves.toBeUndefined();
  });
});
