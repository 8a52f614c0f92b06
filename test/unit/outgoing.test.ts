// What the hub hands every subscriber is encoded once per transport's encoder: a fan-out to
// many sockets of one transport frames the event once, and two transports never share a form.
import { describe, expect, it } from "vitest";
import { Outgoing, RoomFrame, type Encoder } from "../../server/hub/outgoing";
import { wsEventFrame, wsRoomFrame, wsTextFrame } from "../../server/transports/ws-frame";
import { sseEventBytes, sseEventWire, formatSse } from "../../server/transports/sse-frame";
import type { RealtimeEvent } from "../../lib/protocol";
import { formatCursor } from "../../lib/protocol/streams";

const event: RealtimeEvent = {
  stream: "room:general",
  seq: 7,
  type: "message",
  actor: { id: "u_1", name: "Ada" },
  at: new Date(0).toISOString(),
  data: { text: "hi", clientId: "c-1" },
};

describe("Outgoing.encoded", () => {
  it("runs each encoder once, however many subscribers ask, and keeps each encoder's form apart", () => {
    const out = new Outgoing(event);
    let calls = 0;
    const upper: Encoder<Outgoing, string> = (o) => (calls++, o.json.toUpperCase());
    const lower: Encoder<Outgoing, string> = (o) => (calls++, o.json.toLowerCase());
    const third: Encoder<Outgoing, number> = (o) => (calls++, o.seq * 2);
    for (let i = 0; i < 5; i++) {
      expect(out.encoded(upper)).toBe(JSON.stringify(event).toUpperCase());
      expect(out.encoded(lower)).toBe(JSON.stringify(event).toLowerCase());
      expect(out.encoded(third)).toBe(14);
    }
    expect(calls).toBe(3);
  });

  it("the transports' encoders make the wire forms they made before (same bytes, one Buffer for all)", () => {
    const out = new Outgoing(event);
    expect(out.encoded(wsEventFrame).equals(wsTextFrame(JSON.stringify({ type: "event", event })))).toBe(true);
    expect(out.encoded(wsEventFrame)).toBe(out.encoded(wsEventFrame));
    const sse = formatSse({ id: "x", event: "message", data: JSON.stringify(event) });
    expect(`id: x\n${out.encoded(sseEventBytes).toString("utf8")}`).toBe(sse);
    const frame = new RoomFrame({ type: "typing", room: "general", users: [] });
    expect(frame.encoded(wsRoomFrame).equals(wsTextFrame('{"type":"typing","room":"general","users":[]}'))).toBe(true);
  });
});

describe("an SSE event's wire form (sseEventWire)", () => {
  /** The parts one stream writes for the event at `cursor`. */
  const parts = (out: Outgoing, cursor: string, chunked: boolean, made: { n: number }) => {
    const written: Buffer[] = [];
    out.encoded(sseEventWire).writeTo(cursor, chunked, (p) => written.push(p), { inc: () => made.n++ });
    return written;
  };
  /** An HTTP/1.1 chunked body's bytes, unframed. */
  const unchunk = (body: Buffer) => {
    let at = 0;
    let text = "";
    while (at < body.length) {
      const eol = body.indexOf("\r\n", at);
      const len = parseInt(body.toString("latin1", at, eol), 16);
      text += body.toString("utf8", eol + 2, eol + 2 + len);
      expect(body.toString("latin1", eol + 2 + len, eol + 4 + len)).toBe("\r\n");
      at = eol + 4 + len;
    }
    return text;
  };

  it("is what formatSse makes, as one HTTP chunk or bare; streams at one cursor write the same Buffer, others their own id and the shared rest", () => {
    const out = new Outgoing({ ...event, data: { text: "two\nlines €", clientId: "c-1" } });
    const made = { n: 0 };
    const a = parts(out, "room:general=7", true, made);
    const b = parts(out, "room:general=7", true, made);
    const c = parts(out, "room:general=7,feed=3", true, made);
    const d = parts(out, "room:general=7,feed=3", true, made);
    expect(a).toHaveLength(1);
    expect(b[0]).toBe(a[0]);
    expect(c).toHaveLength(2);
    expect(d[0]).toBe(c[0]);
    expect(d[1]).toBe(c[1]);
    // Two cursors, two messages framed, however many streams.
    expect(made.n).toBe(2);
    const data = JSON.stringify(out.event);
    expect(unchunk(a[0]!)).toBe(formatSse({ id: "room:general=7", event: "message", data }));
    expect(unchunk(Buffer.concat(c))).toBe(formatSse({ id: "room:general=7,feed=3", event: "message", data }));
    // A response that is not chunked (HTTP/1.0) gets the bare message.
    expect(Buffer.concat(parts(out, "room:general=7", false, made)).toString("utf8")).toBe(formatSse({ id: "room:general=7", event: "message", data }));
  });

  it("gives every cursor of one fan-out its own id, chunked or bare, whichever came first", () => {
    const out = new Outgoing(event);
    const data = JSON.stringify(out.event);
    const made = { n: 0 };
    const text = (cursor: string, chunked: boolean) => {
      const written = Buffer.concat(parts(out, cursor, chunked, made));
      return chunked ? unchunk(written) : written.toString("utf8");
    };
    // The first stream asked is bare: the whole message is one Buffer without chunk framing.
    expect(parts(out, "room:general=7", false, made)).toHaveLength(1);
    expect(text("room:general=7", false)).toBe(formatSse({ id: "room:general=7", event: "message", data }));
    for (const [cursor, chunked] of [
      ["room:general=7", true],
      ["feed=1,room:general=7", false],
      ["feed=2,room:general=7", false],
      ["feed=1,room:general=7", true],
      ["feed=2,room:general=7", false],
    ] as const) {
      expect(text(cursor, chunked)).toBe(formatSse({ id: cursor, event: "message", data }));
    }
    // One framing per cursor and form: the first, then four heads (feed=2 bare twice, made once).
    expect(made.n).toBe(5);
  });

  it("forgets a fan-out's cursors when its tick ends, tick after tick", async () => {
    const out = new Outgoing(event);
    const made = { n: 0 };
    for (const cursor of ["feed=1,room:general=7", "feed=2,room:general=7", "feed=3,room:general=7"]) {
      // Each tick's first stream gets the whole message as one Buffer: nothing of the last tick's is kept.
      const [whole, ...rest] = parts(out, cursor, true, made);
      expect(rest).toEqual([]);
      expect(unchunk(whole!)).toContain(`id: ${cursor}\n`);
      await new Promise<void>((resolve) => process.nextTick(resolve));
    }
    expect(made.n).toBe(3);
  });

  it("writes without an encoding counter too", () => {
    const out = new Outgoing(event);
    const written: Buffer[] = [];
    const wire = out.encoded(sseEventWire);
    wire.writeTo("room:general=7", true, (p) => written.push(p));
    wire.writeTo("feed=1,room:general=7", true, (p) => written.push(p));
    expect(written).toHaveLength(3);
  });

  it("names a stream that carries the event's stream alone by the event's own position", () => {
    const out = new Outgoing(event);
    expect(out.encoded(sseEventWire).aloneCursor).toBe(formatCursor(new Map([[event.stream, event.seq]])));
  });

  it("refuses a cursor that would forge a field", () => {
    const out = new Outgoing(event);
    expect(() => parts(out, "room:general=7\ndata: x", true, { n: 0 })).toThrow();
  });
});
