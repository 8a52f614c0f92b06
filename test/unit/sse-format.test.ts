// SSE framing per the spec: fields in order, multi-line data split, CR/LF refused where a
// line break would let a value forge another field.
import { describe, expect, it } from "vitest";
import { formatSse, sseChunk } from "../../server/transports/sse-frame";

describe("formatSse", () => {
  it("writes id, event and data, ending with a blank line", () => {
    expect(formatSse({ id: "feed=8,user:u_1=3", event: "member.joined", data: '{"seq":8}' })).toBe(
      'id: feed=8,user:u_1=3\nevent: member.joined\ndata: {"seq":8}\n\n',
    );
  });

  it("writes retry alone, and an id-only message", () => {
    expect(formatSse({ retry: 2000 })).toBe("retry: 2000\n\n");
    expect(formatSse({ id: "feed=0" })).toBe("id: feed=0\n\n");
  });

  it("splits multi-line data into one data: line per line, whatever the line ending", () => {
    expect(formatSse({ data: "one\ntwo\r\nthree\rfour" })).toBe("data: one\ndata: two\ndata: three\ndata: four\n\n");
    expect(formatSse({ data: "" })).toBe("data: \n\n");
    expect(formatSse({ data: "trailing\n" })).toBe("data: trailing\ndata: \n\n");
  });

  it("refuses CR or LF in id and event, which would forge fields", () => {
    for (const id of ["a\nb", "a\rb", "a\r\nb", "feed=1\ndata: x"]) expect(() => formatSse({ id })).toThrow("SSE id must not contain CR, LF or NUL");
    for (const event of ["a\nb", "a\rb", "message\ndata: forged"]) expect(() => formatSse({ event })).toThrow("SSE event name must not contain CR or LF");
    expect(() => formatSse({ id: "a\0b" })).toThrow("SSE id must not contain CR, LF or NUL");
  });

  it("round-trips through a spec parser: data lines join back with LF", () => {
    const text = "line 1\nline 2\n\nline 4";
    const frame = formatSse({ id: "feed=1", event: "x", data: text });
    const data = frame
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice("data: ".length))
      .join("\n");
    expect(data).toBe(text);
  });
});

describe("sseChunk", () => {
  it("frames a piece of the body as one HTTP/1.1 chunk, its size in bytes in hex, or leaves it bare", () => {
    const text = `data: ${"é".repeat(10)}\n\n`; // 28 bytes, 18 characters
    expect(sseChunk(text, true).toString("utf8")).toBe(`1c\r\n${text}\r\n`);
    expect(sseChunk(text, false).toString("utf8")).toBe(text);
  });
});
