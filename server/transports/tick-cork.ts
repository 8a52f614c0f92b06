// Write coalescing: what is written to a connection during one tick of the event loop goes to
// the kernel together. A commit batch fans out several events at once; a socket that gets
// three of them then costs one `writev` system call instead of three `write`s, with no added
// delay (the writes are released before the event loop turns, as Node's `cork` docs suggest).
// Held bytes count in the stream's `writableLength`: a big batch goes through in slices of
// `FLUSH_BYTES`, and a backlog check calls `flush` first so this tick's writes are not
// mistaken for a slow reader's backlog.

interface Corkable {
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
}

/** Held writes past this many bytes go to the kernel at once. */
export const FLUSH_BYTES = 64 * 1024;

export class TickCork {
  private held = false;

  constructor(private readonly stream: Corkable) {}

  /** Holds the writes that follow until this tick's work is done (or `FLUSH_BYTES` wait). */
  hold(): void {
    if (!this.held) {
      this.held = true;
      this.stream.cork();
      process.nextTick(this.release);
    } else if (this.stream.writableLength >= FLUSH_BYTES) {
      this.flush();
    }
  }

  /** Hands what is held to the kernel now; what it does not take is the real backlog. */
  flush(): void {
    if (!this.held) return;
    this.stream.uncork();
    this.stream.cork();
  }

  private readonly release = (): void => {
    this.held = false;
    this.stream.uncork();
  };
}
