// The client's text/event-stream parser against the WHATWG rules a browser's EventSource
// follows: what a message is, which lines end one, what the last event ID becomes.
import { describe, expect, it } from "vitest";
import { SseParser, type SseMessage } from "@/lib/realtime/sse-reader";

function parse(...chunks: string[]) {
  const messages: SseMessage[] = [];
  const ids: string[] = [];
  const parser = new SseParser(
    (m) => messages.push(m),
    (id) => ids.push(id),
  );
  for (const c of chunks) parser.push(c);
  return { messages, ids, parser };
}

describe("SseParser", () => {
  it("dispatches a message at a blank line, with its id, type and data", () => {
    const { messages, parser } = parse("id: room:a=1\nevent: message.posted\ndata: {\"x\":1}\n\n");
    expect(messages).toEqual([{ id: "room:a=1", event: "message.posted", data: '{"x":1}' }]);
    expect(parser.lastEventId).toBe("room:a=1");
  });

  it("waits for the blank line: a message cut anywhere is the same message", () => {
    const text = "id: 7\nevent: e\ndata: one\ndata: two\n\n";
    for (let cut = 1; cut < text.length; cut++) {
      const { messages } = parse(text.slice(0, cut), text.slice(cut));
      expect(messages, `cut at ${cut}`).toEqual([{ id: "7", event: "e", data: "one\ntwo" }]);
    }
    expect(parse(text.slice(0, -1)).messages).toEqual([]);
  });

  it("ends lines at CRLF, CR or LF, and waits when a chunk ends on a CR that may begin a CRLF", () => {
    expect(parse("data: a\r\n\r\n").messages.map((m) => m.data)).toEqual(["a"]);
    // The second CR ends the message once what follows shows it is not half of a CRLF.
    expect(parse("data: a\r\r").messages).toEqual([]);
    expect(parse("data: a\r\r", ":").messages.map((m) => m.data)).toEqual(["a"]);
    expect(parse("data: a\n\n").messages.map((m) => m.data)).toEqual(["a"]);
    // "\r" then "\n" in the next chunk is one line end, not a line end and a blank line.
    const split = parse("data: a\r", "\ndata: b\r\n\r\n");
    expect(split.messages.map((m) => m.data)).toEqual(["a\nb"]);
    // A CR in the middle of a chunk ends its line at once.
    expect(parse("data: a\rdata: b\r\n\n").messages.map((m) => m.data)).toEqual(["a\nb"]);
  });

  it("calls the type `message` when no event line names one, from the very first message", () => {
    expect(parse("data: 1\n\n").messages).toEqual([{ id: "", event: "message", data: "1" }]);
  });

  it("takes `data:` with nothing after the colon as an empty data line", () => {
    expect(parse("data:\ndata: b\n\n").messages.map((m) => m.data)).toEqual(["\nb"]);
  });

  it("works without an id listener: an id-only message just moves the last event ID", () => {
    const messages: SseMessage[] = [];
    const parser = new SseParser((m) => messages.push(m));
    parser.push("id: 4\n\ndata: x\n\n");
    expect(messages).toEqual([{ id: "4", event: "message", data: "x" }]);
  });

  it("calls the type `message` when no event line names one, and forgets the type after each message", () => {
    const { messages } = parse("event: a\ndata: 1\n\ndata: 2\n\n");
    expect(messages.map((m) => m.event)).toEqual(["a", "message"]);
  });

  it("strips one leading space from a value, no more, and takes a line without a colon as a field with no value", () => {
    const { messages } = parse("data:  two spaces\ndata:none\ndata\n\n");
    expect(messages[0]!.data).toBe(" two spaces\nnone\n");
  });

  it("skips comment lines (the server's heartbeats) and unknown fields", () => {
    const { messages, ids } = parse(": heartbeat\n\n:\nfoo: bar\ndata: x\n\n");
    expect(messages).toEqual([{ id: "", event: "message", data: "x" }]);
    expect(ids).toEqual([]);
  });

  it("keeps the last event ID across messages until a new id line moves it", () => {
    const { messages } = parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n");
    expect(messages.map((m) => m.id)).toEqual(["1", "1", "2"]);
  });

  it("moves the last event ID on an id-only message and says so, without dispatching", () => {
    const { messages, ids, parser } = parse("id: feed=9\n\n");
    expect(messages).toEqual([]);
    expect(ids).toEqual(["feed=9"]);
    expect(parser.lastEventId).toBe("feed=9");
  });

  it("does not call a message with data an id-only one", () => {
    const { ids } = parse("id: 3\ndata: x\n\n");
    expect(ids).toEqual([]);
  });

  it("ignores an id containing NUL, keeping the previous one", () => {
    const { messages, parser } = parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n");
    expect(messages.map((m) => m.id)).toEqual(["1", "1"]);
    expect(parser.lastEventId).toBe("1");
  });

  it("applies an id only when its message is dispatched", () => {
    const { parser } = parse("id: 5\ndata: half");
    expect(parser.lastEventId).toBe("");
  });

  it("takes a retry of digits only as the reconnection delay", () => {
    expect(parse("retry: 2500\n\n").parser.retryMs).toBe(2500);
    expect(parse("retry: 2500\nretry: 1e3\n\n").parser.retryMs).toBe(2500);
    expect(parse("retry: -5\n\n").parser.retryMs).toBeNull();
    expect(parse("retry: 10s\n\n").parser.retryMs).toBeNull();
  });

  it("does not dispatch a message with no data, and a stray blank line changes nothing", () => {
    const { messages, ids } = parse("\n\nevent: e\n\n\ndata: d\n\n");
    expect(messages).toEqual([{ id: "", event: "message", data: "d" }]);
    expect(ids).toEqual([]);
  });
});
