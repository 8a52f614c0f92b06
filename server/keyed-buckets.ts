// Token buckets by key — a client address, a person — in a map of bounded size, for limits
// that outlive any one connection (sign-ups per address, rooms per person).
//
// The map is bounded because its keys come from outside: one bucket per address ever seen
// would grow with every address a botnet (or an IPv6 /64) can offer. A bucket that has
// refilled to its burst is no different from a missing one, so those are dropped first;
// past the bound with none full, the least recently used goes (its key starts over full,
// which costs at most one burst for that key, and only when the map is at its bound).
import { TokenBucket } from "../lib/token-bucket";

export interface KeyedBucketsOptions {
  ratePerSecond: number;
  burst: number;
  /** Most keys kept at once. */
  maxKeys?: number;
  now?: () => number;
}

/** How many of the least recently used buckets are looked at for full ones before evicting. */
const EVICTION_SCAN = 64;

export class KeyedBuckets {
  /** Least recently used first (a Map keeps insertion order; a use re-inserts). */
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly maxKeys: number;

  constructor(private readonly opts: KeyedBucketsOptions) {
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  /**
   * Takes one token for `key`. Answers 0 when taken, otherwise the whole seconds until one
   * will be free (a `Retry-After`).
   */
  take(key: string): number {
    let bucket = this.buckets.get(key);
    if (bucket) this.buckets.delete(key);
    else {
      this.makeRoom();
      bucket = new TokenBucket(this.opts.ratePerSecond, this.opts.burst, this.opts.now);
    }
    this.buckets.set(key, bucket);
    return bucket.take() ? 0 : Math.max(1, Math.ceil(bucket.waitMs / 1000));
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  private makeRoom(): void {
    if (this.buckets.size < this.maxKeys) return;
    let scanned = 0;
    for (const [key, bucket] of this.buckets) {
      if (scanned++ >= EVICTION_SCAN) break;
      if (bucket.full) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
  }
}
