// The durable backplane: other instances' commits, heard through Postgres LISTEN/NOTIFY.
// A commit announces only its streams' new heads; this instance then reads the events from the
// log after its own last seq. A lost notification or listener connection costs nothing: on
// reconnect the hub catches up on every stream it serves. (On PGlite there is one process and
// nothing to listen to.)
import type { Database } from "../db/database";
import type { Logger } from "../log";
import type { Metrics } from "../metrics";

/** Commits on real Postgres announce new heads here; every instance listens. */
export const NOTIFY_CHANNEL = "rt_events";

/** What the backplane asks of the hub: read the log up to these heads (null: every stream). */
export type CatchUp = (heads: Map<string, number> | null) => Promise<void>;

/**
 * Listens for other instances' commits and hands their heads to `catchUp`. `self` is this
 * process's id, so its own NOTIFYs (already fanned out) are ignored. Returns the stop function.
 */
export async function listenForCommits(opts: {
  db: Database;
  self: string;
  catchUp: CatchUp;
  logger: Logger;
  metrics: Metrics;
}): Promise<() => Promise<void>> {
  const { db, self, catchUp, logger, metrics } = opts;
  const run = (heads: Map<string, number> | null) =>
    catchUp(heads).catch((err: unknown) => logger.warn({ err }, "backplane catch-up failed"));
  return db.listen(
    NOTIFY_CHANNEL,
    (payload) => {
      const heads = parseNotify(payload, self);
      if (heads !== undefined) void run(heads);
    },
    () => {
      metrics.backplaneErrors.inc({ backplane: "postgres" });
      logger.warn("LISTEN connection re-established; catching up from the log");
      void run(null);
    },
  );
}

/** A NOTIFY payload's heads; undefined when it is this instance's own; null when unreadable. */
export function parseNotify(payload: string, self: string): Map<string, number> | null | undefined {
  // Most of what an instance hears is its own commits: known by their first bytes (the id comes
  // first, in quotes), without parsing the heads (`notifyPayload`).
  if (payload.startsWith(`{"i":${JSON.stringify(self)}`)) return undefined;
  try {
    const msg = JSON.parse(payload) as { i?: string; h?: Record<string, number> };
    if (msg.i === self) return undefined;
    return msg.h ? new Map(Object.entries(msg.h)) : null;
  } catch {
    return null;
  }
}
