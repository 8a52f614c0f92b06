// The NOTIFY a commit on Postgres sends, as other instances read it (server/backplane/postgres.ts).
import { describe, expect, it } from "vitest";
import { parseNotify } from "../../server/backplane/postgres";
import { MAX_NOTIFY_BYTES, notifyPayload } from "../../server/eventlog";

describe("a commit's NOTIFY", () => {
  const heads = new Map([
    ["room:general", 41],
    ["feed", 7],
  ]);

  it("tells another instance the new heads of the streams the commit changed", () => {
    const payload = notifyPayload("instance-a", ["room:general", "feed"], heads);
    expect(parseNotify(payload, "instance-b")).toEqual(new Map([["room:general", 41], ["feed", 7]]));
  });

  it("is ignored by the instance that sent it, however long its heads", () => {
    expect(parseNotify(notifyPayload("instance-a", ["room:general"], heads), "instance-a")).toBeUndefined();
    const many = new Map(Array.from({ length: 1000 }, (_, i) => [`room:r${i}`, i] as [string, number]));
    const tooBig = notifyPayload("instance-a", [...many.keys()], many);
    expect(tooBig.length).toBeLessThanOrEqual(MAX_NOTIFY_BYTES);
    expect(parseNotify(tooBig, "instance-a")).toBeUndefined();
  });

  it("from an instance whose id begins with this one's, is another's", () => {
    const payload = notifyPayload("instance-ab", ["feed"], heads);
    expect(parseNotify(payload, "instance-a")).toEqual(new Map([["feed", 7]]));
  });

  it("without heads (too many to name) means every stream; unreadable means the same", () => {
    const many = new Map(Array.from({ length: 1000 }, (_, i) => [`room:r${i}`, i] as [string, number]));
    expect(parseNotify(notifyPayload("instance-a", [...many.keys()], many), "instance-b")).toBeNull();
    expect(parseNotify("not json", "instance-b")).toBeNull();
  });
});
