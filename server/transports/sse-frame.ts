// Server-Sent Events framing, and an event's SSE bytes made once for every stream that
// carries it (as ws-frame.ts does for WebSocket frames).
//
// An SSE event on the wire is `id: <cursor>\nevent: <type>\ndata: <json>\n\n`. The `id` is the
// stream's cursor after the event: it names every stream of that connection, so it differs from
// one connection to the next. The rest, the bulk, is the same for all of them. A connection
// writes its own short `id:` line, then the shared bytes (`sseEventBody`): the wire is exactly
// what `formatSse` makes, and a thousand stalled streams hold one copy of a large event
// between them instead of a thousand.
import type { Encoder, Outgoing } from "../hub";

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
}

/** One SSE message, framed per the spec: multi-line data split, CR/LF refused in id and event. */
export function formatSse(msg: SseMessage): string {
  let out = "";
  if (msg.retry !== undefined) out += `retry: ${Math.floor(msg.retry)}\n`;
  if (msg.id !== undefined) out += sseIdLine(msg.id);
  return out + sseFields(msg);
}

/** The `id:` line that starts an event (a CR, LF or NUL in an id would forge another field). */
export function sseIdLine(id: string): string {
  if (/[\r\n\0]/.test(id)) throw new Error("SSE id must not contain CR, LF or NUL");
  return `id: ${id}\n`;
}

/**
 * What follows the `id:` line, as bytes to share: `event:` and `data:` lines and the blank line
 * that ends the event. Written after a connection's own `sseIdLine`, it makes the same message
 * as `formatSse({ id, event, data })`.
 */
export function sseEventBody(event: string, data: string): Buffer {
  return Buffer.from(sseFields({ event, data }), "utf8");
}

function sseFields(msg: SseMessage): string {
  let out = "";
  if (msg.event !== undefined) {
    if (/[\r\n]/.test(msg.event)) throw new Error("SSE event name must not contain CR or LF");
    out += `event: ${msg.event}\n`;
  }
  if (msg.data !== undefined) for (const line of msg.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * A durable event's SSE bytes after its `id:` line (`event: <type>`, `data: <json>`, the blank
 * line), made once per event for every stream (`Outgoing.encoded`).
 */
export const sseEventBytes: Encoder<Outgoing> = (out) => sseEventBody(out.event.type, out.json);
