// The WebSocket channel on its own, over fake sockets on fake time: the protocols it offers, the
// frames it hands on or drops, the handshake that never opens (and waits longer each time),
// closing deliberately versus being closed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OFFERED_PROTOCOLS } from "../../lib/protocol";
import type { InvalidPayload } from "../../lib/realtime/decode";
import { WsChannel } from "../../lib/realtime/ws-channel";
import { FakeSocket } from "../helpers/fake-socket";

const OPEN_TIMEOUT_MS = 1_000;

function channel(o: { createThrows?: boolean } = {}) {
  const sockets: FakeSocket[] = [];
  const heard = {
    opens: 0,
    frames: [] as Array<[unknown, number]>,
    invalid: [] as Array<[InvalidPayload, number]>,
    closes: [] as Array<[number, string, boolean]>,
    sent: [] as Array<[string, number]>,
  };
  const ch = new WsChannel(
    "ws://app.test/ws",
    (url, protocols) => {
      if (o.createThrows) throw new Error("SecurityError");
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    OPEN_TIMEOUT_MS,
    {
      onOpen: () => heard.opens++,
      onFrame: (f, bytes) => heard.frames.push([f, bytes]),
      onInvalidFrame: (invalid, bytes) => heard.invalid.push([invalid, bytes]),
      onClose: (code, reason, opened) => heard.closes.push([code, reason, opened]),
      onSend: (type, bytes) => heard.sent.push([type, bytes]),
    },
  );
  return { ch, sockets, heard };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("the WebSocket channel", () => {
  it("offers every protocol version it speaks, newest first, and says when it opened", () => {
    const { ch, sockets, heard } = channel();
    ch.connect();
    expect(sockets[0]!.url).toBe("ws://app.test/ws");
    expect(sockets[0]!.protocols).toEqual([...OFFERED_PROTOCOLS]);
    expect(ch.isOpen).toBe(false);
    sockets[0]!.open();
    expect(heard.opens).toBe(1);
    expect(ch.isOpen).toBe(true);
  });

  it("sends only on an open socket, counting what it sent", () => {
    const { ch, sockets, heard } = channel();
    expect(ch.bufferedAmount).toBe(0);
    expect(ch.send({ type: "join", room: "general" })).toBe(false);
    ch.connect();
    expect(ch.send({ type: "join", room: "general" })).toBe(false);
    sockets[0]!.open();
    sockets[0]!.bufferedAmount = 42;
    expect(ch.bufferedAmount).toBe(42);
    expect(ch.send({ type: "join", room: "general" })).toBe(true);
    expect(ch.send({ nothing: 1 })).toBe(true);
    expect(sockets[0]!.sent).toEqual([{ type: "join", room: "general" }, { nothing: 1 }]);
    expect(heard.sent).toEqual([
      ["join", 32],
      ["?", 13],
    ]);
  });

  it("hands on frames of the protocol with their size; drops what is not one, binary included", () => {
    const { ch, sockets, heard } = channel();
    ch.connect();
    sockets[0]!.open();
    const read = '{"type":"read","room":"general","seq":4}';
    sockets[0]!.onmessage!({ data: read });
    sockets[0]!.onmessage!({ data: "not json" });
    sockets[0]!.onmessage!({ data: '{"type":"no such frame"}' });
    sockets[0]!.onmessage!({ data: new Uint8Array([1, 2]) });
    expect(heard.frames).toEqual([[{ type: "read", room: "general", seq: 4 }, read.length]]);
    expect(heard.invalid.map(([invalid, bytes]) => [invalid.reason, bytes])).toEqual([
      [expect.any(String), 8],
      [expect.any(String), 24],
      ["not a text frame", 0],
    ]);
  });

  it("reports the server's close with whether it had opened, once, and lets the socket go", () => {
    const { ch, sockets, heard } = channel();
    ch.connect();
    sockets[0]!.open();
    sockets[0]!.drop(1012, "restarting");
    expect(heard.closes).toEqual([[1012, "restarting", true]]);
    expect(sockets[0]!.onclose).toBeNull();
    expect(ch.isOpen).toBe(false);
    expect(ch.send({ type: "ping" })).toBe(false);

    ch.connect();
    sockets[1]!.drop(1006);
    expect(heard.closes[1]).toEqual([1006, "", false]);
  });

  it("gives up a handshake that never opens (a proxy that swallows the upgrade), waiting twice as long each time, up to four times", () => {
    const { ch, sockets, heard } = channel();
    const timesOut = (ms: number) => {
      ch.connect();
      const s = sockets.at(-1)!;
      vi.advanceTimersByTime(ms - 1);
      expect(heard.closes).toHaveLength(timedOut);
      vi.advanceTimersByTime(1);
      timedOut++;
      expect(heard.closes.at(-1)).toEqual([4000, "open timed out", false]);
      expect(s.closes).toHaveLength(1);
    };
    let timedOut = 0;
    timesOut(OPEN_TIMEOUT_MS);
    timesOut(OPEN_TIMEOUT_MS * 2);
    timesOut(OPEN_TIMEOUT_MS * 4);
    timesOut(OPEN_TIMEOUT_MS * 4);
    // One that opens starts the count over.
    ch.connect();
    sockets.at(-1)!.open();
    ch.close();
    timesOut(OPEN_TIMEOUT_MS);
  });

  it("a handshake that opened in time is not timed out later", () => {
    const { ch, sockets, heard } = channel();
    ch.connect();
    sockets[0]!.open();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(OPEN_TIMEOUT_MS * 10);
    expect(heard.closes).toEqual([]);
    expect(ch.isOpen).toBe(true);
  });

  it("closes deliberately without a word: normal close code, no report, no stray events from the old socket", () => {
    const { ch, sockets, heard } = channel();
    ch.connect();
    const old = sockets[0]!;
    old.open();
    ch.connect(); // a new one replaces it
    expect(old.closes).toEqual([[1000, "client closing"]]);
    expect(old.onmessage).toBeNull();
    old.onerror!({}); // the error a closing socket may still report goes nowhere
    vi.advanceTimersByTime(OPEN_TIMEOUT_MS * 10);
    expect(heard.closes).toEqual([[4000, "open timed out", false]]); // the new one's, never opened
    ch.close();
    ch.close();
    expect(heard.opens).toBe(1);
  });

  it("a socket that cannot even be created closes as 1006, after the caller has returned", async () => {
    const { ch, heard } = channel({ createThrows: true });
    ch.connect();
    expect(heard.closes).toEqual([]);
    await Promise.resolve();
    expect(heard.closes).toEqual([[1006, "could not create socket", false]]);
  });
});
