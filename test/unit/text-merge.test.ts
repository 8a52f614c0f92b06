// lib/canvas/text-merge.ts: two people's edits of one note's text, made from the same start,
// merged so neither loses their words.
import { describe, expect, it } from "vitest";
import { mergeText } from "../../lib/canvas/text-merge";

describe("mergeText", () => {
  it("keeps both people's words when both add to the end, theirs (saved first) first", () => {
    expect(mergeText("Agenda:", "Agenda: hiring", "Agenda: budget")).toBe("Agenda: budget hiring");
  });

  it("applies edits of different parts of the text both", () => {
    expect(mergeText("one two three", "ONE two three", "one two THREE")).toBe("ONE two THREE");
    expect(mergeText("one two three", "one two three!", "Say: one two three")).toBe("Say: one two three!");
    expect(mergeText("a b c", "a c", "a b c d")).toBe("a c d");
  });

  it("is either edit alone when the other changed nothing, or both made the same change", () => {
    expect(mergeText("note", "note 2", "note")).toBe("note 2");
    expect(mergeText("note", "note", "note 3")).toBe("note 3");
    expect(mergeText("note", "done", "done")).toBe("done");
  });

  it("keeps both replacements of one stretch rather than dropping one", () => {
    expect(mergeText("meet at 10", "meet at 11", "meet at noon")).toBe("meet at noon1");
    expect(mergeText("abc", "", "abXc")).toBe("X");
  });

  it("never splits a character in two", () => {
    const merged = mergeText("mood 😀", "mood 😃", "mood 😂");
    expect(merged).toBe("mood 😂😃");
    expect([...merged].every((c) => c.length === 1 || /\p{Extended_Pictographic}/u.test(c))).toBe(true);
  });
});
