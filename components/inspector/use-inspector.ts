"use client";
// What the inspector shows, read from the tab's realtime client. Frames are recorded into a
// bounded ring for as long as the room is open (so opening the drawer shows what just
// happened); the drawer re-renders from it at most every UPDATE_MS while open, however many
// frames arrive — a cursor storm is 30+ frames a second and must not become 30 renders.
import { useCallback, useEffect, useRef, useState } from "react";
import { roomStream } from "@/lib/protocol";
import type { ConnectionStatus, FrameLog, TransportMode } from "@/lib/realtime/types";
import { getRealtimeClient } from "@/lib/store/realtime";
import { FrameRing } from "./frame-ring";

const UPDATE_MS = 100;

export interface InspectorSnapshot {
  status: ConnectionStatus;
  mode: TransportMode;
  offline: boolean;
  frames: FrameLog[];
  totals: FrameRing["totals"];
  /** Resume positions: the last seq seen per stream. */
  positions: { stream: string; seq: number | undefined }[];
}

/** Records frames while mounted; returns a fresh snapshot (throttled) while `open`. */
export function useInspector(roomId: string, open: boolean) {
  const ring = useRef<FrameRing | null>(null);
  const [snapshot, setSnapshot] = useState<InspectorSnapshot | null>(null);
  // Cursor frames can drown the rest (30 a second each way while a pointer moves).
  const [hideCursors, setHideCursorsState] = useState(false);
  const skipCursors = useRef(false);
  const setHideCursors = useCallback((hide: boolean) => {
    skipCursors.current = hide;
    setHideCursorsState(hide);
  }, []);

  useEffect(() => {
    const r = (ring.current ??= new FrameRing());
    return getRealtimeClient().on("frame", (frame) => {
      // An invalid frame is always kept: it is what a reader opens the inspector to find.
      if (skipCursors.current && !frame.invalid && (frame.type === "cursor" || frame.type === "cursors")) return;
      r.push(frame);
    });
  }, []);

  const refresh = useCallback(() => {
    const client = getRealtimeClient();
    const r = (ring.current ??= new FrameRing());
    setSnapshot({
      status: client.getStatus(),
      mode: client.transportMode,
      offline: client.isOffline,
      frames: r.newestFirst(),
      totals: { ...r.totals },
      positions: [roomStream(roomId), "feed", "user:me"].map((stream) => ({ stream, seq: client.position(stream) })),
    });
  }, [roomId]);

  useEffect(() => {
    if (!open) return;
    const client = getRealtimeClient();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = () => {
      timer ??= setTimeout(() => {
        timer = null;
        refresh();
      }, UPDATE_MS);
    };
    refresh();
    const offs = [client.on("frame", schedule), client.on("status", schedule), client.on("event", schedule)];
    return () => {
      for (const off of offs) off();
      if (timer) clearTimeout(timer);
    };
  }, [open, refresh]);

  const clear = useCallback(() => {
    ring.current?.clear();
    refresh();
  }, [refresh]);

  return { snapshot, refresh, clear, hideCursors, setHideCursors };
}
