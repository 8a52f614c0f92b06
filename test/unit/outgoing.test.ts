// What the hub hands every subscriber is encoded once per transport's encoder: a fan-out to
// many sockets of one transport frames the event once, and two transports never share a form.
import { describe, expect, it } from "vitest";
import { Outgoing, RoomFrame, type Encoder } from "../../server/hub/outgoing";
import { wsEventFrame, wsRoomFrame, wsTextFrame } from "../../server/transports/ws-frame";
import { sseEventBytes, formatSse } from "../../server/transports/sse-frame";
import type { RealtimeEvent } from "../../lib/protocol";

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
