// Whole WebSocket frames made once for every socket: what ws's own client-side parser reads
// back from them, at every payload-length encoding (7-bit, 16-bit, 64-bit).
import { describe, expect, it } from "vitest";
import * as ws from "ws";
import { frameHeaderLength, wsTextFrame } from "../../server/transports/ws-frame";

// ws's frame parser (exported at runtime, not in its type definitions).
type Receiver = import("node:stream").Writable;
const { Receiver } = ws as unknown as { Receiver: new (o: { isServer: boolean; maxPayload: number }) => Receiver };

function parse(frame: Buffer): Promise<{ text: string; binary: boolean }> {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  return new Promise((resolve, reject) => {
    receiver.on("message", (data: Buffer, binary: boolean) => resolve({ text: data.toString("utf8"), binary }));
    receiver.on("error", reject);
    receiver.write(frame);
  });
}

describe("wsTextFrame", () => {
  it.each([0, 1, 125, 126, 65535, 65536, 70000])("frames %i bytes of text so a client reads them back", async (n) => {
    const text = "x".repeat(n);
    const frame = wsTextFrame(text);
    expect(frame[0]).toBe(0x81); // FIN, text
    expect(frame[1]! & 0x80).toBe(0); // unmasked
    const header = n < 126 ? 2 : n < 65536 ? 4 : 10;
    expect(frame.length).toBe(n + header);
    // What a socket without a TCP handle strips to hand ws the payload alone.
    expect(frameHeaderLength(frame)).toBe(header);
    expect(await parse(frame)).toEqual({ text, binary: false });
  });

  it("counts UTF-8 bytes, not characters", async () => {
    const text = `{"text":"${"€".repeat(50)}😀"}`;
    const frame = wsTextFrame(text);
    expect(frame.length).toBe(4 + Buffer.byteLength(text));
    expect(frame[1]).toBe(126);
    expect(await parse(frame)).toEqual({ text, binary: false });
  });
});
