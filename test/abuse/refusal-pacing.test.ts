// Floods of refused requests: an attacker told 429 with Retry-After asked again at once, on the
// same connection, thousands of times a second (bench:abuse's held-poll and sign-up floods: the
// bystander's ack p99 at 15–27× its quiet figure while the server parsed and refused them).
// A connection that comes back before its Retry-After is answered at once, then left unread
// until that time (protocol 1.5).
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heldConnections } from "../../server/http/refusal-pacing";
import { ManualClock } from "../../server/state/clock";
import { startServer, type TestServer } from "../helpers/server";

let s: TestServer;
// Time stands still for the limits: once the burst is spent, every sign-up from this address is
// refused with the same Retry-After (1 s, one sign-up a second).
const clock = new ManualClock();

beforeAll(async () => {
  s = await startServer({ clock });
  const burst = await Promise.all(Array.from({ length: 60 }, (_, i) => signUp(`burst ${i}`, false)));
  expect(burst.map((a) => a.status)).toEqual(burst.map(() => 200));
});
afterAll(() => s.stop());

interface Answer {
  status: number;
  retryAfter: number;
  body: string;
  /** performance.now() when the answer arrived. */
  at: number;
}

/** `POST /api/session` on `agent`'s connection (false: a fresh one). */
function signUp(name: string, agent: http.Agent | false): Promise<Answer> {
  const body = JSON.stringify({ name });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${s.url}/api/session`,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers["retry-after"]), body: text, at: performance.now() }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const heldNow = async () => Number(/^rt_http_refusals_held (\d+)$/m.exec(await (await s.api("/metrics")).text())?.[1]);

describe("refusals paced by their Retry-After", () => {
  it("answers a connection that asks again before its Retry-After at once, then reads nothing more of it until that time; another connection is read at once", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await signUp("too many", agent);
      expect(first.status).toBe(429);
      expect(first.retryAfter).toBe(1);
      expect(await heldNow()).toBe(0);

      // Again at once, on the same connection: refused at once, and the connection left unread.
      const again = await signUp("too many again", agent);
      expect(again.status).toBe(429);
      expect(JSON.parse(again.body)).toMatchObject({ error: { code: "rate_limited" } });
      expect(await heldNow()).toBe(1);
      // What it sends next waits; someone else from the address, on a connection of their own, hears at once.
      const third = signUp("and again", agent);
      const other = await signUp("someone else", false);
      expect(other.status).toBe(429);
      const late = await third;
      expect(late.status).toBe(429);
      expect(other.at).toBeLessThan(late.at);
      // Read again about the second it was told to wait (less however late the answer was read
      // here: client and server share this process's thread).
      expect(late.at - again.at).toBeGreaterThanOrEqual((again.retryAfter * 1000) / 2);
      expect(await heldNow()).toBe(0);
    } finally {
      agent.destroy();
    }
  });

  it("turns a client that ignores Retry-After into one request per Retry-After on its connection", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // A flood's loop: ask, hear 429, ask again at once, for 1.5 s.
      const answers: Answer[] = [];
      const until = performance.now() + 1_500;
      while (performance.now() < until) answers.push(await signUp("flood", agent));
      expect(answers.every((a) => a.status === 429)).toBe(true);
      // Unpaced, this loop is refused hundreds of times. Paced, twice a Retry-After: once on time,
      // and once more at once before its connection is left unread until the next.
      expect(answers.length).toBeLessThanOrEqual(5);
    } finally {
      agent.destroy();
    }
  });

  it("lets go of a connection left unread whose client hung up, once it reads again, and a draining server reads the rest at once", async () => {
    const quitter = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const stayer = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // The test before left its flood's last connection unread: it goes at its Retry-After.
      await expect.poll(heldNow, { timeout: 5_000 }).toBe(0);
      // The first refusal of the connection (its Retry-After told), then one too soon.
      expect((await signUp("quitter", quitter)).status).toBe(429);
      expect((await signUp("quitter again", quitter)).status).toBe(429);
      expect(await heldNow()).toBe(1);
      // A connection left unread does not see its client hang up until it is read again, a
      // Retry-After (here 1 s) or so later: then it is let go.
      quitter.destroy();
      await expect.poll(heldNow, { timeout: 5_000 }).toBe(0);

      expect((await signUp("stayer", stayer)).status).toBe(429);
      expect((await signUp("stayer again", stayer)).status).toBe(429);
      expect(await heldNow()).toBe(1);
      // It asks once more and waits unread; the drain reads it at once, and answers it as a
      // draining server answers anything new.
      const stays = signUp("stayer once more", stayer);
      await new Promise((r) => setTimeout(r, 50));
      const stopping = s.app.shutdown();
      expect(heldConnections()).toBe(0);
      const answer = await stays;
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "unavailable" } });
      await stopping;
    } finally {
      quitter.destroy();
      stayer.destroy();
    }
  });
});
