// Finding 7, rooms: one session made 7,200 rooms in 40 s, and `GET /api/rooms` (every room, on
// every home page) grew to 825 KiB. Room creation is now limited per person, and the list is
// paged (50 by default) and searchable on the server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roomsAnswerSchema, type RoomsAnswer } from "../../lib/protocol";
import { ManualClock } from "../../server/state/clock";
import { startServerWith, type Person, type TestServer } from "../helpers/server";

let s: TestServer;
let ada: Person;
let lin: Person;
let grace: Person;
// Time stands still unless a test moves it: no refill blurs the burst on a slow machine.
const clock = new ManualClock();

beforeAll(async () => {
  [s, ada, lin, grace] = await startServerWith(["Ada", "Lin", "Grace"], { clock });
});
afterAll(() => s.stop());

const createRoom = (name: string, who: Person) =>
  s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: who.cookie });

async function list(query: string, who: Person = grace): Promise<{ answer: RoomsAnswer; bytes: number }> {
  const res = await s.api(`/api/rooms${query}`, { cookie: who.cookie });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { answer: roomsAnswerSchema.parse(JSON.parse(text)), bytes: Buffer.byteLength(text) };
}

describe("room creation per person", () => {
  it("takes a burst of 10, refuses the 11th with 429 rate_limited and Retry-After, then one a minute; others are not affected", async () => {
    for (let i = 0; i < 10; i++) expect((await createRoom(`ada-${i}`, ada)).status).toBe(201);
    const refused = await createRoom("ada-10", ada);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: "rate_limited" } });
    const wait = Number(refused.headers.get("retry-after"));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(60);

    expect((await createRoom("lin-0", lin)).status).toBe(201);
    clock.advance(wait * 1000);
    expect((await createRoom("ada-10", ada)).status).toBe(201);
    expect((await createRoom("ada-11", ada)).status).toBe(429);
  });
});

describe("the room list with 500 rooms", () => {
  let all: string[];

  beforeAll(async () => {
    const spam = Array.from({ length: 500 }, (_, i) => `spam-${String(i).padStart(3, "0")}`);
    await s.app.db.prisma.room.createMany({ data: spam.map((id) => ({ id, name: id.toUpperCase() })) });
    // Grace's own room sorts last: the first page must still show it.
    expect((await createRoom("zzz-grace", grace)).status).toBe(201);
    await s.app.workspace.recordJoin("zzz-grace", grace.user);
    all = (await s.app.db.prisma.room.findMany({ select: { id: true } })).map((r) => r.id);
    expect(all.length).toBeGreaterThan(500);
  });

  it("answers a bounded first page holding general and the person's rooms, and a next cursor", async () => {
    const { answer, bytes } = await list("");
    expect(answer.rooms.length).toBeLessThanOrEqual(52);
    expect(bytes).toBeLessThan(16 * 1024);
    expect(answer.rooms[0]!.id).toBe("general");
    expect(answer.rooms.map((r) => r.id)).toContain("zzz-grace");
    expect(answer.next).toEqual(expect.any(String));
  });

  it("pages through every room exactly once (beyond the first page's own), each page at most `limit`", async () => {
    const seen = new Map<string, number>();
    let after: string | null | undefined = null;
    let pages = 0;
    do {
      const { answer } = await list(`?limit=100${after ? `&after=${after}` : ""}`);
      if (pages > 0) expect(answer.rooms.length).toBeLessThanOrEqual(100);
      for (const r of answer.rooms) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
      after = answer.next;
      pages += 1;
    } while (after && pages < 20);
    expect(after).toBeNull();
    expect([...seen.keys()].sort()).toEqual([...all].sort());
    // Only the first page's leading rooms (general, the person's) may come again alphabetically.
    const again = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    expect(again).toContain("zzz-grace");
    expect(again.every((id) => id === "general" || id === "zzz-grace")).toBe(true);
  });

  it("searches names on the server, case-insensitively, paged too", async () => {
    const { answer } = await list("?q=SPAM-49");
    expect(answer.rooms.map((r) => r.id)).toEqual(all.filter((id) => id.includes("spam-49")).sort());
    expect(answer.next).toBeNull();
    const first = await list("?q=spam&limit=20");
    expect(first.answer.rooms).toHaveLength(20);
    expect(first.answer.rooms.every((r) => r.id.includes("spam"))).toBe(true);
    const second = await list(`?q=spam&limit=20&after=${first.answer.next}`);
    expect(second.answer.rooms[0]!.id > first.answer.rooms[19]!.id).toBe(true);
    // LIKE's wildcards match themselves; text no room name can hold matches nothing.
    for (const q of ["_", "%25", "a%20b", "%00"]) expect((await list(`?q=${q}`)).answer.rooms).toEqual([]);
    expect((await list("?q=%23zzz")).answer.rooms.map((r) => r.id)).toEqual(["zzz-grace"]);
  });

  it("refuses a bad limit or cursor with 400 bad_request", async () => {
    for (const q of ["?limit=0", "?limit=201", "?limit=x", "?after=no%20such"]) {
      const res = await s.api(`/api/rooms${q}`, { cookie: grace.cookie });
      expect(res.status, q).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: "bad_request" } });
    }
  });
});
