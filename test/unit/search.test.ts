// What a search query asks for, and how a result shows it: words only (no query syntax gets
// through to the database), each marked where it begins a word, the longest first.
import { describe, expect, it } from "vitest";
import { MAX_SEARCH_WORDS, markWords, searchWords, snippetAround, wordsQuery } from "../../lib/search";

describe("search words", () => {
  it("keeps letters and digits of any script, lower-cased, once each, and nothing else", () => {
    expect(searchWords("  Deploy  the DEPLOY, café 2026! ")).toEqual(["deploy", "the", "café", "2026"]);
    expect(searchWords("x:* | !y & 'z'")).toEqual(["x", "y", "z"]);
    expect(searchWords("日本語 テスト")).toEqual(["日本語", "テスト"]);
    expect(searchWords(" !?* ")).toEqual([]);
    expect(searchWords(Array.from({ length: 20 }, (_, i) => `w${i}`).join(" "))).toHaveLength(MAX_SEARCH_WORDS);
    expect(wordsQuery(["a", "b2"])).toBe("a:* & b2:*");
  });

  it("marks where a word begins a word, any case, the longest word first", () => {
    expect(markWords("Deployment deployed; redeploy", ["dep", "deploy"])).toEqual([
      { text: "Deploy", match: true },
      { text: "ment ", match: false },
      { text: "deploy", match: true },
      { text: "ed; redeploy", match: false },
    ]);
    expect(markWords("nothing here", ["zzz"])).toEqual([{ text: "nothing here", match: false }]);
  });

  it("cuts a snippet at whole words around the first word found, on one line", () => {
    const before = Array.from({ length: 30 }, (_, i) => `a${i}`).join(" ");
    const after = Array.from({ length: 60 }, (_, i) => `b${i}`).join(" ");
    const snippet = snippetAround(`${before}\n\nthe needle\n${after}`, ["needle"]);
    expect(snippet).toMatch(/^…a\d+ /);
    expect(snippet).toMatch(/ b\d+…$/);
    expect(snippet).toContain("the needle b0");
    expect(snippetAround("short text", ["text"])).toBe("short text");
  });
});
