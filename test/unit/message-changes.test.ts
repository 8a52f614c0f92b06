// lib/chat/changes.ts: folding edits, deletes and reactions into a message — the one function
// the server uses for stored messages and the pages use for shown ones.
import { describe, expect, it } from "vitest";
import { applyChange, deletedData, withQuoteDeleted, withQuoteEdited, type ChangeEvent, type MessageData } from "../../lib/chat/changes";
import { mentionQueryAt, namedMentionSpans } from "../../lib/mentions";
import { MAX_REACTION_EMOJI } from "../../lib/protocol";

const ada = { id: "u_ada", name: "Ada" };
const lin = { id: "u_lin", name: "Lin" };
let seq = 10;
const change = <T extends ChangeEvent["type"]>(type: T, data: Extract<ChangeEvent, { type: T }>["data"], actor = ada, at = "2026-12-04T10:00:00.000Z") =>
  ({ stream: "room:general", seq: ++seq, type, actor, at, data }) as unknown as Extract<ChangeEvent, { type: T }>;
const base: MessageData = { text: "hello", clientId: "c1", mentions: [{ id: "u_lin", name: "Lin" }] };

describe("applyChange", () => {
  it("an edit replaces the text, the mentions and the time; applying it twice is applying it once", () => {
    const edit = change("message.edited", { seq: 1, text: "hello again", clientId: "e1" });
    const once = applyChange(base, edit);
    expect(once).toEqual({ text: "hello again", clientId: "c1", editedAt: edit.at });
    expect(applyChange(once, edit)).toEqual(once);
  });

  it("a delete keeps no text, mentions or reactions, only what it answered", () => {
    const replying: MessageData = { ...base, replyTo: { seq: 1, actor: lin, preview: "hi" }, reactions: { "👍": [lin] } };
    const gone = applyChange(replying, change("message.deleted", { seq: 2, clientId: "d1" }));
    expect(gone).toEqual({ text: "", clientId: "c1", deleted: true, replyTo: { seq: 1, actor: lin, preview: "hi" } });
    expect(deletedData(gone)).toEqual(gone);
  });

  it("a deleted message takes no more edits or reactions", () => {
    const gone = deletedData(base);
    expect(applyChange(gone, change("message.edited", { seq: 1, text: "back", clientId: "e2" }))).toBe(gone);
    expect(applyChange(gone, change("reaction", { seq: 1, emoji: "👍", on: true, clientId: "r0" }))).toBe(gone);
  });

  it("reactions: once per person and emoji, in order, taken back, and the emoji gone with its last person", () => {
    let data = applyChange(base, change("reaction", { seq: 1, emoji: "👍", on: true, clientId: "r1" }, lin));
    data = applyChange(data, change("reaction", { seq: 1, emoji: "👍", on: true, clientId: "r2" }, ada));
    const again = applyChange(data, change("reaction", { seq: 1, emoji: "👍", on: true, clientId: "r3" }, ada));
    expect(again).toBe(data);
    expect(data.reactions).toEqual({ "👍": [lin, ada] });
    data = applyChange(data, change("reaction", { seq: 1, emoji: "👍", on: false, clientId: "r4" }, lin));
    expect(data.reactions).toEqual({ "👍": [ada] });
    data = applyChange(data, change("reaction", { seq: 1, emoji: "👍", on: false, clientId: "r5" }, ada));
    expect(data).toEqual(base);
  });

  it("no more than the limit of different emoji; one already there still takes people", () => {
    let data: MessageData = { text: "x", clientId: "c" };
    for (let i = 0; i < MAX_REACTION_EMOJI; i++) data = applyChange(data, change("reaction", { seq: 1, emoji: `e${i}`, on: true, clientId: `r${i}` }));
    const full = applyChange(data, change("reaction", { seq: 1, emoji: "one-more", on: true, clientId: "rx" }));
    expect(full).toBe(data);
    expect(applyChange(data, change("reaction", { seq: 1, emoji: "e0", on: true, clientId: "ry" }, lin)).reactions?.e0).toEqual([ada, lin]);
  });

  it("a reply's quote shows the original's new text once it is edited, unless it was deleted", () => {
    const reply: MessageData = { text: "yes", clientId: "c", replyTo: { seq: 4, actor: ada, preview: "coming?" } };
    expect(withQuoteEdited(reply, 4, "coming at 10?").replyTo).toEqual({ seq: 4, actor: ada, preview: "coming at 10?" });
    expect(withQuoteEdited(reply, 5, "another")).toBe(reply);
    expect(withQuoteEdited(withQuoteDeleted(reply, 4), 4, "too late").replyTo).toEqual({ seq: 4, actor: ada, preview: "", deleted: true });
  });

  it("a reply's quote shows the original deleted", () => {
    const reply: MessageData = { text: "yes", clientId: "c", replyTo: { seq: 4, actor: ada, preview: "coming?" } };
    expect(withQuoteDeleted(reply, 4).replyTo).toEqual({ seq: 4, actor: ada, preview: "", deleted: true });
    expect(withQuoteDeleted(reply, 5)).toBe(reply);
  });
});

describe("mentions by name", () => {
  it("marks any display name a message records, longest first, case-insensitively", () => {
    expect(namedMentionSpans("hi @bob (proxy) 🎉 and @Bob!", ["Bob (proxy) 🎉", "Bob"])).toEqual([
      { text: "hi ", mention: false },
      { text: "@bob (proxy) 🎉", mention: true },
      { text: " and ", mention: false },
      { text: "@Bob", mention: true },
      { text: "!", mention: false },
    ]);
    expect(namedMentionSpans("mail ada@example.com", [])).toEqual([{ text: "mail ada@example.com", mention: false }]);
  });

  it("finds the @ being typed before the caret, not an e-mail address or a finished line", () => {
    expect(mentionQueryAt("hi @Ada Lo", 10)).toEqual({ start: 3, query: "Ada Lo" });
    expect(mentionQueryAt("hi @", 4)).toEqual({ start: 3, query: "" });
    expect(mentionQueryAt("ada@example", 11)).toBeNull();
    expect(mentionQueryAt("@Ada\nnext", 9)).toBeNull();
    expect(mentionQueryAt("no mention", 10)).toBeNull();
  });
});

describe("previews", () => {
  it("show what a reader sees: no markdown markers, a link by its label, code as typed", async () => {
    const { previewOf } = await import("../../lib/mentions");
    expect(previewOf("**ship it** _today_, see [the plan](https://example.com/p) and `npm test`")).toBe("ship it today, see the plan and npm test");
    expect(previewOf("```\nconst a = 1;\n```")).toBe("const a = 1;");
    expect(previewOf("2 * 3 * 4 <b>")).toBe("2 * 3 * 4 <b>");
    expect(previewOf(" one\ttwo \n\n three  four\u00a0five ")).toBe("one two three four five");
  });
});
