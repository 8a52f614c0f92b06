// One shared clock for relative times ("5 minutes ago"): a tick every 30 s while any is shown.
import { useEffect } from "react";
import { create } from "zustand";

const TICK_MS = 30_000;

const useClock = create<{ now: number }>(() => ({ now: Date.now() }));
let timer: ReturnType<typeof setInterval> | null = null;
let watchers = 0;

/** The current time, refreshed every 30 s. */
export function useNow(): number {
  useEffect(() => {
    if (watchers++ === 0) {
      useClock.setState({ now: Date.now() });
      timer = setInterval(() => useClock.setState({ now: Date.now() }), TICK_MS);
    }
    return () => {
      if (--watchers === 0 && timer) clearInterval(timer);
    };
  }, []);
  return useClock((s) => s.now);
}
