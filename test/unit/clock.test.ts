// The clocks the ephemeral state runs on: the system clock's timers really cancel, and the
// manual clock runs timers due in one advance in the order they fall due.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ManualClock, systemClock } from "../../server/state/clock";

describe("systemClock", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("tells the time, and a cancelled timer never fires", () => {
    vi.setSystemTime(1_234_567);
    expect(systemClock.now()).toBe(1_234_567);
    const fired: string[] = [];
    systemClock.setTimeout(() => fired.push("kept"), 100);
    systemClock.setTimeout(() => fired.push("cancelled"), 100).cancel();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(["kept"]);
  });
});

describe("ManualClock", () => {
  it("runs the timers due in one advance in the order they fall due, whatever the order they were set", () => {
    const clock = new ManualClock();
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(["late", clock.now()]), 30);
    clock.setTimeout(() => fired.push(["early", clock.now()]), 10);
    clock.setTimeout(() => fired.push(["middle", clock.now()]), 20);
    clock.advance(100);
    expect(fired).toEqual([
      ["early", 10],
      ["middle", 20],
      ["late", 30],
    ]);
    expect(clock.now()).toBe(100);
  });
});
