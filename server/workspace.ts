// The workspace's rules: rooms, messages, memberships and notifications.
// Every transport calls these; none of them knows about sockets or HTTP.
import { createHash } from "node:crypto";
import type { PrismaClient } from "./db/generated/client";
import { Concurrency } from "./concurrency";
import type { Sql } from "./db/database";
import type { AppendResult, DerivedAppend, EventLog } from "./eventlog";
import { applyChange, hasReacted, reactionsFull, type ChangeEvent, type MessageData, type MessageEvent } from "../lib/chat/changes";
import { RoomReads } from "./room-reads";
import { CanvasBoards } from "./canvas";
import { mentionCandidates, previewOf } from "../lib/mentions";
import { plainText } from "../lib/markdown";
import { snippetAround, wordsQuery } from "../lib/search";
import {
  messageTextSchema,
  roomStream,
  userStream,
  type Actor,
  type MentionRef,
  type RealtimeEvent,
  type ReplyRef,
  type RoomInfo,
  type SearchResult,
  type StreamName,
  type User,
} from "../lib/protocol";

/** What the feed lists: rooms made, first joins, public messages (`message.changed` only tells of a change to one). */
const FEED_ITEMS = ["room.created", "member.joined", "message.posted"] as const;

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
  visibility?: string;
  dmKey?: string | null;
}

/** `%`, `_` and `\` match literally in a LIKE pattern ending `ESCAPE '\'`. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export class WorkspaceError extends Error {
  override name = "WorkspaceError";
  constructor(
    readonly code:
      | "unknown_room"
      | "room_exists"
      | "invalid_text"
      | "invalid_name"
      | "unknown_message"
      | "message_deleted"
      | "forbidden"
      | "too_many_reactions"
      | "not_found"
      | "bad_request",
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

/** What a send may carry besides its text (protocol 1.2). */
export interface MessageOptions {
  /** The seq of the message this one answers. */
  replyTo?: number | undefined;
  /** The ids of the people it names, from the autocomplete; absent: found by `@name`. */
  mentions?: string[] | undefined;
}

/** A prepared append: queued when called, resolved once committed. */
export type PreparedAppend = () => Promise<AppendResult>;

/**
 * A change with nothing to append: its clientId was seen (the first event answers it, as a
 * repeated send is answered), or it changes nothing (a reaction already there, a message
 * already deleted: the message itself answers it).
 */
export interface Answered {
  answered: RealtimeEvent;
}

export type Visibility = "public" | "private";
/** Members a private room may have: each message tells every one of them (their user stream). */
export const MAX_PRIVATE_MEMBERS = 100;

/** The feed key of a room's announcement: one `room.created` per room however often it is tried. */
const roomCreatedKey = (roomId: string) => `room.created:${roomId}`;

export class Workspace {
  /** Rooms known to exist, with their visibility (neither ever changes). */
  private readonly knownRooms = new Map<string, Visibility>([["general", "public"]]);
  /** `room\0user` pairs known to be recorded, least recently joined first. */
  private readonly knownMembers = new Set<string>();
  /** First joins being recorded, by `room\0person`: later joins of the same pair wait on these. */
  private readonly recordingJoins = new Map<string, Promise<void>>();
  private readonly joinRecorders = new Concurrency(JOIN_RECORDERS);
  /** How far each person has read each room (protocol 1.2). */
  readonly reads: RoomReads;
  /** The rooms' shared canvases (protocol 1.3). */
  readonly canvas: CanvasBoards;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly log: EventLog,
  ) {
    this.reads = new RoomReads(prisma, log);
    this.canvas = new CanvasBoards(prisma, log);
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
      SELECT id, name, created_at AS "createdAt", visibility, dm_key AS "dmKey" FROM rooms
      WHERE id > ${after ?? ""} AND id LIKE ${pattern} ESCAPE '\\'
        AND (visibility = 'public' OR EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = rooms.id AND m.user_id = ${userId}))
      ORDER BY id LIMIT ${limit + 1}`;
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const pinned = after === null && !query ? await this.roomsOf(userId, limit) : [];
    const pinnedIds = new Set(pinned.map((r) => r.id));
    const rooms = [...pinned, ...page.filter((r) => !pinnedIds.has(r.id))];
    // The heads first: the unread counts are counted up to them (see RoomReads#of).
    const heads = await this.log.heads(rooms.map((r) => roomStream(r.id)));
    const [reads, others] = await Promise.all([
      this.reads.of(
        userId,
        rooms.map((r) => r.id),
        new Map(rooms.map((r) => [r.id, heads.get(roomStream(r.id)) ?? 0])),
      ),
      this.otherSides(rooms, userId),
    ]);
    return {
      rooms: rooms.map((r) => ({
        id: r.id,
        name: r.name,
        createdAt: r.createdAt.toISOString(),
        head: heads.get(roomStream(r.id)) ?? 0,
        readSeq: reads.get(r.id)?.readSeq ?? 0,
        unread: reads.get(r.id)?.unread ?? 0,
        ...(reads.get(r.id)?.counted ? { joined: true as const } : {}),
        ...(reads.get(r.id)?.muted ? { muted: true as const } : {}),
        ...(r.visibility === "private" ? { private: true as const } : {}),
        ...(r.dmKey ? { direct: true as const } : {}),
        ...(others.has(r.id) ? { with: others.get(r.id)! } : {}),
      })),
      next: more ? page[page.length - 1]!.id : null,
    };
  }

  /**
   * Who is on the other side of each direct message among `rooms`, for `userId` (protocol 1.8),
   * under their name now: the room's own name is both names, fixed when it was made.
   */
  private async otherSides(rooms: readonly RoomRow[], userId: string): Promise<Map<string, Actor>> {
    const direct = rooms.filter((r) => r.dmKey).map((r) => r.id);
    if (direct.length === 0) return new Map();
    const rows = await this.prisma.$queryRaw<Array<{ room_id: string; id: string; name: string }>>`
      SELECT r.id AS room_id, u.id, u.name FROM rooms r
        JOIN users u ON u.id = ANY(string_to_array(r.dm_key, ':')) AND u.id <> ${userId}
       WHERE r.id = ANY(${direct}::text[])`;
    return new Map(rows.map((row) => [row.room_id, { id: row.id, name: row.name }]));
  }

  /** `general`, then the rooms a person joined, most recent first (at most `limit`). */
  private async roomsOf(userId: string, limit: number): Promise<RoomRow[]> {
    const [general, joined] = await Promise.all([
      this.prisma.room.findUnique({ where: { id: "general" }, select: { id: true, name: true, createdAt: true } }),
      this.prisma.roomMember.findMany({
        where: { userId, roomId: { not: "general" } },
        orderBy: { joinedAt: "desc" },
        take: limit,
        select: { room: { select: { id: true, name: true, createdAt: true, visibility: true, dmKey: true } } },
      }),
    ]);
    return [...(general ? [general] : []), ...joined.map((m) => m.room)];
  }

  /**
   * Whether `roomId` exists for `userId`: every public room, and the private rooms they are a
   * member of. To anyone else a private room does not exist, exactly as a room that never did:
   * the same `unknown_room`, so not even its name leaks.
   */
  async roomExists(roomId: string, userId: string): Promise<boolean> {
    const visibility = await this.visibility(roomId);
    if (visibility === null) return false;
    return visibility === "public" || this.isMember(roomId, userId);
  }

  async requireRoom(roomId: string, userId: string): Promise<void> {
    if (!(await this.roomExists(roomId, userId))) throw new WorkspaceError("unknown_room", `There is no room "${roomId}"`);
  }

  /** A room's visibility, or null when there is no such room. Known rooms are remembered for good. */
  async visibility(roomId: string): Promise<Visibility | null> {
    const known = this.knownRooms.get(roomId);
    if (known) return known;
    const [row] = await this.prisma.$queryRaw<{ visibility: string }[]>`SELECT visibility FROM rooms WHERE id = ${roomId}`;
    if (!row) return null;
    const visibility: Visibility = row.visibility === "private" ? "private" : "public";
    if (this.knownRooms.size < KNOWN_ROOMS_MAX) this.knownRooms.set(roomId, visibility);
    return visibility;
  }

  /**
   * Whether `userId` is a member of `roomId`. Asked on every access to a private room, never
   * remembered: a removal on another instance must hold here at once.
   */
  async isMember(roomId: string, userId: string): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<unknown[]>`SELECT 1 FROM room_members WHERE room_id = ${roomId} AND user_id = ${userId}`;
    return rows.length > 0;
  }

  /** The members of a private room (at most `limit`), for its member list and its notifications. */
  async members(roomId: string, limit = MAX_PRIVATE_MEMBERS): Promise<User[]> {
    return this.prisma.$queryRaw<User[]>`
      SELECT u.id, u.name, u.color FROM room_members m JOIN users u ON u.id = m.user_id
       WHERE m.room_id = ${roomId} ORDER BY m.joined_at LIMIT ${limit}`;
  }

  /**
   * Creates a room (ids are case-insensitive) and tells the feed.
   *
   * The room row and its `room.created` event live in different transactions (the event goes
   * through the log's group commit), so the announcement can fail after the row committed.
   * The announcement is keyed, so whoever next tries the name re-announces it for the
   * creator: the creator's retry then completes the creation (201); anyone else hears 409.
   */
  async createRoom(name: string, creator: Actor, visibility: Visibility = "public"): Promise<RoomInfo> {
    const id = name.toLowerCase();
    if (visibility === "private") return this.createPrivateRoom(id, name, creator);
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
    this.knownRooms.set(id, "public");
    const room = await this.prisma.room.findUniqueOrThrow({ where: { id } });
    return {
      id,
      name: room.name,
      createdAt: room.createdAt.toISOString(),
      head: await this.log.head(roomStream(id)),
    };
  }

  /**
   * A private room: its creator is its first member, and nothing is announced (the feed is
   * public). The membership is added only once the room is known to be new: a name taken by
   * someone else's room must never make its caller a member of it.
   */
  private async createPrivateRoom(id: string, name: string, creator: Actor): Promise<RoomInfo> {
    const created = await this.prisma.room.createMany({ data: [{ id, name, createdBy: creator.id, visibility: "private" }], skipDuplicates: true });
    if (created.count === 0) throw new WorkspaceError("room_exists", `A room named "${name}" already exists`);
    await this.prisma.roomMember.createMany({ data: [{ roomId: id, userId: creator.id }], skipDuplicates: true });
    this.knownRooms.set(id, "private");
    const room = await this.prisma.room.findUniqueOrThrow({ where: { id } });
    return { id, name: room.name, createdAt: room.createdAt.toISOString(), head: 0, private: true };
  }

  /**
   * The direct-message room of two people: created the first time either opens it, the same
   * room every time after.
   */
  async directRoom(me: Actor, otherId: string): Promise<RoomInfo> {
    const [other] = await this.prisma.$queryRaw<Actor[]>`SELECT id, name FROM users WHERE id = ${otherId}`;
    if (!other || other.id === me.id) throw new WorkspaceError("not_found", "There is no such person to write to");
    const dmKey = [me.id, other.id].sort().join(":");
    const id = `dm-${createHash("sha256").update(dmKey).digest("hex").slice(0, 20)}`;
    await this.prisma.$transaction([
      this.prisma.room.createMany({ data: [{ id, name: `${me.name}, ${other.name}`, createdBy: me.id, visibility: "private", dmKey }], skipDuplicates: true }),
      this.prisma.roomMember.createMany({ data: [{ roomId: id, userId: me.id }, { roomId: id, userId: other.id }], skipDuplicates: true }),
    ]);
    this.knownRooms.set(id, "private");
    const room = await this.prisma.room.findUniqueOrThrow({ where: { id } });
    const head = await this.log.head(roomStream(id));
    return { id, name: room.name, createdAt: room.createdAt.toISOString(), head, private: true, direct: true, with: other };
  }

  /**
   * A direct message whose other person left it (protocol 1.16): they are its member again,
   * reading from its head, so what `writerId` writes now is news to them. Null for any other room.
   */
  private async directBack(roomId: string, writerId: string): Promise<{ userId: string; name: string } | null> {
    const [room] = await this.prisma.$queryRaw<{ dm_key: string | null; name: string }[]>`SELECT dm_key, name FROM rooms WHERE id = ${roomId}`;
    const otherId = room?.dm_key?.split(":").find((id) => id !== writerId);
    if (!room || !otherId) return null;
    const { count } = await this.prisma.roomMember.createMany({ data: [{ roomId, userId: otherId }], skipDuplicates: true });
    if (count === 0) return null;
    await this.prisma.$executeRaw`
      INSERT INTO room_reads (user_id, room_id, read_seq) VALUES (${otherId}, ${roomId}, ${await this.log.head(roomStream(roomId))})
      ON CONFLICT (user_id, room_id) DO UPDATE SET read_seq = EXCLUDED.read_seq`;
    return { userId: otherId, name: room.name };
  }

  /** A private room `actor` is in: a public one has no member list to change. */
  private async requirePrivateRoom(roomId: string, actor: Actor): Promise<void> {
    await this.requireRoom(roomId, actor.id);
    if ((await this.visibility(roomId)) !== "private") throw new WorkspaceError("bad_request", "Anyone may join a public room; only private rooms have members");
  }

  /** The ids of a private room's members, who alone hear of its messages; null for a public room. */
  private async privateMembers(roomId: string): Promise<Set<string> | null> {
    if ((await this.visibility(roomId)) !== "private") return null;
    return new Set((await this.members(roomId)).map((m) => m.id));
  }

  /**
   * Who made a private room, and whether it is a direct message (protocol 1.6): what a member
   * may do to its member list follows from both.
   */
  async roomOrigin(roomId: string): Promise<{ createdBy: string | null; direct: boolean }> {
    const [room] = await this.prisma.$queryRaw<{ created_by: string | null; direct: boolean }[]>`
      SELECT created_by, dm_key IS NOT NULL AS direct FROM rooms WHERE id = ${roomId}`;
    return { createdBy: room?.created_by ?? null, direct: room?.direct ?? false };
  }

  /**
   * Adds `userId` to a private room; only a member may, and a public room has no member list.
   * A direct message stays between its two people: a third would read all they wrote to each
   * other, under a name that says it is theirs alone.
   */
  async addMember(roomId: string, actor: Actor, userId: string): Promise<void> {
    await this.requirePrivateRoom(roomId, actor);
    if ((await this.roomOrigin(roomId)).direct) throw new WorkspaceError("forbidden", "A direct message stays between its two people: make a private room to include others");
    const [user] = await this.prisma.$queryRaw<{ name: string }[]>`SELECT name FROM users WHERE id = ${userId}`;
    if (!user) throw new WorkspaceError("not_found", "There is no such person");
    const { count } = await this.prisma.roomMember.createMany({ data: [{ roomId, userId }], skipDuplicates: true });
    if (count === 0) return; // a member already: nothing new to tell them
    // What the room held before is its history to them, as to someone joining a public room (1.14).
    await this.readingFrom(roomId, userId, await this.log.head(roomStream(roomId)));
    // In the room's history (1.13), and told in their own stream (protocol 1.7), so the room is in
    // their sidebar at once, on every device, and a page that was away hears of it on resume.
    const { name } = await this.prisma.room.findUniqueOrThrow({ where: { id: roomId }, select: { name: true } });
    await this.log.append({
      stream: roomStream(roomId),
      type: "membership",
      actor,
      data: { userId, name: user.name, change: "added" },
      derived: [{ stream: userStream(userId), type: "member.added", data: () => ({ roomId, name }) }],
    });
  }

  /**
   * Removes `userId` from a private room: its creator may remove anyone, anyone may leave. In a
   * direct message no one removes the other (whoever opened it first is its creator only by
   * chance); either may leave it.
   * The caller then cuts the person's live access (Hub.revokeRoom): from here on every read of
   * the room answers them `unknown_room`.
   */
  async removeMember(roomId: string, actor: Actor, userId: string): Promise<void> {
    await this.requirePrivateRoom(roomId, actor);
    if (actor.id !== userId) {
      const { createdBy, direct } = await this.roomOrigin(roomId);
      if (direct) throw new WorkspaceError("forbidden", "No one removes the other person from a direct message; you can leave it");
      if (createdBy !== actor.id) throw new WorkspaceError("forbidden", "Only the room's creator can remove others");
    }
    const [gone] = await this.prisma.$queryRaw<{ name: string }[]>`
      DELETE FROM room_members m USING users u WHERE m.room_id = ${roomId} AND m.user_id = ${userId} AND u.id = m.user_id RETURNING u.name`;
    if (!gone) return;
    // In the room's history (1.13), and told in their own stream (1.7), as an addition is: the
    // room leaves every page of theirs, those not showing it included (a page showing it also
    // hears `removed` from the hub).
    await this.log.append({
      stream: roomStream(roomId),
      type: "membership",
      actor,
      data: { userId, name: gone.name, change: actor.id === userId ? "left" : "removed" },
      derived: [{ stream: userStream(userId), type: "member.removed", data: () => ({ roomId }) }],
    });
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

  /** A public room's creator when its `room.created` never reached the feed; null when it did, or for a private room. */
  private async unannouncedCreator(id: string): Promise<Actor | null> {
    const room = await this.prisma.room.findUnique({ where: { id }, select: { createdBy: true, visibility: true } });
    // Only a public room is announced: a private one never is, and must never become one.
    if (!room?.createdBy || room.visibility !== "public") return null;
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
    // A private room's members are its members already, and the feed is public: nothing to record.
    if ((await this.visibility(roomId)) === "private") return;
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
      // The read position is written with the membership, so a member always has one (1.14).
      const head = await this.log.head(roomStream(roomId));
      await this.prisma.$transaction([
        this.prisma.$executeRaw`SET LOCAL synchronous_commit = off`,
        this.prisma.roomMember.createMany({ data: [{ roomId, userId: actor.id }], skipDuplicates: true }),
        this.readingFrom(roomId, actor.id, head),
      ]);
    }
    // Past the bound the least recently joined is forgotten: its next join costs one lookup again.
    if (this.knownMembers.size >= KNOWN_MEMBERS_MAX) this.knownMembers.delete(this.knownMembers.values().next().value!);
    this.knownMembers.add(key);
  }

  /**
   * What a room held before a person first came is its history, not news to them (protocol
   * 1.14): their read position starts at the room's `head` as they come, unless they have one
   * already. Otherwise a room glanced into, or one they were added to, would count its whole
   * past as unread.
   */
  private readingFrom(roomId: string, userId: string, head: number) {
    return this.prisma.$executeRaw`INSERT INTO room_reads (user_id, room_id, read_seq) VALUES (${userId}, ${roomId}, ${head}) ON CONFLICT DO NOTHING`;
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
    opts: MessageOptions = {},
  ): Promise<PreparedAppend> {
    const text = messageText(rawText);
    await this.requireRoom(roomId, actor.id);
    const stream = roomStream(roomId);
    const replyTo = opts.replyTo === undefined ? undefined : replyRef(await this.message(roomId, opts.replyTo));
    const mentions = await this.mentionsIn(text, opts.mentions);
    const preview = previewOf(text);
    const pointer = (e: RealtimeEvent) => ({ roomId, seq: e.seq, preview });
    // The feed is public: a private room's messages reach its members through their own streams.
    const members = await this.privateMembers(roomId);
    // A direct message the other person left comes back to them with this message, as in Slack:
    // in their list again, told in their own stream, the message unread.
    const back = members && members.size < 2 ? await this.directBack(roomId, actor.id) : null;
    if (back) members!.add(back.userId);
    const derived: DerivedAppend[] = members
      ? [
          ...(back ? [{ stream: userStream(back.userId), type: "member.added", data: () => ({ roomId, name: back.name }) } satisfies DerivedAppend] : []),
          ...[...members].filter((id) => id !== actor.id).map((id): DerivedAppend => ({ stream: userStream(id), type: "message.posted", data: pointer })),
        ]
      : [{ stream: "feed", type: "message.posted", data: pointer }];
    const notified = new Set<string>([actor.id]);
    // In a private room only members are told, whoever the text names.
    for (const { id } of mentions) {
      if (members && !members.has(id)) continue;
      if (notified.has(id)) continue;
      notified.add(id);
      derived.push({ stream: userStream(id), type: "mention", data: pointer });
    }
    // Someone mentioned in their own answer hears of it once, as a mention.
    if (replyTo && !notified.has(replyTo.actor.id) && (!members || members.has(replyTo.actor.id))) derived.push({ stream: userStream(replyTo.actor.id), type: "reply", data: pointer });
    const data: MessageData = { text, clientId, ...(replyTo ? { replyTo } : {}), ...(mentions.length > 0 ? { mentions } : {}) };
    return () => this.log.append({ stream, type: "message", actor, data, clientId, derived });
  }

  /**
   * An edit of the author's message `seq`. People named for the first time are notified (the
   * mention points at the message); the stored message takes the new text in the same commit.
   */
  async prepareEdit(
    roomId: string,
    actor: Actor,
    seq: number,
    rawText: string,
    clientId: string,
    mentionIds?: string[],
  ): Promise<PreparedAppend | Answered> {
    const text = messageText(rawText);
    await this.requireRoom(roomId, actor.id);
    const repeat = await this.repeated(roomId, actor, clientId);
    if (repeat) return repeat;
    const target = await this.ownMessage(roomId, seq, actor, "edit");
    if (target.data.deleted) throw new WorkspaceError("message_deleted", "That message was deleted");
    const mentions = await this.mentionsIn(text, mentionIds);
    const already = new Set([actor.id, ...(target.data.mentions ?? []).map((m) => m.id)]);
    // In a private room only members are told, whoever the text names.
    const members = await this.privateMembers(roomId);
    if (members) for (const m of mentions) if (!members.has(m.id)) already.add(m.id);
    const preview = previewOf(text);
    const derived: DerivedAppend[] = [
      ...changeTold(roomId, target, actor.id, preview, members),
      ...[...new Set(mentions.map((m) => m.id))]
        .filter((id) => !already.has(id))
        .map((id): DerivedAppend => ({ stream: userStream(id), type: "mention", data: () => ({ roomId, seq, preview }) })),
    ];
    return () =>
      this.log.append({
        stream: roomStream(roomId),
        type: "message.edited",
        actor,
        data: { seq, text, clientId, ...(mentions.length > 0 ? { mentions } : {}) },
        clientId,
        derived,
        effect: async (tx, event) => {
          const folded = await foldIntoMessage(tx, event as ChangeEvent);
          if (folded && !folded.deleted) return refreshCopies(tx, roomId, seq, preview);
          // It lost the race to a delete (prepared before it, committed after): nothing takes
          // its text, and the log keeps none of it either, nor do the notices and mentions it
          // wrote with it.
          await tx.query(`UPDATE events SET data = (data - 'mentions') || '{"text":""}'::jsonb WHERE stream = $1 AND seq = $2`, [event.stream, event.seq]);
          await setPreviews(tx, roomId, seq, "");
        },
      });
  }

  /**
   * A delete of the author's message `seq`: the text leaves the database in the same commit —
   * the message's, its earlier edits', its previews in the feed and in notifications, and the
   * quotes of the replies to it.
   */
  async prepareDelete(roomId: string, actor: Actor, seq: number, clientId: string): Promise<PreparedAppend | Answered> {
    await this.requireRoom(roomId, actor.id);
    const repeat = await this.repeated(roomId, actor, clientId);
    if (repeat) return repeat;
    const target = await this.ownMessage(roomId, seq, actor, "delete");
    if (target.data.deleted) return { answered: target };
    const derived = changeTold(roomId, target, actor.id, "", await this.privateMembers(roomId));
    return () =>
      this.log.append({
        stream: roomStream(roomId),
        type: "message.deleted",
        actor,
        data: { seq, clientId },
        clientId,
        derived,
        effect: async (tx, event) => {
          await foldIntoMessage(tx, event as ChangeEvent);
          await blankCopies(tx, roomId, seq);
        },
      });
  }

  /** Adds or takes back `emoji` on message `seq`; unchanged when it is already so. */
  async prepareReaction(
    roomId: string,
    actor: Actor,
    seq: number,
    emoji: string,
    on: boolean,
    clientId: string,
  ): Promise<PreparedAppend | Answered> {
    await this.requireRoom(roomId, actor.id);
    const repeat = await this.repeated(roomId, actor, clientId);
    if (repeat) return repeat;
    const target = await this.message(roomId, seq);
    if (target.data.deleted) throw new WorkspaceError("message_deleted", "That message was deleted");
    if (hasReacted(target.data, emoji, actor.id) === on) return { answered: target };
    if (on && reactionsFull(target.data, emoji)) {
      throw new WorkspaceError("too_many_reactions", "This message has as many different reactions as it can hold");
    }
    return () =>
      this.log.append({
        stream: roomStream(roomId),
        type: "reaction",
        actor,
        data: { seq, emoji, on, clientId },
        clientId,
        effect: async (tx, event) => {
          await foldIntoMessage(tx, event as ChangeEvent);
        },
      });
  }

  /**
   * The event a change's clientId already appended, looked up before the checks: a retried
   * change gets its first answer even when the message has moved on since (deleted, or the
   * reaction taken back). The log would catch the repeat too, but only after the checks.
   */
  private async repeated(roomId: string, actor: Actor, clientId: string): Promise<Answered | null> {
    const earlier = await this.log.findByKey(roomStream(roomId), actor.id, clientId);
    return earlier ? { answered: earlier } : null;
  }

  /** The message `seq` of the room (as it is now), or `unknown_message`. */
  private async message(roomId: string, seq: number): Promise<MessageEvent> {
    const event = await this.log.readOne(roomStream(roomId), seq);
    if (event?.type !== "message") throw new WorkspaceError("unknown_message", `There is no message ${seq} in "${roomId}"`);
    return event;
  }

  /** The message `seq`, which only its author may change. */
  private async ownMessage(roomId: string, seq: number, actor: Actor, what: string): Promise<MessageEvent> {
    const event = await this.message(roomId, seq);
    if (event.actor.id !== actor.id) throw new WorkspaceError("forbidden", `Only its author can ${what} a message`);
    return event;
  }

  /**
   * The people a message names. With `ids` (picked from the autocomplete), each person who
   * exists and whose `@name` is in the text, so any display name works; without, people found by
   * `@name` as in version 1. Each is recorded with the name the text uses for them.
   */
  private async mentionsIn(text: string, ids: string[] | undefined): Promise<MentionRef[]> {
    if (ids !== undefined) {
      if (ids.length === 0) return [];
      const rows = await this.prisma.$queryRaw<{ id: string; name: string }[]>`
        SELECT id, name FROM users WHERE id = ANY(${[...new Set(ids)]}::text[])`;
      const lower = text.toLowerCase();
      return rows.filter((r) => lower.includes(`@${r.name.toLowerCase()}`)).map((r) => ({ id: r.id, name: r.name }));
    }
    return this.mentionedByName(text);
  }

  /**
   * A page of the room's history, for someone who may read it: the newest `limit` before
   * `before` (or the newest of all), or with `after` the oldest `limit` after it. With it, the
   * names its people go by now (protocol 1.10): an event keeps the name it was written under, a
   * reader shows the one its author has today.
   */
  async history(roomId: string, userId: string, before: number | null, limit: number, after: number | null = null) {
    await this.requireRoom(roomId, userId);
    const page = after !== null ? await this.log.readAfterPage(roomStream(roomId), after, limit) : await this.log.readBefore(roomStream(roomId), before, limit);
    return { ...page, people: await this.namesNow(page.events) };
  }

  /**
   * The people `events` name (their authors, those they quote, those who reacted, those who came
   * or went), as named now.
   */
  private async namesNow(events: readonly RealtimeEvent[]): Promise<Actor[]> {
    const ids = new Set<string>();
    for (const e of events) {
      ids.add(e.actor.id);
      if (e.type === "membership") ids.add(e.data.userId);
      if (e.type !== "message") continue;
      const data = e.data as MessageData;
      if (data.replyTo) ids.add(data.replyTo.actor.id);
      for (const people of Object.values(data.reactions ?? {})) for (const p of people) ids.add(p.id);
    }
    if (ids.size === 0) return [];
    return this.prisma.$queryRaw<Actor[]>`SELECT id, name FROM users WHERE id = ANY(${[...ids]}::text[]) ORDER BY id`;
  }

  /** The workspace activity feed, newest page or the page before `before`. */
  async feed(before: number | null, limit: number) {
    // Its items; not the notices of changes to them (1.18), which these already read.
    const page = await this.log.readBefore("feed", before, limit, FEED_ITEMS);
    return { ...page, people: await this.namesNow(page.events) };
  }

  async notifications(userId: string, limit: number) {
    const [{ events }, marker] = await Promise.all([
      // A person's stream also carries their private rooms' messages: the list is of what names them.
      this.log.readBefore(userStream(userId), null, limit, ["mention", "reply"]),
      this.prisma.notificationRead.findUnique({ where: { userId } }),
    ]);
    // What was said in a private room the person has since been removed from (or left) is no
    // longer theirs to read, notifications included.
    const readable = new Map<string, boolean>();
    for (const e of events) {
      if (e.type !== "mention" && e.type !== "reply") continue;
      if (!readable.has(e.data.roomId)) readable.set(e.data.roomId, await this.roomExists(e.data.roomId, userId));
    }
    const theirs = events.filter((e) => (e.type === "mention" || e.type === "reply") && readable.get(e.data.roomId));
    return { events: theirs, readSeq: Number(marker?.readSeq ?? 0), people: await this.namesNow(theirs) };
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
   * People named by `@name` in the text (case-insensitive). Each mention stands for the longest
   * of its candidate names that someone has ("@Ada Lovelace" is Ada Lovelace, not Ada, when both
   * exist); everyone with that name is mentioned.
   */
  private async mentionedByName(text: string): Promise<MentionRef[]> {
    const groups = mentionCandidates(text);
    if (groups.length === 0) return [];
    const rows = await this.prisma.$queryRaw<{ id: string; name: string; lname: string }[]>`
      SELECT id, name, lower(name) AS lname FROM users WHERE lower(name) = ANY(${[...new Set(groups.flat())]}::text[]) LIMIT 500`;
    const taken = new Set(rows.map((r) => r.lname));
    const names = new Set(groups.map((candidates) => candidates.find((n) => taken.has(n))).filter((n) => n !== undefined));
    return rows.filter((r) => names.has(r.lname)).slice(0, 50).map((r) => ({ id: r.id, name: r.name }));
  }

  /**
   * The mention autocomplete: people whose name contains `query` (case-insensitive), those who
   * joined `roomId` first, at most `limit`.
   */
  /**
   * Messages holding every one of `words` (each as a word's beginning), newest first, in the
   * rooms `userId` may read: the public ones and the private ones they are in, checked in the
   * same query. Found from the words index (server/search-index.ts, a moment behind the log);
   * an edited message by what it says now, and a deleted one not at all.
   */
  async searchMessages(userId: string, words: string[], limit: number): Promise<SearchResult[]> {
    const query = wordsQuery(words);
    // The words index may be a moment behind an edit: each message found is checked against
    // what it says now. A result names its author as they are named now (1.10), not as the
    // message was written.
    const rows = await this.prisma.$queryRaw<Array<{ stream: string; seq: bigint; actor_id: string; actor_name: string; at: Date; text: string }>>`
      SELECT e.stream, e.seq, e.actor_id, COALESCE(u.name, e.actor_name) AS actor_name, e.at, e.data->>'text' AS text
        FROM message_words w
        JOIN events e ON e.stream = w.stream AND e.seq = w.seq
        JOIN rooms r ON r.id = substr(w.stream, ${ROOM_STREAM_PREFIX.length + 1})
        LEFT JOIN users u ON u.id = e.actor_id
       WHERE w.words @@ to_tsquery('simple', ${query})
         AND to_tsvector('simple', e.data->>'text') @@ to_tsquery('simple', ${query})
         AND (r.visibility = 'public' OR EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = ${userId}))
       ORDER BY e.at DESC, e.seq DESC
       LIMIT ${limit}`;
    return rows.map((row) => ({
      roomId: row.stream.slice(ROOM_STREAM_PREFIX.length),
      seq: Number(row.seq),
      actor: { id: row.actor_id, name: row.actor_name },
      at: row.at.toISOString(),
      snippet: snippetAround(plainText(row.text), words),
    }));
  }

  async people(query: string, roomId: string | null, limit: number): Promise<User[]> {
    const pattern = `%${escapeLike(query.toLowerCase())}%`;
    // In a private room only its members can be mentioned (no one else would be told): only
    // they are offered (protocol 1.16).
    const anyone = roomId === null || (await this.visibility(roomId)) !== "private";
    return this.prisma.$queryRaw<User[]>`
      SELECT u.id, u.name, u.color FROM users u
        LEFT JOIN room_members m ON m.user_id = u.id AND m.room_id = ${roomId ?? ""}
       WHERE lower(u.name) LIKE ${pattern} ESCAPE '\\' AND (${anyone} OR m.user_id IS NOT NULL)
       ORDER BY (m.user_id IS NULL), (lower(u.name) LIKE ${`${escapeLike(query.toLowerCase())}%`} ESCAPE '\\') DESC, lower(u.name)
       LIMIT ${limit}`;
  }
}

/** A room's stream is `room:<id>`. */
const ROOM_STREAM_PREFIX = roomStream("");

function messageText(raw: string): string {
  const parsed = messageTextSchema.safeParse(raw);
  if (!parsed.success) throw new WorkspaceError("invalid_text", parsed.error.issues[0]?.message ?? "Invalid message text");
  return parsed.data;
}

/** What a reply quotes of the message it answers. */
function replyRef(target: MessageEvent): ReplyRef {
  return target.data.deleted
    ? { seq: target.seq, actor: target.actor, preview: "", deleted: true }
    : { seq: target.seq, actor: target.actor, preview: previewOf(target.data.text) };
}

/**
 * Folds a change into its stored message (inside the change's append: its stream is locked);
 * returns the message as it now stands, or null when there is none.
 */
async function foldIntoMessage(tx: Sql, change: ChangeEvent): Promise<MessageData | null> {
  const rows = await tx.query<{ data: unknown }>(
    `SELECT data FROM events WHERE stream = $1 AND seq = $2 AND type = 'message'`,
    [change.stream, change.data.seq],
  );
  if (!rows[0]) return null;
  const data = (typeof rows[0].data === "string" ? JSON.parse(rows[0].data) : rows[0].data) as MessageData;
  const next = applyChange(data, change);
  if (next !== data) await tx.query(`UPDATE events SET data = $3::jsonb WHERE stream = $1 AND seq = $2`, [change.stream, change.data.seq, JSON.stringify(next)]);
  return next;
}

/**
 * An edit or delete of `message`, told where a preview stands for it (protocol 1.18): the
 * public feed, or a private room's members' own streams (`members`, null for a public room);
 * and the streams of the people it mentions and answers. Not the author's: their own messages
 * point nowhere of theirs.
 */
function changeTold(roomId: string, message: MessageEvent, authorId: string, preview: string, members: Set<string> | null): DerivedAppend[] {
  const told = new Set<StreamName>(members ? [...members].map(userStream) : ["feed"]);
  const named = [...(message.data.mentions ?? []).map((m) => m.id), ...(message.data.replyTo ? [message.data.replyTo.actor.id] : [])];
  for (const id of named) if (!members || members.has(id)) told.add(userStream(id));
  told.delete(userStream(authorId));
  return [...told].map((stream) => ({ stream, type: "message.changed", data: () => ({ roomId, seq: message.seq, preview }) }));
}

/**
 * The events that hold a message's preview, as each partial index over them names them
 * (prisma/migrations): the feed's and notifications' pointers, and the notices of its changes.
 */
const POINTER_TYPES = ["'message.posted', 'mention', 'reply'", "'message.changed'"] as const;

/**
 * The copies of an edited message's text that stand for the message elsewhere — its previews in
 * the feed and in notifications, the quotes of the replies to it — take the new text, in the
 * edit's commit: someone who edits out a pasted secret takes it out of every page that loads
 * them from then on. (An edit event itself keeps the text it set, as history.)
 */
async function refreshCopies(tx: Sql, roomId: string, seq: number, preview: string): Promise<void> {
  await setPreviews(tx, roomId, seq, preview);
  await tx.query(
    `UPDATE events SET data = jsonb_set(data, '{replyTo,preview}', to_jsonb($3::text))
      WHERE stream = $1 AND type = 'message' AND data ? 'replyTo' AND (data->'replyTo'->>'seq')::int8 = $2`,
    [roomStream(roomId), seq, preview],
  );
}

/**
 * The previews standing for a message (the feed's and notifications' pointers, and the notices
 * of its changes) set to `preview`: "" for a deleted one. Two statements, each on its own
 * partial index.
 */
async function setPreviews(tx: Sql, roomId: string, seq: number, preview: string): Promise<void> {
  for (const types of POINTER_TYPES) {
    await tx.query(
      `UPDATE events SET data = jsonb_set(data, '{preview}', to_jsonb($3::text))
        WHERE type IN (${types}) AND data->>'roomId' = $1 AND (data->>'seq')::int8 = $2`,
      [roomId, seq, preview],
    );
  }
}

/** Every other copy of a deleted message's text: its edits, its previews, the quotes of its replies. */
async function blankCopies(tx: Sql, roomId: string, seq: number): Promise<void> {
  const stream = roomStream(roomId);
  await tx.query(
    `UPDATE events SET data = (data - 'mentions') || '{"text":""}'::jsonb
      WHERE stream = $1 AND type = 'message.edited' AND (data->>'seq')::int8 = $2`,
    [stream, seq],
  );
  await setPreviews(tx, roomId, seq, "");
  await tx.query(
    `UPDATE events SET data = jsonb_set(data, '{replyTo}', (data->'replyTo') || '{"preview":"","deleted":true}'::jsonb)
      WHERE stream = $1 AND type = 'message' AND data ? 'replyTo' AND (data->'replyTo'->>'seq')::int8 = $2`,
    [stream, seq],
  );
}
