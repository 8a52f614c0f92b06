// Unread counts in the sidebar: a list answer counts up to the head it gives, and messages the
// page counted live past that head are added to it, so a message that arrives while the list is
// being fetched is counted once, neither lost nor doubled.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { UNREAD_COUNT_CAP, type RoomInfo } from "../../lib/protocol";
import { useRooms } from "../../lib/store/rooms";

const room = (head: number, readSeq: number, unread: number): RoomInfo => ({ id: "plans", name: "plans", createdAt: new Date(0).toISOString(), head, readSeq, unread });
let answer: RoomInfo[] = [];

beforeEach(() => {
  useRooms.getState().forgetReads();
  vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ rooms: answer, next: null }), { headers: { "Content-Type": "application/json" } })));
});
afterEach(() => vi.unstubAllGlobals());

const unread = () => useRooms.getState().reads.plans?.unread;

describe("unread counts", () => {
  it("adds the messages counted live past an answer's head to its count", async () => {
    answer = [room(10, 5, 3)];
    await useRooms.getState().loadSidebar();
    expect(unread()).toBe(3);
    // Two messages by someone else come live while the next list is on its way.
    useRooms.getState().posted("plans", 11, "u_lin", "u_ada");
    useRooms.getState().posted("plans", 12, "u_lin", "u_ada");
    expect(unread()).toBe(5);
    // That list was read when only 11 had committed: it counts to its head, 11.
    answer = [room(11, 5, 4)];
    await useRooms.getState().loadSidebar();
    expect(unread()).toBe(5);
    // The next answer holds both: nothing is counted twice.
    answer = [room(12, 5, 5)];
    await useRooms.getState().loadSidebar();
    expect(unread()).toBe(5);
  });

  it("forgets what was counted live once the room is read past it", async () => {
    answer = [room(10, 5, 3)];
    await useRooms.getState().loadSidebar();
    useRooms.getState().posted("plans", 11, "u_lin", "u_ada");
    useRooms.getState().readUpTo("plans", 11);
    expect(unread()).toBe(0);
    answer = [room(11, 11, 0)];
    await useRooms.getState().loadSidebar();
    expect(unread()).toBe(0);
  });
});

describe("a deleted message (1.18)", () => {
  it("is taken off the count once, however many notices of it come, and only when it was counted", async () => {
    answer = [room(10, 5, 3)];
    await useRooms.getState().loadSidebar();
    useRooms.getState().posted("plans", 11, "u_lin", "u_ada");
    expect(unread()).toBe(4);
    // Lin deletes 11: the feed and the room's stream both say so.
    useRooms.getState().deleted("plans", 11, "u_lin", "u_ada");
    useRooms.getState().deleted("plans", 11, "u_lin", "u_ada");
    expect(unread()).toBe(3);
    // One of mine, one already read, one past the newest known: none of them was counted.
    useRooms.getState().deleted("plans", 9, "u_ada", "u_ada");
    useRooms.getState().deleted("plans", 4, "u_lin", "u_ada");
    useRooms.getState().deleted("plans", 15, "u_lin", "u_ada");
    expect(unread()).toBe(3);
    // One the server counted (before its answer's head).
    useRooms.getState().deleted("plans", 8, "u_lin", "u_ada");
    expect(unread()).toBe(2);
    // The next answer leaves both out (deleted messages are nothing to read); 11 is not added back
    // as counted live past its head, and a late notice of 8 changes nothing.
    answer = [room(10, 5, 2)];
    await useRooms.getState().loadSidebar();
    useRooms.getState().deleted("plans", 8, "u_lin", "u_ada");
    expect(unread()).toBe(2);
  });

  it("leaves a capped count as it is: more are unread than it shows", async () => {
    answer = [room(500, 0, UNREAD_COUNT_CAP)];
    await useRooms.getState().loadSidebar();
    useRooms.getState().deleted("plans", 400, "u_lin", "u_ada");
    expect(unread()).toBe(UNREAD_COUNT_CAP);
  });
});

describe("the sidebar's list", () => {
  it("keeps a room opened while an older list was on its way, and takes the answer's word on the rest", async () => {
    const general: RoomInfo = { id: "general", name: "general", createdAt: new Date(0).toISOString(), head: 1 };
    const dm: RoomInfo = { id: "dm-ada-lin", name: "Ada, Lin", createdAt: new Date(0).toISOString(), head: 0, private: true, direct: true };
    const gone: RoomInfo = { id: "old-plans", name: "old-plans", createdAt: new Date(0).toISOString(), head: 3, private: true };
    // A list asked for before the direct message was made, answered after it was opened.
    let release!: () => void;
    vi.stubGlobal("fetch", async () => {
      await new Promise<void>((r) => (release = r));
      return new Response(JSON.stringify({ rooms: [general], next: null }), { headers: { "Content-Type": "application/json" } });
    });
    useRooms.setState({ sidebar: [general, gone] });
    const loading = useRooms.getState().loadSidebar();
    useRooms.getState().visited(dm.id, dm);
    release();
    await loading;
    // The direct message stays (the answer is older than it); the room the answer no longer lists goes.
    expect(useRooms.getState().sidebar.map((r) => r.id)).toEqual(["general", "dm-ada-lin"]);
  });
});

describe("muted rooms (1.12)", () => {
  it("take the list's word, except an answer asked for before the room was muted or unmuted here", async () => {
    answer = [{ ...room(10, 10, 0), muted: true }];
    await useRooms.getState().loadSidebar();
    expect(useRooms.getState().muted).toEqual({ plans: true });
    // A list asked for, then the room unmuted (here, or heard from another device) before it answers.
    answer = [{ ...room(10, 10, 0), muted: true }];
    const stale = useRooms.getState().loadSidebar();
    useRooms.getState().setMuted("plans", false);
    await stale;
    expect(useRooms.getState().muted).toEqual({});
    // The next list, asked for after, is the truth again.
    answer = [room(10, 10, 0)];
    await useRooms.getState().loadSidebar();
    expect(useRooms.getState().muted).toEqual({});
    answer = [{ ...room(10, 10, 0), muted: true }];
    await useRooms.getState().loadSidebar();
    expect(useRooms.getState().muted).toEqual({ plans: true });
  });
});

describe("a room marked unread (1.11)", () => {
  it("keeps its mark against an answer asked for before it, and takes the count of one asked for after", async () => {
    answer = [room(10, 10, 0)];
    await useRooms.getState().loadSidebar();
    // A list on its way when the person marks message 8 unread (two messages by others after 7).
    const stale = useRooms.getState().loadSidebar();
    useRooms.getState().markedUnread("plans", 7, 2);
    await stale;
    expect(useRooms.getState().reads.plans).toMatchObject({ readSeq: 7, unread: 2 });
    // Asked for after the mark: the server's count stands.
    answer = [room(10, 7, 3)];
    await useRooms.getState().loadSidebar();
    expect(useRooms.getState().reads.plans).toMatchObject({ readSeq: 7, unread: 3 });
  });
});
