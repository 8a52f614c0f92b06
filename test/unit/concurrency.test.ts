// Background work a few at a time: a burst waits its turn outside the database's queue.
import { describe, expect, it } from "vitest";
import { Concurrency } from "../../server/concurrency";

describe("Concurrency", () => {
  it("runs at most `limit` tasks at once, the rest in the order they came, and passes results and errors through", async () => {
    const c = new Concurrency(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const tasks = Array.from({ length: 5 }, (_, i) =>
      c.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        if (i === 3) throw new Error("task 3 failed");
        return i * 10;
      }),
    );
    const settled = Promise.allSettled(tasks);
    for (let round = 0; round < 5; round++) {
      await new Promise((r) => setImmediate(r));
      expect(c.queued).toBe(Math.max(0, 5 - 2 - round));
      releases.shift()!();
    }
    const results = await settled;
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([0, 10, 20, "task 3 failed", 40]);
  });
});
