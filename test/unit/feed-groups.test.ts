// The activity feed grouped: a burst of messages in one room is one item, so are people joining
// one room together; a new room is its own item; anything else between ends a burst.
import { describe, expect, it } from "vitest";
import { BURST_MS, groupFeed, keepKeys, messagesShown } from "../../lib/feed-groups";
import type { FeedEvent } from "../../lib/store/feed";
import { peoplePieces } from "../../components/format";

const ada = { id: "u_ada", name: "Ada" };
const lin = { id: "u_lin", name: "Lin" };
const mo = { id: "u_mo", name: "Mo" };
const start = Date.parse("2026-11-23T10:00:00.000Z");
let seq = 0;
const at = (minutes: number) => new Date(start + minutes * 60_000).toISOString();
const base = (actor: { id: string; name: string }, minutes: number) => ({ stream: "feed" as const, seq: ++seq, actor, at: at(minutes) });
const posted = (actor: typeof ada, roomId: string, minutes: number, preview = `hi ${seq + 1}`): FeedEvent => ({
  ...base(actor, minutes),
  type: "message.posted",
  data: { roomId, seq: seq + 1, preview },
});
const joined = (actor: typeof ada, roomId: string, minutes: number): FeedEvent => ({ ...base(actor, minutes), type: "member.joined", data: { roomId } });
const created = (actor: typeof ada, roomId: string, minutes: number): FeedEvent => ({ ...base(actor, minutes), type: "room.created", data: { roomId, name: roomId } });

/** Each item as a line: what it is, its room, how many events, who (most recent first). */
function summary(events: FeedEvent[]) {
  return groupFeed(events).map((item) =>
    item.kind === "room.created"
      ? `created #${item.event.data.roomId}`
      : item.kind === "rounds"
        ? `rounds ${item.roomIds.map((r) => `#${r}`).join(",")} ×${item.events.length} ${item.person.name}`
        : `${item.kind} #${item.roomId} ×${item.events.length} ${item.people.map((p) => p.name).join(",")}`,
  );
}

describe("groupFeed", () => {
  it("makes one item of a burst of messages in a room, the newest first, with everyone in it", () => {
    const events = [posted(ada, "launch", 0), posted(lin, "launch", 1), posted(ada, "launch", 2, "the latest")];
    const [item] = groupFeed(events);
    expect(summary(events)).toEqual(["messages #launch ×3 Ada,Lin"]);
    expect(item?.kind === "messages" && item.events.at(-1)?.data.preview).toBe("the latest");
  });

  it("ends a burst at another room's item, a new room, or a pause longer than the burst", () => {
    const events = [
      posted(ada, "launch", 0),
      posted(ada, "launch", 1),
      posted(lin, "general", 2),
      posted(ada, "launch", 3),
      created(mo, "design", 4),
      posted(ada, "launch", 5),
      posted(ada, "launch", 5 + BURST_MS / 60_000 + 1),
    ];
    expect(summary(events)).toEqual([
      "messages #launch ×1 Ada",
      "messages #launch ×1 Ada",
      "created #design",
      "messages #launch ×1 Ada",
      "messages #general ×1 Lin",
      "messages #launch ×2 Ada",
    ]);
  });

  it("a join in the same room does not split a burst of messages (a first join is recorded after it happens)", () => {
    const events = [posted(ada, "launch", 0), joined(ada, "launch", 0), posted(ada, "launch", 1), joined(mo, "launch", 1), posted(ada, "launch", 2)];
    expect(summary(events)).toEqual(["messages #launch ×3 Ada", "joins #launch ×2 Mo,Ada"]);
  });

  it("keeps a burst going as long as each message follows the last within the burst", () => {
    const step = BURST_MS / 60_000 - 1;
    expect(summary([0, 1, 2, 3].map((i) => posted(ada, "launch", i * step)))).toEqual(["messages #launch ×4 Ada"]);
  });

  it("groups joins of one room, and leaves each new room its own item (its creator's join in it)", () => {
    const events = [created(ada, "a", 0), created(ada, "b", 0), joined(ada, "b", 1), joined(lin, "b", 1), joined(mo, "b", 2), joined(lin, "a", 3)];
    expect(summary(events)).toEqual(["joins #a ×1 Lin", "joins #b ×2 Mo,Lin", "created #b", "created #a"]);
  });

  it("makes one item of one person joining several rooms in a row, until someone or something else comes between", () => {
    const events = [joined(ada, "a", 0), joined(ada, "b", 0), joined(ada, "c", 1), joined(ada, "b", 1), joined(lin, "c", 2), joined(ada, "d", 2), joined(ada, "e", BURST_MS + 10)];
    expect(summary(events)).toEqual(["joins #e ×1 Ada", "joins #d ×1 Ada", "joins #c ×1 Lin", "rounds #a,#b,#c ×4 Ada"]);
    // Its key is its first event's, as a burst's is.
    expect(groupFeed(events).at(-1)!.key).toBe(`joins:${events[0]!.seq}`);
  });

  it("keys an item by its first event, so it keeps its key as the burst grows", () => {
    const first = posted(ada, "launch", 0);
    const key = groupFeed([first])[0]!.key;
    expect(groupFeed([first, posted(lin, "launch", 1)])[0]!.key).toBe(key);
    expect(groupFeed([])).toEqual([]);
  });
});

describe("peoplePieces", () => {
  const names = (n: number) => ["Ada", "Lin", "Mo", "Kay", "Sam"].slice(0, n).map((name) => ({ id: name, name }));
  const line = (n: number) => peoplePieces(names(n)).map((p) => (typeof p === "string" ? p : p.name)).join("");
  it("names up to three people, then two and the count of the others", () => {
    expect(line(0)).toBe("");
    expect(line(1)).toBe("Ada");
    expect(line(2)).toBe("Ada and Lin");
    expect(line(3)).toBe("Ada, Lin and Mo");
    expect(line(5)).toBe("Ada, Lin and 3 others");
  });
});

describe("keepKeys", () => {
  it("keeps an item's key when an older page extends its burst backwards, and when live events extend it forwards", () => {
    const older = [posted(ada, "busy", 1), posted(lin, "busy", 2)];
    const page = [posted(ada, "busy", 3), posted(lin, "busy", 4), created(mo, "new", 5)];
    const remembered = new Map<number, string>();
    const first = keepKeys(groupFeed(page), remembered);
    const burstKey = first.find((i) => i.kind === "messages")!.key;
    const createdKey = first.find((i) => i.kind === "room.created")!.key;

    // The older page: the burst now starts two events earlier, and keeps its key.
    const withOlder = keepKeys(groupFeed([...older, ...page]), remembered);
    const burst = withOlder.find((i) => i.kind === "messages")!;
    expect(burst.kind === "messages" && burst.events).toHaveLength(4);
    expect(burst.key).toBe(burstKey);
    expect(withOlder.find((i) => i.kind === "room.created")!.key).toBe(createdKey);
    // Without the memory its key would have changed (its first event's seq).
    expect(groupFeed([...older, ...page]).find((i) => i.kind === "messages")!.key).not.toBe(burstKey);

    // A live message in the new room is a new item with a key of its own.
    const live = keepKeys(groupFeed([...older, ...page, posted(ada, "new", 6)]), remembered);
    expect(new Set(live.map((i) => i.key)).size).toBe(live.length);
  });

  it("keeps keys unique when a filled gap splits a burst in two", () => {
    const [a, b, c] = [posted(ada, "busy", 1), posted(lin, "busy", 2), posted(ada, "busy", 4)];
    const other = { ...posted(mo, "elsewhere", 3), seq: b.seq + 0.5 };
    const remembered = new Map<number, string>();
    keepKeys(groupFeed([a, b, c]), remembered);
    const split = keepKeys(groupFeed([a, b, other, c]), remembered);
    expect(split).toHaveLength(3);
    expect(new Set(split.map((i) => i.key)).size).toBe(3);
  });
});

describe("a room's creation", () => {
  it("holds its creator's own join of it; others' joins are news", () => {
    const events = [created(ada, "plans", 0), joined(ada, "plans", 0), joined(lin, "plans", 1)];
    expect(summary(events)).toEqual(["joins #plans ×1 Lin", "created #plans"]);
  });
});

describe("messagesShown: a burst told by the messages still there", () => {
  const burstOf = (events: FeedEvent[]) => {
    const [item] = groupFeed(events);
    if (item?.kind !== "messages") throw new Error("not a burst of messages");
    return messagesShown(item);
  };

  it("counts every message of a burst none of which was deleted", () => {
    const shown = burstOf([posted(ada, "launch", 0), posted(lin, "launch", 1, "the latest")]);
    expect([shown.count, shown.latest.data.preview, shown.people.map((p) => p.name)]).toEqual([2, "the latest", ["Lin", "Ada"]]);
  });

  it("leaves deleted messages out of the count, the preview and the people", () => {
    // Five messages; Mo's only one and the newest were deleted since (a deleted one's preview is "").
    const shown = burstOf([posted(ada, "launch", 0), posted(mo, "launch", 1, ""), posted(lin, "launch", 2), posted(ada, "launch", 3, "still here"), posted(lin, "launch", 4, "")]);
    expect(shown.count).toBe(3);
    expect(shown.latest.data.preview).toBe("still here");
    expect(shown.people.map((p) => p.name)).toEqual(["Ada", "Lin"]);
  });

  it("shows a burst whose every message was deleted as its newest, deleted", () => {
    const events = [posted(ada, "launch", 0, ""), posted(lin, "launch", 1, "")];
    const shown = burstOf(events);
    expect([shown.count, shown.latest.seq, shown.latest.data.preview, shown.people.map((p) => p.name)]).toEqual([1, events[1]!.seq, "", ["Lin"]]);
  });
});

