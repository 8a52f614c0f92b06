// The feed's link on its own, over a scripted fetch on fake time: SSE first, reconnecting on a
// backoff (or the server's retry), falling back to long polling only when a proxy is in the way
// (silence, or refusals while the server answers plain requests), trying SSE again in the
// background, and waking up.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FeedLink } from "../../lib/realtime/feed-link";
import type { ChannelState, TransportMode } from "../../lib/realtime/types";
import { pass, settle } from "../helpers/fake-time";

const FIRST_BYTE_MS = 3_000;
const UPGRADE_RETRY_MS = 60_000;

interface Request {
  headers: Record<string, string>;
  stream(): { write(text: string): void; end(): void };
  answer(status: number, type?: string): void;
  fail(): void;
}

function link(o: { mode?: TransportMode; answersHttp?: boolean | (() => Promise<boolean>) } = {}) {
  const requests: Request[] = [];
  const fetchImpl = ((_url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      requests.push({
        headers: init.headers as Record<string, string>,
        stream() {
          let ctl!: ReadableStreamDefaultController<Uint8Array>;
          resolve(new Response(new ReadableStream({ start: (c) => void (ctl = c) }), { headers: { "content-type": "text/event-stream" } }));
          return { write: (t) => ctl.enqueue(new TextEncoder().encode(t)), end: () => ctl.close() };
        },
        answer: (status, type = "text/html") => resolve(new Response("<html></html>", { status, headers: { "content-type": type } })),
        fail: () => reject(new TypeError("fetch failed")),
      });
    })) as unknown as typeof fetch;
  const heard = { states: [] as ChannelState[], reconnects: 0, signedOut: 0, transports: [] as string[], asked: 0, messages: [] as string[], ids: [] as string[] };
  const feed: FeedLink = new FeedLink(
    "/api/stream?streams=feed",
    fetchImpl,
    o.mode ?? "auto",
    { firstByteTimeoutMs: FIRST_BYTE_MS, upgradeRetryMs: UPGRADE_RETRY_MS, failuresBeforeFallback: 2, backoff: { random: () => 0.999 } },
    {
      cursor: () => "feed=7",
      onMessage: (msg, bytes) => heard.messages.push(`${msg.data} ${bytes}`),
      onId: (id) => heard.ids.push(id),
      onState: (s) => heard.states.push(s),
      onReconnect: () => heard.reconnects++,
      onSignedOut: () => heard.signedOut++,
      onTransport: () => heard.transports.push(feed.transport),
      serverAnswersHttp: async () => {
        heard.asked++;
        return typeof o.answersHttp === "function" ? o.answersHttp() : (o.answersHttp ?? true);
      },
    },
  );
  return { feed, requests, heard };
}


beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] }));
afterEach(() => vi.useRealTimers());

describe("the feed's link", () => {
  it("opens SSE and says connected at its first byte; a reopened stream is a reconnect", async () => {
    const { feed, requests, heard } = link();
    expect(feed.transport).toBe("sse");
    feed.start();
    expect(heard.states).toEqual(["connecting"]);
    expect(requests[0]!.headers["Last-Event-ID"]).toBe("feed=7");
    const body = requests[0]!.stream();
    body.write(": hello\n\n");
    await settle();
    expect(heard.states).toEqual(["connecting", "connected"]);
    expect(heard.reconnects).toBe(0);
    expect(heard.transports).toEqual([]); // it was on SSE all along
    body.write('id: feed=8\ndata: {"seq":8}\n\nid: feed=9\n\n');
    await settle();
    expect(heard.messages).toEqual(['{"seq":8} 9']);
    expect(heard.ids).toEqual(["feed=9"]);
    body.end();
    await settle();
    expect(heard.states.at(-1)).toBe("reconnecting");
    // The backoff's first wait (up to 1 s), then a new stream.
    await pass(1_000);
    expect(requests).toHaveLength(2);
    requests[1]!.stream().write(": again\n\n");
    await settle();
    expect(heard.reconnects).toBe(1);
    expect(heard.states.at(-1)).toBe("connected");
  });

  it("waits the server's retry when it is longer than the backoff", async () => {
    const { feed, requests } = link();
    feed.start();
    const body = requests[0]!.stream();
    body.write("retry: 5000\n\n");
    body.end();
    await settle();
    await pass(4_999);
    expect(requests).toHaveLength(1);
    await pass(1);
    expect(requests).toHaveLength(2);
  });

  it("a 401 is a signed-out session, nothing is retried", async () => {
    const { feed, requests, heard } = link();
    feed.start();
    requests[0]!.answer(401, "application/json");
    await settle();
    expect(heard.signedOut).toBe(1);
    await pass(UPGRADE_RETRY_MS * 2);
    expect(requests).toHaveLength(1);
  });

  it("silence twice (a buffering proxy) falls back to long polling, and SSE is tried again in the background", async () => {
    const { feed, requests, heard } = link();
    feed.start();
    await pass(FIRST_BYTE_MS); // silent
    expect(feed.transport).toBe("sse");
    await pass(999); // the backoff (0.999 of its first second)
    expect(requests).toHaveLength(2);
    await pass(FIRST_BYTE_MS); // silent again
    expect(feed.transport).toBe("longpoll");
    expect(heard.transports).toEqual(["longpoll"]);
    expect(heard.states.at(-1)).toBe("connecting");
    expect(heard.asked).toBe(0); // silence needs no second opinion
    await pass(UPGRADE_RETRY_MS - 1);
    expect(requests).toHaveLength(2);
    await pass(1);
    expect(requests).toHaveLength(3);
    // The proxy is gone: SSE again.
    requests[2]!.stream().write(": hi\n\n");
    await settle();
    expect(feed.transport).toBe("sse");
    expect(heard.transports).toEqual(["longpoll", "sse"]);
    expect(heard.states.at(-1)).toBe("connected");
  });

  it("while on long polling, a failed SSE try waits the upgrade interval again", async () => {
    const { feed, requests, heard } = link();
    feed.start();
    await pass(FIRST_BYTE_MS);
    await pass(999);
    await pass(FIRST_BYTE_MS);
    await pass(UPGRADE_RETRY_MS);
    expect(requests).toHaveLength(3);
    const states = heard.states.length;
    await pass(FIRST_BYTE_MS); // still silent
    expect(feed.transport).toBe("longpoll");
    // Still on long polling: nothing to announce.
    expect(heard.transports).toEqual(["longpoll"]);
    expect(heard.states.length).toBe(states);
    await pass(UPGRADE_RETRY_MS - 1);
    expect(requests).toHaveLength(3);
    await pass(1);
    expect(requests).toHaveLength(4);
  });

  it("refusals fall back only when the server answers plain requests; a restarting server gets the usual backoff", async () => {
    const proxied = link({ answersHttp: true });
    proxied.feed.start();
    proxied.requests[0]!.answer(502);
    await settle();
    await pass(1_000);
    proxied.requests[1]!.answer(200, "text/html");
    await settle();
    expect(proxied.heard.asked).toBe(1);
    expect(proxied.feed.transport).toBe("longpoll");

    const restarting = link({ answersHttp: false });
    restarting.feed.start();
    restarting.requests[0]!.answer(502);
    await settle();
    await pass(1_000);
    restarting.requests[1]!.answer(502);
    await settle();
    expect(restarting.heard.asked).toBe(1);
    expect(restarting.feed.transport).toBe("sse");
    await pass(2_000); // the backoff's second wait, up to 2 s
    expect(restarting.requests).toHaveLength(3);
  });

  it("no answer at all (down, offline) never falls back; nor does a link told to use SSE only", async () => {
    const { feed, requests } = link();
    feed.start();
    for (let i = 0; i < 4; i++) {
      requests[i]!.fail();
      await settle();
      await pass(4_000);
    }
    expect(feed.transport).toBe("sse");

    const forced = link({ mode: "websocket" });
    forced.feed.start();
    for (let i = 0; i < 3; i++) {
      await pass(FIRST_BYTE_MS);
      await pass(4_000);
    }
    expect(forced.feed.transport).toBe("sse");
    expect(forced.requests.length).toBeGreaterThanOrEqual(3);
  });

  it("starts on long polling when told to, opening no stream", async () => {
    const { feed, requests, heard } = link({ mode: "longpoll" });
    expect(feed.transport).toBe("longpoll");
    feed.start();
    expect(heard.states).toEqual(["connecting"]);
    expect(requests).toHaveLength(0);
    feed.setMode("auto");
    expect(feed.transport).toBe("sse");
    feed.setMode("longpoll");
    expect(feed.transport).toBe("longpoll");
  });

  it("follows the rooms onto long polling when WebSockets are blocked before its stream opened, not after", async () => {
    const { feed, requests, heard } = link();
    feed.start();
    feed.roomsBlocked();
    expect(feed.transport).toBe("longpoll");
    feed.roomsBlocked();
    expect(heard.transports).toEqual(["longpoll"]);

    // A stream that was open and ended is not open any more.
    const ended = link();
    ended.feed.start();
    const body = ended.requests[0]!.stream();
    body.write(": hi\n\n");
    await settle();
    body.end();
    await settle();
    ended.feed.roomsBlocked();
    expect(ended.feed.transport).toBe("longpoll");

    // Nor is one of a link stopped and started again.
    const restarted = link();
    restarted.feed.start();
    restarted.requests[0]!.stream().write(": hi\n\n");
    await settle();
    restarted.feed.stop();
    restarted.feed.start();
    restarted.feed.roomsBlocked();
    expect(restarted.feed.transport).toBe("longpoll");

    const open = link();
    open.feed.start();
    open.requests[0]!.stream().write(": hi\n\n");
    await settle();
    open.feed.roomsBlocked();
    expect(open.feed.transport).toBe("sse");

    const forced = link({ mode: "websocket" });
    forced.feed.start();
    forced.feed.roomsBlocked();
    expect(forced.feed.transport).toBe("sse");

    const stopped = link();
    stopped.feed.roomsBlocked();
    expect(stopped.feed.transport).toBe("sse");
    expect(requests).toHaveLength(1);
  });

  it("on waking, replaces a stream quiet for over 30 s, and sends a waiting retry at once", async () => {
    const { feed, requests, heard } = link();
    feed.start();
    requests[0]!.stream().write(": hi\n\n");
    await settle();
    vi.setSystemTime(Date.now() + 30_000);
    feed.wake();
    expect(requests).toHaveLength(1);
    vi.setSystemTime(Date.now() + 1);
    feed.wake();
    expect(requests).toHaveLength(2);
    expect(heard.states.at(-1)).toBe("reconnecting");

    requests[1]!.fail();
    await settle();
    feed.wake();
    expect(requests).toHaveLength(3);

    // On long polling, waking does not hurry the background try of SSE.
    const polling = link();
    polling.feed.start();
    polling.feed.roomsBlocked();
    polling.feed.wake();
    expect(polling.requests).toHaveLength(1);
  });

  it("a stream that ends without a byte is tried again after the backoff", async () => {
    const { feed, requests } = link();
    feed.start();
    requests[0]!.stream().end();
    await settle();
    await pass(999);
    expect(requests).toHaveLength(2);
  });

  it("an answer about the server that comes after the link stopped or moved changes nothing", async () => {
    let answer!: (v: boolean) => void;
    const pending = () => new Promise<boolean>((r) => (answer = r));
    const stopped = link({ answersHttp: pending });
    stopped.feed.start();
    stopped.requests[0]!.answer(502);
    await settle();
    await pass(999);
    stopped.requests[1]!.answer(502);
    await settle();
    stopped.feed.stop();
    answer(true);
    await pass(UPGRADE_RETRY_MS * 2);
    expect(stopped.feed.transport).toBe("sse");
    expect(stopped.requests).toHaveLength(2);

    const moved = link({ answersHttp: pending });
    moved.feed.start();
    moved.requests[0]!.answer(502);
    await settle();
    await pass(999);
    moved.requests[1]!.answer(502);
    await settle();
    moved.feed.roomsBlocked(); // the rooms' link decided first
    answer(false);
    await settle();
    expect(moved.heard.transports).toEqual(["longpoll"]);
    await pass(UPGRADE_RETRY_MS - 1);
    expect(moved.requests).toHaveLength(2);
    await pass(1);
    expect(moved.requests).toHaveLength(3);

    const reopened = link({ answersHttp: pending });
    reopened.feed.start();
    reopened.requests[0]!.answer(502);
    await settle();
    await pass(999);
    reopened.requests[1]!.answer(502);
    await settle();
    reopened.feed.wake(); // nothing waiting: the answer is still out
    reopened.feed.setMode("auto");
    expect(reopened.requests).toHaveLength(2);
  });

  it("starts the backoff over when told to", async () => {
    const { feed, requests } = link();
    feed.start();
    for (let i = 0; i < 2; i++) {
      requests[i]!.fail();
      await settle();
      await pass(2 ** i * 1_000);
    }
    expect(requests).toHaveLength(3);
    feed.resetBackoff();
    requests[2]!.fail();
    await settle();
    await pass(999);
    expect(requests).toHaveLength(4);
  });

  it("stopped, it opens nothing more", async () => {
    const { feed, requests } = link();
    feed.start();
    requests[0]!.stream().end();
    await settle();
    feed.stop();
    feed.wake();
    feed.roomsBlocked();
    await pass(UPGRADE_RETRY_MS * 2);
    expect(requests).toHaveLength(1);
    expect(feed.transport).toBe("sse");
  });
});
