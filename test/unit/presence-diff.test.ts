// Presence as changes (protocol 1.1): the diff of two member lists, applying one, and the hub's
// promise that a 1.1 client's list — the `joined` answer, then every diff — ends up exactly the
// room's members, even when people come and go between two announcements.
import { describe, expect, it } from "vitest";
import type { EventLog } from "../../server/eventlog";
import { Hub, type RoomFrame, type Subscriber } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { ManualClock } from "../../server/state/clock";
import { applyPresenceDiff, diffPresence, type PresenceDiff } from "../../lib/presence-diff";
import type { ServerFrame, User } from "../../lib/protocol";

const user = (n: number, name = `P${n}`): User => ({ id: `u_${n}`, name, color: "#e11d48" });
const byId = (users: User[]) => new Map(users.map((u) => [u.id, u]));
const ids = (users: User[]) => users.map((u) => u.id).sort();

describe("diffPresence", () => {
  it("lists who arrived, who changed and who left, and nobody else", () => {
    const [a, b, c, d] = [user(1), user(2), user(3), user(4)];
    const renamed = { ...b, name: "Bea" };
    const diff = diffPresence(byId([a, b, c]), [a, renamed, d]);
    expect(diff).toEqual({ joins: [renamed, d], leaves: [c] });
    // A guest who made their name an account is a change too: the guest mark goes.
    const guest: User = { ...a, guest: true };
    expect(diffPresence(byId([guest]), [a])).toEqual({ joins: [a], leaves: [] });
  });

  it("is empty for the same members in another order (someone left and came back in between)", () => {
    const [a, b] = [user(1), user(2)];
    expect(diffPresence(byId([a, b]), [{ ...b }, a])).toEqual({ joins: [], leaves: [] });
  });
});

describe("applyPresenceDiff", () => {
  it("removes leaves, replaces joins in place and adds new ones at the end", () => {
    const [a, b, c, d] = [user(1), user(2), user(3), user(4)];
    const renamed = { ...b, name: "Bea" };
    expect(applyPresenceDiff([a, b, c], { joins: [d, renamed], leaves: [a] })).toEqual([renamed, c, d]);
  });

  it("ignores a leave of someone not shown, and a join of someone shown twice over", () => {
    const [a, b] = [user(1), user(2)];
    expect(applyPresenceDiff([a], { joins: [a], leaves: [b] })).toEqual([a]);
  });

  it("applied to the list it was made from, gives the list it was made to", () => {
    const before = [1, 2, 3, 4, 5].map((n) => user(n));
    const after = [user(2), user(9), user(4, "Four"), user(7)];
    const diff = diffPresence(byId(before), after);
    expect(ids(applyPresenceDiff(before, diff))).toEqual(ids(after));
    expect(applyPresenceDiff(before, diff).find((u) => u.id === "u_4")?.name).toBe("Four");
  });
});

/** A hub with no database behind it: presence never touches the log. */
function hub(): Hub {
  const log = { onCommit: () => () => {} } as unknown as EventLog;
  return new Hub({ log, clock: new ManualClock(), logger: silentLogger, presenceGraceMs: 0 });
}

function connection(u: User, id: string): Subscriber & { frames: ServerFrame[] } {
  const frames: ServerFrame[] = [];
  return {
    id,
    user: u,
    sessionId: `s-${id}`,
    transport: "ws",
    frames,
    onEvent() {},
    onRoomFrame(f: RoomFrame) {
      const taken = f.diff ?? f;
      frames.push(JSON.parse(taken.json) as ServerFrame);
    },
  };
}

const ROOM = "general";

/** A 1.1 client's view: what `joined` showed, with every diff it heard since applied. */
function view(shown: User[], frames: ServerFrame[]): User[] {
  let members = shown;
  for (const f of frames) {
    if (f.type === "presence") members = f.members;
    if (f.type === "presence_diff") members = applyPresenceDiff(members, f as PresenceDiff);
  }
  return members;
}

describe("the hub's presence diffs", () => {
  it("announce nothing for someone who left and came back within one announcement", () => {
    const h = hub();
    const watcher = connection(user(0), "w");
    const ada = connection(user(1), "ada");
    for (const c of [watcher, ada]) h.register(c);
    h.enterRoom(ROOM, watcher);
    h.enterRoom(ROOM, ada);
    h.settleRoom(ROOM);
    const heard = watcher.frames.length;
    h.leaveRoom(ROOM, ada, { immediate: true });
    h.enterRoom(ROOM, ada);
    h.settleRoom(ROOM);
    expect(watcher.frames.slice(heard)).toEqual([]);
  });

  it("bring a client shown the announced members to exactly the members, whoever came and went meanwhile", () => {
    const h = hub();
    const people = Array.from({ length: 12 }, (_, n) => connection(user(n + 1), `c${n + 1}`));
    for (const p of people) h.register(p);
    // Pseudo-random but fixed: enter, leave and late joiners in between announcements.
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    const present = new Set<Subscriber>();
    const clients: Array<{ conn: ReturnType<typeof connection>; shown: User[] }> = [];
    for (let round = 0; round < 40; round++) {
      for (let step = 0; step < 6; step++) {
        const p = people[rand(people.length)]!;
        if (present.has(p)) {
          h.leaveRoom(ROOM, p, { immediate: true });
          present.delete(p);
        } else {
          h.enterRoom(ROOM, p);
          present.add(p);
        }
        if (rand(4) === 0) {
          // A 1.1 connection joins now: shown the announced members and itself, then watching.
          const conn = connection(user(100 + clients.length), `late-${clients.length}`);
          h.register(conn);
          clients.push({ conn, shown: [...h.announcedMembers(ROOM), conn.user] });
          h.enterRoom(ROOM, conn);
        }
      }
      h.settleRoom(ROOM);
      const members = ids(h.members(ROOM)).join();
      expect(clients.filter((c) => ids(view(c.shown, c.conn.frames)).join() !== members)).toEqual([]);
    }
    expect(clients.length).toBeGreaterThan(10);
  });

  it("a client shown the members of this instant instead would keep someone who came and went (why joined shows the announced list)", () => {
    const h = hub();
    const [watcher, ghost] = [connection(user(1), "w"), connection(user(2), "g")];
    for (const c of [watcher, ghost]) h.register(c);
    h.enterRoom(ROOM, watcher);
    h.settleRoom(ROOM);
    h.enterRoom(ROOM, ghost);
    const late = connection(user(3), "late");
    h.register(late);
    const announced = [...h.announcedMembers(ROOM), late.user];
    const instant = [...h.members(ROOM), late.user];
    h.enterRoom(ROOM, late);
    h.leaveRoom(ROOM, ghost, { immediate: true });
    h.settleRoom(ROOM);
    expect(ids(view(announced, late.frames))).toEqual(ids(h.members(ROOM)));
    expect(ids(view(instant, late.frames))).toContain(ghost.user.id);
  });
});
