// Write coalescing: a connection's writes of one tick reach the kernel in one call, the next
// tick's in another, and a backlog check can hand held bytes over at once.
import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import type { WebSocket } from "ws";
import { FLUSH_BYTES, TickCork } from "../../server/transports/tick-cork";
import { WsSocket } from "../../server/transports/ws-socket";
import { wsTextFrame } from "../../server/transports/ws-frame";

/** A stream that records each call its writes reach the "kernel" with: the chunks of each. */
function recorder(): { stream: Writable; calls: string[][] } {
  const calls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
  });
  return { stream, calls };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("TickCork", () => {
  it("sends the writes of one tick together, before the event loop turns", async () => {
    const { stream, calls } = recorder();
    const cork = new TickCork(stream);
    for (const text of ["a", "b", "c"]) {
      cork.hold();
      stream.write(text);
    }
    expect(calls).toEqual([]);
    await Promise.resolve().then(() => new Promise<void>((r) => process.nextTick(r)));
    expect(calls).toEqual([["a", "b", "c"]]);
    // The next tick is held again, on its own.
    for (const text of ["d", "e"]) {
      cork.hold();
      stream.write(text);
    }
    await nextTurn();
    expect(calls).toEqual([["a", "b", "c"], ["d", "e"]]);
  });

  it("lets a big tick through in slices instead of holding it whole", async () => {
    const { stream, calls } = recorder();
    const cork = new TickCork(stream);
    const piece = "x".repeat(FLUSH_BYTES / 2);
    for (let i = 0; i < 5; i++) {
      cork.hold();
      stream.write(piece);
    }
    // The third write found two pieces (FLUSH_BYTES) held and sent them; so did the fifth.
    expect(calls.map((c) => c.length)).toEqual([2, 2]);
    await nextTurn();
    expect(calls.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(calls.flat().join("").length).toBe(5 * piece.length);
  });

  it("flush hands what is held over at once, so the backlog left is the reader's own", async () => {
    const { stream, calls } = recorder();
    const cork = new TickCork(stream);
    cork.hold();
    stream.write("held");
    expect(stream.writableLength).toBe(4);
    cork.flush();
    expect(stream.writableLength).toBe(0);
    expect(calls).toEqual([["held"]]);
    cork.hold();
    stream.write("more");
    await nextTurn();
    expect(calls).toEqual([["held"], ["more"]]);
    expect(stream.writableCorked).toBe(0);
  });

  it("flush with nothing held leaves the stream as it was: later writes are not held", () => {
    const { stream, calls } = recorder();
    new TickCork(stream).flush();
    stream.write("now");
    expect(stream.writableCorked).toBe(0);
    expect(calls).toEqual([["now"]]);
  });
});

describe("WsSocket", () => {
  it("sends a connection's own answers with the tick's fanned-out frames, in order, in one write", async () => {
    const { stream, calls } = recorder();
    const viaWs: string[] = [];
    const ws = { _socket: stream, send: (text: string) => viaWs.push(text) } as unknown as WebSocket;
    const socket = new WsSocket(ws);
    // A join's answer, a frame made once for everyone, then the cursor snapshot.
    socket.sendText('{"type":"joined"}');
    socket.sendFrame(wsTextFrame('{"type":"event"}'));
    socket.sendText('{"type":"cursors"}');
    await nextTurn();
    expect(viaWs).toEqual([]);
    expect(calls).toEqual([['{"type":"joined"}', '{"type":"event"}', '{"type":"cursors"}'].map((t) => wsTextFrame(t).toString())]);
  });

  it("flush hands the tick's frames to the kernel before the tick ends (a backlog check's first step)", () => {
    const { stream, calls } = recorder();
    const socket = new WsSocket({ _socket: stream } as unknown as WebSocket);
    socket.sendText("one");
    socket.sendFrame(wsTextFrame("two"));
    expect(calls).toEqual([]);
    socket.flush();
    expect(calls).toEqual([["one", "two"].map((t) => wsTextFrame(t).toString())]);
  });
});

describe("WsSocket without a TCP handle (a socket ws has not attached)", () => {
  /** A stand-in for ws's WebSocket that records what the connection asked of it. */
  function fakeWs() {
    const did: string[] = [];
    const ws = {
      OPEN: 1,
      readyState: 1,
      bufferedAmount: 42,
      send: (data: string | Buffer, opts: { binary: boolean }) => did.push(`send ${data.toString()} binary=${opts.binary}`),
      close: (code: number, reason: string) => did.push(`close ${code} ${reason}`),
      terminate: () => did.push("terminate"),
      ping: () => did.push("ping"),
      pause: () => did.push("pause"),
      resume: () => did.push("resume"),
    };
    return { ws, did, socket: new WsSocket(ws as unknown as WebSocket) };
  }

  it("sends text and whole frames through ws, as text, the frame's header stripped", () => {
    const { did, socket } = fakeWs();
    socket.sendText("own");
    socket.sendFrame(wsTextFrame("x".repeat(200)));
    socket.flush();
    expect(did).toEqual(["send own binary=false", `send ${"x".repeat(200)} binary=false`]);
  });

  it("reports ws's state and backlog, and hands ping, pause, resume and terminate to it", () => {
    const { ws, did, socket } = fakeWs();
    expect([socket.isOpen, socket.bufferedAmount]).toEqual([true, 42]);
    ws.readyState = 2; // CLOSING
    expect(socket.isOpen).toBe(false);
    socket.ping();
    socket.pauseReading();
    socket.resumeReading();
    socket.terminate();
    expect(did).toEqual(["ping", "pause", "resume", "terminate"]);
  });

  it("closes with a handshake, and drops the connection if the peer never answers it", () => {
    vi.useFakeTimers();
    try {
      const { did, socket } = fakeWs();
      socket.close(1013, "too slow");
      expect(did).toEqual(["close 1013 too slow"]);
      vi.advanceTimersByTime(1_999);
      expect(did).toEqual(["close 1013 too slow"]);
      vi.advanceTimersByTime(1);
      expect(did).toEqual(["close 1013 too slow", "terminate"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
