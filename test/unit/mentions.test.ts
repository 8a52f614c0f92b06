// Which names a message's @mentions may stand for: one to four words after each `@`, longest first.
import { describe, expect, it } from "vitest";
import { mentionCandidates, mentionedNames } from "../../lib/protocol";

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

  it("lists every candidate once for the client's own check", () => {
    expect(mentionedNames("@Lin and @lin again")).toEqual(["lin and", "lin", "lin again"]);
  });
});
