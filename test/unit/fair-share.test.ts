// The event loop's time shared between addresses: a turn's first requests run at once, a
// burst past them waits and runs a slice per turn, other addresses go ahead of the rest of
// the burst, and nothing waits on a server that is not flooded.
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { FairShare } from "../../server/http/fair-share";

/** A request from `address`, its socket open unless said otherwise. */
function request(address: string, destroyed = false): IncomingMessage {
  return { socket: { remoteAddress: address, destroyed } } as unknown as IncomingMessage;
}

/** One turn of the loop: what is waiting for the check phase runs. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function world(slice = 3) {
  const waiting: number[] = [];
  const share = new FairShare({ addressOf: (req) => req.socket.remoteAddress!, slice, waiting: { set: (n) => void waiting.push(n) } });
  const ran: string[] = [];
  const admit = (address: string, name: string, destroyed = false) => share.admit(request(address, destroyed), () => void ran.push(name));
  return { share, ran, admit, waiting };
}

describe("FairShare", () => {
  it("runs a turn's first requests at once and queues the rest of a burst for later turns", async () => {
    const { share, ran, admit, waiting } = world(3);
    for (let i = 1; i <= 8; i++) admit("10.0.0.1", `a${i}`);
    expect(ran).toEqual(["a1", "a2", "a3"]);
    expect(share.size).toBe(5);
    await nextTurn();
    expect(ran).toEqual(["a1", "a2", "a3", "a4", "a5", "a6"]);
    await nextTurn();
    expect(ran).toHaveLength(8);
    expect(share.size).toBe(0);
    // The gauge followed: up to 5 waiting, then 2, then none.
    expect(waiting).toEqual([1, 2, 3, 4, 5, 2, 0]);
  });

  it("lets another address's request go ahead of the rest of a burst", async () => {
    const { ran, admit } = world(3);
    for (let i = 1; i <= 9; i++) admit("10.0.0.1", `a${i}`);
    admit("10.0.0.2", "b1");
    admit("10.0.0.2", "b2");
    await nextTurn();
    // One from each address in turn: the flood's fourth, the other's first, the flood's fifth.
    expect(ran.slice(3)).toEqual(["a4", "b1", "a5"]);
    await nextTurn();
    expect(ran.slice(6)).toEqual(["b2", "a6", "a7"]);
    await nextTurn();
    expect(ran.slice(9)).toEqual(["a8", "a9"]);
  });

  it("gives each new turn of the loop a new share once nothing waits", async () => {
    const { share, ran, admit } = world(3);
    for (let i = 1; i <= 4; i++) admit("10.0.0.1", `a${i}`);
    await nextTurn();
    await nextTurn();
    // A quiet loop: the next requests run at once again, whoever sends them.
    admit("10.0.0.1", "a5");
    admit("10.0.0.3", "c1");
    expect(ran).toEqual(["a1", "a2", "a3", "a4", "a5", "c1"]);
    expect(share.size).toBe(0);
  });

  it("drops a waiting request whose client went away, and lets it take no one's place", async () => {
    const { ran, admit } = world(1);
    admit("10.0.0.1", "a1");
    admit("10.0.0.1", "gone", true);
    admit("10.0.0.1", "a2");
    await nextTurn();
    expect(ran).toEqual(["a1", "a2"]);
  });

  it("keeps serving what waits after a request's handler throws", async () => {
    const share = new FairShare({ addressOf: (req) => req.socket.remoteAddress!, slice: 1 });
    const ran: string[] = [];
    const thrown: unknown[] = [];
    const onError = (err: unknown) => void thrown.push(err);
    process.on("uncaughtException", onError);
    try {
      share.admit(request("10.0.0.1"), () => void ran.push("a1"));
      share.admit(request("10.0.0.1"), () => {
        throw new Error("handler failed");
      });
      share.admit(request("10.0.0.1"), () => void ran.push("a3"));
      await nextTurn();
      await nextTurn();
      await nextTurn();
    } finally {
      process.off("uncaughtException", onError);
    }
    expect(thrown).toHaveLength(1);
    expect(ran).toEqual(["a1", "a3"]);
  });
});
