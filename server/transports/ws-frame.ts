// Server WebSocket frames made by hand, once for every socket: a fan-out writes the same bytes
// to each TCP socket instead of asking ws to frame the payload again per socket. The encoders
// below are this transport's wire form of what the hub hands out (`Outgoing.encoded`).
import type { Encoder, Outgoing, RoomFrame } from "../hub";

/**
 * A server's WebSocket text frame, whole: FIN and the text opcode, the payload length (no mask:
 * server frames are never masked, RFC 6455 §5.1), then the text's UTF-8 bytes. Made once, the
 * same bytes go to every socket as they are.
 */
export function wsTextFrame(text: string): Buffer {
  const len = Buffer.byteLength(text);
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x81;
  if (len < 126) frame[1] = len;
  else if (len < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(len), 2);
  }
  frame.write(text, head);
  return frame;
}

/** The length of a server frame's header (no mask): 2, 4 or 10 bytes. */
export function frameHeaderLength(frame: Buffer): number {
  const len = frame[1]! & 0x7f;
  return len < 126 ? 2 : len === 126 ? 4 : 10;
}

/**
 * A durable event's `{"type":"event",…}` text frame, whole: the ServerFrame
 * `{ type: "event", event }`, spliced around the event's JSON text made once for every transport.
 */
export const wsEventFrame: Encoder<Outgoing> = (out) => wsTextFrame(`{"type":"event","event":${out.json}}`);

/** A room's presence, typing or cursors frame, whole. */
export const wsRoomFrame: Encoder<RoomFrame> = (frame) => wsTextFrame(frame.json);
