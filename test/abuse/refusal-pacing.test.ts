// Floods of refused requests: an attacker told 429 with Retry-After asked again at once, on the
// same connection, thousands of times a second (bench:abuse's held-poll and sign-up floods: the
// bystander's ack p99 at 15–27× its quiet figure while the server parsed and refused them).
// A refusal to a connection that comes back before its Retry-After is now answered at that time.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heldRefusals } from "../../server/http/refusal-pacing";
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
  it("answers a connection that asks again before its Retry-After at that time, while a fresh connection is refused at once", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await signUp("too many", agent);
      expect(first.status).toBe(429);
      expect(first.retryAfter).toBe(1);

      // Again at once, on the same connection: held.
      const again = signUp("too many again", agent);
      await expect.poll(heldNow).toBe(1);
      // Someone else from the address, on a connection of their own, hears at once.
      const other = await signUp("someone else", false);
      expect(other.status).toBe(429);
      const held = await again;
      expect(held.status).toBe(429);
      expect(JSON.parse(held.body)).toMatchObject({ error: { code: "rate_limited" } });
      expect(other.at).toBeLessThan(held.at);
      // Held for about the second it was told to wait (less however late the first answer was
      // read here: client and server share this process's thread).
      expect(held.at - first.at).toBeGreaterThanOrEqual((first.retryAfter * 1000) / 2);
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
      // Unpaced, this loop is refused hundreds of times; paced, once now and once a second after.
      expect(answers.length).toBeLessThanOrEqual(3);
    } finally {
      agent.destroy();
    }
  });

  it("gives up a held refusal whose client hangs up, and a draining server answers the rest at once", async () => {
    const quitter = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const stayer = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // The first refusal of the connection (its Retry-After told), then one held on each.
      expect((await signUp("quitter", quitter)).status).toBe(429);
      expect((await signUp("stayer", stayer)).status).toBe(429);
      void signUp("quitter again", quitter).catch(() => {});
      const stays = signUp("stayer again", stayer);
      await expect.poll(heldNow).toBe(2);
      quitter.destroy();
      await expect.poll(heldNow).toBe(1);

      // The drain answers what it holds at once, not a second later.
      const stopping = s.app.shutdown();
      expect(heldRefusals()).toBe(0);
      expect((await stays).status).toBe(429);
      await stopping;
    } finally {
      quitter.destroy();
      stayer.destroy();
    }
  });
});
