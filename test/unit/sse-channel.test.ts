// The SSE channel on its own, over a scripted fetch whose body the test writes: what it asks
// for, what it hands on, and each way a stream ends — cleanly, refused, silent, cut off.
import { afterEach, describe, expect, it, vi } from "vitest";
import { SseChannel, type SseFailure } from "../../lib/realtime/sse-channel";
import type { SseMessage } from "../../lib/realtime/sse-reader";
import { settle } from "../helpers/fake-time";

interface Opened {
  url: string;
  init: RequestInit;
  /** Answers with a body the test writes to. */
  stream(status?: number, type?: string): { write(text: string): void; end(): void };
  answer(response: Response): void;
  fail(err: unknown): void;
}

function channel(o: { cursor?: string; firstByteTimeoutMs?: number } = {}) {
  const opened: Opened[] = [];
  const fetchImpl = ((url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      opened.push({
        url,
        init,
        stream(status = 200, type = "text/event-stream; charset=utf-8") {
          let ctl!: ReadableStreamDefaultController<Uint8Array>;
          const body = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) });
          resolve(new Response(body, { status, headers: { "content-type": type } }));
          const enc = new TextEncoder();
          return { write: (text) => ctl.enqueue(enc.encode(text)), end: () => ctl.close() };
        },
        answer: resolve,
        fail: reject,
      });
    })) as unknown as typeof fetch;
  const heard = {
    firstBytes: 0,
    messages: [] as Array<[SseMessage, number]>,
    ids: [] as string[],
    ends: [] as Array<{ error: SseFailure | null; gotBytes: boolean; retryMs: number | null }>,
  };
  const ch = new SseChannel("/api/stream?streams=feed", fetchImpl, o.firstByteTimeoutMs ?? 60_000, {
    cursor: () => o.cursor ?? "",
    onFirstByte: () => heard.firstBytes++,
    onMessage: (msg, bytes) => heard.messages.push([msg, bytes]),
    onId: (id) => heard.ids.push(id),
    onEnd: (error, gotBytes, retryMs) => heard.ends.push({ error, gotBytes, retryMs }),
  });
  return { ch, opened, heard };
}


afterEach(() => vi.useRealTimers());

describe("the SSE channel", () => {
  it("asks for an event stream, with the cursor as Last-Event-ID when it has one, never from a cache", async () => {
    const { ch, opened } = channel({ cursor: "feed=12" });
    ch.connect();
    expect(ch.active).toBe(true);
    expect(opened[0]!.url).toBe("/api/stream?streams=feed");
    expect(opened[0]!.init).toMatchObject({
      headers: { Accept: "text/event-stream", "Last-Event-ID": "feed=12" },
      cache: "no-store",
      credentials: "same-origin",
    });
    const fresh = channel();
    fresh.ch.connect();
    expect(fresh.opened[0]!.init.headers).toEqual({ Accept: "text/event-stream" });
    ch.close();
    fresh.ch.close();
  });

  it("hands on messages and ids as they arrive, says when the first byte came, and ends cleanly with the server's retry", async () => {
    const { ch, opened, heard } = channel();
    ch.connect();
    const body = opened[0]!.stream();
    body.write("retry: 2500\n\n: hello\n\n");
    await settle();
    expect(heard.firstBytes).toBe(1);
    body.write('id: feed=3\nevent: message\ndata: {"seq":3}\n\n');
    body.write("id: feed=4\n\n");
    await settle();
    expect(heard.firstBytes).toBe(1);
    expect(heard.messages.map(([m, bytes]) => [m.id, m.event, m.data, bytes])).toEqual([["feed=3", "message", '{"seq":3}', 9]]);
    // An id with no event: the position alone.
    expect(heard.ids).toEqual(["feed=4"]);
    body.end();
    await settle();
    expect(heard.ends).toEqual([{ error: null, gotBytes: true, retryMs: 2500 }]);
    expect(ch.active).toBe(false);
  });

  it("an error status is a refusal, with nothing received", async () => {
    const { ch, opened, heard } = channel();
    ch.connect();
    opened[0]!.answer(new Response('{"error":{}}', { status: 503 }));
    await settle();
    expect(heard.ends).toEqual([{ error: { kind: "refused", status: 503, message: "HTTP 503" }, gotBytes: false, retryMs: null }]);
    expect(ch.active).toBe(false);
  });

  it("a 200 that is not an event stream (a proxy's page) is a refusal too; the content type is checked without regard to case", async () => {
    const { ch, opened, heard } = channel();
    ch.connect();
    opened[0]!.stream(200, "text/html");
    await settle();
    expect(heard.ends[0]!.error).toEqual({ kind: "refused", status: 200, message: "not an event stream (text/html)" });
    ch.connect();
    opened[1]!.answer(new Response("page"));
    await settle();
    expect(heard.ends[1]!.error).toEqual({ kind: "refused", status: 200, message: "not an event stream (text/plain;charset=UTF-8)" });
    ch.connect();
    opened[2]!.answer(new Response(new Blob(["x"]).stream(), { headers: {} }));
    await settle();
    expect(heard.ends[2]!.error?.message).toBe("not an event stream (no content type)");
    ch.connect();
    opened[3]!.stream(200, "application/x.text/event-stream");
    await settle();
    expect(heard.ends[3]!.error?.message).toBe("not an event stream (application/x.text/event-stream)");
    ch.connect();
    opened[4]!.stream(200, "Text/Event-Stream");
    await settle();
    expect(heard.ends).toHaveLength(4);
    ch.close();
  });

  it("no byte in time is silence (a buffering proxy); a byte in time clears the clock", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { ch, opened, heard } = channel({ firstByteTimeoutMs: 5_000 });
    ch.connect();
    opened[0]!.stream();
    vi.advanceTimersByTime(4_999);
    await settle();
    expect(heard.ends).toEqual([]);
    vi.advanceTimersByTime(1);
    await settle();
    expect(heard.ends).toEqual([{ error: { kind: "silent", message: "no data from the event stream (a buffering proxy?)" }, gotBytes: false, retryMs: null }]);
    expect(ch.active).toBe(false);

    ch.connect();
    opened[1]!.stream().write(": ping\n\n");
    await settle();
    expect(vi.getTimerCount()).toBe(0); // the first byte stopped the clock
    vi.advanceTimersByTime(60_000);
    await settle();
    expect(heard.ends).toHaveLength(1);
    expect(ch.active).toBe(true);
    ch.close();
  });

  it("no answer at all is a network failure", async () => {
    const { ch, opened, heard } = channel();
    ch.connect();
    opened[0]!.fail(new TypeError("fetch failed"));
    await settle();
    expect(heard.ends).toEqual([{ error: { kind: "network", message: "fetch failed" }, gotBytes: false, retryMs: null }]);
    ch.connect();
    opened[1]!.fail("down");
    await settle();
    expect(heard.ends[1]!.error).toEqual({ kind: "network", message: "down" });
  });

  it("closed, or replaced by a new stream, it says nothing more of the old one", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { ch, opened, heard } = channel();
    ch.connect();
    const first = opened[0]!.stream();
    first.write(": one\n\n");
    await settle();
    ch.connect(); // the first is cut
    expect(opened).toHaveLength(2);
    const second = opened[1]!.stream();
    second.write("id: feed=9\n\n");
    // Whatever the old stream still delivers, or its end, is not heard.
    first.write("id: old\n\n");
    first.end();
    await settle();
    expect(heard.ids).toEqual(["feed=9"]);
    expect(heard.ends).toEqual([]);
    ch.close();
    expect(ch.active).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    second.end();
    await settle();
    expect(heard.ends).toEqual([]);
    // Closed before any answer: the request's failure is not heard either.
    ch.connect();
    ch.close();
    expect(vi.getTimerCount()).toBe(0); // its first-byte clock went with it
    await settle();
    expect(heard.ends).toEqual([]);
  });

  it("says how long the stream has been quiet", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const { ch, opened } = channel();
    ch.connect();
    const body = opened[0]!.stream();
    vi.advanceTimersByTime(3_000);
    expect(ch.quietForMs).toBe(3_000);
    body.write(": ping\n\n");
    await settle();
    expect(ch.quietForMs).toBe(0);
    ch.close();
  });
});
