// Finding: one cookie opened 19,895 WebSockets (and 3,000 event streams) until the process ran
// out of file handles and refused everyone. WebSockets, streams and held polls now count
// together against a cap per person and per client address, answered 429
// `too_many_connections` with Retry-After, and every way a connection ends frees its slot.
import http from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { startServer, waitFor, type TestServer, type WsClient } from "../helpers/server";

// Each test starts its own server and opens dozens of connections: slow on a busy machine.
// Every wait inside is bounded on its own.
vi.setConfig({ testTimeout: 120_000 });

let s: TestServer | undefined;
const open: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await s?.stop();
  s = undefined;
});

/** An upgrade's refusal: its status, Retry-After and error code (never an open socket). */
function refusedUpgrade(url: string, cookie: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | undefined; code: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["rt.v1"], { headers: { cookie, ...headers } });
    ws.once("open", () => {
      ws.close();
      reject(new Error("the upgrade was accepted"));
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => {
        const code = (JSON.parse(body) as { error: { code: string } }).error.code;
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"], code });
      });
    });
    ws.once("error", reject);
  });
}

/** Opens an event stream and waits for its headers; `close` aborts it. */
async function openStream(s: TestServer, cookie: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const res = await fetch(`${s.url}/api/stream?streams=feed`, { headers: { cookie, ...headers }, signal: abort.signal });
  const stream = { res, close: () => abort.abort() };
  if (res.status === 200) open.push(stream);
  return stream;
}

/** Starts a poll that the server holds (nothing new in the feed); resolves with its answer. */
function startPoll(s: TestServer, cookie: string, client: string) {
  const abort = new AbortController();
  const answer = fetch(`${s.url}/api/poll?streams=feed&wait=25&client=${client}`, { headers: { cookie }, signal: abort.signal }).catch(() => null);
  const poll = { answer, close: () => abort.abort() };
  open.push(poll);
  return poll;
}

async function connectMany(s: TestServer, cookie: string, n: number, headers?: Record<string, string>): Promise<WsClient[]> {
  const sockets: WsClient[] = [];
  for (let i = 0; i < n; i++) sockets.push(await s.connect(cookie, { headers }));
  open.push(...sockets);
  return sockets;
}

describe("connections per person", () => {
  it("one cookie holds at most 20 WebSockets, streams and polls together; the 21st of each is refused 429 with Retry-After", async () => {
    s = await startServer();
    const ada = await s.signIn("Ada");
    const sockets = await connectMany(s, ada.cookie, 18);
    const stream = await openStream(s, ada.cookie);
    expect(stream.res.status).toBe(200);
    const firstPoll = startPoll(s, ada.cookie, "tab-1");
    await waitFor(() => s!.app.budget.heldBy(ada.user.id) === 20, 5_000, "20 connections held");

    const ws = await refusedUpgrade(s.wsUrl, ada.cookie);
    expect(ws).toMatchObject({ status: 429, code: "too_many_connections" });
    expect(Number(ws.retryAfter)).toBeGreaterThan(0);

    const sse = await openStream(s, ada.cookie);
    expect(sse.res.status).toBe(429);
    expect(Number(sse.res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await sse.res.json()) as { error: { code: string } }).error.code).toBe("too_many_connections");

    // A poll from a session that holds one pushes that one out (429, Retry-After) rather
    // than taking a 21st slot; the person still holds 20.
    const secondPoll = startPoll(s, ada.cookie, "tab-2");
    const pushedOut = await firstPoll.answer;
    expect(pushedOut?.status).toBe(429);
    await waitFor(() => s!.app.poll.size === 1, 5_000, "the second poll held");
    expect(s.app.budget.heldBy(ada.user.id)).toBe(20);

    // With the polls gone and a WebSocket in their slot, a poll is refused outright.
    secondPoll.close();
    await waitFor(() => s!.app.budget.heldBy(ada.user.id) === 19, 5_000, "the aborted poll's slot freed");
    sockets.push(await s.connect(ada.cookie));
    open.push(sockets.at(-1)!);
    const refusedPoll = await fetch(`${s.url}/api/poll?streams=feed&wait=25&client=tab-3`, { headers: { cookie: ada.cookie } });
    expect(refusedPoll.status).toBe(429);
    expect(((await refusedPoll.json()) as { error: { code: string } }).error.code).toBe("too_many_connections");

    const refusals = metricValue(await scrapeMetrics(s.url), "rt_connections_refused_total", { scope: "person" });
    expect(refusals).toBeGreaterThanOrEqual(3);

    // Someone else is not affected.
    const lin = await s.signIn("Lin");
    open.push(await s.connect(lin.cookie));
  });

  it("frees the slot on every way a connection ends, so the person can connect again", async () => {
    s = await startServer({ env: { MAX_CONNECTIONS_PER_PERSON: "4" } });
    const ada = await s.signIn("Ada");
    const held = () => s!.app.budget.heldBy(ada.user.id);
    for (let round = 0; round < 3; round++) {
      const sockets = await connectMany(s, ada.cookie, 2);
      const stream = await openStream(s, ada.cookie);
      const poll = startPoll(s, ada.cookie, `r${round}`);
      await waitFor(() => held() === 4, 5_000, "4 held");
      expect((await refusedUpgrade(s.wsUrl, ada.cookie)).status).toBe(429);
      // The client closes one socket, the server closes the other (1008 for bad frames), the
      // stream and the held poll are aborted.
      sockets[0]!.close();
      for (let i = 0; i < 2_000 && sockets[1]!.closeCode === null; i++) sockets[1]!.send("x".repeat(10));
      stream.close();
      poll.close();
      await waitFor(() => held() === 0, 10_000, `every slot freed (round ${round}, held ${held()})`);
    }
    // A poll answered at once and a stream refused for a bad request leave nothing held either.
    const answered = await fetch(`${s.url}/api/poll?streams=feed&wait=0`, { headers: { cookie: ada.cookie } });
    expect(answered.status).toBe(200);
    const bad = await fetch(`${s.url}/api/stream?streams=nope`, { headers: { cookie: ada.cookie } });
    expect(bad.status).toBe(400);
    await waitFor(() => held() === 0, 5_000, "nothing held after answers");
    expect(s.app.budget.heldAt("127.0.0.1")).toBe(0);
  });
});

describe("connections per address", () => {
  it("several people from one address share its cap; another address is not affected", async () => {
    s = await startServer({ env: { MAX_CONNECTIONS_PER_ADDRESS: "6", TRUSTED_PROXIES: "127.0.0.1" } });
    const people = [await s.signIn("Ada"), await s.signIn("Lin"), await s.signIn("Kai")];
    for (const p of people.slice(0, 2)) await connectMany(s, p.cookie, 3);
    expect(s.app.budget.heldAt("127.0.0.1")).toBe(6);
    const refused = await refusedUpgrade(s.wsUrl, people[2]!.cookie);
    expect(refused).toMatchObject({ status: 429, code: "too_many_connections" });
    expect((await openStream(s, people[2]!.cookie)).res.status).toBe(429);
    // Behind the trusted proxy (127.0.0.1 here) each client counts by its own address.
    const elsewhere = { "x-forwarded-for": "203.0.113.7" };
    await connectMany(s, people[2]!.cookie, 3, elsewhere);
    expect((await openStream(s, people[2]!.cookie, elsewhere)).res.status).toBe(200);
    expect(s.app.budget.heldAt("203.0.113.7")).toBe(4);
    expect(metricValue(await scrapeMetrics(s.url), "rt_connections_refused_total", { scope: "address" })).toBeGreaterThanOrEqual(2);
  });

  it("an X-Forwarded-For from a peer that is not a trusted proxy does not dodge the cap", async () => {
    s = await startServer({ env: { MAX_CONNECTIONS_PER_ADDRESS: "3" } });
    const ada = await s.signIn("Ada");
    for (let i = 0; i < 3; i++) await connectMany(s, ada.cookie, 1, { "x-forwarded-for": `198.51.100.${i}` });
    expect((await refusedUpgrade(s.wsUrl, ada.cookie, { "x-forwarded-for": "198.51.100.99" })).status).toBe(429);
  });
});

describe("a session polling past its bound in a loop", () => {
  it("pushes out its oldest poll a few times, then has each new poll refused at once while the held ones stay", async () => {
    s = await startServer({ tuning: { pollMaxHeldPerSession: 2 } });
    const ada = await s.signIn("Ada");
    const aborts: AbortController[] = [];
    // Each poll on a connection of its own, as from new pages: a refusal to a connection that
    // asks again before its Retry-After is held until then (refusal-pacing.test.ts).
    const poll = (client: string) => {
      const abort = new AbortController();
      aborts.push(abort);
      return new Promise<{ status: number; code: string | undefined }>((resolve) => {
        const req = http.get(
          `${s!.url}/api/poll?streams=feed&cursor=feed=0&wait=25&client=${client}`,
          { headers: { cookie: ada.cookie }, agent: false, signal: abort.signal },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => (text += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { error?: { code: string } }).error?.code }));
          },
        );
        req.on("error", () => resolve({ status: 0, code: "aborted" }));
      });
    };
    open.push({ close: () => aborts.forEach((a) => a.abort()) });
    // Two held polls: the session's bound.
    const held = [poll("t-1"), poll("t-2")];
    await waitFor(() => s!.app.poll.size === 2, 5000, "two polls held");
    // Twelve more from new pages in a tight loop: the first few each push out the oldest held
    // poll (answered 429); the rest are refused themselves, with Retry-After, holding nothing.
    const answers: Array<{ status: number; code: string | undefined }> = [];
    for (let i = 0; i < 12; i++) {
      const p = poll(`t-new-${i}`);
      const quick = await Promise.race([p, new Promise<null>((r) => setTimeout(() => r(null), 300))]);
      if (quick) answers.push(quick);
    }
    const refusedAtOnce = answers.filter((a) => a.status === 429 && a.code === "rate_limited").length;
    expect(refusedAtOnce).toBeGreaterThanOrEqual(6);
    // Still two held: the bound holds, and the refused ones took no slot.
    expect(s!.app.poll.size).toBe(2);
    void held;
  });
});
