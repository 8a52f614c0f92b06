// Long polling's upstream on its own, over a scripted fetch: frames batched one request at a
// time in the order sent, each answer matched to its frame, and every way a request can end —
// signed out, a body that is no answer, a whole batch refused, no answer at all.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ClientFrame, ServerFrame } from "../../lib/protocol";
import type { InvalidPayload } from "../../lib/realtime/decode";
import { HTTP_TIMEOUT_MS, POLL_FRAMES_MAX, PollUpstream } from "../../lib/realtime/poll-upstream";
import { settle } from "../helpers/fake-time";

interface Call {
  url: string;
  init: RequestInit;
  body: { frames: ClientFrame[]; conn: string };
  answer(status: number, text: string): void;
  fail(): void;
}

function upstream(conn = "page 1") {
  const calls: Call[] = [];
  const fetchImpl = ((url: string, init: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
      calls.push({
        url,
        init,
        body: JSON.parse(init.body as string) as Call["body"],
        answer: (status, text) => resolve(new Response(text, { status })),
        fail: () => reject(new TypeError("fetch failed")),
      });
    })) as unknown as typeof fetch;
  const heard = {
    frames: [] as ServerFrame[][],
    unanswered: [] as ClientFrame[][],
    signedOut: 0,
    invalid: [] as Array<{ invalid: InvalidPayload; bytes: number; type: string }>,
    sent: [] as Array<[string, number]>,
  };
  const up = new PollUpstream("http://app.test", fetchImpl, conn, {
    onFrames: (f) => heard.frames.push(f),
    onUnanswered: (f) => heard.unanswered.push(f),
    onSignedOut: () => heard.signedOut++,
    onInvalid: (invalid, bytes, type) => heard.invalid.push({ invalid, bytes, type }),
    onSend: (type, bytes) => heard.sent.push([type, bytes]),
  });
  return { up, calls, heard };
}

const send = (n: number): ClientFrame => ({ type: "send", room: "general", text: `m${n}`, clientId: `c${n}` });
const join: ClientFrame = { type: "join", room: "general" };

afterEach(() => vi.useRealTimers());

describe("long polling's upstream", () => {
  it("POSTs frames as JSON to /api/poll/frames?conn=… and hands the answers on in order; counts each frame sent", async () => {
    const { up, calls, heard } = upstream("page 1/é");
    expect(up.send(join)).toBe(true);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe("http://app.test/api/poll/frames?conn=page%201%2F%C3%A9");
    expect(call.init).toMatchObject({ method: "POST", headers: { "Content-Type": "application/json" }, credentials: "same-origin" });
    expect(call.body).toEqual({ frames: [join], conn: "page 1/é" });
    expect(heard.sent).toEqual([["join", JSON.stringify(join).length]]);
    const answer: ServerFrame[] = [{ type: "joined", room: "general", head: 3, members: [] } as unknown as ServerFrame];
    call.answer(200, JSON.stringify({ frames: answer }));
    await vi.waitFor(() => expect(heard.frames).toHaveLength(1));
    expect(heard.frames[0]).toEqual(answer);
    expect(heard.unanswered).toEqual([]);
  });

  it("sends one request at a time: frames sent meanwhile go together in the next, at most 50 to a request", async () => {
    const { up, calls } = upstream();
    up.send(join);
    const many = Array.from({ length: POLL_FRAMES_MAX + 3 }, (_, i) => send(i));
    for (const f of many) up.send(f);
    expect(calls).toHaveLength(1);
    calls[0]!.answer(200, JSON.stringify({ frames: [] }));
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1]!.body.frames).toEqual(many.slice(0, POLL_FRAMES_MAX));
    calls[1]!.answer(200, JSON.stringify({ frames: [] }));
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    expect(calls[2]!.body.frames).toEqual(many.slice(POLL_FRAMES_MAX));
    calls[2]!.answer(200, JSON.stringify({ frames: [] }));
    await settle();
    // Idle again: the next frame goes at once.
    up.send(send(99));
    expect(calls).toHaveLength(4);
  });

  it("a 401 says the session is gone, and nothing else", async () => {
    const { up, calls, heard } = upstream();
    up.send(send(1));
    calls[0]!.answer(401, JSON.stringify({ error: { code: "unauthorized", message: "Sign in" } }));
    await vi.waitFor(() => expect(heard.signedOut).toBe(1));
    expect(heard.frames).toEqual([]);
    expect(heard.unanswered).toEqual([]);
  });

  it("an answer that is not one is reported, and its frames count as unanswered", async () => {
    const { up, calls, heard } = upstream();
    up.send(send(1));
    calls[0]!.answer(200, '{"frames":"nope"}');
    await vi.waitFor(() => expect(heard.unanswered).toEqual([[send(1)]]));
    expect(heard.invalid).toHaveLength(1);
    expect(heard.invalid[0]).toMatchObject({ bytes: '{"frames":"nope"}'.length, type: "frames" });
    expect(heard.frames).toEqual([]);
  });

  it("a batch refused whole (4xx) answers each of its frames with that error, by clientId and room", async () => {
    const { up, calls, heard } = upstream();
    up.send(send(1));
    up.send(join);
    calls[0]!.answer(200, JSON.stringify({ frames: [] }));
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    calls[1]!.answer(413, JSON.stringify({ error: { code: "payload_too_large", message: "Too big" } }));
    await vi.waitFor(() => expect(heard.frames).toHaveLength(2));
    expect(heard.frames[1]).toEqual([{ type: "error", code: "payload_too_large", message: "Too big", room: "general" }]);
    expect(heard.unanswered).toEqual([]);

    // A proxy's own page instead of an error body: the status says it.
    up.send(send(2));
    calls[2]!.answer(400, "<html>Bad Request</html>");
    await vi.waitFor(() => expect(heard.frames).toHaveLength(3));
    expect(heard.frames[2]).toEqual([{ type: "error", code: "bad_request", message: "HTTP 400", clientId: "c2", room: "general" }]);
  });

  it("a 429, a 5xx or no answer at all leaves the frames unanswered, to go again", async () => {
    const { up, calls, heard } = upstream();
    up.send(send(1));
    calls[0]!.answer(429, JSON.stringify({ error: { code: "rate_limited", message: "Slow down" } }));
    await vi.waitFor(() => expect(heard.unanswered).toHaveLength(1));
    up.send(send(2));
    calls[1]!.answer(500, "");
    await vi.waitFor(() => expect(heard.unanswered).toHaveLength(2));
    up.send(send(3));
    calls[2]!.fail();
    await vi.waitFor(() => expect(heard.unanswered).toHaveLength(3));
    // Not an answer to frames either: a redirect or an empty success.
    up.send(send(4));
    calls[3]!.answer(302, "");
    await vi.waitFor(() => expect(heard.unanswered).toHaveLength(4));
    expect(heard.unanswered).toEqual([[send(1)], [send(2)], [send(3)], [send(4)]]);
    expect(heard.frames).toEqual([]);
  });

  it(`gives a request up after ${HTTP_TIMEOUT_MS / 1000} s without an answer, and cuts those on their way when asked (a laptop woke)`, async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { up, calls, heard } = upstream();
    up.send(send(1));
    vi.advanceTimersByTime(HTTP_TIMEOUT_MS - 1);
    await settle();
    expect(heard.unanswered).toEqual([]);
    vi.advanceTimersByTime(1);
    await settle();
    expect(heard.unanswered).toEqual([[send(1)]]);

    up.send(send(2));
    await settle();
    expect(calls).toHaveLength(2);
    up.abortAll();
    await settle();
    expect(heard.unanswered).toEqual([[send(1)], [send(2)]]);
    // Requests that ended hold no timer.
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(HTTP_TIMEOUT_MS * 2);
    await settle();
    expect(heard.unanswered).toHaveLength(2);
  });

  it("forgets frames not yet sent when the link stops", async () => {
    const { up, calls, heard } = upstream();
    up.send(send(1));
    up.send(send(2));
    up.clear();
    calls[0]!.answer(200, JSON.stringify({ frames: [] }));
    await settle();
    await settle();
    expect(calls).toHaveLength(1);
    expect(heard.frames).toEqual([[]]);
  });
});
