// Emoji by name (`:tada:`): where a name is being typed, which emoji a few letters offer (GitHub's
// list, as the browser loads it), and a name typed out whole.
import { describe, expect, it } from "vitest";
import { closedNameAt, emojiNameBegunAt, emojiNamesNow, emojiQueryAt, loadEmoji, matchEmoji, mayNameEmoji, showEmojiNames } from "../../lib/emoji";

describe("emojiQueryAt", () => {
  it("finds a name from a `:` that starts a word to the caret", () => {
    expect(emojiQueryAt(":ta", 3)).toEqual({ start: 0, query: "ta" });
    expect(emojiQueryAt("well done :Tad", 14)).toEqual({ start: 10, query: "tad" });
    expect(emojiQueryAt("(:+1", 4)).toEqual({ start: 1, query: "+1" });
    // Only what is before the caret counts.
    expect(emojiQueryAt(":tada and more", 5)).toEqual({ start: 0, query: "tada" });
  });

  it("is not fooled by times, words with colons, smileys or a single letter", () => {
    for (const [text, caret] of [["at 12:30", 8], ["note:ta", 7], [":)", 2], [":t", 2], [": ta", 4], ["::", 2], [":ta da", 6]] as const) {
      expect(emojiQueryAt(text, caret), text).toBeNull();
    }
  });
});

describe("emojiNameBegunAt", () => {
  it("says a name may be beginning from its `:` on, before any letter (when the list is fetched)", () => {
    for (const [text, caret] of [[":", 1], ["well done :", 11], ["(:", 2], [":t", 2], [":tada", 5]] as const) {
      expect(emojiNameBegunAt(text, caret), text).toBe(true);
    }
    for (const [text, caret] of [["at 12:", 6], ["note:", 5], [":)", 2], [": ", 2], ["no colon", 8], [":ta da", 6]] as const) {
      expect(emojiNameBegunAt(text, caret), text).toBe(false);
    }
  });
});

describe("matchEmoji and closedNameAt, on GitHub's names", () => {
  it("offers the name typed first, then names that begin with it, then words inside names", async () => {
    const { list } = await loadEmoji();
    expect(matchEmoji(list, "tada", 3)[0]).toEqual({ emoji: "🎉", name: "tada" });
    const thumbs = matchEmoji(list, "+1", 3);
    expect(thumbs[0]).toEqual({ emoji: "👍", name: "+1" });
    const party = matchEmoji(list, "party", 8);
    expect(party.map((o) => o.name)).toContain("partying_face");
    expect(party.length).toBeLessThanOrEqual(8);
    expect(matchEmoji(list, "zzzzqx", 8)).toEqual([]);
  });

  it("turns a name typed out whole into its emoji as its second `:` is typed, and nothing else", async () => {
    const { byName } = await loadEmoji();
    expect(closedNameAt("great :tada:", 12, byName)).toEqual({ start: 6, emoji: "🎉" });
    expect(closedNameAt(":+1:", 4, byName)).toEqual({ start: 0, emoji: "👍" });
    expect(closedNameAt(":notaname:", 10, byName)).toBeNull();
    expect(closedNameAt("at 12:30:", 9, byName)).toBeNull();
    expect(closedNameAt(":tada", 5, byName)).toBeNull();
  });
});

describe("showEmojiNames", () => {
  const byName = new Map([
    ["tada", "🎉"],
    ["+1", "👍"],
    ["t-rex", "🦖"],
  ]);

  it("shows known names written out whole as their emoji, wherever a word may start", () => {
    expect(showEmojiNames(":tada: shipped", byName)).toBe("🎉 shipped");
    expect(showEmojiNames("shipped :tada:", byName)).toBe("shipped 🎉");
    expect(showEmojiNames("(:+1:) and \":t-rex:\"", byName)).toBe("(👍) and \"🦖\"");
    expect(showEmojiNames(":TADA: twice :tada::tada:", byName)).toBe("🎉 twice 🎉🎉");
    expect(showEmojiNames("on\n:tada:", byName)).toBe("on\n🎉");
  });

  it("leaves names it does not know, and colons inside words and times, as written", () => {
    for (const text of [":nope: here", "note:tada: here", "at 12:30:45", "a:tada:b", ":tada", "tada:", "::", ":t:"]) {
      expect(showEmojiNames(text, byName), text).toBe(text);
    }
    expect(showEmojiNames(":nope::tada:", byName)).toBe(":nope::tada:");
  });

  it("is asked for only when a text may hold a name", () => {
    expect(mayNameEmoji("ship it :tada:")).toBe(true);
    expect(mayNameEmoji("at 12:30, see you")).toBe(false);
    expect(mayNameEmoji(":)")).toBe(false);
  });

  it("has the names at hand once loaded, with GitHub's list behind them", async () => {
    await loadEmoji();
    const names = emojiNamesNow()!;
    expect(showEmojiNames("ship it :tada: :rocket:", names)).toBe("ship it 🎉 🚀");
  });
});
