// The file-handle budget, checked once at start. Every WebSocket, event stream and held poll is
// an open file; when the process runs out, it refuses everyone (sign-in, /healthz, pages), not
// just whoever took them. The caps bound what one person or address holds, not the total, so
// the check compares the OS limit against a stated estimate and warns an operator who can act
// (`ulimit -n`, systemd's LimitNOFILE, Docker's --ulimit nofile).
import { readFileSync } from "node:fs";
import type { ConnectionLimits } from "./connection-budget";

/** Files the process needs besides client connections: database, Redis, logs, pages' files. */
export const FD_RESERVE = 1_024;
/**
 * Addresses the estimate lets hold their whole cap at once. Not a limit: the point is that a
 * handful of addresses at their cap (one NAT, a few scripts) must not exhaust the process.
 */
export const FD_PLANNED_FULL_ADDRESSES = 10;

export interface OpenFileLimit {
  soft: number;
  hard: number;
}

/**
 * The process's open-file limit from `/proc/self/limits` ("Max open files"), or null where
 * there is no such file (macOS, Windows) or it cannot be read. Node has no getrlimit.
 */
export function readOpenFileLimit(text?: string): OpenFileLimit | null {
  let source = text;
  if (source === undefined) {
    try {
      source = readFileSync("/proc/self/limits", "utf8");
    } catch {
      return null;
    }
  }
  const line = source.split("\n").find((l) => l.startsWith("Max open files"));
  const m = line?.match(/^Max open files\s+(\S+)\s+(\S+)/);
  if (!m) return null;
  const value = (s: string) => (s === "unlimited" ? Infinity : Number(s));
  const soft = value(m[1]!);
  const hard = value(m[2]!);
  return Number.isNaN(soft) || Number.isNaN(hard) ? null : { soft, hard };
}

/** The handles the caps are planned for: a few addresses at their cap, plus the reserve. */
export function plannedFileHandles(limits: ConnectionLimits): number {
  return FD_PLANNED_FULL_ADDRESSES * limits.perAddress + FD_RESERVE;
}

/**
 * A warning (the message and its numbers) when the soft limit is below what the caps are
 * planned for; null when it is enough, or unknown.
 */
export function fileHandleWarning(
  limit: OpenFileLimit | null,
  limits: ConnectionLimits,
): { message: string; soft: number; hard: number; planned: number } | null {
  if (!limit) return null;
  const planned = plannedFileHandles(limits);
  if (limit.soft >= planned) return null;
  const raise = limit.hard >= planned ? `raise the soft limit (ulimit -n ${planned}; the hard limit allows it)` : `raise the hard and soft limits to at least ${planned}`;
  return {
    message:
      `open-file limit ${limit.soft} is below the ${planned} planned for ${FD_PLANNED_FULL_ADDRESSES} addresses at ` +
      `MAX_CONNECTIONS_PER_ADDRESS=${limits.perAddress} plus ${FD_RESERVE} for the server itself: a few clients could ` +
      `take every handle and lock everyone out; ${raise}, or lower MAX_CONNECTIONS_PER_ADDRESS`,
    soft: limit.soft,
    hard: limit.hard,
    planned,
  };
}
