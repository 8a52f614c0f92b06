// The size a canvas box's text is drawn at: the usual 14 px while it fits, smaller as the text
// grows past its box (a long sticky note stays readable from its first line), never under 8 px.
import { describe, expect, it } from "vitest";
import { textSize } from "../../components/canvas/canvas-objects";

describe("textSize", () => {
  it("keeps a short note at 14 px", () => {
    expect(textSize("buy milk", 160, 120)).toBe(14);
    expect(textSize("", 160, 120)).toBe(14);
  });

  it("shrinks a note whose text would overflow it, more for more text", () => {
    const some = "a line of words that goes on ".repeat(6);
    const more = some.repeat(2);
    const a = textSize(some, 160, 120);
    const b = textSize(more, 160, 120);
    expect(a).toBeLessThan(14);
    expect(b).toBeLessThan(a);
    // The same text in a bigger box needs no shrinking.
    expect(textSize(some, 400, 300)).toBe(14);
  });

  it("counts each line break as a line of its own", () => {
    expect(textSize("one two three", 160, 120)).toBe(14);
    expect(textSize(["1", "2", "3", "4", "5", "6", "7"].join("\n"), 160, 120)).toBeLessThan(14);
  });

  it("stops at 8 px, however much text there is", () => {
    expect(textSize("x".repeat(10_000), 160, 120)).toBe(8);
    expect(textSize("x", 10, 10)).toBe(8);
  });
});
