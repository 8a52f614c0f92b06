// The long-poll channel on its own, over a scripted fetch on fake time: what each poll asks for
// (answered at once or held, the rooms' state sent back), and how it carries on after an answer,
// a refusal (with the server's Retry-After as a floor), a body that is no answer, silence, or a
// stop.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { PollAnswer } from "../../lib/protocol";
import { PollChannel, type PollFailure } from "../../lib/realtime/poll-channel";
import { pass, settle } from "../helpers/fake-time";

const WAIT_S = 25;

interface Poll {
  params: URLSearchParams;
  init: RequestInit;
  answer(status: number, body: string, headers?: Record<string, string>): void;
  fail(): void;
  aborted: boolean;
}

function channel(o: { streams?: string[]; cursor?: string; delay?: number; onAnswer?: (ch: PollChannel) => void } = {}) {
  const polls: Poll[] = [];
  const fetchImpl = ((url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const poll: Poll = {
        params: new URL(url).searchParams,
        init,
        answer: (status, body, headers) => resolve(new Response(body, { status, headers })),
        fail: () => reject(new TypeError("fetch failed")),
        aborted: false,
      };
      init.signal?.addEventListener("abort", () => {
        poll.aborted = true;
        reject(new DOMException("aborted", "AbortError"));
      });
      polls.push(poll);
    })) as unknown as typeof fetch;
  const state = { streams: o.streams ?? ["room:general"], cursor: o.cursor ?? "room:general=4" };
  const heard = { answers: [] as Array<[PollAnswer, number, number]>, errors: [] as PollFailure[], successes: 0 };
  const ch = new PollChannel("http://app.test", fetchImpl, WAIT_S, "tab-1", {
    streams: () => state.streams,
    cursor: () => state.cursor,
    onAnswer: (a, bytes, rtt) => {
      heard.answers.push([a, bytes, rtt]);
      o.onAnswer?.(ch);
    },
    onError: (e) => heard.errors.push(e),
    nextDelay: () => o.delay ?? 500,
    onSuccess: () => heard.successes++,
  });
  return { ch, polls, heard, state };
}

const answer = (cursor: string, extra: Partial<PollAnswer> = {}) => JSON.stringify({ events: [], cursor, ...extra });

beforeEach(() => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] }));
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("the long-poll channel", () => {
  it("asks at once first (the channel is up), then holds; sends the rooms' state back once it has one", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    expect(ch.isRunning).toBe(true);
    const first = polls[0]!;
    expect(Object.fromEntries(first.params)).toEqual({ streams: "room:general", cursor: "room:general=4", wait: "0", client: "tab-1", conn: "tab-1" });
    expect(first.init).toMatchObject({ cache: "no-store", credentials: "same-origin" });
    vi.advanceTimersByTime(40);
    const body = answer("room:general=4", { state: "s1" });
    first.answer(200, body);
    await settle();
    expect(heard.successes).toBe(1);
    expect(heard.answers).toEqual([[{ events: [], cursor: "room:general=4", state: "s1" }, body.length, 40]]);
    expect(Object.fromEntries(polls[1]!.params)).toMatchObject({ wait: String(WAIT_S), state: "s1" });
    // An answer without a state: none sent back.
    polls[1]!.answer(200, answer("room:general=4"));
    await settle();
    expect(polls[2]!.params.has("state")).toBe(false);
    ch.stop();
  });

  it("asks at once for a stream it has no position in yet", async () => {
    const { ch, polls, state } = channel({ streams: ["room:general", "feed"], cursor: "room:general=4" });
    ch.start();
    expect(polls[0]!.params.get("streams")).toBe("room:general,feed");
    polls[0]!.answer(200, answer("room:general=4,feed=9"));
    await settle();
    expect(polls[1]!.params.get("wait")).toBe("0");
    state.cursor = "room:general=4,feed=9";
    polls[1]!.answer(200, answer("room:general=4,feed=9"));
    await settle();
    expect(polls[2]!.params.get("wait")).toBe(String(WAIT_S));
    ch.stop();
  });

  it("idles with no streams to poll, and a start while running sends nothing more", () => {
    const idle = channel({ streams: [] });
    idle.ch.start();
    expect(idle.ch.isRunning).toBe(false);
    expect(idle.polls).toHaveLength(0);
    const { ch, polls } = channel();
    ch.start();
    ch.start();
    expect(polls).toHaveLength(1);
    ch.stop();
  });

  it("a refusal is reported with its code, and polled again after the backoff or the server's Retry-After, whichever is longer", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0);
    const { ch, polls, heard } = channel({ delay: 500 });
    ch.start();
    polls[0]!.answer(503, JSON.stringify({ error: { code: "overloaded", message: "Busy" } }), { "Retry-After": "2" });
    await settle();
    expect(heard.errors).toEqual([{ status: 503, code: "overloaded", message: "HTTP 503", invalid: undefined }]);
    expect(ch.isRunning).toBe(true);
    await pass(1_999);
    expect(polls).toHaveLength(1);
    await pass(1);
    expect(polls).toHaveLength(2);
    // No Retry-After (or one that is no number of seconds): the backoff alone.
    polls[1]!.answer(502, "<html>Bad gateway</html>", { "Retry-After": "soon" });
    await settle();
    expect(heard.errors[1]).toEqual({ status: 502, code: undefined, message: "HTTP 502", invalid: undefined });
    await pass(499);
    expect(polls).toHaveLength(2);
    await pass(1);
    expect(polls).toHaveLength(3);
    ch.stop();
  });

  it("spreads those the server turned away over half as long again as its Retry-After, and waits a minute at most", async () => {
    vi.spyOn(Math, "random").mockReturnValue(0.999);
    const { ch, polls } = channel({ delay: 0 });
    ch.start();
    polls[0]!.answer(429, "{}", { "Retry-After": "2" });
    await settle();
    await pass(2_998); // 2 s × (1 + 0.999 / 2)
    expect(polls).toHaveLength(1);
    await pass(1);
    expect(polls).toHaveLength(2);
    polls[1]!.answer(429, "{}", { "Retry-After": "3600" });
    await settle();
    await pass(89_000); // a minute × 1.4995
    expect(polls).toHaveLength(2);
    await pass(1_000);
    expect(polls).toHaveLength(3);
    ch.stop();
  });

  it("a 401 stops it: the session is gone", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    polls[0]!.answer(401, JSON.stringify({ error: { code: "unauthorized", message: "Sign in" } }));
    await settle();
    expect(heard.errors[0]).toMatchObject({ status: 401, code: "unauthorized" });
    expect(ch.isRunning).toBe(false);
    await pass(60_000);
    expect(polls).toHaveLength(1);
  });

  it("a 200 that is no poll answer takes nothing, and the same position is asked again after the backoff", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    polls[0]!.answer(200, '{"events":"nope"}');
    await settle();
    expect(heard.answers).toEqual([]);
    expect(heard.successes).toBe(0);
    expect(heard.errors[0]).toMatchObject({ status: 200, code: "invalid_frame", invalid: { bytes: '{"events":"nope"}'.length } });
    expect(heard.errors[0]!.message).toMatch(/^Invalid poll answer \(/);
    await pass(500);
    expect(polls[1]!.params.get("cursor")).toBe("room:general=4");
    ch.stop();
  });

  it("an answer holding an event of a type it does not know takes the rest and moves on; a known event that is malformed is still refused", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    const known = { stream: "room:general", seq: 6, type: "message", actor: { id: "u_ada", name: "Ada" }, at: new Date(0).toISOString(), data: { text: "hi", clientId: "c1" } };
    const future = { ...known, seq: 5, type: "room.renamed", data: { name: "lounge" } };
    polls[0]!.answer(200, JSON.stringify({ events: [future, known], cursor: "room:general=6" }));
    await settle();
    expect(heard.errors).toEqual([]);
    expect(heard.answers.map(([a]) => a)).toEqual([{ events: [known], cursor: "room:general=6" }]);

    polls[1]!.answer(200, JSON.stringify({ events: [{ ...known, seq: 7, data: { text: 7 } }], cursor: "room:general=7" }));
    await settle();
    expect(heard.errors[0]).toMatchObject({ status: 200, code: "invalid_frame" });
    expect(heard.answers).toHaveLength(1);
    ch.stop();
  });

  it(`gives up a poll with no answer ${WAIT_S + 10} s after it was sent (a proxy that holds it), and polls again`, async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    polls[0]!.answer(200, answer("room:general=4"));
    await settle();
    await pass((WAIT_S + 10) * 1000 - 1);
    expect(polls[1]!.aborted).toBe(false);
    await pass(1);
    expect(polls[1]!.aborted).toBe(true);
    expect(heard.errors).toHaveLength(1);
    await pass(500);
    expect(polls).toHaveLength(3);
    ch.stop();
  });

  it("a failed request is reported and retried", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    polls[0]!.fail();
    await settle();
    expect(heard.errors[0]).toMatchObject({ message: "fetch failed" });
    await pass(500);
    expect(polls).toHaveLength(2);
    ch.stop();
  });

  it("stopped, it cuts its poll, hears nothing of it and polls no more; restarted, it asks at once with the rooms' state dropped", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    polls[0]!.answer(200, answer("room:general=4", { state: "s1" }));
    await settle();
    ch.stop();
    expect(polls[1]!.aborted).toBe(true);
    expect(ch.isRunning).toBe(false);
    await pass(120_000);
    expect(polls).toHaveLength(2);
    expect(heard.errors).toEqual([]);

    ch.restart(); // not running: a start
    expect(polls).toHaveLength(3);
    expect(polls[2]!.params.get("wait")).toBe("0");
    expect(polls[2]!.params.has("state")).toBe(false);
    ch.restart(); // running: the held one goes, a new one at once
    expect(polls[2]!.aborted).toBe(true);
    expect(polls).toHaveLength(4);
    expect(polls[3]!.params.get("wait")).toBe("0");
    await settle();
    expect(heard.errors).toEqual([]); // the cut poll is not reported
    ch.stop();
  });

  it("stopped while waiting to retry, it does not retry", async () => {
    const { ch, polls } = channel();
    ch.start();
    polls[0]!.fail();
    await settle();
    ch.stop();
    expect(vi.getTimerCount()).toBe(0);
    await pass(60_000);
    expect(polls).toHaveLength(1);
  });

  it("stopping before it ever started is nothing to do", () => {
    const { ch, polls } = channel();
    ch.stop();
    expect(polls).toHaveLength(0);
  });

  it("an answer that arrives as it is stopped is not taken", async () => {
    const { ch, polls, heard } = channel();
    ch.start();
    polls[0]!.answer(200, answer("room:general=4"));
    ch.stop();
    await settle();
    expect(heard.answers).toEqual([]);
    expect(polls).toHaveLength(1);
  });

  it("polls on after an answer only if the answer left it running, and once", async () => {
    const stopping = channel({ onAnswer: (c) => c.stop() });
    stopping.ch.start();
    stopping.polls[0]!.answer(200, answer("room:general=4"));
    await settle();
    expect(stopping.polls).toHaveLength(1);

    let restarted = false;
    const restarting = channel({
      onAnswer: (c) => {
        if (restarted) return;
        restarted = true;
        c.restart(); // the streams changed while the answer was being taken
      },
    });
    restarting.ch.start();
    restarting.polls[0]!.answer(200, answer("room:general=4"));
    await settle();
    expect(restarting.polls).toHaveLength(2);
    restarting.ch.stop();
  });
});
