// A refusal with `Retry-After` tells a client when to come back. One that asks again on the same
// connection before then (a flood's loop: refused, ask again at once, refused…) is answered at
// once, and then its connection is not read until the time it was given or a little after:
// what it sends meanwhile waits, unread, in the kernel. A client that honours Retry-After never
// notices; a flood that ignores it runs at one request per connection per Retry-After instead
// of as fast as the server can refuse it — thousands of refusals a second are each a request to
// parse and answer, and the people sharing the server's thread would wait behind them.
//
// Why the connection waits and not the answer (protocol 1.5; until 1.4 the second refusal was
// held until that time): a held answer keeps its request and response alive in the heap, and
// under a flood about a thousand of them at once outlive every young-generation collection —
// the bench's held-polls flood measured scavenges of 27–30 ms every ~0.8 s, each a pause for
// everyone. A connection left unread costs nothing but the socket it already was, and a timer.
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** The longest a connection is left unread, whatever the Retry-After it was given. */
export const MAX_REFUSAL_HOLD_MS = 10_000;

/** When each connection was told it may come back (`performance.now()` time). */
const toldUntil = new WeakMap<Socket, number>();
/** The connections left unread, each with its "read it again now". */
const held = new Set<() => void>();

/**
 * Answers a refusal that carries `Retry-After: retryAfterS`, at once. When this connection was
 * refused before and came back before the time it was given, it is then left unread until
 * that time.
 */
export function paceRefusal(res: ServerResponse, retryAfterS: number, answer: () => void): void {
  const socket = res.socket;
  const early = socket ? (toldUntil.get(socket) ?? 0) - performance.now() : 0;
  answer();
  if (!socket || socket.destroyed) return;
  if (early <= 0) return void toldUntil.set(socket, performance.now() + retryAfterS * 1000);

  // Read again at a random moment of the Retry-After after the time it was given: a flood's
  // connections, refused together, would otherwise all come back together, in waves.
  const timer = setTimeout(() => now(), Math.min(early + Math.random() * retryAfterS * 1000, MAX_REFUSAL_HOLD_MS));
  timer.unref();
  // Node reads on by itself once a response is finished (it resumes the socket to drain what is
  // left of the request): while the connection is held, a resume is undone as it comes.
  const keepUnread = () => void socket.pause();
  const forget = () => {
    clearTimeout(timer);
    held.delete(now);
    socket.off("close", forget);
    socket.off("resume", keepUnread);
  };
  const now = () => {
    forget();
    if (!socket.destroyed) socket.resume();
  };
  held.add(now);
  socket.pause();
  socket.on("resume", keepUnread);
  // The client hung up: nothing to read again.
  socket.once("close", forget);
}

/** Connections left unread right now (for tests and `/metrics`). */
export function heldConnections(): number {
  return held.size;
}

/**
 * Reads every connection left unread again at once: a draining server holds nothing back.
 * Resolves once the loop has come round to read what they sent meanwhile (two turns: the
 * socket reads again from the next), so it is answered before anything is closed.
 */
export async function readHeldConnections(): Promise<void> {
  if (held.size === 0) return;
  for (const now of [...held]) now();
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
}
