// The long-polling clients' pages on their own, with a real hub over an event log in memory and
// a manual clock: a page is made once per session and conn, is present in the rooms it joined
// while it keeps polling, and is let go when silent, when its session has too many, or when
// there are too many in all — leaving its rooms as it goes.
import { describe, expect, it } from "vitest";
import type { Session } from "../../server/auth";
import type { EventLog } from "../../server/eventlog";
import { Hub } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { createMetrics } from "../../server/metrics";
import { PersonRates } from "../../server/ratelimit";
import { ManualClock } from "../../server/state/clock";
import { PollPages } from "../../server/transports/poll-pages";
import { FRAME_RATE } from "../../server/commands/limits";
import type { User } from "../../lib/protocol";

const ada: User = { id: "u_ada", name: "Ada", color: "#e11d48" };
const lin: User = { id: "u_lin", name: "Lin", color: "#2563eb" };
const TTL_MS = 30_000;
const session = (user: User, id = `s-${user.id}`): Session => ({ id, user, expiresAt: Number.MAX_SAFE_INTEGER });

function world(o: { maxPerSession?: number; maxPages?: number } = {}) {
  const clock = new ManualClock();
  const log = { onCommit: () => () => {}, head: async () => 7, readAfter: async () => [] } as unknown as EventLog;
  const hub = new Hub({ log, clock, logger: silentLogger, metrics: createMetrics({ defaultMetrics: false }), presenceGraceMs: 1_000 });
  const rates = new PersonRates({ now: () => clock.now() });
  const pages = new PollPages({ hub, log, rates, presenceTtlMs: TTL_MS, now: () => clock.now(), ...o });
  const present = (room: string) => hub.members(room).map((u) => u.name);
  return { clock, hub, pages, rates, present };
}

describe("long-polling pages", () => {
  it("makes one page per session and conn, and finds it again", () => {
    const { pages, rates } = world();
    expect(pages.seen(session(ada), "tab-1", [])).toBeNull();
    const page = pages.open(session(ada), "tab-1");
    expect([page.id, page.transport, page.user, page.sessionId]).toEqual(["poll:s-u_ada:tab-1", "longpoll", ada, "s-u_ada"]);
    expect(pages.open(session(ada), "tab-1")).toBe(page);
    expect(pages.seen(session(ada), "tab-1", [])).toBe(page);
    expect(pages.open(session(ada), "tab-2")).not.toBe(page);
    expect(pages.open(session(ada, "s-other"), "tab-1")).not.toBe(page);
    expect(pages.size).toBe(3);
    // What the command executor knows of it: a long-polling source with the person's limits.
    expect(page.commands).toMatchObject({ user: ada, transport: "longpoll", source: page.id, rates, rooms: page.rooms, joinOnDemand: true });
    // The frame rate is the person's, shared by their pages: one page's burst leaves none to another.
    let frames = 0;
    while (page.commands.rates.take(ada.id, "frame")) frames++;
    expect(frames).toBe(FRAME_RATE.burst);
    expect(pages.open(session(ada), "tab-2").commands.rates.take(ada.id, "frame")).toBe(false);
  });

  it("joins a room for its commands: present at once, answered with the room's head and members; leaves it at once", async () => {
    const { pages, present } = world();
    const page = pages.open(session(ada), "tab-1");
    expect(await page.commands.subscribe("general", undefined as never)).toEqual([{ type: "joined", room: "general", head: 7, members: [ada] }]);
    expect(present("general")).toEqual(["Ada"]);
    expect([...page.rooms]).toEqual(["general"]);
    expect(await page.commands.followCanvas!("general", 0, { type: "canvasJoined" } as never)).toEqual([{ type: "canvasJoined" }]);
    expect(page.commands.unfollowCanvas!("general")).toBeUndefined();
    expect(page.commands.unsubscribe("general")).toBe(true);
    expect(present("general")).toEqual([]);
    expect(pages.leave(page, "general")).toBe(false);
  });

  it("stays present while it polls, and lapses when it stops", async () => {
    const { clock, pages, present } = world();
    await pages.open(session(ada), "tab-1").commands.subscribe("general", undefined as never);
    for (let i = 0; i < 3; i++) {
      clock.advance(TTL_MS - 1_000);
      expect(pages.seen(session(ada), "tab-1", ["general"])).not.toBeNull();
    }
    expect(present("general")).toEqual(["Ada"]);
    clock.advance(TTL_MS + 2_000);
    expect(present("general")).toEqual([]);
  });

  it("is kept in a room by its polls of that room: a poll of the feed alone keeps it in none", async () => {
    const { clock, pages, present } = world();
    const page = pages.open(session(ada), "tab-1");
    await page.commands.subscribe("general", undefined as never);
    await page.commands.subscribe("random", undefined as never);
    clock.advance(TTL_MS - 1_000);
    pages.seen(session(ada), "tab-1", ["general"]);
    pages.seen(session(ada), "tab-1", []);
    clock.advance(2_000);
    expect(present("general")).toEqual(["Ada"]);
    expect(present("random")).toEqual([]);
  });

  it("after its goodbye, is kept by a join or a new poll, not by a batch the old document had on its way", async () => {
    const { clock, hub, pages, present } = world();
    await pages.open(session(ada), "tab-1").commands.subscribe("general", undefined as never);
    pages.close(pages.open(session(ada), "tab-1"));
    pages.open(session(ada), "tab-1"); // its last `read`, heard after the goodbye
    clock.advance(hub.presence.graceMs + 1);
    expect(present("general")).toEqual([]);
    // A reload: the new document joins again, and is kept.
    const reloaded = pages.open(session(ada), "tab-1");
    await reloaded.commands.subscribe("general", undefined as never);
    pages.close(reloaded);
    pages.seen(session(ada), "tab-1", ["general"]); // its first poll carries on nothing
    clock.advance(hub.presence.graceMs + 1);
    expect(present("general")).toEqual(["Ada"]);
  });

  it("lets go of a page silent for the lapse, the next time it looks, and only that one", async () => {
    const { clock, pages } = world();
    pages.open(session(ada), "old");
    clock.advance(TTL_MS / 2);
    pages.open(session(lin), "recent");
    clock.advance(TTL_MS / 2);
    expect(pages.seen(session(lin), "recent", [])).not.toBeNull();
    expect(pages.size).toBe(1);
    expect(pages.seen(session(ada), "old", [])).toBeNull();
    // One seen again is the most recent: the sweep takes the others first.
    clock.advance(TTL_MS - 1);
    expect(pages.seen(session(lin), "recent", [])).not.toBeNull();
  });

  it("keeps a session's last pages only: its least recently seen goes, leaving its rooms", async () => {
    const { pages, present } = world({ maxPerSession: 2 });
    const first = pages.open(session(ada), "tab-1");
    await first.commands.subscribe("general", undefined as never);
    const second = pages.open(session(ada), "tab-2");
    pages.seen(session(ada), "tab-1", []); // tab-1 is now the more recent
    pages.open(session(lin), "tab-1"); // another session's pages do not count
    pages.open(session(ada), "tab-3");
    expect(pages.seen(session(ada), "tab-2", [])).toBeNull();
    expect(pages.seen(session(ada), "tab-1", [])).toBe(first);
    expect(present("general")).toEqual(["Ada"]);
    pages.open(session(ada), "tab-4"); // tab-3 now the least recent of Ada's
    pages.open(session(ada), "tab-5");
    expect(pages.seen(session(ada), "tab-1", [])).toBeNull();
    expect(present("general")).toEqual([]);
    void second;
  });

  it("keeps so many pages in all: the least recently seen goes first", () => {
    const { pages } = world({ maxPages: 2 });
    pages.open(session(ada), "a");
    pages.open(session(lin), "b");
    pages.seen(session(ada), "a", []);
    pages.open(session(lin, "s-third"), "c");
    expect(pages.size).toBe(2);
    expect(pages.seen(session(lin), "b", [])).toBeNull();
    expect(pages.seen(session(ada), "a", [])).not.toBeNull();
  });

  it("a session whose pages all went is forgotten, and can have new ones, up to its bound", () => {
    const { clock, pages } = world({ maxPerSession: 2 });
    pages.open(session(ada), "tab-1");
    pages.open(session(ada), "tab-2");
    clock.advance(TTL_MS + 1);
    expect(pages.seen(session(lin), "none", [])).toBeNull(); // the sweep
    expect([pages.size, pages.sessions]).toEqual([0, 0]);
    pages.open(session(ada), "tab-3");
    pages.open(session(ada), "tab-4");
    expect([pages.size, pages.sessions]).toEqual([2, 1]);
    expect(pages.seen(session(ada), "tab-3", [])).not.toBeNull();
  });

  it("a person removed from a room leaves it on every page", async () => {
    const { hub, pages, present } = world();
    const one = pages.open(session(ada), "tab-1");
    const two = pages.open(session(ada, "s-phone"), "tab-1");
    const other = pages.open(session(lin), "tab-1");
    for (const p of [one, two, other]) await p.commands.subscribe("private", undefined as never);
    hub.revokeRoom(ada.id, "private");
    expect([one.rooms.size, two.rooms.size, other.rooms.size]).toEqual([0, 0, 1]);
    expect(present("private")).toEqual(["Lin"]);
  });
});
