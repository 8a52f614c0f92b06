// Long polling (`/api/poll`): the fallback for every stream where a proxy blocks upgrades or
// buffers streams. Answers at once when events wait after the cursor; otherwise holds the
// request until an event, a change of room state (at most every 250 ms), or `wait` passes.
// A poll woken by an event waits a short window (`PollBatches`) for what else commits, so one
// answer carries a burst, and windows are paced (at most one per `POLL_PACE_MS`) while events
// keep coming; answers are encoded once for every poller at the same position
// (`PollAnswers`), and carry the rooms' state only when the poller does not have it already.
// A poll's subscription outlives its answer (`PollSubscription`): the same tab's next poll from
// the answer's cursor takes it over, so a poller subscribes once, not once a request. That next
// poll names it by the ticket the answer carried (`Poll-Next`, protocol 1.17) and is taken up
// before it is routed or its session read (`carryOn`): its cookie, streams and cursor only
// compared with what the poll that began it was checked for.
// Upstream, a page's frames (`POST /api/poll/frames`) go to the same command executor as a
// WebSocket's (`runFrames`).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { SESSION_TRUST_MS, type Session } from "../auth";
import type { ConnectionBudget, ConnectionLease, ConnectionRefusal } from "../connection-budget";
import type { EventLog } from "../eventlog";
import type { DisconnectReason, Encoder, Hub, Outgoing, RoomFrame, Subscriber } from "../hub";
import { HttpError, sendError, sendJson } from "../http/respond";
import { counterFor, readOnScrape, type Metrics, type Tally } from "../metrics";
import type { Logger } from "../log";
import type { Workspace } from "../workspace";
import { decodeFrame, errorFrame } from "../commands/errors";
import { CommandExecutor } from "../commands/executor";
import { KeyedBuckets } from "../keyed-buckets";
import { PersonRates } from "../ratelimit";
import { PollAnswers, PollBatches, roomsToken } from "./poll-answers";
import { PollPages } from "./poll-pages";
import { MAX_BACKLOG_BYTES, WriteGuard } from "./slow-consumer";
import { cursorOf, cursorText, readCursor, resolveStreams } from "./streams";
import {
  canvasStream,
  formatCursor,
  MAX_FRAME_BYTES,
  POLL_BATCH_MS,
  POLL_PACE_MS,
  POLL_MAX_WAIT_S,
  POLL_STATE_TOKEN_MAX,
  POLL_PRESENCE_TTL_MS,
  roomOfStream,
  type Cursor,
  type ErrorCode,
  type RoomState,
  type ServerFrame,
  type StreamName,
  type User,
} from "../../lib/protocol";

/** A held poll is answered for a change of room state at most this often (events go at once). */
export const POLL_STATE_INTERVAL_MS = 250;
/**
 * How long a poll's subscription outlives its answer, waiting for the same client's next poll.
 * A client polls again the moment it has an answer; one that does not come back within this is
 * gone (or backing off), and its next poll subscribes afresh from its cursor.
 */
export const POLL_KEEP_MS = 10_000;

export interface LongPollOptions {
  hub: Hub;
  log: EventLog;
  workspace: Workspace;
  logger: Logger;
  metrics?: Metrics;
  /** Minimum spacing of answers caused only by room-state changes, per client. */
  stateIntervalMs?: number;
  presenceTtlMs?: number;
  /** Most events in one answer; the rest come with the next poll. */
  maxEvents?: number;
  /**
   * Bytes of events in one answer (its events' JSON; at least one event goes whatever its
   * size): what one answer may hold in memory. Default `MAX_BACKLOG_BYTES`.
   */
  maxAnswerBytes?: number;
  /** An answer whose socket has not drained for this long is destroyed; default `WRITE_STALL_MS`. */
  writeStallMs?: number;
  /** Most polls held at once; past it, new polls are refused with 503 `overloaded` and Retry-After. */
  maxHeld?: number;
  /**
   * Most polls one session holds at once (its tabs, each with its own `client=`): past it, the
   * session's oldest poll is let go, so one session cannot take every slot.
   */
  maxHeldPerSession?: number;
  /**
   * Caps on the connections (WebSockets, streams and held polls together) a person and an
   * address hold; none when absent. A held poll takes a slot until it is answered.
   */
  budget?: ConnectionBudget;
  /** The person's rate limits, shared with their WebSockets; buckets of its own when absent. */
  rates?: PersonRates;
  /** Carries out the pages' frames; one over `hub` and `workspace` unless given. */
  executor?: CommandExecutor;
  /**
   * How long a held poll woken by an event waits for more before answering (protocol 1.3);
   * default `POLL_BATCH_MS`. 0: answers with the commit batch that woke it, at the end of its tick.
   */
  batchMs?: number;
  /** Bytes of events that end the wait at once (the answer is big enough); default `BATCH_BYTES`. */
  batchBytes?: number;
  /**
   * Least time between the ends of two batch windows (protocol 1.4): while events keep coming,
   * a poller is answered at most this often. Default `POLL_PACE_MS`; 0: no pace.
   */
  paceMs?: number;
}

const DEFAULT_MAX_EVENTS = 1000;
/** A batch this big (events' JSON) is answered without waiting out the window. */
export const BATCH_BYTES = 64 * 1024;
const DEFAULT_MAX_HELD = 10_000;
/** Clients whose last answer is remembered (its room state, its spacing); past it, the oldest is forgotten. */
export const MAX_REMEMBERED_CLIENTS = 10_000;
/** A browser holds at most 6 HTTP/1.1 connections per host for all its tabs; HTTP/2 allows more. */
const DEFAULT_MAX_HELD_PER_SESSION = 16;
/**
 * The least `wait` of a poll taken up by its ticket (protocol 1.17): one that asks for less is
 * read afresh, in its turn, so that answers at once cannot chain tickets into a loop.
 */
export const MIN_CARRY_ON_WAIT_S = 1;
/** Seconds a refused poller waits before polling again (the client adds jitter). */
const RETRY_AFTER_S = 2;
/**
 * How often one session may push out its own oldest held poll: a page opening or changing its
 * streams does it now and then; a client that polls past its bound in a loop would otherwise
 * have every request evict another and redo the database work of a poll, for nothing.
 */
const EVICTIONS_PER_SESSION = { ratePerSecond: 1, burst: 4 } as const;

type AnswerReason = "events" | "state" | "timeout" | "superseded" | "drain" | "immediate";

/** What a poll asks of the subscription that holds it. */
interface PollAsk {
  /** The page it is for (`conn`); null from a version 1 client. */
  conn: string | null;
  /** The page's document it comes from (`doc`, protocol 1.21); null from a client before it. */
  doc: string | null;
  /** The `state` of its client's last answer (protocol 1.3). */
  state: string | null;
  /** How long it may be held. */
  waitMs: number;
}

export class LongPollTransport {
  /** The polls held now (a request waiting for its answer), by key. */
  private readonly held = new Map<string, PollSubscription>();
  /** The held polls of each session, oldest first (never an empty set: `release` drops it). */
  private readonly bySession = new Map<string, Set<PollSubscription>>();
  /** The connection slot each held poll takes (ConnectionBudget). */
  private readonly leases = new Map<PollSubscription, ConnectionLease>();
  /**
   * Subscriptions between a poll's answer and the client's next poll, one per client (session
   * and `conn`), least recently answered first: the next poll from the answer's cursor takes its
   * subscription over instead of subscribing again.
   */
  private readonly kept = new Map<string, PollSubscription>();
  /** The kept subscriptions of each session, least recently answered first (never an empty set). */
  private readonly keptBySession = new Map<string, Set<PollSubscription>>();
  /**
   * Kept subscriptions by the ticket their last answer carried (`Poll-Next`, protocol 1.17):
   * the next poll that names it is taken up without being read afresh (`carryOn`).
   */
  private readonly tickets = new Map<string, PollSubscription>();
  /** Tickets are this process's prefix and a count: a ticket is only ever honoured with its poller's cookie. */
  private readonly ticketPrefix = randomBytes(6).toString("base64url");
  private ticketCount = 0;
  private readonly ticketsTaken: Tally | undefined;
  private readonly ticketsDeclined: Tally | undefined;
  /** @internal Polls taken, fresh or continuing a kept subscription (tests wait on it). */
  taken = 0;
  private readonly maxHeld: number;
  private readonly maxHeldPerSession: number;
  private readonly evictions: KeyedBuckets;
  /**
   * Per client: when it last got an answer caused by room state, and which version of each
   * room's state its last answer carried (bounded, oldest evicted).
   */
  private readonly seen = new Map<string, { stateAnswerAt: number; versions: Map<string, number> }>();
  private draining = false;
  /** One per connection that carried an answer: watches its unsent bytes (see `sent`). */
  private readonly guards = new Map<Socket, WriteGuard>();
  /** The pages that sent frames: their rooms, presence and frame limit. */
  readonly pages: PollPages;
  private readonly executor: CommandExecutor;
  /** The window held polls woken together wait out before answering. */
  readonly batches: PollBatches;
  /** Answers encoded once for every poller at the same position. */
  readonly answers: PollAnswers;
  /**
   * Names this process's room-state versions in `state` tokens: a token from another instance,
   * or from before a restart, never matches here, so that poller gets the state in full.
   */
  private readonly epoch = randomBytes(4).toString("base64url");
  /** Counted per delivery: looked up once. */
  readonly encodings: Tally | undefined;

  constructor(private readonly opts: LongPollOptions) {
    this.batches = new PollBatches({ windowMs: opts.batchMs ?? POLL_BATCH_MS, paceMs: opts.paceMs ?? POLL_PACE_MS });
    this.answers = new PollAnswers();
    this.encodings = counterFor(opts.metrics?.pollEncodings, "");
    this.ticketsTaken = counterFor(opts.metrics?.pollTickets, "taken");
    this.ticketsDeclined = counterFor(opts.metrics?.pollTickets, "declined");
    // Read when scraped: they move with every poll. A long poll is an open connection while its
    // request is held (`rt_connections`, as the ops page shows them), not while its subscription
    // waits for the next request.
    readOnScrape(opts.metrics?.pollsHeld, (g) => g.set(this.held.size));
    readOnScrape(opts.metrics?.pollsKept, (g) => g.set(this.kept.size));
    readOnScrape(opts.metrics?.connections, (g) => g.set({ transport: "longpoll" }, this.held.size));
    // A version 1 poller signed out is present nowhere from then on (a page leaves by PollPages).
    opts.hub.onSignOut((sessionId) => opts.hub.presence.removeConnection(pollPresenceId(sessionId)));
    this.maxHeld = opts.maxHeld ?? DEFAULT_MAX_HELD;
    this.maxHeldPerSession = opts.maxHeldPerSession ?? DEFAULT_MAX_HELD_PER_SESSION;
    this.evictions = new KeyedBuckets({ ...EVICTIONS_PER_SESSION, maxKeys: 10_000 });
    this.pages = new PollPages({
      hub: opts.hub,
      log: opts.log,
      rates: opts.rates ?? new PersonRates(),
      presenceTtlMs: opts.presenceTtlMs,
    });
    this.executor = opts.executor ?? new CommandExecutor({ hub: opts.hub, workspace: opts.workspace, logger: opts.logger, metrics: opts.metrics });
  }

  /**
   * A page's batch of frames (`POST /api/poll/frames`), carried out in order as a WebSocket's
   * are, each checked on its own: a bad frame is answered with its error and the rest go on.
   * Resolves with every answer (`ack`, `joined`, `error`), in the frames' order, once the
   * batch's messages are durable; frames that have no answer (typing, cursor, a leave) add none.
   */
  async runFrames(session: Session, conn: string, frames: readonly unknown[], doc: string | null = null): Promise<ServerFrame[]> {
    const page = this.pages.open(session, conn, doc);
    const metrics = this.opts.metrics;
    const answers: Array<ServerFrame[] | Promise<ServerFrame[]>> = [];
    for (const value of frames) {
      if (Buffer.byteLength(JSON.stringify(value) ?? "") > MAX_FRAME_BYTES) {
        answers.push([errorFrame("payload_too_large", `A frame is at most ${MAX_FRAME_BYTES} bytes`)]);
        continue;
      }
      // The person's frame rate, shared with their WebSockets; over it the frame is refused, not
      // lost unanswered.
      if (!page.commands.rates.take(page.user.id, "frame")) {
        metrics?.rateLimited.inc({ type: "frame" });
        answers.push([errorFrame("rate_limited", "Too many frames; slow down")]);
        continue;
      }
      // The page is going (protocol 1.20): gone from its rooms after the grace, as a closed
      // WebSocket is, unless it polls again (a reload).
      if (isBye(value)) {
        metrics?.framesIn.inc({ type: "bye" });
        this.pages.close(page, doc);
        continue;
      }
      const decoded = decodeFrame(value);
      if ("error" in decoded) {
        answers.push([decoded.error]);
        continue;
      }
      metrics?.framesIn.inc({ type: decoded.frame.type });
      const reply = await this.executor.execute(decoded.frame, page.commands);
      answers.push(reply.frames);
      if (reply.later) answers.push(reply.later.then((later) => later.frames));
    }
    const out = (await Promise.all(answers)).flat();
    for (const f of out) if (f.type === "error") metrics?.protocolErrors.inc({ code: f.code });
    return out;
  }

  get size(): number {
    return this.held.size;
  }

  /** Bytes of answers their pollers have not taken yet (held in this process). */
  /** @internal Connections whose answers are watched for slowness (each let go when it closes). */
  get watchedConnections(): number {
    return this.guards.size;
  }

  get unsentBytes(): number {
    let n = 0;
    for (const g of this.guards.values()) n += g.backlog;
    return n;
  }

  /**
   * @internal An answer was written to `socket`: a poller that does not take it is destroyed
   * once its connection holds more than two answers' worth unsent, or its socket has not
   * drained within the write-stall timeout. Merely ended, the answer would stay in memory for
   * as long as the poller keeps the connection open.
   */
  sent(socket: Socket): void {
    if (socket.destroyed) return;
    let guard = this.guards.get(socket);
    if (!guard) {
      guard = new WriteGuard(socket, {
        maxBytes: 2 * (this.opts.maxAnswerBytes ?? MAX_BACKLOG_BYTES),
        stallMs: this.opts.writeStallMs,
        onTooSlow: (reason) => this.opts.metrics?.slowConsumerCloses.inc({ transport: "longpoll", reason }),
        onDone: () => this.guards.delete(socket),
      });
      this.guards.set(socket, guard);
    }
    guard.check();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL, session: Session): Promise<void> {
    const waitS = parseWait(url.searchParams.get("wait"));
    const state = parseState(url.searchParams.get("state"));
    // `conn` (the id a page sends its frames under) or, from version 1 clients, `client`.
    const conn = url.searchParams.get("conn");
    const client = (conn ?? url.searchParams.get("client") ?? "").slice(0, 64);
    const streamsParam = url.searchParams.get("streams");
    // The client's last answer left a subscription here: a poll for the same streams from that
    // answer's cursor carries on with it (the events committed since are already in it). A poll
    // from any other cursor (an answer that never arrived), or for other streams, means the
    // client moved on: it is let go, and the poll subscribes afresh.
    const clientKey = `${session.id}|${client}`;
    const requestKey = `${clientKey}|${streamsParam}`;
    let kept = this.kept.get(clientKey);
    // The cursor the last answer carried, sent back as it was, needs no parsing.
    const cursor = kept?.answeredWith(requestKey, cursorText(req, url.searchParams)) ? null : readCursor(req, url, session.user);
    if (kept && cursor && !kept.continuesFrom(requestKey, cursor)) {
      kept.dispose();
      kept = undefined;
    }
    const streams = kept ? kept.streams : await resolveStreams(streamsParam, session.user, this.opts.workspace);
    const key = kept ? kept.key : `${session.id}|${client}|${[...streams].sort().join(",")}`;
    // Refused before any database work: shedding load must be cheap.
    if (this.isFull(key)) return this.refuseOverloaded(res);
    const budget = this.opts.budget;
    const address = budget ? budget.addressOf(req) : "";
    // Over a connection cap: refused at once too — unless this session holds polls, since a
    // new one then pushes out its oldest (below) rather than being turned away.
    if (budget && !this.bySession.has(session.id)) {
      const refusal = budget.check(session.user.id, address, "longpoll");
      if (refusal) return this.refuseTooMany(res, refusal);
    }
    // A session at its bound makes room by pushing out its oldest poll (below), a few times a
    // second at most: past that the new poll is the one refused, before any database work.
    const mine = this.bySession.get(session.id);
    if (mine && !this.held.has(key) && (mine.size >= this.maxHeldPerSession || budget?.check(session.user.id, address))) {
      const waitS = this.evictions.take(session.id);
      if (waitS > 0) {
        this.opts.metrics?.pollAnswers.inc({ reason: "rate_limited" });
        return sendError(res, new HttpError("rate_limited", "Too many polls for this session; try again shortly"), { "Retry-After": String(waitS) });
      }
    }

    const rooms = kept ? kept.rooms : streams.map(roomOfStream).filter((r): r is string => r !== null);
    if (!kept) {
      // Polling a room is joining it, as a WebSocket `join` is: the first time is in the feed.
      // Recorded before the positions are taken, so a first poll of the feed starts after its
      // own member.joined (after the first, it costs nothing: the membership is remembered).
      await Promise.all(
        rooms.map((room) =>
          this.opts.workspace
            .recordJoin(room, session.user)
            .catch((err: unknown) => this.opts.logger.error({ err, room }, "recording the join failed")),
        ),
      );
      if (req.destroyed) return;
      // Checked again: other polls may have taken the last slots while this one read the log.
      if (this.isFull(key)) return this.refuseOverloaded(res);
    }

    // The client's poll before this one, still held: it moved on from it, so it is answered
    // (unread) and let go; this poll carries on from its own cursor.
    this.held.get(key)?.answer("superseded");
    const overCap = budget?.check(session.user.id, address) ?? null;
    const holding = this.bySession.get(session.id);
    if (holding && (holding.size >= this.maxHeldPerSession || overCap)) {
      // The session's oldest poll makes room. It hears 429 with Retry-After rather than an
      // empty 200: a session with more pollers than the cap would otherwise have them evict
      // each other in a loop, each re-polling at once.
      holding.values().next().value!.refuse("rate_limited", "Too many polls held for this session; try again shortly", RETRY_AFTER_S);
    }

    const admitted = budget?.acquire("longpoll", session.user.id, address);
    if (admitted && !admitted.ok) return this.refuseTooMany(res, admitted);
    const poll = kept ?? new PollSubscription(key, clientKey, requestKey, session, streams, rooms, cursor!, this, this.opts);
    // Read in full: what the ticket of its next answer is honoured for (protocol 1.17).
    poll.vouch(req.headers.cookie, session, address, this.now());
    const asked = { conn: conn !== null ? client : null, doc: docOf(url.searchParams), state, waitMs: this.draining ? 0 : waitS * 1000 };
    await this.take(poll, res, session, asked, admitted?.lease, !kept);
  }

  /**
   * A poll that names the subscription its last answer left (`?next=`, protocol 1.17), taken up
   * before it is routed or its session read: true when it carries on from that answer (`prepare`
   * gives its answer the headers every API answer has); false when it is to be read afresh, as
   * a poll without `next` is. Its cookie must be the one the subscription's polls were read
   * with, and it must name the same streams and client and the answer's cursor: then the
   * session, the streams' rooms and the client's cursor are what they were checked to be.
   * Taken out of the turn-sharing queue too (server/http/fair-share.ts): a ticket comes only
   * with an answer, so these polls come no faster than the server answers them.
   */
  carryOn(req: IncomingMessage, res: ServerResponse, prepare: (res: ServerResponse) => void): boolean {
    const target = req.url ?? "";
    if (req.method !== "GET" || !target.startsWith("/api/poll?") || !target.includes("next=")) return false;
    const query = new URLSearchParams(target.slice("/api/poll?".length));
    const ticket = query.get("next");
    if (ticket === null) return false;
    const poll = this.tickets.get(ticket);
    const asked = poll && this.carriesOn(poll, req, query);
    const admitted = asked ? this.opts.budget?.acquire("longpoll", poll.user.id, poll.address) : undefined;
    if (!poll || !asked || (admitted && !admitted.ok)) {
      this.ticketsDeclined?.inc();
      return false;
    }
    this.ticketsTaken?.inc();
    prepare(res);
    void this.take(poll, res, poll.session, asked, admitted?.lease, false);
    return true;
  }

  /**
   * What a poll naming `poll`'s ticket asks for, when it is that subscription's next poll and
   * nothing stands in its way here; null when it must be read afresh (and, if it may not be
   * held, refused there with the reason).
   */
  private carriesOn(poll: PollSubscription, req: IncomingMessage, query: URLSearchParams): PollAsk | null {
    if (this.draining || req.headers.cookie !== poll.cookie || this.now() >= poll.trustedUntil) return null;
    const conn = query.get("conn");
    const client = (conn ?? query.get("client") ?? "").slice(0, 64);
    const requestKey = `${poll.sessionId}|${client}|${query.get("streams")}`;
    const text = cursorText(req, query);
    // The answer's cursor sent back as it was, or the same positions written otherwise (a page
    // names its own stream `user:me`, as it polls it).
    if (!poll.answeredWith(requestKey, text)) {
      const cursor = cursorOf(text, poll.user);
      if (!cursor || !poll.continuesFrom(requestKey, cursor)) return null;
    }
    const mine = this.bySession.get(poll.sessionId);
    if (this.held.has(poll.key) || this.isFull(poll.key) || (mine && mine.size >= this.maxHeldPerSession)) return null;
    let waitS: number;
    let state: string | null;
    try {
      waitS = parseWait(query.get("wait"));
      state = parseState(query.get("state"));
    } catch {
      return null;
    }
    // A poll that asks to be answered (almost) at once takes its turn: answered at once, it
    // would bring its next ticket straight back, a loop past the queue.
    if (waitS < MIN_CARRY_ON_WAIT_S) return null;
    return { conn: conn === null ? null : client, doc: docOf(query), state, waitMs: waitS * 1000 };
  }

  /**
   * Holds `res` for `poll`, as `asked`: a kept subscription (`fresh` false) carries on, a new
   * one subscribes from its cursor.
   */
  private take(poll: PollSubscription, res: ServerResponse, session: Session, asked: PollAsk, lease: ConnectionLease | undefined, fresh: boolean): Promise<void> | void {
    const { conn, doc, state, waitMs } = asked;
    // A page (it names its `conn`) is present in the rooms it joined by its frames, renewed by
    // each poll; `leave` ends it, and so do a removal and signing out. A version 1 client (no
    // `conn`) is present in the rooms it polls until the lapse: one presence entry per session
    // (not per `client=`), so a session naming new clients adds no entries.
    if (conn !== null) this.pages.seen(session, conn, poll.rooms, fresh ? undefined : poll.keptAt, doc);
    else {
      const presenceId = pollPresenceId(session.id);
      for (const room of poll.rooms) this.opts.hub.presence.touch(room, session.user, presenceId, this.opts.presenceTtlMs ?? POLL_PRESENCE_TTL_MS);
    }
    if (!fresh) this.forget(poll);
    this.hold(poll);
    this.taken++;
    if (lease) this.leases.set(poll, lease);
    res.on("close", () => poll.abort(res));
    if (!fresh) return poll.attach(res, state, waitMs);
    return poll.start(res, state, waitMs);
  }

  /** @internal A ticket for `poll`'s next poll (protocol 1.17). */
  issueTicket(poll: PollSubscription): string {
    const ticket = `${this.ticketPrefix}${(++this.ticketCount).toString(36)}`;
    this.tickets.set(ticket, poll);
    return ticket;
  }

  /** @internal A ticket is spent: its poll came, or its subscription was let go. */
  dropTicket(ticket: string): void {
    this.tickets.delete(ticket);
  }

  /** The time sessions expire by (server/auth.ts#Sessions reads the same). */
  now(): number {
    return Date.now();
  }

  /** Whether a poll under `key` would pass the bound (a poll it supersedes frees its slot). */
  private isFull(key: string): boolean {
    return this.held.size - (this.held.has(key) ? 1 : 0) >= this.maxHeld;
  }

  /**
   * Every slot is taken. Answering at once with an empty 200 would bring the client straight
   * back (a hot loop at the worst moment); 503 with Retry-After spaces it out.
   */
  private refuseOverloaded(res: ServerResponse): void {
    this.opts.metrics?.pollAnswers.inc({ reason: "overloaded" });
    sendError(res, new HttpError("overloaded", "Too many polls held; try again shortly"), { "Retry-After": String(RETRY_AFTER_S) });
  }

  /** Over a person's or an address's connection cap (WebSockets and streams count too). */
  private refuseTooMany(res: ServerResponse, refusal: ConnectionRefusal): void {
    this.opts.metrics?.pollAnswers.inc({ reason: "too_many_connections" });
    sendError(res, new HttpError("too_many_connections", refusal.message), { "Retry-After": String(refusal.retryAfterS) });
  }

  private hold(poll: PollSubscription): void {
    this.held.set(poll.key, poll);
    let mine = this.bySession.get(poll.sessionId);
    if (!mine) this.bySession.set(poll.sessionId, (mine = new Set()));
    mine.add(poll);
  }

  /** Answers every held poll now, and lets go of every kept subscription (shutdown). */
  drain(): void {
    this.draining = true;
    for (const p of [...this.held.values()]) p.disconnect("draining");
    for (const p of [...this.kept.values()]) p.dispose();
  }

  /** Subscriptions kept between a poll's answer and the next poll. */
  get keptSize(): number {
    return this.kept.size;
  }

  /** @internal A poll was answered (or refused, or its client went away): its slot is free. */
  release(poll: PollSubscription): void {
    this.leases.get(poll)?.release();
    this.leases.delete(poll);
    if (this.held.get(poll.key) === poll) this.held.delete(poll.key);
    const mine = this.bySession.get(poll.sessionId);
    if (mine?.delete(poll) && mine.size === 0) this.bySession.delete(poll.sessionId);
  }

  /**
   * @internal An answered poll's subscription waits for the client's next poll, in place of
   * any other of the same client's. Past the bounds (the held polls', in all and per
   * session) the least recently answered are let go: their next polls subscribe afresh.
   */
  keep(poll: PollSubscription): void {
    const other = this.kept.get(poll.clientKey);
    if (other && other !== poll) other.dispose();
    this.forget(poll);
    this.kept.set(poll.clientKey, poll);
    let mine = this.keptBySession.get(poll.sessionId);
    if (!mine) this.keptBySession.set(poll.sessionId, (mine = new Set()));
    mine.add(poll);
    if (mine.size > this.maxHeldPerSession) mine.values().next().value!.dispose();
    if (this.kept.size > this.maxHeld) this.kept.values().next().value!.dispose();
  }

  /** @internal A kept subscription was taken up again, or let go. */
  forget(poll: PollSubscription): void {
    if (this.kept.get(poll.clientKey) === poll) this.kept.delete(poll.clientKey);
    const mine = this.keptBySession.get(poll.sessionId);
    if (mine?.delete(poll) && mine.size === 0) this.keptBySession.delete(poll.sessionId);
  }

  /** @internal The earliest time a state-only answer may go to this client. */
  nextStateAnswerAt(key: string): number {
    return (this.seen.get(key)?.stateAnswerAt ?? 0) + (this.opts.stateIntervalMs ?? POLL_STATE_INTERVAL_MS);
  }

  /**
   * @internal The token naming the rooms' state as it is now (protocol 1.3 `state`): this
   * process, the rooms and each one's version. Equal tokens mean the same state.
   */
  stateToken(rooms: string[]): string {
    return roomsToken(this.epoch, rooms, (r) => this.opts.hub.roomVersion(r));
  }

  /** @internal Whether room state changed since this client's last answer. */
  stateChangedSince(key: string, rooms: string[]): boolean {
    const versions = this.seen.get(key)?.versions;
    return rooms.some((r) => versions?.get(r) !== this.opts.hub.roomVersion(r));
  }

  /**
   * @internal Records what an answer carried: the rooms' versions for a version 1 client (`rooms`),
   * only when a state answer went for a 1.3 client (`null`: its token says the rest).
   */
  noteAnswer(key: string, rooms: string[] | null, stateCaused: boolean): void {
    const prev = this.seen.get(key);
    if (rooms === null && !stateCaused) return;
    this.seen.delete(key);
    this.seen.set(key, {
      stateAnswerAt: stateCaused ? Date.now() : (prev?.stateAnswerAt ?? 0),
      versions: rooms ? new Map(rooms.map((r) => [r, this.opts.hub.roomVersion(r)])) : (prev?.versions ?? new Map()),
    });
    if (this.seen.size > MAX_REMEMBERED_CLIENTS) this.seen.delete(this.seen.keys().next().value!);
  }
}

/** Where a version 1 poller's presence is kept: one entry per session. */
const pollPresenceId = (sessionId: string) => `poll:${sessionId}`;

/** A 1.3 poll's `state`: the token of the client's last answer, opaque; absent for version 1. */
function parseState(text: string | null): string | null {
  if (text === null) return null;
  if (text.length > POLL_STATE_TOKEN_MAX) throw new HttpError("bad_request", "state must be the `state` of an earlier answer");
  return text;
}

function parseWait(text: string | null): number {
  if (text === null || text === "") return POLL_MAX_WAIT_S;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new HttpError("bad_request", "wait must be a number of seconds ≥ 0");
  return Math.min(n, POLL_MAX_WAIT_S);
}

/** Poll subscriptions made by this process: each one's id. */
let pollCount = 0;

/**
 * One client's poll of some streams: a hub subscriber for them and a watcher of their rooms.
 * It holds a request until there is something to answer; once answered it is kept, still
 * subscribed, gathering what commits, until the client's next poll takes it up again
 * (`attach`) from the cursor of that answer. So a poller subscribes once, not once a request.
 */
class PollSubscription implements Subscriber {
  readonly id = `lp-${++pollCount}`;
  readonly transport = "longpoll" as const;
  /** Counted as a connection only while a request is held (`rt_connections`, read by its transport). */
  readonly countedByTransport = true;
  readonly user: User;
  readonly sessionId: string;
  /**
   * What the last poll read in full vouched for (`vouch`): the session, and the cookie and
   * address a poll naming this one's ticket carries on with, until `trustedUntil` (protocol 1.17).
   */
  session: Session;
  cookie: string | undefined;
  address = "";
  trustedUntil = 0;
  /** The ticket its last answer carried, until the next poll comes or it is let go. */
  private ticket: string | null = null;
  /** The held request, or null between polls. */
  private res: ServerResponse | null = null;
  /** The `state` of the client's last answer (protocol 1.3); null from a version 1 client. */
  private clientState: string | null = null;
  private events: Outgoing[] = [];
  /** Events in the answer per stream (with the cursor, they say which events it holds). */
  private readonly counts = new Map<string, number>();
  /** The events' JSON bytes, against `maxAnswerBytes`. */
  private eventBytes = 0;
  /** The answer holds all it may (`maxEvents` or `maxAnswerBytes`): unsubscribed, answered next. */
  private full = false;
  private resets: Record<string, number> = {};
  /** Subscribed and registered; false once let go. */
  live = true;
  /** When its last answer left it waiting for the client's next poll (Date.now()). */
  keptAt = 0;
  private replaying = true;
  /** The cursor of the last answer: the only position a next poll may carry on from. */
  private answered: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stateTimer: NodeJS.Timeout | null = null;
  private keepTimer: NodeJS.Timeout | null = null;
  /** Where each stream is: after the last event gathered. */
  private readonly position: Cursor;

  constructor(
    readonly key: string,
    /** Whose it is: the session and the client's `conn` (one kept per client). */
    readonly clientKey: string,
    /** The request that made it (its client and `streams` as sent): what a next poll must name. */
    private readonly requestKey: string,
    session: Session,
    readonly streams: StreamName[],
    readonly rooms: string[],
    /** The client's cursor; the streams it names resume from it, the others start at the head. */
    private readonly cursor: Cursor,
    private readonly owner: LongPollTransport,
    private readonly opts: LongPollOptions,
  ) {
    this.user = session.user;
    this.sessionId = session.id;
    this.session = session;
    this.position = new Map(cursor);
  }

  /** The first poll: subscribes from its cursor, then answers or holds it. */
  async start(res: ServerResponse, clientState: string | null, waitMs: number): Promise<void> {
    this.res = res;
    this.clientState = clientState;
    const hub = this.opts.hub;
    hub.register(this);
    for (const room of this.rooms) hub.watch(room, this);
    try {
      await Promise.all(
        this.streams.map((s) =>
          hub.subscribe(s, this, {
            since: this.cursor.get(s),
            resumed: this.cursor.has(s),
            // A position beyond the head: the log was reset. Say so, and go on from the head.
            onStart: (head, reset) => {
              if (!this.position.has(s)) this.position.set(s, head);
              if (!reset) return;
              this.resets[s] = head;
              this.position.set(s, head);
            },
          }),
        ),
      );
    } catch (err) {
      this.opts.logger.error({ err }, "poll subscribe failed");
      this.dispose();
      if (!res.headersSent) sendJson(res, 503, { error: { code: "unavailable", message: "Try again shortly" } });
      return;
    }
    this.replaying = false;
    if (this.res !== res) return;
    this.proceed(waitMs);
  }

  /** Whether a poll (`requestKey`, from `cursor`) carries on where this one's last answer left off. */
  continuesFrom(requestKey: string, cursor: Cursor): boolean {
    return this.live && this.res === null && requestKey === this.requestKey && this.answered === formatCursor(this.positionIn(cursor));
  }

  /**
   * A poll read in full (its session checked now) vouches for the subscription: a poll naming
   * its ticket later carries on with the same cookie, for as long as a checked session is trusted.
   */
  vouch(cookie: string | undefined, session: Session, address: string, now: number): void {
    this.cookie = cookie;
    this.session = session;
    this.address = address;
    // From when the database last vouched for the session, not from now: a session read from
    // Sessions' cache has been trusted for part of that time already.
    this.trustedUntil = Math.min(session.expiresAt, (session.checkedAt ?? now) + SESSION_TRUST_MS);
  }

  /** A next poll from the last answer's cursor: answers what gathered since, or holds it. */
  attach(res: ServerResponse, clientState: string | null, waitMs: number): void {
    this.spendTicket();
    if (this.keepTimer) clearTimeout(this.keepTimer);
    this.keepTimer = null;
    this.res = res;
    this.clientState = clientState;
    this.proceed(waitMs);
  }

  /** A held request, subscribed: answered now, with the next batch window, or when news comes. */
  private proceed(waitMs: number): void {
    const resets = Object.keys(this.resets).length > 0;
    if (resets || this.full || waitMs === 0) return this.answer(resets || this.events.length > 0 ? "events" : "immediate");
    if (this.events.length > 0) {
      // Events waited already. While other polls wait out a batch window (the server is busy),
      // or the last window ended less than a pace ago (events keep coming), this one answers
      // with the next window: polls at one position meet in one answer, encoded once, and the
      // next commits join it. Otherwise nothing is gained by waiting.
      if (this.eventBytes < (this.opts.batchBytes ?? BATCH_BYTES) && this.owner.batches.join(this)) return;
      return this.answer("events");
    }
    this.timer = setTimeout(() => this.answer("timeout"), waitMs);
    this.timer.unref();
    // Room state that changed between this client's polls is news too.
    const stateNews =
      this.clientState !== null ? this.rooms.length > 0 && this.clientState !== this.owner.stateToken(this.rooms) : this.owner.stateChangedSince(this.key, this.rooms);
    if (stateNews) this.scheduleStateAnswer();
  }

  /**
   * Whether a poll (`requestKey`) sent back the very cursor of this one's last answer (`text`,
   * as sent): it carries on, and the cursor need not be parsed.
   */
  answeredWith(requestKey: string, text: string): boolean {
    return this.live && this.res === null && requestKey === this.requestKey && this.answered === text;
  }

  /** The cursor an answer carries: where each polled stream is, in the order the client named them. */
  private answerCursor(): string {
    let text = "";
    for (const s of this.streams) {
      const seq = this.position.get(s);
      if (seq !== undefined) text += `${text === "" ? "" : ","}${s}=${seq}`;
    }
    return text;
  }

  /** `cursor`'s positions of the polled streams, in the order the client named them. */
  private positionIn(cursor: Cursor): Cursor {
    return new Map(this.streams.filter((s) => cursor.has(s)).map((s) => [s, cursor.get(s)!]));
  }

  onEvent(stream: string, out: Outgoing): void {
    // Full: a replay page may still be delivering after the unsubscribe; the rest comes next poll.
    if (!this.live || this.full) return;
    this.events.push(out);
    this.counts.set(stream, (this.counts.get(stream) ?? 0) + 1);
    this.eventBytes += out.encoded(jsonBytes);
    this.position.set(stream, out.seq);
    this.full = this.events.length >= (this.opts.maxEvents ?? DEFAULT_MAX_EVENTS) || this.eventBytes >= (this.opts.maxAnswerBytes ?? MAX_BACKLOG_BYTES);
    if (this.full) {
      // Stop here: the cursor says exactly what this answer carries. (Between polls too: what
      // a kept subscription gathers is bounded as an answer is.)
      for (const s of this.streams) this.opts.hub.unsubscribe(s, this);
      if (!this.replaying) this.answer("events");
      return;
    }
    // Replaying, or between polls: the poll that comes takes them.
    if (this.replaying || !this.res) return;
    // Enough for one answer: no reason to wait for more.
    if (this.eventBytes >= (this.opts.batchBytes ?? BATCH_BYTES)) return this.answer("events");
    // Woken: wait out the batch window with every poll woken in it, gathering what else commits.
    if (this.events.length === 1) this.owner.batches.wake(this);
  }

  onRoomFrame(frame: RoomFrame): void {
    // Canvas drags are for WebSockets only: a poll would answer 20 times a second for them,
    // and a long-polling page sees each object at its drop instead. Between polls the next
    // poll compares the rooms' state itself.
    if (!this.res || this.replaying || frame.type === "canvas.live") return;
    this.scheduleStateAnswer();
  }

  /** Answers for a change of room state, but no sooner than the client's spacing allows. */
  private scheduleStateAnswer(): void {
    if (this.stateTimer) return;
    const delay = Math.max(0, this.owner.nextStateAnswerAt(this.key) - Date.now());
    this.stateTimer = setTimeout(() => this.answer("state"), delay);
    this.stateTimer.unref();
  }

  onLagged(): void {
    // The hub let go of it: answered with what it holds, and not kept (the next poll resumes from the log).
    this.answerAndLetGo("events");
  }

  /**
   * A poll ends by being answered: too slow or its person changed, with what it holds (the
   * client polls on from its cursor, and is read again); signed out or draining, at once (the
   * next poll is refused 401, or goes elsewhere). None of them is kept.
   */
  disconnect(reason: DisconnectReason): void {
    this.answerAndLetGo(reason === "too-slow" || reason === "changed" ? "events" : "drain");
  }

  /** Removed from a private room this poll names: answered now; the next poll naming it is refused. */
  onRemoved(room: string): void {
    // The room's canvas is the room's too: a poll holding either is answered (`rooms` are its room streams').
    if (this.rooms.includes(room) || this.streams.includes(canvasStream(room))) this.answerAndLetGo("drain");
  }

  /** Answers the held request, if any, and keeps nothing for a next poll. */
  private answerAndLetGo(reason: AnswerReason): void {
    this.answer(reason);
    this.dispose();
  }

  /**
   * Answers the held request (nothing when none is held), then keeps the subscription for the
   * client's next poll: unless it is let go (drained) or stopped gathering (full).
   */
  answer(reason: AnswerReason): void {
    const res = this.res;
    if (!res) return;
    this.res = null;
    this.clearTimers();
    this.owner.release(this);
    for (const room of this.rooms) this.opts.hub.settleRoom(room);
    // A superseded poll's client has already moved on to its next request and never reads
    // this answer: recording its room state as seen would hold that next request back.
    if (reason !== "superseded") this.owner.noteAnswer(this.key, this.clientState === null ? this.rooms : null, reason === "state");
    counterFor(this.opts.metrics?.pollAnswers, reason)?.inc();
    this.answered = this.answerCursor();
    const body = this.body(this.answered);
    this.events = [];
    this.counts.clear();
    this.eventBytes = 0;
    this.resets = {};
    // Not kept: a poll let go (drained, signed out, removed), a subscription that stopped
    // gathering (full), one whose client moved on (superseded) or went away.
    if (reason === "drain" || reason === "superseded" || this.full || res.destroyed) this.dispose();
    else this.keepUntilNextPoll();
    if (res.destroyed) return;
    const socket = res.req.socket as Socket;
    const queued = !res.socket;
    const head: OutgoingHttpHeaders = { "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length, "Cache-Control": "no-store" };
    // Kept for the client's next poll: the answer names it (protocol 1.17).
    const next = this.live ? this.nextTicket() : null;
    if (next !== null) head["Poll-Next"] = next;
    res.writeHead(200, head);
    res.end(body);
    this.owner.sent(socket);
    // A client pipelining polls: this answer waits behind earlier ones on the same connection
    // and reaches the socket once they have gone. Checked again then.
    if (queued) res.once("socket", () => process.nextTick(() => this.owner.sent(socket)));
  }

  /**
   * The ticket its next poll may name, in place of the last one; null when that poll is to be
   * read in full (its session due to be checked again).
   */
  private nextTicket(): string | null {
    this.spendTicket();
    if (this.cookie === undefined || this.owner.now() >= this.trustedUntil) return null;
    return (this.ticket = this.owner.issueTicket(this));
  }

  /** Its ticket may no longer be named: its next poll came, or it was let go. */
  private spendTicket(): void {
    if (this.ticket !== null) this.owner.dropTicket(this.ticket);
    this.ticket = null;
  }

  private keepUntilNextPoll(): void {
    if (!this.live) return;
    this.keptAt = Date.now();
    this.owner.keep(this);
    this.keepTimer = setTimeout(() => this.dispose(), POLL_KEEP_MS);
    this.keepTimer.unref();
  }

  /**
   * The answer's JSON (`cursor` after its events), made once for every poller it is the same
   * for: the same streams, the same events (each stream's count and the cursor after them say
   * which), and the same room state or none (the token says which).
   */
  private body(cursor: string): Buffer {
    const token = this.rooms.length > 0 ? this.owner.stateToken(this.rooms) : null;
    // A version 1 poll always gets the rooms; a 1.3 poll only those it does not have.
    const withRooms = this.clientState === null || (token !== null && this.clientState !== token);
    const resets = Object.keys(this.resets).length > 0;
    const key = resets ? null : `${cursor}|${this.streams.map((s) => this.counts.get(s) ?? 0).join(",")}|${withRooms ? (token ?? "{}") : "-"}`;
    return this.owner.answers.encode(key, this.owner.encodings, () => {
      let rooms: Record<string, RoomState> | undefined;
      if (withRooms) {
        rooms = {};
        for (const room of this.rooms) rooms[room] = this.opts.hub.roomState(room);
      }
      return answerJson(this.events, cursor, rooms, resets ? this.resets : undefined, token ?? undefined);
    });
  }

  /** Lets go of the poll with an error answer (the client retries after `retryAfterS`). */
  refuse(code: ErrorCode, message: string, retryAfterS: number): void {
    const res = this.res;
    this.dispose();
    if (!res) return;
    this.opts.metrics?.pollAnswers.inc({ reason: "evicted" });
    if (!res.destroyed) sendError(res, new HttpError(code, message), { "Retry-After": String(retryAfterS) });
  }

  /** `res`'s client went away: if it was the held one, let go of everything, answer nothing. */
  abort(res: ServerResponse): void {
    if (this.res === res) this.dispose();
  }

  /** Lets go of the subscription: no request is held and no poll carries on with it. */
  dispose(): void {
    if (!this.live) return;
    this.live = false;
    this.res = null;
    this.clearTimers();
    this.spendTicket();
    if (this.keepTimer) clearTimeout(this.keepTimer);
    for (const room of this.rooms) this.opts.hub.unwatch(room, this);
    this.opts.hub.unregister(this);
    this.owner.release(this);
    this.owner.forget(this);
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.timer = this.stateTimer = null;
  }
}

/** An event's JSON size in bytes, counted once for every poll that holds it. */
const jsonBytes: Encoder<Outgoing, number> = (out) => Buffer.byteLength(out.json);

/**
 * A poll answer's JSON text: the events' JSON made once for every transport (`Outgoing.json`)
 * spliced in as they are, in the `PollAnswer` shape.
 */
function answerJson(events: Outgoing[], cursor: string, rooms: Record<string, RoomState> | undefined, resets: Record<string, number> | undefined, state: string | undefined): string {
  let text = '{"events":[';
  for (let i = 0; i < events.length; i++) text += (i > 0 ? "," : "") + events[i]!.json;
  text += `],"cursor":${JSON.stringify(cursor)}`;
  if (rooms) text += `,"rooms":${JSON.stringify(rooms)}`;
  if (resets) text += `,"resets":${JSON.stringify(resets)}`;
  if (state !== undefined) text += `,"state":${JSON.stringify(state)}`;
  return `${text}}`;
}

/** A page's goodbye (protocol 1.20): `{"type":"bye"}`, nothing more. */
/** The `doc` a poll or batch names (protocol 1.21), at most 64 characters; null when none. */
export function docOf(query: URLSearchParams): string | null {
  const doc = query.get("doc");
  return doc ? doc.slice(0, 64) : null;
}

function isBye(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "bye" && Object.keys(value).length === 1;
}
