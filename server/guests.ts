// Guest retention: every sign-in creates a person, so people who can no longer sign in would
// otherwise pile up for good (a script signing in all day makes a row a second). A person
// whose every session has ended — expired, or signed out, which expires it — at least the
// retention period ago is deleted, with their sessions, memberships and read markers. Accounts
// are kept: their person can always sign in again.
//
// What they wrote stays: events carry the actor's id and name themselves (no foreign key to
// `users`), so history and the feed render as before and every stream stays gapless. Their own
// `user:<id>` stream (mentions of them) stays too; nobody can open it again.
import type { PrismaClient } from "./db/generated/client";
import type { Logger } from "./log";

export interface GuestRetentionOptions {
  retentionMs: number;
  logger: Logger;
  /** How often to sweep; the first sweep runs at start. */
  intervalMs?: number;
  /** People deleted per statement, so one sweep never holds long locks. */
  batchSize?: number;
  now?: () => number;
}

/** Batches in one sweep at most; the rest waits for the next sweep. */
const MAX_BATCHES = 100;

export class GuestRetention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: GuestRetentionOptions,
  ) {}

  /** Sweeps now and then every `intervalMs` (an unref'ed timer: it never keeps the process up). */
  start(): void {
    const every = this.opts.intervalMs ?? 3600_000;
    const run = () => void this.sweep().catch((err: unknown) => this.opts.logger.warn({ err }, "guest sweep failed"));
    run();
    this.timer = setInterval(run, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Deletes the people whose sessions all ended before `now - retention`; answers how many. */
  sweep(now = (this.opts.now ?? Date.now)()): Promise<number> {
    // One sweep at a time: a slow one and the next tick must not delete the same batch twice.
    return (this.running ??= this.sweepAll(new Date(now - this.opts.retentionMs)).finally(() => {
      this.running = null;
    }));
  }

  private async sweepAll(cutoff: Date): Promise<number> {
    const batch = this.opts.batchSize ?? 1000;
    let total = 0;
    for (let i = 0; i < MAX_BATCHES; i++) {
      const n = await this.deleteBatch(cutoff, batch);
      total += n;
      if (n < batch) break;
    }
    if (total > 0) this.opts.logger.info({ deleted: total, cutoff }, "idle guests deleted");
    return total;
  }

  /**
   * One statement: the oldest people created before the cutoff with no session ending after
   * it (so none still valid, none signed out within the period); sessions go by cascade.
   */
  private async deleteBatch(cutoff: Date, batch: number): Promise<number> {
    const [row] = await this.prisma.$queryRaw<{ n: number }[]>`
      WITH gone AS (
        DELETE FROM users WHERE id IN (
          SELECT u.id FROM users u
          WHERE u.created_at < ${cutoff}::timestamptz AND u.username IS NULL
            AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ${cutoff}::timestamptz)
          ORDER BY u.created_at
          LIMIT ${batch}
        )
        RETURNING id
      ),
      memberships AS (DELETE FROM room_members WHERE user_id IN (SELECT id FROM gone)),
      reads AS (DELETE FROM notification_reads WHERE user_id IN (SELECT id FROM gone)),
      room_reads AS (DELETE FROM room_reads WHERE user_id IN (SELECT id FROM gone)),
      mutes AS (DELETE FROM room_mutes WHERE user_id IN (SELECT id FROM gone))
      SELECT count(*)::int AS n FROM gone`;
    return row?.n ?? 0;
  }
}
