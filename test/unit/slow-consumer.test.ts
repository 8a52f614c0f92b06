// The write guard of the HTTP transports, on real sockets over 127.0.0.1 whose reader stops
// reading: destroyed past the backlog bound (after a flush had its chance) or after a stall
// without a drain, once, and never once the socket closed on its own.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_BACKLOG_BYTES, WriteGuard, type TooSlowReason } from "../../server/transports/slow-consumer";

/** A connected pair: `server` is the side the guard watches, `reader` the peer, paused (not reading). */
async function pair(): Promise<{ server: net.Socket; reader: net.Socket }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once("connection", resolve));
  const reader = net.connect((listener.address() as net.AddressInfo).port, "127.0.0.1");
  reader.pause();
  const server = await accepted;
  listener.close();
  opened.push(server, reader);
  return { server, reader };
}
const opened: net.Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

/** Writes until the socket asks the writer to wait (the kernel's buffers are full). */
function fillUntilWait(socket: net.Socket): void {
  const chunk = Buffer.alloc(256 * 1024, 120);
  for (let i = 0; i < 1024 && socket.write(chunk); i++);
  expect(socket.writableNeedDrain).toBe(true);
}

function watch(socket: net.Socket, opts: { maxBytes?: number; stallMs?: number; backlog?: () => number; flush?: () => void } = {}) {
  const reasons: TooSlowReason[] = [];
  let done = 0;
  const guard = new WriteGuard(socket, { ...opts, onTooSlow: (r) => reasons.push(r), onDone: () => done++ });
  return { guard, reasons, done: () => done };
}

describe("WriteGuard", () => {
  it("destroys a reader that leaves more than its bound unsent, once, after a flush had its chance", async () => {
    const { server } = await pair();
    let flushes = 0;
    const closeListeners = server.listenerCount("close");
    const { guard, reasons, done } = watch(server, { maxBytes: 64 * 1024, flush: () => flushes++ });
    fillUntilWait(server);
    expect(guard.backlog).toBe(server.writableLength);
    expect(guard.check()).toBe(false);
    expect([reasons, flushes, done(), server.destroyed]).toEqual([["backlog"], 1, 1, true]);
    // It let go of the socket as it destroyed it.
    expect(server.listenerCount("close")).toBe(closeListeners);
    // Destroyed is final: nothing held, no second report.
    expect(guard.check()).toBe(false);
    guard.destroy("stalled");
    expect([reasons, done(), guard.backlog]).toEqual([["backlog"], 1, 0]);
  });

  it("keeps a connection whose backlog was only this tick's held writes, handed over by the flush", async () => {
    const { server } = await pair();
    let held = 100_000;
    const { guard, reasons } = watch(server, { maxBytes: 64 * 1024, backlog: () => held, flush: () => (held = 0) });
    expect(guard.check()).toBe(true);
    expect([reasons, server.destroyed, guard.backlog]).toEqual([[], false, 0]);
  });

  it("keeps a backlog of exactly its bound, without asking for a flush; past it, a flush that leaves exactly the bound keeps it too", async () => {
    const { server } = await pair();
    let backlog = 1000;
    let flushes = 0;
    const { guard, reasons } = watch(server, { maxBytes: 1000, backlog: () => backlog, flush: () => (flushes++, (backlog = 1000)) });
    expect(guard.check()).toBe(true);
    expect([reasons, flushes]).toEqual([[], 0]);
    backlog = 1001;
    expect(guard.check()).toBe(true);
    expect([reasons, flushes]).toEqual([[], 1]);
  });

  it("holds a megabyte per consumer by default, and needs no flush or done callback", async () => {
    const { server } = await pair();
    let backlog = MAX_BACKLOG_BYTES;
    const reasons: TooSlowReason[] = [];
    const guard = new WriteGuard(server, { backlog: () => backlog, onTooSlow: (r) => reasons.push(r) });
    expect(MAX_BACKLOG_BYTES).toBe(1024 * 1024);
    expect(guard.check()).toBe(true);
    backlog += 1;
    expect(guard.check()).toBe(false);
    expect([reasons, server.destroyed]).toEqual([["backlog"], true]);
  });

  it("reports being done once, however often it is stopped", async () => {
    const { server } = await pair();
    const { guard, reasons, done } = watch(server);
    guard.stop();
    guard.stop();
    expect([done(), reasons, guard.check()]).toEqual([1, [], false]);
  });

  it("destroys a reader that has taken nothing for the stall time once its socket asked to wait", async () => {
    const { server } = await pair();
    const { guard, reasons, done } = watch(server, { maxBytes: 1 << 30, stallMs: 50 });
    expect(guard.check()).toBe(true); // nothing waits yet: no clock
    fillUntilWait(server);
    const closed = new Promise((resolve) => server.once("close", resolve));
    expect(guard.check()).toBe(true);
    // One clock however often it is checked, and one drain listener.
    const drainListeners = server.listenerCount("drain");
    expect(guard.check()).toBe(true);
    expect(server.listenerCount("drain")).toBe(drainListeners);
    await closed;
    expect([reasons, done()]).toEqual([["stalled"], 1]);
  });

  it("stops the stall clock when the reader drains what waited", async () => {
    const { server, reader } = await pair();
    // Long enough for a loaded machine (a CI run's other tests beside it) to drain a few
    // megabytes over loopback.
    const stallMs = 3_000;
    const { guard, reasons } = watch(server, { maxBytes: 1 << 30, stallMs });
    fillUntilWait(server);
    expect(guard.check()).toBe(true);
    // Drained; or, on a machine too slow even for that, closed by the guard, and said below.
    const drained = new Promise((resolve) => {
      server.once("drain", resolve);
      server.once("close", resolve);
    });
    reader.resume();
    await drained;
    // Past the stall time, and the socket is still there.
    await new Promise((resolve) => setTimeout(resolve, stallMs + 200));
    expect([reasons, server.destroyed]).toEqual([[], false]);
    // A later stall starts a clock of its own.
    reader.pause();
    const closed = new Promise((resolve) => server.once("close", resolve));
    fillUntilWait(server);
    expect(guard.check()).toBe(true);
    await closed;
    expect(reasons).toEqual(["stalled"]);
  });

  it("stops watching when its socket closes: done once, no report, nothing held, no listener left", async () => {
    const { server, reader } = await pair();
    const { guard, reasons, done } = watch(server, { maxBytes: 1 << 30, stallMs: 50 });
    fillUntilWait(server);
    expect(guard.check()).toBe(true);
    const closed = new Promise((resolve) => server.once("close", resolve));
    reader.destroy();
    server.destroy();
    await closed;
    expect(done()).toBe(1);
    expect([guard.check(), guard.backlog]).toEqual([false, 0]);
    expect([reasons, done(), server.listenerCount("close"), server.listenerCount("drain")]).toEqual([[], 1, 0, 0]);
  });
});
