// The rooms' link on its own, over fake sockets and a scripted fetch on fake time: WebSocket
// first, the backoff (or the delay a restarting server asks for), long polling only when the
// server answers plain requests but not the upgrade, the WebSocket tried again in the
// background, and each of the page's switches — offline, drop, wake, a forced transport.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, ServerFrame } from "../../lib/protocol";
import { Link } from "../../lib/realtime/link";
import { FakeSocket } from "../helpers/fake-socket";
import { pass, settle } from "../helpers/fake-time";

const OPEN_TIMEOUT_MS = 5_000;
const UPGRADE_RETRY_MS = 60_000;
const ANSWER_TIMEOUT_MS = 4_000;

function link(o: { mode?: "auto" | "websocket" | "longpoll"; readyz?: () => Promise<Response>; createThrows?: () => boolean } = {}) {
  const heard = {
    ups: 0,
    downs: 0,
    frames: [] as ServerFrame[],
    unanswered: [] as ClientFrame[][],
    signedOut: 0,
    invalid: [] as string[],
    logs: [] as string[],
    statuses: 0,
    reconnects: 0,
    pollerRestarts: 0,
    readyz: [] as Array<RequestInit | undefined>,
  };
  const sockets: FakeSocket[] = [];
  const posts: Array<{ url: string; frames: ClientFrame[]; keepalive?: boolean; answer(status: number, body: string): void }> = [];
  const fetchImpl = ((url: string, init?: RequestInit) => {
    if (url.endsWith("/readyz")) {
      heard.readyz.push(init);
      return (o.readyz ?? (async () => new Response("ok")))();
    }
    return new Promise<Response>((resolve) => {
      posts.push({
        url,
        frames: (JSON.parse(init!.body as string) as { frames: ClientFrame[] }).frames,
        keepalive: init?.keepalive,
        answer: (status, body) => resolve(new Response(body, { status })),
      });
    });
  }) as unknown as typeof fetch;
  const l = new Link(
    {
      baseUrl: "http://app.test",
      wsUrl: "ws://app.test/ws",
      fetch: fetchImpl,
      createWebSocket: () => {
        if (o.createThrows?.()) throw new Error("SecurityError");
        const s = new FakeSocket("ws://app.test/ws");
        sockets.push(s);
        return s;
      },
      conn: "page-1",
      mode: o.mode ?? "auto",
      wsOpenTimeoutMs: OPEN_TIMEOUT_MS,
      upgradeRetryMs: UPGRADE_RETRY_MS,
      answerTimeoutMs: ANSWER_TIMEOUT_MS,
      failuresBeforeFallback: 2,
      backoff: { random: () => 0.999 },
      poller: { restart: () => heard.pollerRestarts++ },
    },
    {
      onUp: () => heard.ups++,
      onDown: () => heard.downs++,
      onFrame: (f) => heard.frames.push(f),
      onUnanswered: (f) => heard.unanswered.push(f),
      onSignedOut: () => heard.signedOut++,
      onInvalid: (transport, invalid, bytes, type) => heard.invalid.push(`${transport} ${type ?? ""} ${bytes} ${invalid.reason}`),
      onLog: (log) => heard.logs.push(`${log.direction} ${log.transport} ${log.type} ${log.bytes} ${log.at}`),
      onStatus: () => heard.statuses++,
      onReconnect: () => heard.reconnects++,
    },
  );
  return { l, sockets, posts, heard };
}

const join: ClientFrame = { type: "join", room: "general" };

beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] }));
afterEach(() => vi.useRealTimers());

/** Two handshakes that never open: the second makes the link ask whether the server answers HTTP. */
async function failTwice(h: ReturnType<typeof link>) {
  h.l.start();
  h.sockets[0]!.drop(1006);
  await pass(999); // the backoff's first wait
  h.sockets[1]!.drop(1006);
  await settle();
}

describe("the rooms' link", () => {
  it("opens the WebSocket, says it is up and carries frames on it", async () => {
    const { l, sockets, heard } = link();
    expect(l.state).toBe("idle");
    expect(l.channelState).toBe("idle");
    l.start();
    expect(l.state).toBe("connecting");
    expect(l.channelState).toBe("connecting");
    expect(l.canSend).toBe(false);
    expect(l.send(join)).toBe(false);
    sockets[0]!.open();
    expect(l.state).toBe("open");
    expect(l.channelState).toBe("connected");
    expect([l.transport, l.transportMode]).toEqual(["websocket", "auto"]);
    expect(heard.ups).toBe(1);
    expect(heard.reconnects).toBe(0);
    expect(l.canSend).toBe(true);
    expect(l.send(join)).toBe(true);
    expect(sockets[0]!.sent).toEqual([join]);
    sockets[0]!.receive({ type: "read", room: "general", seq: 2 });
    expect(heard.frames).toEqual([{ type: "read", room: "general", seq: 2 }]);
    sockets[0]!.onmessage!({ data: "garbage" });
    expect(heard.invalid).toHaveLength(1);
  });

  it("comes back after the backoff when the connection drops, and says it reconnected", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    sockets[0]!.drop(1006);
    expect(l.state).toBe("backoff");
    expect(l.channelState).toBe("reconnecting");
    expect(heard.downs).toBeGreaterThan(0);
    await pass(998);
    expect(sockets).toHaveLength(1);
    await pass(1);
    expect(l.state).toBe("connecting");
    expect(l.channelState).toBe("reconnecting");
    sockets[1]!.open();
    expect(heard.reconnects).toBe(1);
    expect(heard.ups).toBe(2);
  });

  it("waits what a restarting server asks (at most a minute), its own backoff when the reason is empty or garbled, and briefly after a close for slowness", async () => {
    const cases: Array<[number, string, number]> = [
      [1012, JSON.stringify({ reconnectAfterMs: 3_000 }), 3_000],
      [1012, JSON.stringify({ reconnectAfterMs: 600_000 }), 60_000],
      [1012, "", 999],
      [1012, "not json", 999],
      [1013, "", 250],
    ];
    for (const [code, reason, wait] of cases) {
      const { l, sockets, heard } = link();
      l.start();
      sockets[0]!.open();
      sockets[0]!.drop(code, reason);
      await pass(wait - 1);
      expect(sockets, `${code} ${reason}`).toHaveLength(1);
      await pass(1);
      expect(sockets, `${code} ${reason}`).toHaveLength(2);
      expect(heard.invalid).toEqual(reason === "not json" ? [expect.stringMatching(/^websocket close 1012 8 /)] : []);
    }
  });

  it("a closed session (4401) signs out, once; nothing is sent or retried", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    sockets[0]!.drop(4401);
    expect(l.state).toBe("signed-out");
    expect(heard.signedOut).toBe(1);
    expect(l.canSend).toBe(false);
    expect(l.send(join)).toBe(false);
    l.signOut();
    expect(heard.signedOut).toBe(1);
    await pass(UPGRADE_RETRY_MS);
    expect(sockets).toHaveLength(1);
    l.drop();
    l.setMode("longpoll");
    expect(l.state).toBe("signed-out");
  });

  it("falls back to long polling when the upgrade fails twice while the server answers plain requests, then tries the WebSocket again in the background", async () => {
    const h = link();
    await failTwice(h);
    const { l, sockets, posts, heard } = h;
    expect(l.state).toBe("fallback-poll");
    expect(l.transport).toBe("longpoll");
    expect(l.channelState).toBe("connecting");
    expect(heard.pollerRestarts).toBe(1);
    expect(heard.ups).toBe(1);
    // Frames go upstream over HTTP, and their answers come back as frames.
    expect(l.canSend).toBe(true);
    expect(l.send(join)).toBe(true);
    // Under the page's id, and the document's stint of long polling (1.21).
    const stint = l.pollDoc;
    expect(posts[0]!.url).toBe(`http://app.test/api/poll/frames?conn=page-1&doc=${stint}`);
    posts[0]!.answer(200, JSON.stringify({ frames: [{ type: "read", room: "general", seq: 1 }] }));
    await settle();
    expect(heard.frames).toEqual([{ type: "read", room: "general", seq: 1 }]);
    l.pollAnswered(true);
    expect(l.channelState).toBe("connected");
    l.pollAnswered(false);
    expect(l.channelState).toBe("reconnecting");
    // The background upgrade: it fails, and is tried again an interval later.
    await pass(UPGRADE_RETRY_MS);
    expect(sockets).toHaveLength(3);
    sockets[2]!.drop(1006);
    expect(l.state).toBe("fallback-poll");
    await pass(UPGRADE_RETRY_MS - 1);
    expect(sockets).toHaveLength(3);
    await pass(1);
    // It opens: the rooms move to the WebSocket, and the long poll lets go of them, the page
    // saying goodbye (1.20) so that its presence there ends after the grace, not 35 s later.
    expect(posts.map((p) => p.frames[0]?.type)).toEqual(["join"]);
    sockets[3]!.open();
    expect(l.state).toBe("open");
    expect(l.transport).toBe("websocket");
    expect(heard.pollerRestarts).toBe(2);
    expect(posts.map((p) => p.frames[0]?.type)).toEqual(["join", "bye"]);
    // The goodbye names the stint it ends.
    expect(posts[1]!.url).toBe(`http://app.test/api/poll/frames?conn=page-1&doc=${stint}`);
    l.pollAnswered(false);
    expect(l.channelState).toBe("connected");
  });

  it("names each stint of long polling anew (1.21): what one had on its way when it said goodbye is told from what the next sends", async () => {
    const { l, posts } = link({ mode: "longpoll" });
    l.start();
    const first = l.pollDoc;
    l.stop();
    l.start();
    expect(l.pollDoc).not.toBe(first);
    l.send(join);
    expect(posts.map((p) => p.url)).toEqual([
      `http://app.test/api/poll/frames?conn=page-1&doc=${first}`,
      `http://app.test/api/poll/frames?conn=page-1&doc=${l.pollDoc}`,
    ]);
    expect(posts.map((p) => p.frames[0]?.type)).toEqual(["bye", "join"]);
  });

  it("a server that answers neither is just down: the usual backoff, no fallback", async () => {
    const h = link({ readyz: async () => new Response("draining", { status: 503 }) });
    await failTwice(h);
    expect(h.l.state).toBe("backoff");
    await pass(1_998); // the second wait, up to 2 s
    expect(h.sockets).toHaveLength(3);
    expect(h.l.transport).toBe("websocket");

    const unreachable = link({ readyz: async () => Promise.reject(new TypeError("fetch failed")) });
    await failTwice(unreachable);
    expect(unreachable.l.state).toBe("backoff");
  });

  it("asked whether the server answers, it keeps to a decision made meanwhile", async () => {
    let answer!: (r: Response) => void;
    const h = link({ readyz: () => new Promise((r) => (answer = r)) });
    await failTwice(h);
    h.l.wake(); // nothing waits: no timer armed yet
    h.l.stop();
    answer(new Response("ok"));
    await settle();
    expect(h.l.state).toBe("idle");
    await pass(UPGRADE_RETRY_MS);
    expect(h.sockets).toHaveLength(2);
  });

  it("opened sockets that fail do not count toward the fallback", async () => {
    const { l, sockets } = link();
    l.start();
    for (let i = 0; i < 3; i++) {
      sockets[i]!.open();
      sockets[i]!.drop(1006);
      await pass(4_000);
    }
    expect(l.transport).toBe("websocket");
  });

  it("on long polling by choice, no WebSocket is tried", async () => {
    const { l, sockets, heard } = link({ mode: "longpoll" });
    l.start();
    expect(l.state).toBe("fallback-poll");
    expect(l.transport).toBe("longpoll");
    expect(heard.pollerRestarts).toBe(1);
    await pass(UPGRADE_RETRY_MS * 3);
    expect(sockets).toHaveLength(0);
    expect(l.wake()).toBe(false);
  });

  it("on long polling, says goodbye when it stops (1.20): once, in a request that outlives the page", async () => {
    const { l, posts, heard } = link({ mode: "longpoll" });
    l.start();
    l.stop();
    expect(posts.map((p) => ({ url: p.url, frames: p.frames, keepalive: p.keepalive }))).toEqual([
      { url: `http://app.test/api/poll/frames?conn=page-1&doc=${l.pollDoc}`, frames: [{ type: "bye" }], keepalive: true },
    ]);
    // Nor is the poll asked again on the way out: it would renew what the goodbye ended.
    expect(heard.pollerRestarts).toBe(1);
    l.stop();
    expect(posts).toHaveLength(1);
  });

  it("says no goodbye over a WebSocket (its closing says it), nor offline", async () => {
    const ws = link();
    ws.l.start();
    ws.sockets[0]!.open();
    ws.l.stop();
    expect(ws.posts).toEqual([]);
    const offline = link({ mode: "longpoll" });
    offline.l.start();
    offline.l.setOffline(true);
    offline.l.stop();
    expect(offline.posts).toEqual([]);
  });

  it("switches transport when told: at once when running, on the next start otherwise", async () => {
    const { l, sockets, heard } = link();
    const statuses = heard.statuses;
    l.setMode("longpoll");
    expect(heard.statuses).toBe(statuses + 1);
    expect(l.state).toBe("idle");
    l.start();
    expect(l.state).toBe("fallback-poll");
    l.setMode("auto");
    expect(l.state).toBe("connecting");
    sockets[0]!.open();
    l.setMode("longpoll");
    expect(l.state).toBe("fallback-poll");
    expect(l.transport).toBe("longpoll");
  });

  it("replaces a socket that leaves a join unanswered (open but dead); any frame, even garbled, answers", async () => {
    const { l, sockets } = link();
    l.start();
    l.expectAnswer(); // not open yet: nothing to watch
    sockets[0]!.open();
    l.expectAnswer();
    await pass(ANSWER_TIMEOUT_MS - 1);
    sockets[0]!.onmessage!({ data: "garbled" });
    await pass(ANSWER_TIMEOUT_MS);
    expect(l.state).toBe("open");
    l.expectAnswer();
    sockets[0]!.receive({ type: "read", room: "general", seq: 1 });
    await pass(ANSWER_TIMEOUT_MS);
    expect(l.state).toBe("open");
    l.expectAnswer();
    l.expectAnswer(); // one watch at a time
    await pass(ANSWER_TIMEOUT_MS - 1);
    expect(l.state).toBe("open");
    await pass(1);
    expect(l.state).toBe("backoff");
    expect(sockets[0]!.readyState).toBe(3);
    await pass(999);
    expect(sockets).toHaveLength(2);
  });

  it("drop: the connection comes back half a second later, as after a blip; on long polling the poll starts over", async () => {
    const { l, sockets, heard } = link();
    l.drop(); // not started: nothing
    l.start();
    sockets[0]!.open();
    l.drop();
    expect(l.state).toBe("backoff");
    await pass(499);
    expect(sockets).toHaveLength(1);
    await pass(1);
    expect(sockets).toHaveLength(2);

    const polling = link({ mode: "longpoll" });
    polling.l.start();
    polling.l.drop();
    expect(polling.heard.pollerRestarts).toBe(2);
    expect(polling.l.state).toBe("fallback-poll");
    void heard;
  });

  it("wake: an open socket is to be checked; a waiting retry goes now, its backoff started over", async () => {
    const { l, sockets, posts } = link();
    l.start();
    expect(l.wake()).toBe(false); // connecting: nothing to do
    sockets[0]!.open();
    expect(l.wake()).toBe(true);
    sockets[0]!.drop(1006);
    expect(l.wake()).toBe(false);
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop(1006); // the backoff starts over: the first wait again
    await pass(998);
    expect(sockets).toHaveLength(2);
    await pass(1);
    expect(sockets).toHaveLength(3);
    expect(posts).toHaveLength(0);
  });

  it("offline: nothing goes; back online it connects at once with the backoff started over", async () => {
    const { l, sockets } = link();
    l.start();
    sockets[0]!.open();
    l.setOffline(true);
    expect(l.state).toBe("offline");
    expect(l.channelState).toBe("offline");
    expect(l.canSend).toBe(false);
    expect(l.send(join)).toBe(false);
    sockets[0]!.drop(1006); // the old socket's close changes nothing
    await pass(10_000);
    expect(sockets).toHaveLength(1);
    l.setOffline(false);
    expect(l.state).toBe("connecting");
    expect(sockets).toHaveLength(2);
  });

  it("stopped, it closes and tries nothing more", async () => {
    const { l, sockets } = link();
    l.start();
    sockets[0]!.open();
    l.stop();
    expect(l.state).toBe("idle");
    expect(sockets[0]!.readyState).toBe(3);
    await pass(UPGRADE_RETRY_MS);
    expect(sockets).toHaveLength(1);
  });

  it("logs every frame each way, on each transport, with its size and time", async () => {
    vi.setSystemTime(1_000);
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    l.send(join);
    sockets[0]!.receive({ type: "read", room: "general", seq: 2 });
    sockets[0]!.onmessage!({ data: "garbage" });
    const read = JSON.stringify({ type: "read", room: "general", seq: 2 });
    expect(heard.logs).toEqual([`out websocket join ${JSON.stringify(join).length} 1000`, `in websocket read ${read.length} 1000`]);
    expect(heard.invalid).toEqual([expect.stringMatching(/^websocket  7 /)]);

    const polling = link({ mode: "longpoll" });
    polling.l.start();
    polling.l.send(join);
    polling.posts[0]!.answer(200, JSON.stringify({ frames: [{ type: "read", room: "general", seq: 1 }] }));
    await settle();
    const read1 = JSON.stringify({ type: "read", room: "general", seq: 1 });
    expect(polling.heard.logs).toEqual([`out http join ${JSON.stringify(join).length} 1000`, `in http read ${read1.length} 1000`]);
    polling.l.send(join);
    polling.posts[1]!.answer(200, "{}");
    await settle();
    expect(polling.heard.invalid).toEqual([expect.stringMatching(/^http frames 2 /)]);
  });

  it("on long polling too, nothing goes while offline or signed out", async () => {
    const { l } = link({ mode: "longpoll" });
    l.start();
    l.setOffline(true);
    expect(l.canSend).toBe(false);
    expect(l.send(join)).toBe(false);
    l.setOffline(false);
    expect(l.canSend).toBe(true);
    l.signOut();
    expect(l.canSend).toBe(false);
    expect(l.send(join)).toBe(false);
    expect(l.wake()).toBe(false);
  });

  it("watches for an answer only on an open WebSocket", async () => {
    const polling = link({ mode: "longpoll" });
    polling.l.start();
    polling.l.expectAnswer();
    await pass(ANSWER_TIMEOUT_MS * 2);
    expect(polling.l.state).toBe("fallback-poll");
    expect(vi.getTimerCount()).toBe(0);

    const { l, sockets } = link();
    l.start();
    sockets[0]!.open();
    l.expectAnswer();
    sockets[0]!.drop(1006); // the socket went another way: the watch goes with it
    expect(vi.getTimerCount()).toBe(1); // the backoff's retry, no more
  });

  it("an unanswered socket is one that had opened: its failure counts toward no fallback", async () => {
    const { l, sockets } = link();
    l.start();
    for (let i = 0; i < 3; i++) {
      sockets[i]!.open();
      l.expectAnswer();
      await pass(ANSWER_TIMEOUT_MS);
      await pass(4_000);
    }
    expect(l.transport).toBe("websocket");
    expect(sockets.length).toBeGreaterThanOrEqual(4);
  });

  it("back online, the backoff starts over; going offline does not touch it", async () => {
    const { l, sockets } = link();
    l.start();
    sockets[0]!.drop(1006);
    await pass(999);
    sockets[1]!.open();
    sockets[1]!.drop(1006); // the backoff (reset by the open) waits up to 1 s again
    l.setOffline(true);
    l.setOffline(false);
    expect(sockets).toHaveLength(3);
    sockets[2]!.drop(1006); // not opened: the first failure of a fresh count
    await pass(998);
    expect(sockets).toHaveLength(3);
    await pass(1);
    expect(sockets).toHaveLength(4);
  });

  it("a transport chosen while offline waits for the network; the rooms follow it when it is back", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    l.setOffline(true);
    const statuses = heard.statuses;
    l.setMode("longpoll");
    expect(l.state).toBe("offline");
    expect(heard.statuses).toBe(statuses + 1);
    l.setOffline(false);
    expect(l.state).toBe("fallback-poll");
    l.stop();
    l.setMode("auto");
    expect(l.state).toBe("idle");
  });

  it("drop does nothing while offline, and a failed handshake after a drop is still a failure to open", async () => {
    const { l, sockets } = link();
    l.start();
    sockets[0]!.open();
    l.setOffline(true);
    l.drop();
    expect(l.state).toBe("offline");
    l.stop();
    l.drop();
    expect(l.state).toBe("idle");
  });

  it("wake on long polling: nothing to check, and the background upgrade keeps its time", async () => {
    const h = link();
    await failTwice(h);
    expect(h.l.wake()).toBe(false);
    expect(h.sockets).toHaveLength(2);
    await pass(UPGRADE_RETRY_MS);
    expect(h.sockets).toHaveLength(3);
  });

  it("wake while a failure waits to be judged: the retry is not brought forward", async () => {
    let answer!: (r: Response) => void;
    const h = link({ readyz: () => new Promise((r) => (answer = r)) });
    await failTwice(h);
    expect(h.l.state).toBe("backoff");
    expect(h.l.wake()).toBe(false);
    expect(h.sockets).toHaveLength(2);
    answer(new Response("no", { status: 503 }));
    await settle();
    await pass(1_998);
    expect(h.sockets).toHaveLength(3);
  });

  it("poll answers tell the badge only while on long polling", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    const statuses = heard.statuses;
    l.pollAnswered(false);
    expect(heard.statuses).toBe(statuses);
    expect(l.channelState).toBe("connected");
  });

  it("asks whether the server answers with a request no cache may answer", async () => {
    const h = link();
    await failTwice(h);
    expect(h.heard.readyz).toEqual([{ cache: "no-store" }]);
  });

  it("a state that does not change still tells the badge, and does nothing else", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    const [ups, downs, statuses] = [heard.ups, heard.downs, heard.statuses];
    l.start(); // already started
    expect([heard.ups, heard.downs, heard.statuses]).toEqual([ups, downs, statuses + 1]);
    expect(sockets).toHaveLength(1);
  });

  it("stopped and offline, or signed out, a close changes nothing", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    sockets[0]!.drop(4401);
    const statuses = heard.statuses;
    await pass(60_000);
    expect(heard.statuses).toBe(statuses);
    expect(sockets).toHaveLength(1);
  });

  it("says long polling is what carries the rooms when it is chosen, before it starts too", () => {
    const { l } = link({ mode: "longpoll" });
    expect(l.transport).toBe("longpoll");
  });

  it("does not watch a socket still connecting: it has its own open timeout", async () => {
    const { l, sockets } = link();
    l.start();
    l.expectAnswer();
    await pass(ANSWER_TIMEOUT_MS);
    expect(l.state).toBe("connecting");
    sockets[0]!.open();
    expect(l.state).toBe("open");
  });

  it("an unanswered socket had opened: the handshake failing after it is the first failure to open, not the second", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    l.expectAnswer();
    await pass(ANSWER_TIMEOUT_MS);
    await pass(999);
    sockets[1]!.drop(1006);
    await settle();
    expect(heard.readyz).toEqual([]);
    expect(l.state).toBe("backoff");
  });

  it("waking while a handshake is on its way leaves the backoff as it has grown", async () => {
    const h = link({ readyz: async () => new Response("down", { status: 503 }) });
    await failTwice(h);
    await pass(1_998);
    expect(h.l.state).toBe("connecting");
    h.l.wake();
    h.sockets[2]!.drop(1006);
    await settle();
    await pass(999);
    expect(h.sockets).toHaveLength(3); // the third wait is up to 4 s, not 1
  });

  it("forgets frames not yet sent upstream when it goes offline, stops or is signed out", async () => {
    for (const end of ["offline", "stop", "signOut"] as const) {
      const { l, posts } = link({ mode: "longpoll" });
      l.start();
      l.send(join);
      l.send({ type: "leave", room: "general" }); // waits for the first request
      if (end === "offline") l.setOffline(true);
      if (end === "stop") l.stop();
      if (end === "signOut") l.signOut();
      posts[0]!.answer(200, JSON.stringify({ frames: [] }));
      await settle();
      // Stopping says goodbye (1.20) beside them; the frame that waited is not sent.
      expect(posts.map((p) => p.frames[0]?.type), end).toEqual(end === "stop" ? ["join", "bye"] : ["join"]);
    }
  });

  it("told to use the WebSocket only, it never asks about a proxy nor falls back", async () => {
    const h = link({ mode: "websocket" });
    await failTwice(h);
    expect(h.heard.readyz).toEqual([]);
    expect(h.l.state).toBe("backoff");
  });

  it("an answer about the server that comes after the page went offline and back is not acted on", async () => {
    let answer!: (r: Response) => void;
    const h = link({ readyz: () => new Promise((r) => (answer = r)) });
    await failTwice(h);
    h.l.setOffline(true);
    h.l.setOffline(false);
    expect(h.l.state).toBe("connecting");
    answer(new Response("ok"));
    await settle();
    expect(h.l.state).toBe("connecting");
    expect(h.l.transport).toBe("websocket");
  });

  it("reads a close reason only from a restarting server", async () => {
    const { l, sockets, heard } = link();
    l.start();
    sockets[0]!.open();
    sockets[0]!.drop(1001, "going away");
    expect(heard.invalid).toEqual([]);
    await pass(998);
    expect(sockets).toHaveLength(1);
    await pass(1);
    expect(sockets).toHaveLength(2);
  });

  it("leaving long polling for good ends its background upgrade", async () => {
    const h = link();
    await failTwice(h);
    h.l.stop();
    expect(vi.getTimerCount()).toBe(0);
    await pass(UPGRADE_RETRY_MS * 2);
    expect(h.sockets).toHaveLength(2);
  });

  it.each(["stop", "offline", "signOut"] as const)("a socket that could not be created before a %s counts as no failure", async (end) => {
    let throws = true;
    const h = link({ createThrows: () => throws });
    h.l.start(); // the failure is reported a moment later…
    if (end === "stop") h.l.stop();
    if (end === "offline") h.l.setOffline(true);
    if (end === "signOut") h.l.signOut();
    await settle(); // …by when the link is elsewhere
    throws = false;
    h.l.stop();
    h.l.start();
    h.sockets[0]!.drop(1006); // one real failure
    await settle();
    expect(h.heard.readyz).toEqual([]);
    expect(h.l.state).toBe("backoff");
  });

  it("a 401 on the upstream signs out", async () => {
    const h = link({ mode: "longpoll" });
    h.l.start();
    h.l.send(join);
    h.posts[0]!.answer(401, "{}");
    await settle();
    expect(h.l.state).toBe("signed-out");
    expect(h.heard.signedOut).toBe(1);
  });

  it("frames sent upstream that got no answer are handed back", async () => {
    const h = link({ mode: "longpoll" });
    h.l.start();
    h.l.send(join);
    h.posts[0]!.answer(503, "");
    await settle();
    expect(h.heard.unanswered).toEqual([[join]]);
  });
});
