// The workspace's rules: rooms, messages, memberships and notifications.
// Every transport calls these; none of them knows about sockets or HTTP.
import type { PrismaClient } from "./db/generated/client";
import { Concurrency } from "./concurrency";
import type { AppendResult, DerivedAppend, EventLog } from "./eventlog";
import { RoomReads } from "./room-reads";
import { mentionCandidates, previewOf } from "../lib/mentions";
import {
  messageTextSchema,
  roomStream,
  userStream,
  type Actor,
  type RealtimeEvent,
  type RoomInfo,
} from "../lib/protocol";

export interface RoomListQuery {
  /** Whose rooms lead the first page. */
  userId: string;
  limit: number;
  /** The `next` of the page before; null for the first page. */
  after: string | null;
  /** Keeps rooms whose name contains this; null or empty for every room. */
  query: string | null;
}

export interface RoomPage {
  rooms: RoomInfo[];
  next: string | null;
}

interface RoomRow {
  id: string;
  name: string;
  createdAt: Date;
}

/** `%`, `_` and `\` match literally in a LIKE pattern ending `ESCAPE '\'`. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class WorkspaceError extends Error {
  override name = "WorkspaceError";
  constructor(
    readonly code: "unknown_room" | "room_exists" | "invalid_text" | "invalid_name",
    message: string,
  ) {
    super(message);
  }
}

/** Rooms are never deleted, so a positive answer can be cached for good. */
const KNOWN_ROOMS_MAX = 100_000;
/**
 * Memberships known to be recorded, so the joins that repeat all day (every reconnect, every
 * long poll) cost no query. The oldest are forgotten past the bound; forgetting one costs a
 * single lookup on that person's next join.
 */
const KNOWN_MEMBERS_MAX = 100_000;
/** First joins recorded at once (each a lookup, an append and an insert). */
const JOIN_RECORDERS = 4;

/** The feed key of a room's announcement: one `room.created` per room however often it is tried. */
const roomCreatedKey = (roomId: string) => `room.created:${roomId}`;

export class Workspace {
  private readonly knownRooms = new Set<string>(["general"]);
  /** `room\0user` pairs known to be recorded, least recently joined first. */
  private readonly knownMembers = new Set<string>();
  /** First joins being recorded, by `room\0person`: later joins of the same pair wait on these. */
  private readonly recordingJoins = new Map<string, Promise<void>>();
  private readonly joinRecorders = new Concurrency(JOIN_RECORDERS);
  /** How far each person has read each room (protocol 1.2). */
  readonly reads: RoomReads;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: EventLog,
  ) {
    this.reads = new RoomReads(prisma, log);
  }

  /**
   * One page of the room list, alphabetical by id (a room's lower-cased name), after `after`.
   * `query` keeps the rooms whose name contains it (case-insensitive). The first page of the
   * plain list (no `after`, no `query`) starts with `general` and the rooms `userId` most
   * recently joined (at most `limit` of them), so the rooms a person uses are there without
   * paging; those may appear again on their alphabetical page, and clients merge by id.
   * `next` is the `after` of the following page, null on the last. Each room carries the
   * person's read position and unread count (protocol 1.2).
   */
  async listRooms(opts: RoomListQuery): Promise<RoomPage> {
    const { limit, after, query, userId } = opts;
    const pattern = query ? `%${escapeLike(query.toLowerCase())}%` : "%";
    // One more than asked for says whether another page follows.
    const rows = await this.prisma.$queryRaw<RoomRow[]>`
      SELECT id, name, created_at AS "createdAt" FROM rooms
      WHERE id > ${after ?? ""} AND id LIKE ${pattern} ESCAPE '\\'
      ORDER BY id LIMIT ${limit + 1}`;
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const pinned = after === null && !query ? await this.roomsOf(userId, limit) : [];
    const pinnedIds = new Set(pinned.map((r) => r.id));
    const rooms = [...pinned, ...page.filter((r) => !pinnedIds.has(r.id))];
    const [heads, reads] = await Promise.all([
      this.log.heads(rooms.map((r) => roomStream(r.id))),
      this.reads.of(userId, rooms.map((r) => r.id)),
    ]);
    return {
      rooms: rooms.map((r) => ({
        id: r.id,
        name: r.name,
        createdAt: r.createdAt.toISOString(),
        head: heads.get(roomStream(r.id)) ?? 0,
        readSeq: reads.get(r.id)?.readSeq ?? 0,
        unread: reads.get(r.id)?.unread ?? 0,
      })),
      next: more ? page[page.length - 1]!.id : null,
    };
  }

  /** `general`, then the rooms a person joined, most recent first (at most `limit`). */
  private async roomsOf(userId: string, limit: number): Promise<RoomRow[]> {
    const [general, joined] = await Promise.all([
      this.prisma.room.findUnique({ where: { id: "general" }, select: { id: true, name: true, createdAt: true } }),
      this.prisma.roomMember.findMany({
        where: { userId, roomId: { not: "general" } },
        orderBy: { joinedAt: "desc" },
        take: limit,
        select: { room: { select: { id: true, name: true, createdAt: true } } },
      }),
    ]);
    return [...(general ? [general] : []), ...joined.map((m) => m.room)];
  }

  async roomExists(roomId: string): Promise<boolean> {
    if (this.knownRooms.has(roomId)) return true;
    const found = (await this.prisma.room.count({ where: { id: roomId } })) > 0;
    if (found && this.knownRooms.size < KNOWN_ROOMS_MAX) this.knownRooms.add(roomId);
    return found;
  }

  async requireRoom(roomId: string): Promise<void> {
    if (!(await this.roomExists(roomId))) throw new WorkspaceError("unknown_room", `There is no room "${roomId}"`);
  }

  /**
   * Creates a room (ids are case-insensitive) and tells the feed.
   *
   * The room row and its `room.created` event live in different transactions (the event goes
   * through the log's group commit), so the announcement can fail after the row committed.
   * The announcement is keyed, so whoever next tries the name re-announces it for the
   * creator: the creator's retry then completes the creation (201); anyone else hears 409.
   */
  async createRoom(name: string, creator: Actor): Promise<RoomInfo> {
    const id = name.toLowerCase();
    const created = await this.prisma.room.createMany({
      data: [{ id, name, createdBy: creator.id }],
      skipDuplicates: true,
    });
    if (created.count === 0) {
      // The room row commits before its announcement. If that append failed, the next attempt
      // announces it in its creator's name: the creator's retry then completes the room (201);
      // anyone else still hears 409. Checked by reading first, so a 409 costs no write.
      const unannounced = await this.unannouncedCreator(id);
      if (unannounced) await this.announceRoom(id, unannounced);
      if (unannounced?.id !== creator.id) throw new WorkspaceError("room_exists", `A room named "${name}" already exists`);
    } else {
      await this.announceRoom(id, creator);
    }
    this.knownRooms.add(id);
    const room = await this.prisma.room.findUniqueOrThrow({ where: { id } });
    return {
      id,
      name: room.name,
      createdAt: room.createdAt.toISOString(),
      head: await this.log.head(roomStream(id)),
    };
  }

  /** Appends the room's `room.created`; keyed, so racing attempts announce it once. */
  private async announceRoom(id: string, creator: Actor): Promise<void> {
    const room = await this.prisma.room.findUniqueOrThrow({ where: { id }, select: { name: true } });
    await this.log.append({
      stream: "feed",
      type: "room.created",
      actor: creator,
      data: { roomId: id, name: room.name },
      clientId: roomCreatedKey(id),
    });
  }

  /** The room's creator when its `room.created` never reached the feed; null when it did. */
  private async unannouncedCreator(id: string): Promise<Actor | null> {
    const room = await this.prisma.room.findUnique({ where: { id }, select: { createdBy: true } });
    if (!room?.createdBy) return null;
    if (await this.log.findByKey("feed", room.createdBy, roomCreatedKey(id))) return null;
    return this.prisma.user.findUnique({ where: { id: room.createdBy }, select: { id: true, name: true } });
  }

  /**
   * Records that a person joined a room; the first time is a `member.joined` feed event.
   * The event is appended (keyed, so racing joins write it once) before the membership row,
   * which marks it as written: if the append fails, the next join tries again.
   */
  recordJoin(roomId: string, actor: Actor): Promise<void> {
    const key = `${roomId}\u0000${actor.id}`;
    if (this.knownMembers.delete(key)) {
      this.knownMembers.add(key); // now the most recently joined
      return Promise.resolve();
    }
    // One lookup per person and room at a time: a person joining again (another tab, a socket
    // leaving and joining in a loop) while the first lookup waits shares it. Without this, every
    // join in that window was a lookup and an append of its own, and under churn the window
    // grew with the queue they made, ahead of everyone's messages in the log's commit queue.
    let pending = this.recordingJoins.get(key);
    if (!pending) {
      // A few at a time: a crowd's first joins (everyone opening the room of an all-hands) wait
      // here rather than in the database's queue, where everyone's messages wait behind them.
      pending = this.joinRecorders.run(() => this.recordFirstJoin(roomId, actor, key)).finally(() => this.recordingJoins.delete(key));
      this.recordingJoins.set(key, pending);
    }
    return pending;
  }

  private async recordFirstJoin(roomId: string, actor: Actor, key: string): Promise<void> {
    // Plain SQL: after a restart every person's first join asks this once, all at once.
    const member = await this.prisma.$queryRaw<unknown[]>`SELECT 1 FROM room_members WHERE room_id = ${roomId} AND user_id = ${actor.id}`;
    if (member.length === 0) {
      await this.log.append({
        stream: "feed",
        type: "member.joined",
        actor,
        data: { roomId },
        clientId: `member.joined:${roomId}`,
      });
      // Committed without waiting for the disk: lost in a crash, the next join finds no row and
      // appends again under the same key, which the log answers as a repeat. A crowd's first
      // joins then cost the disk nothing beyond their feed events' group commits.
      await this.prisma.$transaction([
        this.prisma.$executeRaw`SET LOCAL synchronous_commit = off`,
        this.prisma.roomMember.createMany({ data: [{ roomId, userId: actor.id }], skipDuplicates: true }),
      ]);
    }
    // Past the bound the least recently joined is forgotten: its next join costs one lookup again.
    if (this.knownMembers.size >= KNOWN_MEMBERS_MAX) this.knownMembers.delete(this.knownMembers.values().next().value!);
    this.knownMembers.add(key);
  }

  /**
   * Appends a message once per (room, author, clientId); resolves after commit.
   * The feed's `message.posted` and every mentioned person's `mention` are written in the
   * same transaction, and only the first time.
   */
  async postMessage(roomId: string, actor: Actor, rawText: string, clientId: string): Promise<AppendResult> {
    return (await this.prepareMessage(roomId, actor, rawText, clientId))();
  }

  /**
   * Everything before the append that may wait on the database (room check, mentions), so a
   * connection can keep its messages in order: prepare in order, then append in order, and let
   * the commits (and acks) overlap.
   */
  async prepareMessage(
    roomId: string,
    actor: Actor,
    rawText: string,
    clientId: string,
  ): Promise<() => Promise<AppendResult>> {
    const parsed = messageTextSchema.safeParse(rawText);
    if (!parsed.success) {
      throw new WorkspaceError("invalid_text", parsed.error.issues[0]?.message ?? "Invalid message text");
    }
    const text = parsed.data;
    await this.requireRoom(roomId);
    const preview = previewOf(text);
    const pointer = (e: RealtimeEvent) => ({ roomId, seq: e.seq, preview });
    const derived: DerivedAppend[] = [{ stream: "feed", type: "message.posted", data: pointer }];
    for (const userId of await this.mentionedUsers(text, actor.id)) {
      derived.push({ stream: userStream(userId), type: "mention", data: pointer });
    }
    return () =>
      this.log.append({
      stream: roomStream(roomId),
      type: "message",
      actor,
      data: { text, clientId },
      clientId,
      derived,
    });
  }

  async history(roomId: string, before: number | null, limit: number) {
    await this.requireRoom(roomId);
    return this.log.readBefore(roomStream(roomId), before, limit);
  }

  /** The workspace activity feed, newest page or the page before `before`. */
  feed(before: number | null, limit: number) {
    return this.log.readBefore("feed", before, limit);
  }

  async notifications(userId: string, limit: number) {
    const [{ events }, marker] = await Promise.all([
      this.log.readBefore(userStream(userId), null, limit),
      this.prisma.notificationRead.findUnique({ where: { userId } }),
    ]);
    return { events, readSeq: Number(marker?.readSeq ?? 0) };
  }

  /** Moves the read marker forward (never back: two devices may race). Returns the marker. */
  async markRead(userId: string, seq: number): Promise<number> {
    const head = await this.log.head(userStream(userId));
    const target = BigInt(Math.min(seq, head));
    await this.prisma.$executeRaw`
      INSERT INTO notification_reads (user_id, read_seq) VALUES (${userId}, ${target})
      ON CONFLICT (user_id) DO UPDATE SET read_seq = GREATEST(notification_reads.read_seq, EXCLUDED.read_seq)`;
    const row = await this.prisma.notificationRead.findUnique({ where: { userId } });
    return Number(row?.readSeq ?? 0);
  }

  /**
   * People named by `@name` in the text (case-insensitive), except the author. Each mention
   * stands for the longest of its candidate names that someone has ("@Ada Lovelace" is Ada
   * Lovelace, not Ada, when both exist); everyone with that name is mentioned.
   */
  private async mentionedUsers(text: string, authorId: string): Promise<string[]> {
    const groups = mentionCandidates(text);
    if (groups.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string; name: string }[]>`
      SELECT id, lower(name) AS name FROM users WHERE lower(name) = ANY(${[...new Set(groups.flat())]}::text[]) LIMIT 500`;
    const taken = new Set(rows.map((r) => r.name));
    const names = new Set(groups.map((candidates) => candidates.find((n) => taken.has(n))).filter((n) => n !== undefined));
    return rows.filter((r) => names.has(r.name) && r.id !== authorId).slice(0, 50).map((r) => r.id);
  }
}
