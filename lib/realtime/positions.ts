// Resume positions: the last seq seen per stream, one map shared by every transport, so that
// switching between WebSocket, SSE and long polling loses and repeats nothing.
import { formatCursor, parseCursor, roomOfStream } from "../protocol";

/** `user:<id>` streams are kept under `user:me`: the page never needs to know its own id. */
export function positionKey(stream: string): string {
  return stream.startsWith("user:") ? "user:me" : stream;
}

export class Positions {
  private readonly seqs = new Map<string, number>();

  get(stream: string): number | undefined {
    return this.seqs.get(positionKey(stream));
  }

  has(stream: string): boolean {
    return this.seqs.has(positionKey(stream));
  }

  set(stream: string, seq: number): void {
    this.seqs.set(positionKey(stream), seq);
  }

  delete(stream: string): void {
    this.seqs.delete(positionKey(stream));
  }

  /** Takes a durable event's seq once: false when it is at or below the position (a repeat). */
  accept(stream: string, seq: number): boolean {
    const at = this.get(stream);
    if (at !== undefined && seq <= at) return false;
    this.set(stream, seq);
    return true;
  }

  /**
   * Moves positions forward to a cursor the server sent (SSE id, poll cursor). A room stream
   * moves only while `follows(room)`: a late cursor must not bring back a room left meanwhile.
   */
  advance(cursorText: string, follows: (room: string) => boolean): void {
    const cursor = parseCursor(cursorText);
    if (!cursor) return;
    for (const [stream, seq] of cursor) {
      const room = roomOfStream(positionKey(stream));
      if (room !== null && !follows(room)) continue;
      if ((this.get(stream) ?? -1) < seq) this.set(stream, seq);
    }
  }

  /** The resume cursor for `streams` (those with a position). */
  cursorFor(streams: string[]): string {
    const c = new Map<string, number>();
    for (const s of streams) {
      const seq = this.get(s);
      if (seq !== undefined) c.set(s, seq);
    }
    return formatCursor(c);
  }
}
