// Which names a message's @mentions may stand for: one to four words after each `@`, longest first.
import { describe, expect, it } from "vitest";
import { mentionCandidates, mentionSpans, namedMentionSpans } from "../../lib/mentions";

describe("mentions", () => {
  it("offers each mention's words, longest first, lower-cased", () => {
    expect(mentionCandidates("thanks @Grace Hopper, see you")).toEqual([["grace hopper", "grace"]]);
    expect(mentionCandidates("@Ada Lovelace wrote it")).toEqual([["ada lovelace wrote it", "ada lovelace wrote", "ada lovelace", "ada"]]);
  });

  it("stops at punctuation, line ends, a second @ and the fourth word", () => {
    expect(mentionCandidates("@lin, @kai.")).toEqual([["lin"], ["kai"]]);
    expect(mentionCandidates("@ada\nnext line")).toEqual([["ada"]]);
    expect(mentionCandidates("@ada @lin")).toEqual([["ada"], ["lin"]]);
    expect(mentionCandidates("@a b c d e")).toEqual([["a b c d", "a b c", "a b", "a"]]);
  });

  it("is not fooled by addresses or an @ alone", () => {
    expect(mentionCandidates("mail ada@example.com or @ alone")).toEqual([]);
  });

  it("keeps names within 32 characters", () => {
    const long = "x".repeat(30);
    expect(mentionCandidates(`@${long} yz`)).toEqual([[long]]);
  });

  it("marks a mention in the text as far as a known name reaches, else its first word", () => {
    const known = new Set(["grace hopper", "lin"]);
    expect(mentionSpans("thanks @Grace Hopper, and @Lin Wu!", known)).toEqual([
      { text: "thanks ", mention: false },
      { text: "@Grace Hopper", mention: true },
      { text: ", and ", mention: false },
      { text: "@Lin", mention: true },
      { text: " Wu!", mention: false },
    ]);
    expect(mentionSpans("@Grace Hopper", new Set())).toEqual([
      { text: "@Grace", mention: true },
      { text: " Hopper", mention: false },
    ]);
    expect(mentionSpans("no mentions at all", known)).toEqual([{ text: "no mentions at all", mention: false }]);
    expect(mentionSpans("end with @kai.", known).map((s) => s.text).join("")).toBe("end with @kai.");
  });

  it("marks exactly the people a message names (version 1.2), longest name first, any case", () => {
    expect(namedMentionSpans("@ada and @Ada Lovelace, not @adam or mail@ada.org", ["Ada", "Ada Lovelace"])).toEqual([
      { text: "@ada", mention: true },
      { text: " and ", mention: false },
      { text: "@Ada Lovelace", mention: true },
      { text: ", not @adam or mail@ada.org", mention: false },
    ]);
    expect(namedMentionSpans("@x.y (z)", ["x.y", "(z)"])).toEqual([
      { text: "@x.y", mention: true },
      { text: " (z)", mention: false },
    ]);
    expect(namedMentionSpans("@ada", [])).toEqual([{ text: "@ada", mention: false }]);
  });
});
