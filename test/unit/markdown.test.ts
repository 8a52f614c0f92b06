// Message text as pieces for the page: links (http and https only), light markdown, mentions,
// and anything hostile left as the characters typed. The page renders the pieces as text nodes
// and elements (components/room/message-body.tsx), checked here too through React's own output.
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { MessageBody } from "../../components/room/message-body";
import { isLongMessage, isSafeHref, parseInline, parseMessage, plainText, type Inline } from "../../lib/markdown";
import { mentionSpans } from "../../lib/mentions";

const text = (t: string): Inline => ({ kind: "text", text: t });
const link = (href: string, t = href): Inline => ({ kind: "link", href, text: t });
const html = (t: string, mentions?: Array<{ name: string }>) =>
  renderToStaticMarkup(createElement(MessageBody, { text: t, knownNames: new Set(["grace hopper"]), mentions }));

describe("links", () => {
  it("turns http and https URLs into links, leaving the sentence's punctuation out", () => {
    expect(parseInline("see https://example.com/a?b=1. Then http://x.org/p_(q)), ok")).toEqual([
      text("see "),
      link("https://example.com/a?b=1"),
      text(". Then "),
      link("http://x.org/p_(q)"),
      text("), ok"),
    ]);
  });

  it("takes a labelled link only to http and https", () => {
    expect(parseInline("[the doc](https://example.com/doc)")).toEqual([link("https://example.com/doc", "the doc")]);
    expect(parseInline("[x](javascript:alert(1))")).toEqual([text("[x](javascript:alert(1))")]);
    expect(parseInline("[x](data:text/html,<script>alert(1)</script>)")).toEqual([text("[x](data:text/html,<script>alert(1)</script>)")]);
    expect(parseInline("[x](  https://a.b)")).toEqual([text("[x](  "), link("https://a.b"), text(")")]);
  });

  it("never links another scheme or a scheme in disguise", () => {
    for (const t of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "vbscript:x", "file:///etc/passwd", "https://", "xhttps://a.b"]) {
      expect(parseInline(t).some((p) => p.kind === "link"), t).toBe(false);
    }
    expect(isSafeHref("https://a.b")).toBe(true);
    expect(isSafeHref("javascript://a.b/%0Aalert(1)")).toBe(false);
    expect(isSafeHref("//a.b")).toBe(false);
  });
});

describe("markdown", () => {
  it("reads bold, both italics and inline code", () => {
    expect(parseInline("**bold** and _it_ and *it* and `a*b*c`")).toEqual([
      { kind: "strong", children: [text("bold")] },
      text(" and "),
      { kind: "em", children: [text("it")] },
      text(" and "),
      { kind: "em", children: [text("it")] },
      text(" and "),
      { kind: "code", text: "a*b*c" },
    ]);
  });

  it("strikes through ~~…~~, nested with the rest, and leaves a lone or spaced ~ as typed", () => {
    expect(parseInline("~~old plan~~ new **~~gone~~**")).toEqual([
      { kind: "strike", children: [text("old plan")] },
      text(" new "),
      { kind: "strong", children: [{ kind: "strike", children: [text("gone")] }] },
    ]);
    expect(parseInline("~5 min, ~~ spaced ~~ and ~~never")).toEqual([text("~5 min, ~~ spaced ~~ and ~~never")]);
    expect(plainText("~~old~~ new")).toBe("old new");
    expect(html("~~old~~")).toContain("<s>old</s>");
  });

  it("nests emphasis and links inside it", () => {
    expect(parseInline("**bold _and italic_ https://a.b**")).toEqual([
      { kind: "strong", children: [text("bold "), { kind: "em", children: [text("and italic")] }, text(" "), link("https://a.b")] },
    ]);
    expect(parseInline("*a **b** c*")).toEqual([{ kind: "em", children: [text("a "), { kind: "strong", children: [text("b")] }, text(" c")] }]);
  });

  it("leaves unclosed and stray markers as typed", () => {
    expect(parseInline("**never closed")).toEqual([text("**never closed")]);
    expect(parseInline("2 * 3 * 4 and a_b_c and `open")).toEqual([text("2 * 3 * 4 and a_b_c and `open")]);
    expect(parseInline("**")).toEqual([text("**")]);
    expect(parseInline("** spaced **")).toEqual([text("** spaced **")]);
  });

  it("sees no markdown, links or mentions inside code", () => {
    expect(parseInline("`**x** https://a.b @Ada`", mentionsOf("ada"))).toEqual([{ kind: "code", text: "**x** https://a.b @Ada" }]);
    expect(parseMessage("before\n```ts\nconst a = **b**; // https://a.b @Ada\n```\nafter", mentionsOf("ada"))).toEqual([
      { kind: "paragraph", children: [text("before")] },
      { kind: "code", text: "const a = **b**; // https://a.b @Ada" },
      { kind: "paragraph", children: [text("after")] },
    ]);
    expect(parseInline("``a ` b``")).toEqual([{ kind: "code", text: "a ` b" }]);
  });

  it("keeps an unclosed code fence as text", () => {
    expect(parseMessage("```\nnot closed")).toEqual([{ kind: "paragraph", children: [text("```\nnot closed")] }]);
  });

  it("marks mentions in the text around the markup", () => {
    expect(parseInline("**@Grace Hopper** and @Lin", mentionsOf("grace hopper"))).toEqual([
      { kind: "strong", children: [{ kind: "mention", text: "@Grace Hopper" }] },
      text(" and "),
      { kind: "mention", text: "@Lin" },
    ]);
  });

  it("keeps every character of a message made of markers that never close", () => {
    for (const t of ["_".repeat(4000), "*a ".repeat(1300), "**a ".repeat(1000), "`".repeat(4000), "[".repeat(4000), "_a ".repeat(1300)]) {
      expect(parseMessage(t)).toEqual([{ kind: "paragraph", children: [text(t)] }]);
    }
  });
});

describe("plain text", () => {
  it("drops the markers and keeps the words", () => {
    expect(plainText("**ship** it _now_: [plan](https://example.com/p), `x`")).toBe("ship it now: plan, x");
    expect(plainText("before\n```js\nconst a = 1;\n```\nafter")).toBe("before\nconst a = 1;\nafter");
  });

  it("gives a line with no markup back as it is, links and mentions included", () => {
    for (const text of ["see https://example.com/a?b=1, ok", "@Ada Lovelace 2 + 2 <b>&amp;</b>", "a\n\nb", "émoji 🎉 — done."]) {
      expect(plainText(text)).toBe(text);
    }
  });

  it("drops the line breaks a paragraph begins and ends with, and blank text altogether", () => {
    expect(plainText("\nline one\nline two\n")).toBe("line one\nline two");
    expect(plainText("\n\n")).toBe("");
    expect(plainText("   ")).toBe("");
    expect(plainText("\n*a*\n")).toBe("a");
  });
});

describe("rendered", () => {
  it("shows markup in a message as text, never as elements", () => {
    const out = html(`<img src=x onerror="alert(1)"> <script>alert(1)</script>`);
    expect(out).not.toContain("<img");
    expect(out).not.toContain("<script");
    expect(out).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
  });

  it("links only http and https, opening a new tab without a reference back", () => {
    const out = html("https://example.com [x](javascript:alert(1)) javascript:alert(1) [y](https://a.b)");
    expect(out.match(/<a /g)).toHaveLength(2);
    expect(out).toContain('<a href="https://example.com" target="_blank" rel="noopener noreferrer"');
    expect(out).toContain('title="https://a.b"');
    expect(out).not.toMatch(/href="javascript/i);
  });

  it("renders bold, italics, code and code blocks as elements", () => {
    const out = html("**b** _i_ `c`\n```\nblock\n```");
    expect(out).toContain("<strong");
    expect(out).toContain("<em>i</em>");
    expect(out).toMatch(/<code[^>]*>c<\/code>/);
    expect(out).toMatch(/<pre[^>]*><code>block<\/code><\/pre>/);
  });

  it("marks the people a message names when it says who they are, and by known names otherwise", () => {
    expect(html("hi @Grace Hopper")).toMatch(/<span[^>]*>@Grace Hopper<\/span>/);
    // Named: only the people given, so an @word that names nobody stays text.
    const named = html("hi @Grace Hopper and @nobody", [{ name: "Grace Hopper" }]);
    expect(named).toMatch(/<span[^>]*>@Grace Hopper<\/span>/);
    expect(named).not.toMatch(/<span[^>]*>@nobody/);
  });

  it("collapses a long message behind Show more", () => {
    expect(html("short")).not.toContain("Show more");
    const long = html("line\n".repeat(13));
    expect(long).toContain('aria-expanded="false"');
    expect(long).toContain("Show more");
    expect(isLongMessage("x".repeat(1000))).toBe(false);
    expect(isLongMessage("x".repeat(1001))).toBe(true);
    expect(isLongMessage("x\n".repeat(11) + "x")).toBe(false);
  });
});

function mentionsOf(...names: string[]) {
  const known = new Set(names);
  return (t: string) => mentionSpans(t, known);
}

describe("quotes and lists", () => {
  it("reads lines that begin '> ' as one quote, '- ' or '* ' as bullets, and '1. ' as a numbered list", () => {
    expect(parseMessage("> they said\n>\n> this\nand I said\n- one\n* two\n3. three\n9) **nine**")).toEqual([
      { kind: "quote", children: [text("they said\n\nthis")] },
      { kind: "paragraph", children: [text("and I said")] },
      { kind: "list", ordered: false, numbers: [0, 0], items: [[text("one")], [text("two")]] },
      { kind: "list", ordered: true, numbers: [3, 9], items: [[text("three")], [{ kind: "strong", children: [text("nine")] }]] },
    ]);
  });

  it("leaves markers that open nothing as typed: emphasis, a bare dash, a number inside a line", () => {
    for (const t of ["*not a list*", "-", "-not a bullet", "1.5 times", "a - b", "in 2. place", "x > y", ">_> smirk", "2024. was a year"]) {
      expect(parseMessage(t)).toEqual([{ kind: "paragraph", children: parseInline(t) }]);
    }
  });

  it("renders them as a blockquote and lists, and previews keep their markers", () => {
    const out = html("> quoted\n- a\n- b\n2. c");
    expect(out).toMatch(/<blockquote[^>]*>quoted<\/blockquote>/);
    expect(out).toMatch(/<ul[^>]*><li[^>]*>a<\/li><li[^>]*>b<\/li><\/ul>/);
    expect(out).toMatch(/<ol[^>]*><li value="2"[^>]*>c<\/li><\/ol>/);
    expect(plainText("> **said**\n* a\n1) b")).toBe("> said\n- a\n1. b");
  });
});
