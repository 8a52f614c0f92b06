// The drafts kept on a device: bounded per person, and whatever storage holds that is not a
// draft (another version's, a hand edit) is dropped rather than shown in a box.
import { describe, expect, it } from "vitest";
import { MAX_DRAFTS, newest, parseDrafts } from "../../lib/store/drafts";

describe("drafts on this device", () => {
  it("keeps the most recently written when there are more than the limit", () => {
    const drafts = Object.fromEntries(Array.from({ length: MAX_DRAFTS + 5 }, (_, i) => [`room-${i}`, { text: `t${i}`, at: 1_000 + i }]));
    const kept = newest(drafts, MAX_DRAFTS);
    expect(Object.keys(kept)).toHaveLength(MAX_DRAFTS);
    // The five written first are the five gone.
    for (let i = 0; i < 5; i++) expect(kept[`room-${i}`]).toBeUndefined();
    expect(kept[`room-${MAX_DRAFTS + 4}`]).toEqual({ text: `t${MAX_DRAFTS + 4}`, at: 1_000 + MAX_DRAFTS + 4 });
  });

  it("reads only well-formed drafts, and nothing from what is not JSON", () => {
    const stored = JSON.stringify({
      a: { text: "kept", at: 5 },
      b: { text: "   ", at: 5 },
      c: { text: 7, at: 5 },
      d: null,
      e: { text: "no time" },
    });
    expect(parseDrafts(stored)).toEqual({ a: { text: "kept", at: 5 } });
    // A reply kept with its draft comes back whole, or the draft comes back without it.
    const reply = { seq: 12, actor: { id: "u1", name: "Ada" }, preview: "shall we ship" };
    const replies = JSON.stringify({
      whole: { text: "yes", at: 5, replyTo: reply },
      only: { text: "", at: 5, replyTo: reply },
      broken: { text: "so", at: 5, replyTo: { seq: "12", actor: { id: "u1" } } },
    });
    expect(parseDrafts(replies)).toEqual({
      whole: { text: "yes", at: 5, replyTo: reply },
      only: { text: "", at: 5, replyTo: reply },
      broken: { text: "so", at: 5 },
    });
    expect(parseDrafts("{not json")).toEqual({});
    expect(parseDrafts("[1,2]")).toEqual({});
    expect(parseDrafts(null)).toEqual({});
  });
});
