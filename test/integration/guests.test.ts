// Guest retention: people who can no longer sign in are deleted after GUEST_RETENTION_DAYS
// (default 30); what they wrote stays readable, under their name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RealtimeEvent } from "../../lib/protocol";
import { GuestRetention } from "../../server/guests";
import { silentLogger } from "../../server/log";
import { startServerWith, type Person, type TestServer } from "../helpers/server";

const DAY = 24 * 3600_000;
let s: TestServer;
let ada: Person;
let lin: Person;

beforeAll(async () => {
  [s, ada, lin] = await startServerWith(["Ada", "Lin"]);
});
afterAll(() => s.stop());

const userIds = async () => (await s.app.db.prisma.user.findMany({ select: { id: true } })).map((u) => u.id).sort();

describe("guest retention", () => {
  it("deletes a person once every session ended more than the retention ago; keeps their events", async () => {
    await s.app.workspace.recordJoin("general", ada.user);
    const posted = await s.api("/api/rooms/general/messages", { method: "POST", body: JSON.stringify({ text: "I was here", clientId: "g-1" }), cookie: ada.cookie });
    expect(posted.status).toBe(201);
    expect((await s.api("/api/rooms/general/mute", { method: "PUT", cookie: ada.cookie })).status).toBe(204);
    // Ada has been around for 20 days when she signs out: retention counts from the sign-out.
    await s.app.db.prisma.user.update({ where: { id: ada.user.id }, data: { createdAt: new Date(Date.now() - 20 * DAY) } });
    expect((await s.api("/api/session", { method: "DELETE", cookie: ada.cookie })).status).toBe(204);
    // Signed out: the session is no longer valid, but still says when it ended.
    expect((await s.api("/api/session", { cookie: ada.cookie })).status).toBe(401);

    // Within the retention period nobody goes, however idle.
    expect(await s.app.guests.sweep(Date.now() + 29 * DAY)).toBe(0);
    expect(await userIds()).toEqual([ada.user.id, lin.user.id].sort());

    // 31 days on: Ada signed out 31 days ago; Lin's session ended (30 days) only a day ago.
    expect(await s.app.guests.sweep(Date.now() + 31 * DAY)).toBe(1);
    expect(await userIds()).toEqual([lin.user.id]);
    expect(await s.app.db.prisma.session.count({ where: { userId: ada.user.id } })).toBe(0);
    expect(await s.app.db.prisma.roomMember.count({ where: { userId: ada.user.id } })).toBe(0);
    expect(await s.app.db.prisma.roomMute.count({ where: { userId: ada.user.id } })).toBe(0);

    // Her message still renders, under her name; Lin is still signed in.
    const res = await s.api("/api/rooms/general/events", { cookie: lin.cookie });
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: RealtimeEvent[] };
    expect(events.find((e) => e.type === "message" && e.data.clientId === "g-1")).toMatchObject({ actor: { id: ada.user.id, name: "Ada" }, data: { text: "I was here" } });

    // Once Lin's session has been over for the retention period too, Lin goes.
    expect(await s.app.guests.sweep(Date.now() + 61 * DAY)).toBe(1);
    expect(await userIds()).toEqual([]);
  });

  it("deletes in batches, oldest first, until none are left", async () => {
    await s.app.db.prisma.user.createMany({
      data: Array.from({ length: 25 }, (_, i) => ({ id: `u_old${i}`, name: `old ${i}`, color: "#000", createdAt: new Date(Date.now() - 90 * DAY) })),
    });
    const sweeper = new GuestRetention(s.app.db.prisma, { retentionMs: 30 * DAY, logger: silentLogger, batchSize: 10 });
    expect(await sweeper.sweep()).toBe(25);
    expect(await sweeper.sweep()).toBe(0);
  });
});
