import { describe, expect, it } from "vitest";
import { Router } from "../../server/http/router";

const handler = (name: string) => Object.assign(() => undefined, { route: name });
const nameOf = (h: unknown) => (h as { route?: string } | null)?.route ?? null;

describe("Router", () => {
  const router = new Router()
    .on("GET", "/api/rooms", handler("list"))
    .on("POST", "/api/rooms", handler("create"))
    .on("GET", "/api/rooms/:id", handler("room"))
    .on("GET", "/api/rooms/:id/events", handler("events"))
    .on("GET", "/api/rooms/search/events", handler("never: added after the parameter route"))
    .on("GET", "/healthz", handler("health"));

  it("finds a literal path and the handler for its method", () => {
    const m = router.match("GET", "/api/rooms");
    expect(m?.pattern).toBe("/api/rooms");
    expect(nameOf(m?.handler)).toBe("list");
    expect(nameOf(router.match("post", "/api/rooms")?.handler)).toBe("create");
    expect(m?.params).toEqual({});
  });

  it("gives parameters decoded, and matches only paths with as many segments", () => {
    expect(router.match("GET", "/api/rooms/caf%C3%A9")).toMatchObject({ pattern: "/api/rooms/:id", params: { id: "café" } });
    expect(router.match("GET", "/api/rooms/general/events")?.params).toEqual({ id: "general" });
    expect(router.match("GET", "/api/rooms/general/events/more")).toBeNull();
    expect(router.match("GET", "/nowhere")).toBeNull();
  });

  it("tries routes in the order they were added", () => {
    expect(nameOf(router.match("GET", "/api/rooms/search/events")?.handler)).toBe("events");
  });

  it("does not match a parameter that is not valid percent-encoding", () => {
    expect(router.match("GET", "/api/rooms/%E0%A4%A")).toBeNull();
  });

  it("answers HEAD with GET's handler, and names the methods a path allows", () => {
    expect(nameOf(router.match("HEAD", "/healthz")?.handler)).toBe("health");
    const m = router.match("DELETE", "/api/rooms");
    expect(m?.handler).toBeNull();
    expect(m?.allowed).toEqual(["GET", "POST"]);
  });
});
