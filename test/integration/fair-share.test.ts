// The event loop shared between addresses, over real sockets on 127.0.0.1: a burst of requests
// from one address, read by the server in one turn of its loop, does not keep another
// address's request waiting behind all of it.
import { fork } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, waitFor, type TestServer } from "../helpers/server";

const CLIENT = path.resolve(__dirname, "../helpers/burst-client.ts");

describe("a burst from one address", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("lets another address's request be answered ahead of most of the burst", async () => {
    const flood = 300;
    // Every connection accepted before the burst is sent: its requests then land together.
    let accepted = 0;
    const onConnection = () => void accepted++;
    s.app.server.on("connection", onConnection);
    const child = fork(CLIENT, [JSON.stringify({ port: Number(new URL(s.url).port), flood, path: "/healthz" })], { execArgv: ["--import", "tsx"] });
    const result = new Promise<{ otherAt: number; answered: number; error?: string }>((resolve, reject) => {
      child.on("message", (m) => {
        if (m === "ready") {
          void waitFor(() => accepted >= flood + 1, 10_000, "every connection to be accepted").then(() => {
            child.send("go");
            // The server runs in this process: held busy while the burst lands, it then reads
            // every request of it in one turn, as a server busy with earlier work would.
            const until = performance.now() + 300;
            while (performance.now() < until);
          }, reject);
        } else resolve(m as { otherAt: number; answered: number });
      });
      child.once("exit", (code) => reject(new Error(`the burst client exited with ${code}`)));
    });
    const { otherAt, answered, error } = await result.finally(() => s.app.server.off("connection", onConnection));
    expect(error).toBeUndefined();
    expect(answered).toBe(flood + 1);
    // Read last, it would be answered last; sharing, it goes with the first turn after a slice.
    expect(otherAt).toBeLessThan(flood / 3);
  });
});
