"use client";
// Polls GET /api/ops once a second while the page is open and visible. Each answer is the
// server's last minute of one-second samples, so a missed poll loses nothing on the charts.
import { useEffect, useState } from "react";
import { api, ApiError } from "@/lib/store/http";
import { opsSnapshotSchema, type OpsSnapshot } from "@/lib/protocol";
import { endSession } from "../shell/use-realtime";

export type { OpsSample, OpsSnapshot } from "@/lib/protocol";

export const OPS_POLL_MS = 1_000;

export function useOps(): { snapshot: OpsSnapshot | null; error: string | null } {
  const [snapshot, setSnapshot] = useState<OpsSnapshot | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inflight: AbortController | null = null;
    let stopped = false;

    const poll = async () => {
      timer = null;
      if (document.visibilityState === "hidden") return; // resumed by visibilitychange
      inflight = new AbortController();
      try {
        setSnapshot(await api("/api/ops", opsSnapshotSchema, { signal: inflight.signal }));
        setError(null);
      } catch (err) {
        if (stopped) return;
        if (err instanceof ApiError && err.status === 401) return endSession();
        setError(err instanceof Error ? err.message : "Could not read /api/ops");
      } finally {
        inflight = null;
      }
      if (!stopped) timer = setTimeout(() => void poll(), OPS_POLL_MS);
    };
    const onVisibility = () => {
      if (document.visibilityState === "visible" && !timer && !inflight) void poll();
    };

    void poll();
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      inflight?.abort();
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, []);

  return { snapshot, error };
}
