// Reading `?streams=` and a resume cursor from a request: which streams a person may ask for,
// how `user:me` resolves, and the exact errors for everything refused.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { userStream, type User } from "../../lib/protocol";
import { HttpError } from "../../server/http/respond";
import { readCursor, resolveStreams } from "../../server/transports/streams";
import type { Workspace } from "../../server/workspace";

const ann: User = { id: "u_1", name: "Ann", color: "#3366cc" };

/** A workspace that knows `rooms` (room id → who may see it: "all" or user ids) and records each question. */
function workspace(rooms: Record<string, "all" | string[]> = {}) {
  const asked: [string, string][] = [];
  const ws = {
    roomExists: async (room: string, userId: string) => {
      asked.push([room, userId]);
      const who = rooms[room];
      return who === "all" || (who !== undefined && who.includes(userId));
    },
  } as unknown as Workspace;
  return { ws, asked };
}

/** The HttpError a call throws (or rejects with), as a caller sees it. */
async function refusal(run: () => unknown): Promise<{ code: string; status: number; message: string }> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    const { code, status, message } = err as HttpError;
    return { code, status, message };
  }
  throw new Error("expected an HttpError");
}

describe("resolveStreams", () => {
  it("refuses a missing, empty or blank list, commas alone included", async () => {
    const { ws, asked } = workspace();
    for (const param of [null, "", "   ", ",", " , ,"]) {
      expect(await refusal(() => resolveStreams(param, ann, ws))).toEqual({
        code: "bad_stream",
        status: 400,
        message: "Name at least one stream, e.g. ?streams=feed,user:me",
      });
    }
    expect(asked).toEqual([]);
  });

  it("trims names, drops blanks and duplicates, and keeps the order asked", async () => {
    const { ws, asked } = workspace({ a: "all", b: "all" });
    expect(await resolveStreams(" room:b ,feed,, room:a,feed ,room:b,canvas:a", ann, ws)).toEqual(["room:b", "feed", "room:a", "canvas:a"]);
    expect(asked).toEqual([
      ["b", "u_1"],
      ["a", "u_1"],
      ["a", "u_1"],
    ]);
  });

  it("resolves user:me to the person's own stream without asking the workspace", async () => {
    const { ws, asked } = workspace();
    expect(await resolveStreams("user:me", ann, ws)).toEqual(["user:u_1"]);
    expect(await resolveStreams("feed,user:me", ann, ws)).toEqual(["feed", userStream(ann.id)]);
    expect(asked).toEqual([]);
  });

  it("accepts the person's own stream written out, and reads it once when also asked as user:me", async () => {
    const { ws } = workspace();
    expect(await resolveStreams("user:u_1", ann, ws)).toEqual(["user:u_1"]);
    expect(await resolveStreams("user:me,feed,user:u_1", ann, ws)).toEqual(["user:u_1", "feed"]);
  });

  it("refuses another person's notifications, even one whose id starts with the person's", async () => {
    const { ws } = workspace();
    for (const param of ["user:u_2", "feed,user:u_10", "user:u"]) {
      expect(await refusal(() => resolveStreams(param, ann, ws))).toEqual({
        code: "bad_stream",
        status: 400,
        message: "You can only read your own notifications (user:me)",
      });
    }
  });

  it("accepts 20 distinct streams and refuses 21 before asking about any room", async () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `room:r${i}`);
    const rooms = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`r${i}`, "all" as const]));
    const ok = workspace(rooms);
    expect(await resolveStreams(twenty.join(","), ann, ok.ws)).toEqual(twenty);
    // Duplicates do not count towards the limit.
    expect(await resolveStreams([...twenty, ...twenty].join(","), ann, ok.ws)).toEqual(twenty);

    const tooMany = workspace(rooms);
    expect(await refusal(() => resolveStreams([...twenty, "room:r20"].join(","), ann, tooMany.ws))).toEqual({
      code: "bad_stream",
      status: 400,
      message: "At most 20 streams per request",
    });
    expect(tooMany.asked).toEqual([]);
  });

  it("refuses a name that is not a stream, quoting it", async () => {
    const { ws } = workspace({ a: "all" });
    for (const name of ["feeds", "room:", "room:a/b", "chat:a", "Feed"]) {
      expect(await refusal(() => resolveStreams(`feed,${name}`, ann, ws))).toEqual({
        code: "bad_stream",
        status: 400,
        message: `Unknown stream "${name}"; streams are room:<id>, canvas:<id>, feed and user:me`,
      });
    }
  });

  it("refuses a room's chat or canvas the workspace says does not exist for this person", async () => {
    for (const param of ["room:x", "canvas:x", "feed,canvas:x"]) {
      const { ws, asked } = workspace({ x: ["u_2"] });
      expect(await refusal(() => resolveStreams(param, ann, ws))).toEqual({
        code: "unknown_room",
        status: 404,
        message: 'There is no room "x"',
      });
      expect(asked).toEqual([["x", "u_1"]]);
    }
  });

  it("accepts a room's chat and canvas the person may see", async () => {
    const { ws, asked } = workspace({ x: ["u_1"], pub: "all" });
    expect(await resolveStreams("canvas:x,room:pub", ann, ws)).toEqual(["canvas:x", "room:pub"]);
    expect(asked).toEqual([
      ["x", "u_1"],
      ["pub", "u_1"],
    ]);
  });

  it("asks the workspace nothing for the feed", async () => {
    const { ws, asked } = workspace();
    expect(await resolveStreams("feed", ann, ws)).toEqual(["feed"]);
    expect(asked).toEqual([]);
  });
});

describe("readCursor", () => {
  const req = (headers: Record<string, string> = {}) => ({ headers }) as IncomingMessage;
  const url = (query = "") => new URL(`http://x/api/sse${query}`);

  it("prefers the Last-Event-ID header to ?cursor=", () => {
    const cursor = readCursor(req({ "last-event-id": "feed=5,room:a=2" }), url("?cursor=feed=1"), ann);
    expect([...cursor]).toEqual([
      ["feed", 5],
      ["room:a", 2],
    ]);
  });

  it("falls back to ?cursor= when the header is absent or empty", () => {
    expect([...readCursor(req(), url("?cursor=feed=1"), ann)]).toEqual([["feed", 1]]);
    expect([...readCursor(req({ "last-event-id": "" }), url("?cursor=room:a%3D7"), ann)]).toEqual([["room:a", 7]]);
  });

  it("is the empty cursor when neither is given", () => {
    expect(readCursor(req(), url(), ann).size).toBe(0);
    expect(readCursor(req({ "last-event-id": "" }), url("?cursor="), ann).size).toBe(0);
  });

  it("resolves a user:me key to the person's own stream, leaving other keys as written", () => {
    expect([...readCursor(req(), url("?cursor=user:me=3,feed=0"), ann)]).toEqual([
      ["user:u_1", 3],
      ["feed", 0],
    ]);
    expect([...readCursor(req({ "last-event-id": "canvas:a=4,user:me=9" }), url(), ann)]).toEqual([
      ["canvas:a", 4],
      ["user:u_1", 9],
    ]);
  });

  it("refuses a malformed cursor, from the header or the query", () => {
    const malformed = { code: "bad_cursor", status: 400, message: "Malformed cursor; expected stream=seq pairs joined by commas" };
    for (const text of ["feed", "feed=x", "nope=1", "feed=1,", "=3"]) {
      expect(refusalSync(() => readCursor(req(), url(`?cursor=${encodeURIComponent(text)}`), ann))).toEqual(malformed);
      expect(refusalSync(() => readCursor(req({ "last-event-id": text }), url(), ann))).toEqual(malformed);
    }
    // A malformed header is refused even with a good ?cursor= beside it.
    expect(refusalSync(() => readCursor(req({ "last-event-id": "feed=-1" }), url("?cursor=feed=1"), ann))).toEqual(malformed);
  });
});

/** The HttpError a synchronous call throws, as a caller sees it. */
function refusalSync(run: () => unknown): { code: string; status: number; message: string } {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    const { code, status, message } = err as HttpError;
    return { code, status, message };
  }
  throw new Error("expected an HttpError");
}
