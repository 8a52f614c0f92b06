// The rate limiters with a clock the test moves: a token bucket's burst and refill, and the
// window counter that decides when bad frames become abuse.
import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../lib/token-bucket";
import { WindowCounter } from "../../server/ratelimit";

const takes = (bucket: TokenBucket, n: number) => Array.from({ length: n }, () => bucket.take()).filter(Boolean).length;

describe("TokenBucket", () => {
  it("allows the burst at once, then refills at the rate, fractions included", () => {
    let t = 1_000;
    const bucket = new TokenBucket(10, 20, () => t);
    expect(takes(bucket, 25)).toBe(20);
    t += 50; // half a token
    expect(bucket.take()).toBe(false);
    t += 50; // the other half: one token
    expect(takes(bucket, 3)).toBe(1);
    t += 1_000;
    expect(takes(bucket, 15)).toBe(10);
  });

  it("saves up no more than the burst however long it idles", () => {
    let t = 0;
    const bucket = new TokenBucket(2, 2, () => t);
    t += 3_600_000;
    expect(takes(bucket, 10)).toBe(2);
  });
});

describe("WindowCounter", () => {
  it("passes the limit on the hit after it within one window, and starts again in the next", () => {
    let t = 0;
    const counter = new WindowCounter(3, 10_000, () => t);
    expect([counter.hit(), counter.hit(), counter.hit()]).toEqual([false, false, false]);
    t += 9_999;
    expect(counter.hit()).toBe(true);
    t += 1;
    expect([counter.hit(), counter.hit(), counter.hit(), counter.hit()]).toEqual([false, false, false, true]);
  });
});
