// A refusal with `Retry-After` tells a client when to come back. One that asks again on the same
// connection before then (a flood's loop: refused, ask again at once, refused…) hears its next
// refusal at the time it was given or a little after, not before. A client that honours Retry-After never waits
// here; a flood that ignores it runs at one request per connection per Retry-After instead of
// as fast as the server can refuse it — thousands of refusals a second are each a request to
// parse and answer, and the people sharing the server's thread would wait behind them.
//
// Only refusals are held: a request that would be served is served at once, whoever sends it.
// A held refusal costs its connection (which it holds anyway) and a timer; HTTP/1.1 answers a
// connection's requests one at a time, so there is at most one per open connection.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** The longest a refusal is held, whatever the Retry-After it repeats. */
export const MAX_REFUSAL_HOLD_MS = 10_000;

/** When each connection was told it may come back (`performance.now()` time). */
const toldUntil = new WeakMap<Socket, number>();
/** The refusals being held, each its own "answer now". */
const held = new Set<() => void>();

/**
 * Answers a refusal that carries `Retry-After: retryAfterS`: at once, or — when this
 * connection was refused before and has come back before the time it was given — at that time.
 */
export function paceRefusal(res: ServerResponse, retryAfterS: number, answer: () => void): void {
  const socket = res.socket;
  const send = () => {
    if (socket) toldUntil.set(socket, performance.now() + retryAfterS * 1000);
    answer();
  };
  const wait = socket ? (toldUntil.get(socket) ?? 0) - performance.now() : 0;
  if (wait <= 0) return send();

  // Released at a random moment of the Retry-After after the time it was given: a flood's
  // connections, refused together, would otherwise all come back together, in waves.
  const timer = setTimeout(() => now(), Math.min(wait + Math.random() * retryAfterS * 1000, MAX_REFUSAL_HOLD_MS));
  timer.unref();
  const forget = () => {
    clearTimeout(timer);
    held.delete(now);
    res.off("close", forget);
  };
  const now = () => {
    forget();
    if (!res.destroyed) send();
  };
  held.add(now);
  // The client gave up waiting: nothing to answer.
  res.once("close", forget);
}

/** Refusals being held right now (for tests and `/metrics`). */
export function heldRefusals(): number {
  return held.size;
}

/** Answers every held refusal at once: a draining server holds nothing back. */
export function answerHeldRefusals(): void {
  for (const now of [...held]) now();
}
