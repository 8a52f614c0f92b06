// The pages of long-polling clients. A page (one browser tab, named by the `conn` it picks)
// is to `POST /api/poll/frames` what a socket is to a WebSocket: it joins rooms, is present in
// them, and has its own frame limit. A page has no socket to close, so it lasts as long as it
// keeps polling or sending: a page silent for the presence lapse is gone, and its rooms with it.
import type { Session } from "../auth";
import type { CommandContext } from "../commands/context";
import type { EventLog } from "../eventlog";
import type { Hub, Subscriber } from "../hub";
import type { PersonRates } from "../ratelimit";
import { sameUser } from "../../lib/presence-diff";
import { POLL_PRESENCE_TTL_MS, roomStream, type ServerFrame, type User } from "../../lib/protocol";

export interface PollPagesOptions {
  hub: Hub;
  log: EventLog;
  /** The person's rate limits, shared with their WebSockets. */
  rates: PersonRates;
  /** A page is present (and kept) this long after its last poll or batch. */
  presenceTtlMs?: number;
  /** Pages one session keeps (its tabs): past it, its least recently seen page is dropped. */
  maxPerSession?: number;
  /** Pages kept in all: past it, the least recently seen page is dropped. */
  maxPages?: number;
  now?: () => number;
}

const DEFAULT_MAX_PER_SESSION = 16;
const DEFAULT_MAX_PAGES = 10_000;
/** A page's documents that said goodbye, remembered so that what they had on their way renews nothing. */
const GONE_DOCS_KEPT = 4;

/**
 * One page. To the hub it is the connection its presence, typing and cursor come from (it
 * leaves rooms as a Subscriber does); events reach it through its held polls, never here.
 */
export class PollPage implements Subscriber {
  readonly transport = "longpoll" as const;
  readonly id: string;
  readonly user: User;
  readonly sessionId: string;
  readonly rooms = new Set<string>();
  /** What the command executor knows of the page. */
  readonly commands: CommandContext;
  seenAt: number;
  /** When the page said goodbye (protocol 1.20); null: it has not, or joined a room since. */
  goneAt: number | null = null;
  /** The page's documents that said goodbye (protocol 1.21), the latest last, a few at most. */
  readonly goneDocs: string[] = [];
  /** The document the page's requests last came from (1.21); null: none has named one. */
  liveDoc: string | null = null;

  constructor(
    readonly key: string,
    session: Session,
    private readonly owner: PollPages,
    now: () => number,
  ) {
    this.user = session.user;
    this.sessionId = session.id;
    this.id = `poll:${key}`;
    this.seenAt = now();
    this.commands = {
      user: this.user,
      transport: "longpoll",
      source: this.id,
      rates: owner.rates,
      rooms: this.rooms,
      joinOnDemand: true,
      subscribe: (room) => owner.join(this, room),
      unsubscribe: (room) => owner.leave(this, room),
      // The canvas' events come with the page's polls (`canvas:<room>` from the answer's
      // position), from whichever instance answers them: nothing to follow here.
      followCanvas: (_room, _since, answer) => Promise.resolve([answer]),
      unfollowCanvas: () => undefined,
    };
  }

  onEvent(): void {}
}

export class PollPages {
  /** Every page, least recently seen first. */
  private readonly pages = new Map<string, PollPage>();
  private readonly bySession = new Map<string, Set<PollPage>>();
  private readonly now: () => number;
  private readonly ttlMs: number;
  readonly rates: PersonRates;

  constructor(private readonly opts: PollPagesOptions) {
    this.now = opts.now ?? Date.now;
    this.ttlMs = opts.presenceTtlMs ?? POLL_PRESENCE_TTL_MS;
    this.rates = opts.rates;
    // A page is no connection of the hub's: a removal from a private room reaches it here.
    opts.hub.onRevoke((userId, room) => {
      for (const page of this.pages.values()) if (page.user.id === userId) this.leave(page, room);
    });
    // Signed out: the session's pages leave their rooms now, not at the lapse.
    opts.hub.onSignOut((sessionId) => {
      for (const page of [...(this.bySession.get(sessionId) ?? [])]) this.drop(page);
    });
  }

  get size(): number {
    return this.pages.size;
  }

  /** Sessions with a page: none is kept once its pages are gone (memory follows the pages). */
  get sessions(): number {
    return this.bySession.size;
  }

  /**
   * The session's page `conn` for a batch of frames, made if new; seen now, and present again
   * in its rooms, unless it said goodbye: a batch the page sent as it went (the last message
   * marked read, say) can reach the server after the goodbye and must not undo it (1.20). A
   * reloaded page's first batch joins its rooms again, and a join makes it present.
   */
  open(session: Session, conn: string, doc: string | null = null): PollPage {
    const page = this.find(session, conn) ?? this.create(session, conn);
    if (doc !== null ? this.fromLiveDoc(page, doc) : page.goneAt === null) this.renew(page);
    return page;
  }

  /**
   * The session's page `conn` if it exists, polling `rooms`; seen now, and present again in
   * those of its rooms (a poll of the feed alone keeps no one in a room). Unless `keptAt` (the
   * poll carries on a subscription kept then) is no later than the page's goodbye: that poll was
   * on its way when the page went, and must not undo the goodbye (1.20). A reloaded page's
   * first poll carries on nothing, and renews.
   */
  seen(session: Session, conn: string, rooms: readonly string[], keptAt?: number, doc: string | null = null): PollPage | null {
    const page = this.find(session, conn);
    if (!page) return null;
    const renews = doc !== null ? this.fromLiveDoc(page, doc) : !(keptAt !== undefined && page.goneAt !== null && keptAt <= page.goneAt);
    if (renews) this.renew(page, rooms);
    return page;
  }

  /**
   * Whether a request of document `doc` renews its page (protocol 1.21): not if that document
   * said goodbye (what it had on its way as it went); otherwise it is the page's live document
   * from now on. With the document named, the server never has to guess which one a request
   * came from, as it must for a page of 1.20 (`goneAt`).
   */
  private fromLiveDoc(page: PollPage, doc: string): boolean {
    if (page.goneDocs.includes(doc)) return false;
    page.liveDoc = doc;
    page.goneAt = null;
    return true;
  }

  private find(session: Session, conn: string): PollPage | null {
    this.sweep();
    const key = `${session.id}:${conn}`;
    const page = this.pages.get(key);
    if (!page) return null;
    // Most recently seen last, in all and in its session: the sweep and the bounds take from the front.
    this.pages.delete(key);
    this.pages.set(key, page);
    const mine = this.bySession.get(session.id)!;
    mine.delete(page);
    mine.add(page);
    page.seenAt = this.now();
    return this.asNow(page, session);
  }

  /**
   * The page's person changed their name (protocol 1.9): it goes on as them now, in the rooms
   * it joined, under the same id (their presence there changes, with no leave in between).
   */
  private asNow(page: PollPage, session: Session): PollPage {
    if (sameUser(page.user, session.user)) return page;
    const now = new PollPage(page.key, session, this, this.now);
    for (const room of page.rooms) now.rooms.add(room);
    now.goneAt = page.goneAt;
    now.liveDoc = page.liveDoc;
    now.goneDocs.push(...page.goneDocs);
    this.pages.set(page.key, now);
    const mine = this.bySession.get(session.id)!;
    mine.delete(page);
    mine.add(now);
    return now;
  }

  private create(session: Session, conn: string): PollPage {
    const mine = this.bySession.get(session.id);
    if (mine && mine.size >= (this.opts.maxPerSession ?? DEFAULT_MAX_PER_SESSION)) this.drop(mine.values().next().value!);
    if (this.pages.size >= (this.opts.maxPages ?? DEFAULT_MAX_PAGES)) this.drop(this.pages.values().next().value!);
    const page = new PollPage(`${session.id}:${conn}`, session, this, this.now);
    this.pages.set(page.key, page);
    let set = this.bySession.get(session.id);
    if (!set) this.bySession.set(session.id, (set = new Set()));
    set.add(page);
    return page;
  }

  /** Present in the rooms the page joined (of `only`, if given) until the lapse: renewed by each poll and batch. */
  private renew(page: PollPage, only?: readonly string[]): void {
    for (const room of only ?? page.rooms) {
      if (page.rooms.has(room)) this.opts.hub.presence.touch(room, page.user, page.id, this.ttlMs);
    }
  }

  /** @internal The executor's join, checked and limited: the page is present now; events come by polls. */
  async join(page: PollPage, room: string): Promise<ServerFrame[]> {
    page.rooms.add(room);
    page.goneAt = null;
    this.opts.hub.presence.touch(room, page.user, page.id, this.ttlMs);
    const head = await this.opts.log.head(roomStream(room));
    return [{ type: "joined", room, head, members: this.opts.hub.members(room) }];
  }

  /** @internal The executor's leave: out of the room at once, with its typing and cursor. */
  leave(page: PollPage, room: string): boolean {
    if (!page.rooms.delete(room)) return false;
    this.opts.hub.leaveRoom(room, page, { immediate: true });
    return true;
  }

  /**
   * The page said goodbye (protocol 1.20): its typing and cursor go at once, as a closed
   * WebSocket's do, and its presence after the grace. It keeps its rooms: a reload is the same
   * page (its id outlives the document), and its first batch or poll may reach the server before
   * the old document's goodbye does; renewed by it, the page stays present. A page that never
   * comes back is let go at the lapse, as any silent page.
   */
  close(page: PollPage, doc: string | null = null): void {
    if (doc !== null) {
      page.goneDocs.push(doc);
      if (page.goneDocs.length > GONE_DOCS_KEPT) page.goneDocs.shift();
      // Another document of the page is live already (a reload heard first): this goodbye is the
      // old document's, late, and the page is not going.
      if (page.liveDoc !== null && page.liveDoc !== doc) return;
    }
    page.goneAt = this.now();
    for (const room of page.rooms) this.opts.hub.pageGone(room, page);
  }

  /** Lets go of pages silent for longer than the lapse (their presence has lapsed already). */
  private sweep(): void {
    const before = this.now() - this.ttlMs;
    for (const page of this.pages.values()) {
      if (page.seenAt > before) break;
      this.drop(page);
    }
  }

  private drop(page: PollPage): void {
    for (const room of [...page.rooms]) this.leave(page, room);
    this.pages.delete(page.key);
    const mine = this.bySession.get(page.sessionId)!;
    mine.delete(page);
    if (mine.size === 0) this.bySession.delete(page.sessionId);
  }
}
