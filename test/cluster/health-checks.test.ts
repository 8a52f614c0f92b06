// Two instances behind nginx (deploy/nginx.conf), restarted one after the other the way a deploy
// does it. nginx takes an instance that failed out for a while, then tries it with one request
// and counts it live once that request ends well. Were event streams, WebSockets and long polls
// in the same upstream as everything else, an instance back from a restart whose trial request
// was an event stream would stay counted as failed while the stream is open, and when the other
// instance went down next nginx would have none to send to. Needs Postgres, redis-server, nginx.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster";
import { waitFor } from "../helpers/server";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("nginx's health checks through a rolling restart", () => {
  let cluster: Cluster;
  const streams: http.ClientRequest[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ instances: 2 });
  });
  afterAll(async () => {
    for (const s of streams) s.destroy();
    await cluster?.stop();
  });

  /** Opens the feed's event stream through nginx and leaves it open. */
  const openStream = (cookie: string) => {
    const req = http.get(`${cluster.url}/api/stream?streams=feed`, { headers: { cookie } });
    req.on("response", (res) => res.resume());
    req.on("error", () => {});
    streams.push(req);
  };
  const noLiveUpstream = async () =>
    (await cluster.nginx.errorLog()).split("\n").filter((l) => l.includes("no live upstreams"));

  it("sends to an instance back from a restart although its first requests were event streams, so the next restart finds it live", async () => {
    const first = cluster.instances[0]!;
    const second = cluster.instances[1]!;
    const { cookie } = await cluster.signIn("Streamer");
    const listRooms = async () => (await cluster.api("/api/rooms", { cookie })).status;

    // The first instance goes away, and nginx counts it failed: the requests it tries there are
    // refused (and answered by the other instance).
    await first.stop("SIGKILL");
    await waitFor(
      async () => {
        expect(await listRooms()).toBe(200);
        await pause(20);
        return (await cluster.nginx.errorLog()).includes("temporarily disabled");
      },
      10_000,
      "nginx counting the stopped instance as failed",
    );
    await first.start();

    // Back, and event streams open through nginx all along: once nginx's 2 s out are over, the
    // request it tries the first instance with is one of them.
    const opening = setInterval(() => openStream(cookie), 150);
    try {
      await pause(2_500);
      // The second instance drains (503 to anything new) and exits: the first is all there is.
      const drained = second.stop("SIGTERM");
      const answers: number[] = [];
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        // A stream first, so that a trial due now would be one, then a plain request.
        openStream(cookie);
        answers.push(await listRooms());
        await pause(100);
      }
      expect(await drained).toBe(0);
      expect(answers.filter((s) => s !== 200), `answers while the second instance went: ${answers.join(" ")}`).toEqual([]);
    } finally {
      clearInterval(opening);
    }
    expect(await noLiveUpstream()).toEqual([]);
    await second.start();
  });
});
