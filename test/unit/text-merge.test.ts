// lib/canvas/text-merge.ts: two people's edits of one note's text, made from the same start,
// merged so neither loses their words.
import { describe, expect, it } from "vitest";
import { mergeText, mergeTextOps } from "../../lib/canvas/text-merge";
import { boardFrom } from "../../lib/canvas/board";
import { MAX_CANVAS_TEXT, type CanvasObject } from "../../lib/protocol";

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

describe("mergeTextOps (protocol 1.16, on the server)", () => {
  const agenda = (text: string): CanvasObject => ({ id: "n", kind: "note", x: 0, y: 0, w: 100, h: 100, z: 1, color: "#fde68a", text });

  it("merges an edit written from text the note no longer reads with what it reads now, and drops base", () => {
    const board = boardFrom([agenda("Agenda: budget")]);
    expect(mergeTextOps(board, [{ op: "update", id: "n", set: { text: "Agenda: hiring", x: 5 }, base: "Agenda:" }])).toEqual([
      { op: "update", id: "n", set: { text: "Agenda: budget hiring", x: 5 } },
    ]);
  });

  it("writes the text as sent when the note still reads base, or when no base is sent (earlier clients)", () => {
    const board = boardFrom([agenda("Agenda:")]);
    expect(mergeTextOps(board, [{ op: "update", id: "n", set: { text: "Agenda: hiring" }, base: "Agenda:" }])).toEqual([{ op: "update", id: "n", set: { text: "Agenda: hiring" } }]);
    const later = boardFrom([agenda("Agenda: budget")]);
    expect(mergeTextOps(later, [{ op: "update", id: "n", set: { text: "Agenda: hiring" } }])).toEqual([{ op: "update", id: "n", set: { text: "Agenda: hiring" } }]);
  });

  it("merges against the text the batch's own earlier ops left", () => {
    const ops = mergeTextOps(boardFrom([]), [
      { op: "create", id: "n", object: { kind: "note", x: 0, y: 0, w: 100, h: 100, z: 1, color: "#fde68a", text: "Agenda:" } },
      { op: "update", id: "n", set: { text: "Agenda: hiring" }, base: "Agenda:" },
    ]);
    expect(ops[1]).toEqual({ op: "update", id: "n", set: { text: "Agenda: hiring" } });
  });

  it("keeps the edit's own text when the merge would not fit in a note", () => {
    const long = "x".repeat(MAX_CANVAS_TEXT);
    const board = boardFrom([agenda(long)]);
    expect(mergeTextOps(board, [{ op: "update", id: "n", set: { text: "y".repeat(MAX_CANVAS_TEXT) }, base: "" }])).toEqual([
      { op: "update", id: "n", set: { text: "y".repeat(MAX_CANVAS_TEXT) } },
    ]);
  });
});
