// Per-room read positions (protocol 1.2): how far each person has read each room, kept on the
// server so every device of theirs agrees, and the unread counts the room list shows. And the
// rooms each person muted (1.12), whose messages are not news to them.
import type { PrismaClient } from "./db/generated/client";
import type { EventLog } from "./eventlog";
import { roomStream, UNREAD_COUNT_CAP } from "../lib/protocol";

export interface RoomReadState {
  /** How far the person has read the room; 0 when never. */
  readSeq: number;
  /** Messages by others after `readSeq`, counted up to UNREAD_COUNT_CAP. */
  unread: number;
  /** Whether anything is counted: the person joined the room or read it (protocol 1.8). */
  counted: boolean;
  /** The person muted the room (protocol 1.12). */
  muted: boolean;
}

export class RoomReads {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: EventLog,
  ) {}

  /**
   * Moves the person's position in the room to `seq`: never back (two devices may race, and a
   * late read must not undo a later one) and never past the room's head. `markedUnread` (1.11):
   * the person marked what follows `seq` unread, so the position is set to it, back or forward —
   * a deliberate act, not a read arriving late. Resolves with the new position, or null when it
   * did not move — nothing to announce.
   */
  async markRead(userId: string, roomId: string, seq: number, markedUnread = false): Promise<number | null> {
    const head = await this.log.head(roomStream(roomId));
    const target = BigInt(Math.min(seq, head));
    // The update's WHERE makes a read that moves nothing return no row.
    const rows = await this.prisma.$queryRaw<{ read_seq: bigint }[]>`
      INSERT INTO room_reads (user_id, room_id, read_seq) VALUES (${userId}, ${roomId}, ${target})
      ON CONFLICT (user_id, room_id) DO UPDATE SET read_seq = EXCLUDED.read_seq
        WHERE CASE WHEN ${markedUnread} THEN room_reads.read_seq <> EXCLUDED.read_seq ELSE room_reads.read_seq < EXCLUDED.read_seq END
      RETURNING read_seq`;
    const row = rows[0];
    return row ? Number(row.read_seq) : null;
  }

  /**
   * Mutes the room for the person (or unmutes it): resolves with whether that changed anything,
   * so a repeated mute is announced once.
   */
  async mute(userId: string, roomId: string, muted: boolean): Promise<boolean> {
    const changed = muted
      ? await this.prisma.$executeRaw`INSERT INTO room_mutes (user_id, room_id) VALUES (${userId}, ${roomId}) ON CONFLICT DO NOTHING`
      : await this.prisma.$executeRaw`DELETE FROM room_mutes WHERE user_id = ${userId} AND room_id = ${roomId}`;
    return changed > 0;
  }

  /**
   * The person's position and unread count in each of the rooms, in one query for the whole
   * page. Unread counts the messages of others after the position (the person's own are read
   * by writing them; a deleted message is nothing to read), in the rooms the person has joined
   * or read: a room they never went to holds nothing unread for them, so a newcomer is not
   * greeted by every room of the workspace. Each count stops at the cap, so a room thousands of
   * messages behind costs no more than one a hundred behind.
   *
   * `heads` (each room's head as the answer gives it) bound the count: it covers exactly the
   * messages up to the head the client is told, and a client counts the ones after it as they
   * come. Counted to the log's end instead, a message committed between reading the heads and
   * counting would be in neither, and the client's count would stay one short for good.
   */
  async of(userId: string, roomIds: readonly string[], heads: ReadonlyMap<string, number>): Promise<Map<string, RoomReadState>> {
    if (roomIds.length === 0) return new Map();
    const rows = await this.prisma.$queryRaw<{ room_id: string; read_seq: bigint; counted: boolean; unread: number; muted: boolean }[]>`
      SELECT room_id, read_seq, counted,
        EXISTS (SELECT 1 FROM room_mutes mu WHERE mu.user_id = ${userId} AND mu.room_id = rooms.room_id) AS muted,
        CASE WHEN NOT counted THEN 0
        ELSE (SELECT count(*)::int FROM (
          SELECT 1 FROM events e
          WHERE e.stream = 'room:' || room_id AND e.seq > read_seq AND e.seq <= head
            AND e.type = 'message' AND e.actor_id <> ${userId}
            AND NOT (e.data @> '{"deleted":true}'::jsonb)
          LIMIT ${UNREAD_COUNT_CAP}
        ) AS unread_messages) END AS unread
      FROM (
        SELECT r.id AS room_id, r.head, COALESCE(rr.read_seq, 0) AS read_seq,
          rr.user_id IS NOT NULL OR EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = ${userId}) AS counted
        FROM unnest(${[...roomIds]}::text[], ${roomIds.map((id) => heads.get(id) ?? 0)}::int8[]) AS r(id, head)
        LEFT JOIN room_reads rr ON rr.user_id = ${userId} AND rr.room_id = r.id
      ) AS rooms`;
    return new Map(rows.map((r) => [r.room_id, { readSeq: Number(r.read_seq), unread: r.unread, counted: r.counted, muted: r.muted }]));
  }
}
