// The workspace's rooms: listed over HTTP a page at a time (searched on the server), created by
// anyone, announced to others by the feed. And how far the person has read each (protocol
// 1.2): positions and unread counts come with every list answer (the server's, the same on
// every device), move live with the feed's `message.posted` and the person's reads, here or on
// another device (`roomRead`), or marks (1.11). And which rooms the person muted (1.12).
import { create } from "zustand";
import { roomAnswerSchema, roomsAnswerSchema, UNREAD_COUNT_CAP, type RoomInfo } from "../protocol";
import { api, ApiError, apiNoContent } from "./http";
import { hearNames, usePeople } from "./people";

/** How far the person has read one room. */
export interface RoomRead {
  readSeq: number;
  /** Messages of others after `readSeq`, at most UNREAD_COUNT_CAP. */
  unread: number;
  /** The newest seq known of the room: a read up to it leaves nothing unread. */
  head: number;
  /**
   * Whether new messages count as unread: the person joined or read the room (the server
   * counts nothing in a room they never went to, and says so only as a count).
   */
  counted: boolean;
  /**
   * Messages counted here as they came (seqs), since the last list answer: an answer counts up
   * to its own head, so those after it are still to be added to its count.
   */
  live?: number[];
  /** Deleted messages already taken off the count (seqs): a second notice of one changes nothing. */
  gone?: number[];
}

interface RoomsState {
  /** The pages loaded so far, merged by id: `general` and the person's rooms first, then A–Z. */
  rooms: RoomInfo[];
  /** What the list is filtered by (a part of a room's name); "" for every room. */
  query: string;
  /** The `after` of the next page; null when the list is complete. */
  next: string | null;
  status: "idle" | "loading" | "ready" | "error";
  loadingMore: boolean;
  /** Loads the first page for `query` (default: the current one). */
  load(query?: string): Promise<void>;
  /** Appends the next page. */
  loadMore(): Promise<void>;
  /** Resolves with the new room, or an error message for the form (409 taken, 429, 400 bad name). */
  create(name: string, visibility?: "public" | "private"): Promise<{ room: RoomInfo } | { error: string }>;
  /** Opens (or finds) the direct-message room with this person. */
  directMessage(userId: string): Promise<{ room: RoomInfo } | { error: string }>;
  /** A `room.created` from the feed: someone else's new room. */
  announce(room: Pick<RoomInfo, "id" | "name" | "createdAt">): void;
  /** A `message.posted` from the feed: the room's head moved. */
  advance(roomId: string, head: number): void;

  /** Read positions and unread counts by room id, for every room any answer listed. */
  reads: Record<string, RoomRead>;
  /**
   * Room names as written ("Mobile_Team") by id ("mobile_team"), for every room any answer or
   * announcement named: what the room's header shows.
   */
  names: Record<string, string>;
  /**
   * The private rooms (and direct messages) among them, which are named without a `#`: a `#`
   * says anyone may come in.
   */
  privateRooms: Record<string, true>;
  /**
   * The other person of each direct message, by room id: the conversation goes by their name
   * as it is now (`useRoomLabel`), renamed the moment they rename themselves.
   */
  dmWith: Record<string, string>;
  /**
   * The room list of the sidebar: the plain first page (`general`, the person's rooms, then
   * A–Z), whatever the home page's list is searching for.
   */
  sidebar: RoomInfo[];
  sidebarStatus: "idle" | "loading" | "ready" | "error";
  loadSidebar(): Promise<void>;
  /**
   * The person opened `roomId`: it is one of their rooms now, so the sidebar lists it (after
   * `general`) even before the next load brings it among their rooms.
   */
  visited(roomId: string, info?: RoomInfo): void;
  /** A room gone for this person (removed from it, or left): out of every list. */
  forget(roomId: string): void;
  /**
   * How many times the person was added back to each private room while this page was open: a
   * page showing the room as gone opens it afresh when this moves (RoomView keys on it).
   */
  regained: Record<string, number>;
  /** Added to a private room (`member.added`): a page showing it as gone may open it now. */
  regain(roomId: string): void;
  /**
   * The room the person is looking at the newest messages of (open, the tab visible, the list
   * at its bottom), or null: messages posted there are seen as they come, not unread.
   */
  viewing: string | null;
  setViewing(roomId: string | null): void;
  /**
   * A message was posted (the feed's `message.posted`, or my own stream's for a private room of
   * mine: `mine`): unread unless its author is me or I am looking.
   */
  posted(roomId: string, seq: number, authorId: string, meId: string, mine?: boolean): void;
  /**
   * The message `seq`, by `authorId`, was deleted (1.18's `message.changed`, or the room's own
   * `message.deleted`): counted unread, it is not any more, as the server no longer counts it.
   * Told twice (the feed and my own stream), it is taken off once.
   */
  deleted(roomId: string, seq: number, authorId: string, meId: string): void;
  /**
   * My position in the room moved to `readSeq` (read here, or on another device); from now on
   * its new messages count as unread. `readUpTo(room, 0)`: I opened it.
   */
  readUpTo(roomId: string, readSeq: number): void;
  /** My position in a room, from the server when no answer listed the room yet. */
  readPosition(roomId: string): Promise<number>;
  /**
   * My position in the room was set to `readSeq` by marking what follows unread (protocol 1.11),
   * here or on another device: taken even when behind the one known. `unread`: the count, when
   * the caller knows it; otherwise it is asked of the server.
   */
  markedUnread(roomId: string, readSeq: number, unread?: number): void;
  /**
   * The room this page marked unread while it was open, and where: the page stops reading it
   * until the person leaves it (`release`), or the next glance would read it again at once.
   */
  held: { room: string; readSeq: number } | null;
  hold(roomId: string, readSeq: number): void;
  release(roomId: string): void;
  /** The rooms the person muted (protocol 1.12): their messages are not news, here or on any device. */
  muted: Record<string, true>;
  /** Mutes (or unmutes) a room for the person: at once here, then on the server; an error message if it refused. */
  mute(roomId: string, on: boolean): Promise<string | null>;
  /** The person muted or unmuted a room (on any device). */
  setMuted(roomId: string, on: boolean): void;
  /** Signed out: the positions were that person's. */
  forgetReads(): void;
}

/** Lists one room (searched by its id, which its name contains): its position and unread count. */
async function listOne(roomId: string): Promise<void> {
  const asked = askedNow();
  const answer = await api(`/api/rooms?q=${encodeURIComponent(roomId)}`, roomsAnswerSchema);
  const listed = answer.rooms.filter((r) => r.id === roomId);
  useRooms.setState((s) => ({ reads: absorb(s.reads, listed, asked), ...named(s, listed), ...mutedFrom(s, listed, asked) }));
}

/**
 * List answers, mutes and marks in the order they happened: each list request, and each room
 * muted, unmuted or marked unread, here or on another device, takes the next number. An answer
 * asked for before a mute or a mark says what was true before it, and must not undo it.
 */
let moment = 0;
const askedNow = () => ++moment;
const mutedAt = new Map<string, number>();
const markedAt = new Map<string, number>();

/** Each load is numbered: an answer to an older one (a query typed over) is dropped. */
let latest = 0;

const pageUrl = (query: string, after: string | null) => {
  const params = new URLSearchParams();
  if (query) params.set("q", query);
  if (after) params.set("after", after);
  const text = params.toString();
  return text ? `/api/rooms?${text}` : "/api/rooms";
};

function merge(rooms: RoomInfo[], more: RoomInfo[]): RoomInfo[] {
  const seen = new Set(rooms.map((r) => r.id));
  return [...rooms, ...more.filter((r) => !seen.has(r.id))];
}

/**
 * The positions a list answer carries, over what is known. The server's count is the truth as
 * of its answer, unless a read of mine is newer than it (sent, not yet in the answer): then
 * mine stands, and the count is at most what is left after it. A room marked unread after the
 * answer was `asked` for keeps its mark (the answer knew the position from before it).
 */
function absorb(reads: Record<string, RoomRead>, rooms: readonly RoomInfo[], asked: number): Record<string, RoomRead> {
  const next = { ...reads };
  for (const r of rooms) {
    if (r.readSeq === undefined || r.unread === undefined) continue;
    if ((markedAt.get(r.id) ?? 0) > asked) continue;
    const known = next[r.id];
    const head = Math.max(r.head, known?.head ?? 0);
    const counted = (known?.counted ?? false) || r.joined === true || r.readSeq > 0 || r.unread > 0;
    // Messages that came live past the answer's head: its count stops at its head (server/room-reads.ts).
    const live = (known?.live ?? []).filter((seq) => seq > r.head);
    const gone = known?.gone;
    next[r.id] =
      known && known.readSeq > r.readSeq
        ? { readSeq: known.readSeq, unread: Math.min(r.unread, Math.max(0, head - known.readSeq)), head, counted, gone }
        : { readSeq: r.readSeq, unread: Math.min(UNREAD_COUNT_CAP, r.unread + live.length), head, counted, live, gone };
  }
  return next;
}

/**
 * What a room is called on this page: its name, or for a direct message the other person's
 * (protocol 1.8; a server before it names the room after both).
 */
export function shownName(room: Pick<RoomInfo, "name" | "with">): string {
  return room.with?.name ?? room.name;
}

/** The names (and which are private, and whose direct messages) an answer carries, over what is known. */
function named(
  s: Pick<RoomsState, "names" | "privateRooms" | "dmWith">,
  rooms: ReadonlyArray<Pick<RoomInfo, "id" | "name" | "private" | "with">>,
): Pick<RoomsState, "names" | "privateRooms" | "dmWith"> {
  const names = rooms.every((r) => s.names[r.id] === shownName(r)) ? s.names : { ...s.names, ...Object.fromEntries(rooms.map((r) => [r.id, shownName(r)])) };
  const newlyPrivate = rooms.filter((r) => r.private && !s.privateRooms[r.id]);
  const privateRooms = newlyPrivate.length === 0 ? s.privateRooms : { ...s.privateRooms, ...Object.fromEntries(newlyPrivate.map((r) => [r.id, true as const])) };
  // A list's answer says each direct message's other person's name as it is now.
  hearNames(rooms.flatMap((r) => (r.with ? [r.with] : [])));
  const newlyWith = rooms.filter((r) => r.with && s.dmWith[r.id] !== r.with.id);
  const dmWith = newlyWith.length === 0 ? s.dmWith : { ...s.dmWith, ...Object.fromEntries(newlyWith.map((r) => [r.id, r.with!.id])) };
  return { names, privateRooms, dmWith };
}

/**
 * Which of a list answer's rooms the person muted (1.12), over what is known: a list answer
 * says it of every room it lists (a room's own answer, as to `POST /api/dms`, does not), as of
 * when it was `asked` for.
 */
function mutedFrom(s: Pick<RoomsState, "muted">, rooms: ReadonlyArray<Pick<RoomInfo, "id" | "muted">>, asked: number): Pick<RoomsState, "muted"> {
  const current = rooms.filter((r) => (mutedAt.get(r.id) ?? 0) < asked);
  return { muted: current.reduce((m, r) => withMuted(m, r.id, r.muted === true), s.muted) };
}

function withMuted(muted: Record<string, true>, roomId: string, on: boolean): Record<string, true> {
  if (on === (muted[roomId] === true)) return muted;
  const next = { ...muted };
  if (on) next[roomId] = true;
  else delete next[roomId];
  return next;
}

/** Direct-message rooms are named `dm-…` by the server (server/workspace.ts `directRoom`). */
export function isDirectMessage(roomId: string): boolean {
  return roomId.startsWith("dm-");
}

/** How a room is named wherever it is mentioned: "#mobile_team", or a private room's bare name. */
export function roomLabel(s: Pick<RoomsState, "names" | "privateRooms">, id: string): string {
  const name = s.names[id] ?? id;
  return s.privateRooms[id] ? name : `#${name}`;
}

/** `roomLabel`, with a direct message under its other person's name as they go by it now. */
export function useRoomLabel(id: string): string {
  const label = useRooms((s) => roomLabel(s, id));
  const person = useRooms((s) => s.dmWith[id]);
  return usePeople((s) => (person === undefined ? undefined : s.names.get(person))) ?? label;
}

/**
 * Sidebar answers asked for so far, and the rooms `visited` added to the sidebar, each with the
 * first ask that came after it: an answer to an earlier ask may not have it yet.
 */
let sidebarAsks = 0;
const visitedAt = new Map<string, number>();

export const useRooms = create<RoomsState>()((set, get) => ({
  rooms: [],
  query: "",
  next: null,
  status: "idle",
  loadingMore: false,

  async load(query = get().query) {
    const ticket = ++latest;
    const sameQuery = query === get().query;
    set((s) => ({ query, status: s.status === "idle" || !sameQuery ? "loading" : s.status }));
    const asked = askedNow();
    try {
      const answer = await api(pageUrl(query, null), roomsAnswerSchema);
      if (ticket !== latest) return;
      set((s) => ({
        rooms: merge([], answer.rooms),
        next: answer.next ?? null,
        status: "ready",
        loadingMore: false,
        reads: absorb(s.reads, answer.rooms, asked),
        ...named(s, answer.rooms),
        ...mutedFrom(s, answer.rooms, asked),
      }));
    } catch {
      if (ticket !== latest) return;
      set((s) => ({ status: s.status === "ready" && sameQuery ? "ready" : "error" }));
    }
  },

  async loadMore() {
    const { next, query, loadingMore } = get();
    if (!next || loadingMore) return;
    const ticket = latest;
    set({ loadingMore: true });
    try {
      const asked = askedNow();
      const answer = await api(pageUrl(query, next), roomsAnswerSchema);
      if (ticket !== latest) return;
      set((s) => ({
        rooms: merge(s.rooms, answer.rooms),
        next: answer.next ?? null,
        loadingMore: false,
        reads: absorb(s.reads, answer.rooms, asked),
        ...named(s, answer.rooms),
        ...mutedFrom(s, answer.rooms, asked),
      }));
    } catch {
      if (ticket === latest) set({ loadingMore: false });
    }
  },

  async create(name, visibility = "public") {
    try {
      const { room } = await api("/api/rooms", roomAnswerSchema, { method: "POST", body: { name, visibility } });
      if (room.private) get().visited(room.id, room);
      else get().announce(room);
      return { room };
    } catch (err) {
      return { error: err instanceof ApiError ? err.message : "Could not create the room" };
    }
  },

  announce(room) {
    set((s) => {
      const { names } = named(s, [room]);
      // Only into a complete list it belongs to: past the loaded pages it turns up in its own.
      const fits = s.next === null && room.id.includes(s.query.toLowerCase());
      return !fits || s.rooms.some((r) => r.id === room.id) ? { names } : { names, rooms: [...s.rooms, { head: 0, ...room }] };
    });
  },

  async directMessage(userId) {
    try {
      const { room } = await api("/api/dms", roomAnswerSchema, { method: "POST", body: { userId } });
      get().visited(room.id, room);
      return { room };
    } catch (err) {
      return { error: err instanceof ApiError ? err.message : "Could not open the conversation" };
    }
  },

  advance(roomId, head) {
    const moved = (rooms: RoomInfo[]) => rooms.map((r) => (r.id === roomId && r.head < head ? { ...r, head } : r));
    set((s) => ({ rooms: moved(s.rooms), sidebar: moved(s.sidebar) }));
  },

  reads: {},
  names: {},
  privateRooms: {},
  dmWith: {},
  sidebar: [],
  sidebarStatus: "idle",
  viewing: null,

  async loadSidebar() {
    set((s) => ({ sidebarStatus: s.sidebarStatus === "ready" ? "ready" : "loading" }));
    const asked = ++sidebarAsks;
    const askedAt = askedNow();
    try {
      const answer = await api("/api/rooms", roomsAnswerSchema);
      set((s) => {
        // A room this page opened after asking (a direct message just made) is newer than the
        // answer: kept, not dropped until the next refresh.
        const newer = s.sidebar.filter((r) => (visitedAt.get(r.id) ?? 0) > asked && !answer.rooms.some((a) => a.id === r.id));
        const at = answer.rooms[0]?.id === "general" ? 1 : 0;
        const sidebar = [...answer.rooms.slice(0, at), ...newer, ...answer.rooms.slice(at)];
        return { sidebar, sidebarStatus: "ready", reads: absorb(s.reads, answer.rooms, askedAt), ...named(s, answer.rooms), ...mutedFrom(s, answer.rooms, askedAt) };
      });
    } catch {
      set((s) => ({ sidebarStatus: s.sidebarStatus === "ready" ? "ready" : "error" }));
    }
  },

  forget(roomId) {
    set((s) => ({ rooms: s.rooms.filter((r) => r.id !== roomId), sidebar: s.sidebar.filter((r) => r.id !== roomId) }));
  },

  regained: {},
  regain(roomId) {
    set((s) => ({ regained: { ...s.regained, [roomId]: (s.regained[roomId] ?? 0) + 1 } }));
  },

  visited(roomId, info) {
    if (info) set((s) => named(s, [info]));
    const { sidebar, rooms } = get();
    if (sidebar.some((r) => r.id === roomId)) return;
    visitedAt.set(roomId, sidebarAsks + 1);
    const known = info ?? rooms.find((r) => r.id === roomId) ?? { id: roomId, name: roomId, createdAt: new Date().toISOString(), head: 0 };
    const at = sidebar[0]?.id === "general" ? 1 : 0;
    set({ sidebar: [...sidebar.slice(0, at), known, ...sidebar.slice(at)] });
  },

  setViewing(roomId) {
    if (get().viewing !== roomId) set({ viewing: roomId });
  },

  posted(roomId, seq, authorId, meId, mine) {
    get().advance(roomId, seq);
    // A message in a private room of mine the sidebar does not list yet (someone opened a direct
    // message with me): the next list has it, with its count.
    if (mine && !get().sidebar.some((r) => r.id === roomId)) void get().loadSidebar();
    set((s) => {
      const known = s.reads[roomId];
      // A room no answer listed: its count comes with the list that shows it.
      if (!known || seq <= known.head) return s;
      const unseen = known.counted && authorId !== meId && seq > known.readSeq && s.viewing !== roomId;
      const unread = unseen ? Math.min(UNREAD_COUNT_CAP, known.unread + 1) : known.unread;
      const live = unseen ? [...(known.live ?? []), seq].slice(-UNREAD_COUNT_CAP) : known.live;
      return { reads: { ...s.reads, [roomId]: { ...known, unread, head: seq, live } } };
    });
  },

  deleted(roomId, seq, authorId, meId) {
    set((s) => {
      const known = s.reads[roomId];
      // Not counted: mine, read already, not known yet, or past a capped count ("99+" stays).
      if (!known?.counted || authorId === meId || seq <= known.readSeq || seq > known.head) return s;
      if (known.unread === 0 || known.unread >= UNREAD_COUNT_CAP || known.gone?.includes(seq)) return s;
      const gone = [...(known.gone ?? []), seq].slice(-UNREAD_COUNT_CAP);
      return { reads: { ...s.reads, [roomId]: { ...known, unread: known.unread - 1, live: known.live?.filter((x) => x !== seq), gone } } };
    });
  },

  readUpTo(roomId, readSeq) {
    set((s) => {
      const known = s.reads[roomId] ?? { readSeq: 0, unread: 0, head: readSeq, counted: false };
      if (readSeq <= known.readSeq) return known.counted ? s : { reads: { ...s.reads, [roomId]: { ...known, counted: true } } };
      const head = Math.max(known.head, readSeq);
      // What is left after it is at most the seqs after it (some of them my own, or not messages).
      const unread = Math.min(known.unread, head - readSeq);
      const after = (seq: number) => seq > readSeq;
      return { reads: { ...s.reads, [roomId]: { readSeq, unread, head, counted: true, live: known.live?.filter(after), gone: known.gone?.filter(after) } } };
    });
  },

  forgetReads() {
    mutedAt.clear();
    markedAt.clear();
    set({ reads: {}, sidebar: [], sidebarStatus: "idle", viewing: null, held: null, muted: {} });
  },

  async readPosition(roomId) {
    const known = get().reads[roomId];
    if (known) return known.readSeq;
    await listOne(roomId);
    return get().reads[roomId]?.readSeq ?? 0;
  },

  markedUnread(roomId, readSeq, unread) {
    markedAt.set(roomId, askedNow());
    set((s) => {
      const known = s.reads[roomId] ?? { readSeq, unread: 0, head: readSeq, counted: true };
      return { reads: { ...s.reads, [roomId]: { ...known, readSeq, unread: unread ?? known.unread, counted: true, live: undefined } } };
    });
    // The server counts what is unread after it now; the answer's position is this one, so its count stands.
    if (unread === undefined) void listOne(roomId).catch(() => undefined);
  },

  muted: {},
  async mute(roomId, on) {
    const was = get().muted[roomId] === true;
    get().setMuted(roomId, on);
    try {
      await apiNoContent(`/api/rooms/${encodeURIComponent(roomId)}/mute`, { method: on ? "PUT" : "DELETE" });
      return null;
    } catch (err) {
      get().setMuted(roomId, was);
      return err instanceof ApiError ? err.message : "Could not reach the server; try again.";
    }
  },
  setMuted(roomId, on) {
    mutedAt.set(roomId, askedNow());
    set((s) => ({ muted: withMuted(s.muted, roomId, on) }));
  },

  held: null,
  hold(roomId, readSeq) {
    set({ held: { room: roomId, readSeq } });
  },
  release(roomId) {
    if (get().held?.room === roomId) set({ held: null });
  },
}));

/**
 * Rooms with anything unread, for the tab's title. The room being looked at is not waiting: its
 * messages are seen as they come. Nor is `open`, the room on the page (its canvas shown, say,
 * where the page itself says what came in its chat).
 */
export function roomsWithUnread(s: Pick<RoomsState, "reads" | "viewing" | "muted">, open: string | null = null): number {
  let n = 0;
  for (const [id, r] of Object.entries(s.reads)) if (r.unread > 0 && id !== s.viewing && id !== open && !s.muted[id]) n++;
  return n;
}
