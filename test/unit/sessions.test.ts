// Session cookies: a signed `id.expiry.signature`, trusted for a short while once verified.
// What a recently verified session must not let through: a cookie with the same id and a
// forged or altered part, or one signed out since. And when each session was last active,
// noted every few minutes at most.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SEEN_EVERY_MS, SESSION_TRUST_MS, Sessions } from "../../server/auth";
import type { Sql } from "../../server/db/database";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let testDb: TestDatabase;
let sessions: Sessions;

beforeAll(async () => {
  testDb = await createTestDatabase("pglite");
  sessions = new Sessions(testDb.db, "unit-secret-unit-secret-unit-secret-0123");
});
afterAll(async () => {
  await testDb?.drop();
});

/** The cookie's value (what a browser sends back) from a Set-Cookie header. */
const valueOf = (setCookie: string) => setCookie.split(";")[0]!.split("=").slice(1).join("=");

describe("session cookies", () => {
  it("verifies a signed-in person's cookie, again and again", async () => {
    const { session, cookie } = await sessions.create("Ada", false);
    const token = valueOf(cookie);
    for (let i = 0; i < 3; i++) expect((await sessions.verify(token))?.user).toEqual(session.user);
  });

  it("refuses a cookie with a verified session's id but a forged signature or a changed expiry", async () => {
    const { cookie } = await sessions.create("Lin", false);
    const token = valueOf(cookie);
    expect(await sessions.verify(token)).not.toBeNull(); // now trusted for a while
    const [id, exp, sig] = token.split(".") as [string, string, string];
    const flipped = `${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`;
    expect(await sessions.verify(`${id}.${exp}.${flipped}`)).toBeNull();
    expect(await sessions.verify(`${id}.${Number(exp) + 1000}.${sig}`)).toBeNull();
    expect(await sessions.verify(`${id}.${exp}.`)).toBeNull();
    expect(await sessions.verify(token)).not.toBeNull();
  });

  it("reads a session due to be checked once for all the requests that find it due together", async () => {
    let now = Date.now();
    let lookups = 0;
    const sql: Sql = {
      query: (text, params) => {
        if (text.includes("FROM sessions s JOIN users u")) lookups++;
        return testDb.db.sql.query(text, params);
      },
      exec: (script) => testDb.db.sql.exec(script),
    };
    const clocked = new Sessions({ prisma: testDb.db.prisma, sql }, "unit-secret-unit-secret-unit-secret-0123", () => now);
    const { session, cookie } = await clocked.create("Tab", false);
    const token = valueOf(cookie);
    // Trusted since it was made: no lookup yet.
    expect((await Promise.all(Array.from({ length: 10 }, () => clocked.verify(token)))).every((s) => s?.id === session.id)).toBe(true);
    expect(lookups).toBe(0);
    // Its trust has run out: ten tabs' polls arriving at once are one lookup, then trusted again.
    now += SESSION_TRUST_MS + 1;
    const all = await Promise.all(Array.from({ length: 10 }, () => clocked.verify(token)));
    expect(all.map((s) => s?.user.name)).toEqual(Array(10).fill("Tab"));
    expect(lookups).toBe(1);
    expect((await clocked.verify(token))?.id).toBe(session.id);
    expect(lookups).toBe(1);
    // Signed out meanwhile: the next lookup finds nothing, for every request waiting on it.
    await clocked.destroy(session.id);
    now += SESSION_TRUST_MS + 1;
    expect(await Promise.all([clocked.verify(token), clocked.verify(token)])).toEqual([null, null]);
    expect(lookups).toBe(2);
  });

  it("refuses a cookie at once once its session is signed out, however recently it was verified", async () => {
    const { session, cookie } = await sessions.create("Kay", false);
    const token = valueOf(cookie);
    expect(await sessions.verify(token)).not.toBeNull();
    await sessions.destroy(session.id);
    expect(await sessions.verify(token)).toBeNull();
  });
});

describe("when each device was last active", () => {
  it("tells two sessions of one browser apart, writing each one's activity every few minutes at most", async () => {
    let now = Date.parse("2026-12-18T09:00:00.000Z");
    // The database as Sessions sees it, counting the writes of activity.
    const writes: unknown[][] = [];
    const sql: Sql = {
      query: (text, params) => {
        if (text.startsWith("UPDATE sessions s SET last_seen_at")) writes.push(params ?? []);
        return testDb.db.sql.query(text, params);
      },
      exec: (script) => testDb.db.sql.exec(script),
    };
    const clocked = new Sessions({ prisma: testDb.db.prisma, sql }, "unit-secret-unit-secret-unit-secret-0123", () => now);
    const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";
    const desk = await clocked.create("Ada", false, { username: `ada_${now}`, passwordHash: "-", nameKey: `ada ${now}` }, browser);
    now += 60_000;
    const laptop = await clocked.open(desk.session.user, false, browser);
    const lastSeen = async () =>
      Object.fromEntries((await clocked.list(desk.session.user.id)).map((d) => [d.sessionId === desk.session.id ? "desk" : "laptop", d.lastSeenAt.toISOString()]));
    // Until they act, each was last seen signing in.
    expect(await lastSeen()).toEqual({ desk: "2026-12-18T09:00:00.000Z", laptop: "2026-12-18T09:01:00.000Z" });

    // The laptop is used all morning, a request every 30 s; the desk is left alone.
    for (let i = 0; i < 120; i++) {
      now += 30_000;
      expect(await clocked.verify(valueOf(laptop.cookie))).not.toBeNull();
      await clocked.writeSeen(); // as its timer would, a second later
    }
    // One write per SEEN_EVERY_MS, not one per request (nor per lookup, every 10 s).
    expect(writes).toHaveLength(Math.floor((120 * 30_000) / SEEN_EVERY_MS));
    expect((await lastSeen()).laptop).toBe("2026-12-18T10:01:00.000Z");
    expect((await lastSeen()).desk).toBe("2026-12-18T09:00:00.000Z");

    // Both come back at once (a restart): one statement for the two.
    now += SEEN_EVERY_MS;
    writes.length = 0;
    const fresh = new Sessions({ prisma: testDb.db.prisma, sql }, "unit-secret-unit-secret-unit-secret-0123", () => now);
    expect(await fresh.verify(valueOf(laptop.cookie))).not.toBeNull();
    expect(await fresh.verify(valueOf(desk.cookie))).not.toBeNull();
    await vi.waitFor(() => expect(writes).toHaveLength(1), { timeout: 5_000 });
    expect(writes[0]![0]).toHaveLength(2);
    expect(await lastSeen()).toEqual({ desk: "2026-12-18T10:06:00.000Z", laptop: "2026-12-18T10:06:00.000Z" });
  });
});
