// Waiting in tests on fake timers that fake only the clock: what fetch, streams and promises set
// going still runs on the real event loop, so a test lets it run before looking.
import { vi } from "vitest";

/** Lets answers be read and callbacks called (a few turns of the real event loop). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

/** Moves fake time on by `ms`, then lets what it set off run. */
export async function pass(ms: number): Promise<void> {
  vi.advanceTimersByTime(ms);
  await settle();
}
