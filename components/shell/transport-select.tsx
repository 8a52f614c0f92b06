"use client";
import { useConnection } from "@/lib/store/connection";
import { chooseTransport } from "@/lib/store/realtime";
import type { TransportMode } from "@/lib/realtime/types";

const OPTIONS: { value: TransportMode; label: string }[] = [
  { value: "auto", label: "Auto" },
  { value: "websocket", label: "WebSocket" },
  { value: "longpoll", label: "Long polling" },
];

/**
 * Forces a transport (the same as `?transport=`) for every tab of this browser: they share one
 * connection, so it shows the choice whichever tab made it.
 */
export function TransportSelect() {
  const mode = useConnection((s) => s.mode);
  return (
    <label className="flex items-center justify-between gap-2 text-sm font-medium">
      Transport
      <select
        value={mode}
        onChange={(e) => {
          const next = e.target.value as TransportMode;
          chooseTransport(next);
          useConnection.getState().setMode(next);
        }}
        className="rounded-md border border-slate-300 dark:border-slate-600 bg-white dark:bg-slate-900 px-2 py-1 text-sm font-normal focus-visible:outline-2 focus-visible:outline-indigo-500 dark:focus-visible:outline-indigo-400"
      >
        {OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </label>
  );
}
