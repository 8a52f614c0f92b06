// What the hub hands every subscriber: a durable event (`Outgoing`) or a room's ephemeral frame
// (`RoomFrame`), each serialized at most once for all of them. The hub knows no wire format:
// a transport brings its own `Encoder` and the frame keeps its result, so a fan-out to ten
// thousand sockets frames the bytes once, and stalled ones share one copy of what they hold.
import type { RealtimeEvent, ServerFrame } from "../../lib/protocol";

/**
 * Makes one transport's wire form of a frame (a WebSocket frame, an SSE event's bytes). The
 * encoder itself is the key of the frame's cache: declare each one once, at module level, in its
 * transport — a function made per call would encode again every time.
 */
export type Encoder<F, W = Buffer> = (frame: F) => W;

/** Wire forms made at most once per encoder. */
abstract class EncodedOnce {
  // One slot without a Map: a fan-out over one transport (the common case) costs no hashing.
  private firstEncoder: Encoder<never, unknown> | undefined;
  private firstWire: unknown;
  private others: Map<Encoder<never, unknown>, unknown> | undefined;

  /** This frame as `encoder` writes it, made on the first call and kept for every later one. */
  encoded<W>(encoder: Encoder<this, W>): W {
    if (this.firstEncoder === encoder) return this.firstWire as W;
    if (this.firstEncoder === undefined) {
      this.firstWire = encoder(this);
      this.firstEncoder = encoder;
      return this.firstWire as W;
    }
    this.others ??= new Map();
    if (this.others.has(encoder)) return this.others.get(encoder) as W;
    const wire = encoder(this);
    this.others.set(encoder, wire);
    return wire;
  }
}

/** A durable event, with its JSON text made once for every transport (each wraps it its own way). */
export class Outgoing extends EncodedOnce {
  private jsonText: string | undefined;
  constructor(readonly event: RealtimeEvent) {
    super();
  }
  get seq(): number {
    return this.event.seq;
  }
  get json(): string {
    return (this.jsonText ??= JSON.stringify(this.event));
  }
}

/** The frames of a room's ephemeral state. */
export type RoomStateFrame = Extract<ServerFrame, { type: "presence" | "presence_diff" | "typing" | "cursors" | "canvas.live" }>;

/**
 * An ephemeral room frame (presence, typing or cursors), serialized at most once, when the
 * first subscriber asks for it. A presence frame also carries its `diff` (protocol 1.1): each
 * subscriber takes the one its version speaks, and a form nobody takes is never serialized —
 * with only 1.1 clients in a big room, the full member list is not written out per change.
 */
export class RoomFrame extends EncodedOnce {
  private text: string | undefined;
  readonly type: RoomStateFrame["type"];
  readonly room: string;
  constructor(
    private readonly frame: RoomStateFrame,
    /** For a presence frame: the same change as a `presence_diff` frame. */
    readonly diff?: RoomFrame,
  ) {
    super();
    this.type = frame.type;
    this.room = frame.room;
  }
  /** The whole ServerFrame as JSON text. */
  get json(): string {
    return (this.text ??= JSON.stringify(this.frame));
  }
}
