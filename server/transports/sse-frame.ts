// Server-Sent Events framing, and an event's SSE bytes made once for every stream that
// carries it (as ws-frame.ts does for WebSocket frames).
//
// An SSE event on the wire is `id: <cursor>\nevent: <type>\ndata: <json>\n\n`. The `id` is the
// stream's cursor after the event: it names every stream of that connection. Connections with
// the same streams at the same positions (the same stream set, live) have the same cursor, so
// they share the whole message, made once per event (`SseEventWire`); a connection with another
// set shares the bulk — the `event:` and `data:` lines — and has only its short `id:` line made
// for it. The wire is exactly what `formatSse` makes, and a thousand stalled streams hold one
// copy of a large event between them instead of a thousand.
//
// The bytes are written to the TCP socket as they are, HTTP/1.1 chunked framing included (the
// size line before, CRLF after), as the WebSocket transport writes its frames made once: a
// response's own `write` would frame every event again for every stream, in three writes.
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
  return Buffer.from(sseFields({ event, data }));
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

/**
 * A piece of an SSE stream's body as the socket carries it: one HTTP/1.1 chunk (its size in hex,
 * CRLF, the bytes, CRLF) when the response is chunked, the bytes as they are otherwise.
 */
export function sseChunk(text: string, chunked: boolean): Buffer {
  if (!chunked) return Buffer.from(text);
  return Buffer.from(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
}

const CRLF = Buffer.from("\r\n");

/** Counts the messages `SseEventWire` frames (an operator sees one per event per stream set). */
export interface EncodeCounter {
  inc(): void;
}

/**
 * One durable event's SSE message for every stream that carries it. The bulk (`event:` and
 * `data:` lines) is made once; each distinct cursor's `id:` line with the chunk's size line is
 * made once per fan-out, and for the first cursor asked (every stream of the commonest stream
 * set) the whole message is one Buffer, so such a stream costs one write of shared bytes.
 *
 * The cursors' heads are kept only for the fan-out in progress (until the tick ends): a stream
 * set per person (`feed,user:me`) would otherwise keep one head per person for every event the
 * hub remembers.
 */
export class SseEventWire {
  /** `event:` and `data:` lines and the blank line: the bytes every stream shares. */
  readonly body: Buffer;
  /** `body` closed as a chunk (CRLF after), for chunked responses. */
  private chunkTail: Buffer | undefined;
  /** This fan-out's first stream: its cursor and form, and the whole message made for it. */
  private first: { cursor: string; chunked: boolean; whole: Buffer } | undefined;
  private heads: Map<string, Buffer> | undefined;

  /**
   * The cursor of a stream that carries this event's stream alone, made once for all of them:
   * they share the whole message without making their cursor's text each.
   */
  readonly aloneCursor: string;

  constructor(out: Outgoing) {
    this.body = sseEventBody(out.event.type, out.json);
    this.aloneCursor = `${out.event.stream}=${out.seq}`;
  }

  /**
   * Writes the message with `cursor` as its id, through `write`: one part for streams at the
   * first cursor of this fan-out, two (the head made for this cursor, then the shared bulk)
   * for the others. `made` counts each message framed.
   */
  writeTo(cursor: string, chunked: boolean, write: (part: Buffer) => void, made?: EncodeCounter): void {
    const first = this.first;
    if (first === undefined) {
      const head = this.head(cursor, chunked);
      const whole = chunked ? Buffer.concat([head, this.body, CRLF]) : Buffer.concat([head, this.body]);
      this.first = { cursor, chunked, whole };
      made?.inc();
      // The fan-out is over when this tick is: let go of its cursors' heads then.
      process.nextTick(() => {
        this.first = undefined;
        this.heads = undefined;
      });
      return write(whole);
    }
    if (cursor === first.cursor && chunked === first.chunked) return write(first.whole);
    const key = chunked ? cursor : `raw ${cursor}`;
    let head = this.heads?.get(key);
    if (head === undefined) {
      head = this.head(cursor, chunked);
      (this.heads ??= new Map()).set(key, head);
      made?.inc();
    }
    write(head);
    write(chunked ? (this.chunkTail ??= Buffer.concat([this.body, CRLF])) : this.body);
  }

  /** The `id:` line, after the chunk's size line (the size of the whole message) when chunked. */
  private head(cursor: string, chunked: boolean): Buffer {
    const id = sseIdLine(cursor);
    if (!chunked) return Buffer.from(id);
    const size = Buffer.byteLength(id) + this.body.length;
    return Buffer.from(`${size.toString(16)}\r\n${id}`);
  }
}

/** A durable event's SSE message, shared by every stream (see `SseEventWire`). */
export const sseEventWire: Encoder<Outgoing, SseEventWire> = (out) => new SseEventWire(out);
