// The event loop's time, shared fairly between the clients sending HTTP requests.
//
// Node reads every socket that is ready in one turn of its loop and hands each request to the
// app at once: 1,200 polls arriving together are 1,200 handlers run back to back, and a
// database answer that a chat message's ack waits for (it arrived in the same turn) waits for
// all of them. So the app takes requests a slice at a time: the first `slice` of a turn run at
// once; past that, requests wait in a queue per client address, and each later turn runs the
// next slice, taking from each address in turn. Between slices the loop reads its sockets
// again — the database's answers, the WebSockets' frames — so a burst from one address delays
// everyone else by a slice, not by the burst, and other addresses' requests go ahead of the
// rest of it. A server that is not flooded never queues anything.
//
// What waits is bounded by the open connections (one request in flight per HTTP/1.1
// connection), which the file-handle budget bounds. A request whose client went away while it
// waited is dropped unrun.
import type { IncomingMessage } from "node:http";

/**
 * Requests run in one turn of the event loop before the rest wait for the next. Small: under a
 * flood of 1,200 polls from one address (bench:abuse), a chat bystander's ack p99 was 10–13×
 * its quiet figure with no sharing, 2.7–4.8× sharing 16 a turn and 1.75–1.96× sharing 4; a
 * turn costs one more pass of the loop (a non-blocking poll of the sockets), not more work per
 * request.
 */
export const REQUESTS_PER_TURN = 4;

interface Waiting {
  req: IncomingMessage;
  run: () => void;
}

export class FairShare {
  /** Requests started in this turn of the loop. */
  private startedThisTurn = 0;
  /** Set from a turn's first request until the loop's check phase runs `turn`. */
  private turnScheduled = false;
  /** The requests waiting, per address, addresses in the order they are served next. */
  private readonly waiting = new Map<string, Waiting[]>();
  private queued = 0;

  private readonly addressOf: (req: IncomingMessage) => string;
  private readonly slice: number;
  private readonly waitingGauge: { set(n: number): void } | undefined;

  constructor(o: {
    /** Whose share a request takes: its client's address. */
    addressOf: (req: IncomingMessage) => string;
    /** Requests run per turn; default `REQUESTS_PER_TURN`. */
    slice?: number;
    /** Told how many requests wait, whenever that changes (`rt_http_requests_waiting`). */
    waiting?: { set(n: number): void };
  }) {
    this.addressOf = o.addressOf;
    this.slice = o.slice ?? REQUESTS_PER_TURN;
    this.waitingGauge = o.waiting;
  }

  /** Requests waiting for a turn. */
  get size(): number {
    return this.queued;
  }

  /** Runs `run` for `req` now, or in a later turn of the loop when this one has had its share. */
  admit(req: IncomingMessage, run: () => void): void {
    if (!this.turnScheduled) {
      // The first request since the loop last came round: a new turn, a new share.
      this.startedThisTurn = 0;
      this.scheduleTurn();
    }
    if (this.queued === 0 && this.startedThisTurn < this.slice) {
      this.startedThisTurn++;
      return run();
    }
    const address = this.addressOf(req);
    let queue = this.waiting.get(address);
    if (!queue) this.waiting.set(address, (queue = []));
    queue.push({ req, run });
    this.queued++;
    this.waitingGauge?.set(this.queued);
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.turn());
  }

  /**
   * The loop came round (after reading its sockets): a new share. The next slice of waiting
   * requests runs now, one address after another; what is left waits for the next turn.
   */
  private turn(): void {
    this.turnScheduled = false;
    this.startedThisTurn = 0;
    try {
      while (this.queued > 0 && this.startedThisTurn < this.slice) {
        const [address, queue] = this.waiting.entries().next().value!;
        const next = queue.shift()!;
        this.queued--;
        // This address goes to the back of the line, behind every other address waiting.
        this.waiting.delete(address);
        if (queue.length > 0) this.waiting.set(address, queue);
        if (next.req.socket.destroyed) continue;
        this.startedThisTurn++;
        next.run();
      }
    } finally {
      this.waitingGauge?.set(this.queued);
      // Even past a handler that threw: what waits still gets its turns.
      if (this.queued > 0) this.scheduleTurn();
    }
  }
}
