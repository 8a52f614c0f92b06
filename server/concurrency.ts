// At most `limit` tasks running at once; the rest wait their turn, first come first served.
// For background work that shares a queue with everyone's requests (the database's): a burst of
// it then holds at most `limit` places in that queue instead of all of them.

export class Concurrency {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** Tasks waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }
}
