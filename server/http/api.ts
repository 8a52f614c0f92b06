// The HTTP API of PROTOCOL.md: identity, rooms, history, messages, typing, cursors, reads and
// notifications, plus the SSE and long-poll endpoints and the operator's endpoints.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Accounts } from "../accounts";
import { Sessions, type Session } from "../auth";
import type { CommandContext, Reply } from "../commands/context";
import { knownError } from "../commands/errors";
import { CommandExecutor } from "../commands/executor";
import type { Hub } from "../hub";
import { silentLogger } from "../log";
import type { Metrics } from "../metrics";
import type { OpsSampler } from "../ops";
import { KeyedBuckets } from "../keyed-buckets";
import type { ProxyTrust } from "./proxy-trust";
import { PersonRates } from "../ratelimit";
import { docOf, type LongPollTransport } from "../transports/longpoll";
import type { SseTransport } from "../transports/sse";
import type { Workspace } from "../workspace";
import { HttpError, readJson as readJsonBody, sendEmpty, sendJson } from "./respond";
import { Router, type RouteContext } from "./router";
import {
  accountSignInBodySchema,
  changePasswordBodySchema,
  createAccountBodySchema,
  createRoomBodySchema,
  userIdBodySchema,
  ROOM_PAGE_DEFAULT,
  ROOM_PAGE_MAX,
  connIdSchema,
  cursorBodySchema,
  deleteMessageBodySchema,
  editMessageBodySchema,
  isRoomId,
  MAX_POLL_BATCH_BYTES,
  pollFramesBodySchema,
  postMessageBodySchema,
  reactBodySchema,
  readBodySchema,
  roomReadBodySchema,
  renameBodySchema,
  sessionBodySchema,
  type ClientFrame,
  type ErrorCode,
  type MembersAnswer,
  type PeopleAnswer,
  type SearchAnswer,
  type SessionsAnswer,
  type PollFramesAnswer,
  type PostedMessage,
  type ServerFrame,
} from "../../lib/protocol";
import { z } from "zod";
import { MAX_SEARCH_CHARS, MAX_SEARCH_RESULTS, searchWords } from "../../lib/search";

export interface ApiDeps {
  sessions: Sessions;
  accounts: Accounts;
  workspace: Workspace;
  hub: Hub;
  sse: SseTransport;
  poll: LongPollTransport;
  metrics: Metrics;
  ops: OpsSampler;
  isReady: () => boolean;
  /** Whose word on the client's address and scheme is believed (TRUSTED_PROXIES). */
  trust: ProxyTrust;
  limits: {
    /** New sessions per client address: a burst of this many, then this many a minute. */
    sessionsPerAddressPerMinute: number;
    /** Rooms one person may create at once, then `roomsPerPersonPerHour`. */
    roomsPerPersonBurst: number;
    roomsPerPersonPerHour: number;
  };
  /** The limits' time (tests move it by hand). */
  now?: () => number;
  /** How long a request body may stall before it is refused (408). */
  bodyIdleTimeoutMs?: number;
  /** The person's rate limits, shared with their WebSockets. */
  rates?: PersonRates;
  /** Carries out messages, typing, cursors and reads, as it does every WebSocket frame. */
  executor?: CommandExecutor;
}

const typingBodySchema = z.object({ stop: z.boolean().optional() });
/** `POST /api/session`: an account's sign-in, or a guest's name (checked after the guest limit). */
const sessionRequestBodySchema = z.union([accountSignInBodySchema, z.object({ name: z.unknown() })]);
/** Account sign-in attempts: a burst of this many, then this many a minute, per username. */
export const SIGN_INS_PER_USERNAME_PER_MINUTE = 5;
/** The same per client address (people behind one NAT share it). */
export const SIGN_INS_PER_ADDRESS_PER_MINUTE = 20;
/** People the mention autocomplete offers at once. */
const PEOPLE_PAGE = 10;
/** Message search (1.7): results in one answer by default, and at most. */
const SEARCH_PAGE = 20;
/** Searches a person may make a minute (each reads an index, not a page of one stream). */
export const SEARCHES_PER_PERSON_PER_MINUTE = 30;
/**
 * Name changes (1.9) a person may make at once, then one every 10 minutes: each makes every
 * connection of theirs again, and a name is how the others know them.
 */
export const RENAMES_PER_PERSON_BURST = 5;
const RENAMES_PER_PERSON_PER_HOUR = 6;
/** Mutes and unmutes (1.12) a person may make a minute: each is a write, and news to every device of theirs. */
export const MUTES_PER_PERSON_PER_MINUTE = 30;

export function createApi(deps: ApiDeps): Router {
  const { sessions, accounts, workspace, hub } = deps;
  const router = new Router();
  // Sign-ups and rooms are rows that stay: limited per address and per person, not per
  // connection, so neither new sessions nor new sockets reset them.
  const signups = new KeyedBuckets({
    ratePerSecond: deps.limits.sessionsPerAddressPerMinute / 60,
    burst: deps.limits.sessionsPerAddressPerMinute,
    now: deps.now,
  });
  // Guessing passwords: a few tries a minute per username (whoever tries) and per address.
  const signInsByUsername = new KeyedBuckets({ ratePerSecond: SIGN_INS_PER_USERNAME_PER_MINUTE / 60, burst: SIGN_INS_PER_USERNAME_PER_MINUTE, now: deps.now });
  const signInsByAddress = new KeyedBuckets({ ratePerSecond: SIGN_INS_PER_ADDRESS_PER_MINUTE / 60, burst: SIGN_INS_PER_ADDRESS_PER_MINUTE, now: deps.now });
  const roomCreations = new KeyedBuckets({
    ratePerSecond: deps.limits.roomsPerPersonPerHour / 3600,
    burst: deps.limits.roomsPerPersonBurst,
    now: deps.now,
  });
  const searches = new KeyedBuckets({ ratePerSecond: SEARCHES_PER_PERSON_PER_MINUTE / 60, burst: SEARCHES_PER_PERSON_PER_MINUTE, now: deps.now });
  const renames = new KeyedBuckets({ ratePerSecond: RENAMES_PER_PERSON_PER_HOUR / 3600, burst: RENAMES_PER_PERSON_BURST, now: deps.now });
  const mutes = new KeyedBuckets({ ratePerSecond: MUTES_PER_PERSON_PER_MINUTE / 60, burst: MUTES_PER_PERSON_PER_MINUTE, now: deps.now });
  // The HTTP upstream of fallback clients draws on the same per-person buckets as WebSockets.
  const rates = deps.rates ?? new PersonRates();
  const executor = deps.executor ?? new CommandExecutor({ hub, workspace, logger: silentLogger, metrics: deps.metrics });
  /**
   * A command over plain HTTP: a one-off call that joins nothing and may act in any room that
   * exists. Its error frame is answered as the HTTP error of the same code.
   */
  const command = async (frame: ClientFrame, session: Session): Promise<Reply> => {
    const ctx: CommandContext = {
      user: session.user,
      transport: "http",
      rates,
      rooms: null,
      subscribe: () => Promise.reject(new HttpError("bad_request", "Join a room over a connection")),
      unsubscribe: () => false,
    };
    const reply = await executor.execute(frame, ctx);
    throwIfRefused(reply.frames);
    return reply;
  };
  /** Ends a session: the cookie stops working, and its connections close on every instance. */
  const signOut = async (sessionId: string) => {
    await sessions.destroy(sessionId);
    hub.disconnectSession(sessionId, "signed-out");
  };
  const readJson = <S extends z.ZodType>(req: IncomingMessage, schema: S, invalid?: ErrorCode, limit?: number) =>
    readJsonBody(req, schema, invalid, deps.bodyIdleTimeoutMs, limit);

  const isSecure = (req: IncomingMessage) => deps.trust.isSecure(req);

  const authed = (handler: (ctx: RouteContext, session: Session) => Promise<void> | void) => async (ctx: RouteContext) => {
    const session = await sessions.fromRequest(ctx.req);
    if (!session) throw new HttpError("unauthorized", "Sign in first (POST /api/session)");
    await handler(ctx, session);
  };

  // --- Operations ----------------------------------------------------------

  router.on("GET", "/healthz", ({ res }) => sendJson(res, 200, { status: "ok" }));
  router.on("GET", "/readyz", ({ res }) =>
    deps.isReady() ? sendJson(res, 200, { status: "ready" }) : sendJson(res, 503, { status: "draining" }),
  );
  router.on("GET", "/metrics", async ({ res }) => {
    const text = await deps.metrics.registry.metrics();
    res.writeHead(200, { "Content-Type": deps.metrics.registry.contentType, "Cache-Control": "no-store" });
    res.end(text);
  });

  // The ops page's live summary (the last minute of this instance).
  router.on("GET", "/api/ops", authed(({ res }) => sendJson(res, 200, deps.ops.snapshot())));

  // --- Identity ------------------------------------------------------------

  /** Refuses the call (429, Retry-After) when `bucket` has nothing left for `key`. */
  const limit = (bucket: KeyedBuckets, key: string, type: string, what: string) => {
    const waitS = bucket.take(key);
    if (waitS <= 0) return;
    deps.metrics.rateLimited.inc({ type });
    throw new HttpError("rate_limited", `Too many ${what}; try again in ${waitS} s`, { "Retry-After": String(waitS) });
  };
  // Version 1: `{"name"}` signs in a new guest. Version 1.2: `{"username","password"}` signs an
  // account in, limited per address and per username, whether or not the username exists.
  router.on("POST", "/api/session", async ({ req, res }) => {
    const address = deps.trust.clientAddress(req);
    const body = await readJson(req, sessionRequestBodySchema, "invalid_name");
    if ("username" in body) {
      limit(signInsByAddress, address, "sign_in", "sign-in attempts from your address");
      limit(signInsByUsername, body.username.trim().toLowerCase(), "sign_in", "sign-in attempts for this username");
      const { session, cookie } = await accounts.signIn(body, isSecure(req), req.headers["user-agent"]);
      return sendJson(res, 200, { user: session.user }, { "Set-Cookie": cookie });
    }
    // A guest is a new person: limited per address.
    limit(signups, address, "session", "sign-ins from your address");
    const parsed = sessionBodySchema.safeParse(body);
    if (!parsed.success) throw new HttpError("invalid_name", parsed.error.issues[0]?.message ?? "Invalid name");
    const { name } = parsed.data;
    if (await accounts.nameTaken(name)) throw new HttpError("name_taken", `"${name}" belongs to an account: sign in, or pick another name`);
    const { session, cookie } = await sessions.create(name, isSecure(req), undefined, req.headers["user-agent"]);
    sendJson(res, 200, { user: session.user }, { "Set-Cookie": cookie });
  });
  router.on("POST", "/api/account", async ({ req, res }) => {
    limit(signups, deps.trust.clientAddress(req), "session", "sign-ins from your address");
    const body = await readJson(req, createAccountBodySchema, "invalid_body");
    const { session, cookie } = await accounts.create(body, isSecure(req), req.headers["user-agent"]);
    sendJson(res, 201, { user: session.user }, { "Set-Cookie": cookie });
  });
  // Version 1.8: the guest signed in becomes an account, the same person; the session goes on.
  router.on(
    "POST",
    "/api/account/claim",
    authed(async ({ req, res }, session) => {
      limit(signups, deps.trust.clientAddress(req), "session", "sign-ins from your address");
      const body = await readJson(req, createAccountBodySchema, "invalid_body");
      const user = await accounts.claim(session.user, body);
      // As for a new name: read again, and connected again as the account, on every instance.
      hub.personChanged(user.id);
      sendJson(res, 200, { user });
    }),
  );
  // Version 1.9: a new display name, for guests and accounts. Their connections everywhere are
  // made again, so the rooms they are in see the new name at once.
  router.on(
    "PATCH",
    "/api/account",
    authed(async ({ req, res }, session) => {
      const { name } = await readJson(req, renameBodySchema, "invalid_name");
      limit(renames, session.user.id, "rename", "name changes");
      const user = await accounts.rename(session.user, name);
      hub.personChanged(user.id);
      sendJson(res, 200, { user });
    }),
  );
  // The person's devices: each can be signed out from any other, on every instance at once.
  router.on(
    "GET",
    "/api/sessions",
    authed(async ({ res }, session) => {
      const devices = await sessions.list(session.user.id);
      const answer: SessionsAnswer = {
        sessions: devices.map((d) => ({
          id: d.handle,
          createdAt: d.createdAt.toISOString(),
          expiresAt: d.expiresAt.toISOString(),
          lastSeenAt: d.lastSeenAt.toISOString(),
          userAgent: d.userAgent,
          current: d.sessionId === session.id,
        })),
      };
      sendJson(res, 200, answer);
    }),
  );
  router.on(
    "DELETE",
    "/api/sessions/:id",
    authed(async ({ res, params }, session) => {
      const device = (await sessions.list(session.user.id)).find((d) => d.handle === params.id);
      if (!device) throw new HttpError("not_found", "You have no such session");
      await signOut(device.sessionId);
      sendEmpty(res, 204);
    }),
  );
  router.on(
    "POST",
    "/api/account/password",
    authed(async ({ req, res }, session) => {
      limit(signInsByUsername, `user:${session.user.id}`, "sign_in", "password changes");
      const { current, password } = await readJson(req, changePasswordBodySchema, "invalid_body");
      await accounts.changePassword(session.user.id, current, password);
      // Whoever knew the old password is signed out everywhere but here.
      for (const device of await sessions.list(session.user.id)) {
        if (device.sessionId === session.id) continue;
        await signOut(device.sessionId);
      }
      sendEmpty(res, 204);
    }),
  );
  // Version 1.8: `?optional=1` answers no session with `{"user":null}`, not a 401 a browser logs.
  router.on("GET", "/api/session", async ({ req, res, url }) => {
    const session = await sessions.fromRequest(req);
    if (session) return sendJson(res, 200, { user: session.user });
    if (url.searchParams.get("optional") === "1") return sendJson(res, 200, { user: null });
    throw new HttpError("unauthorized", "Sign in first (POST /api/session)");
  });
  router.on("DELETE", "/api/session", async ({ req, res }) => {
    const session = await sessions.fromRequest(req);
    if (session) {
      await signOut(session.id);
    }
    sendEmpty(res, 204, { "Set-Cookie": Sessions.clearedCookie(isSecure(req)) });
  });

  // --- Rooms ---------------------------------------------------------------

  router.on(
    "GET",
    "/api/rooms",
    authed(async ({ res, url }, session) => {
      const limit = optionalInt(url, "limit", 1, ROOM_PAGE_MAX) ?? ROOM_PAGE_DEFAULT;
      const after = url.searchParams.get("after") || null;
      if (after !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(after)) throw new HttpError("bad_request", "after must be the next of an earlier page");
      // A leading "#" is how rooms are shown; a query with characters no room name has matches nothing.
      const query = (url.searchParams.get("q") ?? "").trim().replace(/^#/, "");
      if (query.length > 40) throw new HttpError("bad_request", "q must be at most 40 characters");
      if (!/^[A-Za-z0-9_-]*$/.test(query)) return sendJson(res, 200, { rooms: [], next: null });
      sendJson(res, 200, await workspace.listRooms({ userId: session.user.id, limit, after, query: query || null }));
    }),
  );
  router.on(
    "POST",
    "/api/rooms",
    authed(async ({ req, res }, session) => {
      const { name, visibility } = await readJson(req, createRoomBodySchema, "invalid_name");
      const waitS = roomCreations.take(session.user.id);
      if (waitS > 0) {
        deps.metrics.rateLimited.inc({ type: "room" });
        throw new HttpError("rate_limited", `You have created many rooms lately; try again in ${waitS} s`, { "Retry-After": String(waitS) });
      }
      const room = await workspace.createRoom(name, session.user, visibility);
      sendJson(res, 201, { room });
    }),
  );
  // Private rooms' members (version 1.2): members add people; the creator removes anyone, and
  // anyone leaves. A removal ends the person's access at once, live, on every instance.
  router.on(
    "GET",
    "/api/rooms/:id/members",
    authed(async ({ res, params }, session) => {
      const room = roomParam(params);
      await workspace.requireRoom(room, session.user.id);
      if ((await workspace.visibility(room)) !== "private") return sendJson(res, 200, { members: [] });
      const { createdBy, direct } = await workspace.roomOrigin(room);
      const answer: MembersAnswer = { members: await workspace.members(room), createdBy, ...(direct ? { direct: true as const } : {}) };
      sendJson(res, 200, answer);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/members",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const { userId } = await readJson(req, userIdBodySchema, "invalid_body");
      await workspace.addMember(room, session.user, userId);
      sendEmpty(res, 204);
    }),
  );
  router.on(
    "DELETE",
    "/api/rooms/:id/members/:userId",
    authed(async ({ res, params }, session) => {
      const room = roomParam(params);
      const userId = params.userId ?? "";
      await workspace.removeMember(room, session.user, userId);
      hub.revokeRoom(userId, room);
      sendEmpty(res, 204);
    }),
  );
  // Version 1.12: a room muted for one person, on every device of theirs.
  const mute = (on: boolean) =>
    authed(async ({ res, params }, session) => {
      const room = roomParam(params);
      limit(mutes, session.user.id, "mute", "mutes and unmutes");
      await workspace.requireRoom(room, session.user.id);
      if (await workspace.reads.mute(session.user.id, room, on)) hub.announceMuted(session.user.id, room, on);
      sendEmpty(res, 204);
    });
  router.on("PUT", "/api/rooms/:id/mute", mute(true));
  router.on("DELETE", "/api/rooms/:id/mute", mute(false));
  router.on(
    "POST",
    "/api/dms",
    authed(async ({ req, res }, session) => {
      const { userId } = await readJson(req, userIdBodySchema, "invalid_body");
      sendJson(res, 200, { room: await workspace.directRoom(session.user, userId) });
    }),
  );
  router.on(
    "GET",
    "/api/rooms/:id/events",
    authed(async ({ res, url, params }, session) => {
      const room = roomParam(params);
      const before = optionalInt(url, "before", 1, Number.MAX_SAFE_INTEGER);
      // Version 1.3: pages forwards too, so a link to an old message can read on to the live end.
      const after = optionalInt(url, "after", 0, Number.MAX_SAFE_INTEGER);
      if (before !== null && after !== null) throw new HttpError("bad_request", "before and after cannot be used together");
      const limit = optionalInt(url, "limit", 1, 200) ?? 50;
      sendJson(res, 200, await workspace.history(room, session.user.id, before, limit, after));
    }),
  );
  /**
   * A durable command over HTTP, answered with its event once committed: 201 for a new message,
   * 200 for a repeat (the first event), a change, or a change that changed nothing (the message).
   */
  const durable = async (res: ServerResponse, frame: Extract<ClientFrame, { clientId: string }>, session: Session, created: number) => {
    const reply = await command(frame, session);
    const later = await reply.later;
    throwIfRefused(later?.frames ?? []);
    if (!later?.appended) throw new Error(`a ${frame.type} answered without its event`);
    const answer: PostedMessage = { event: later.appended.event };
    sendJson(res, later.appended.duplicate ? 200 : created, answer);
  };
  router.on(
    "POST",
    "/api/rooms/:id/messages",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const body = await readJson(req, postMessageBodySchema, "invalid_text");
      await durable(res, { type: "send", room, ...body }, session, 201);
    }),
  );
  router.on(
    "PATCH",
    "/api/rooms/:id/messages/:seq",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const seq = seqParam(params);
      const body = await readJson(req, editMessageBodySchema, "invalid_text");
      await durable(res, { type: "edit", room, seq, ...body }, session, 200);
    }),
  );
  router.on(
    "DELETE",
    "/api/rooms/:id/messages/:seq",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const seq = seqParam(params);
      const { clientId } = await readJson(req, deleteMessageBodySchema, "invalid_body");
      await durable(res, { type: "delete", room, seq, clientId }, session, 200);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/messages/:seq/reactions",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const seq = seqParam(params);
      const body = await readJson(req, reactBodySchema, "invalid_body");
      await durable(res, { type: "react", room, seq, ...body }, session, 200);
    }),
  );
  router.on(
    "GET",
    "/api/people",
    authed(async ({ res, url }, session) => {
      const q = (url.searchParams.get("q") ?? "").trim().replace(/^@/, "");
      if (q.length > 32) throw new HttpError("bad_request", "q must be at most 32 characters");
      const room = url.searchParams.get("room");
      if (room !== null && !isRoomId(room)) throw new HttpError("bad_request", "room must be a room id");
      if (room !== null) await workspace.requireRoom(room, session.user.id);
      const answer: PeopleAnswer = { people: await workspace.people(q, room, PEOPLE_PAGE) };
      sendJson(res, 200, answer);
    }),
  );
  router.on(
    "GET",
    "/api/search",
    authed(async ({ res, url }, session) => {
      const q = url.searchParams.get("q") ?? "";
      if (q.length > MAX_SEARCH_CHARS) throw new HttpError("bad_request", `q must be at most ${MAX_SEARCH_CHARS} characters`);
      const words = searchWords(q);
      if (words.length === 0) throw new HttpError("bad_request", "q must hold a word to search for");
      const count = optionalInt(url, "limit", 1, MAX_SEARCH_RESULTS) ?? SEARCH_PAGE;
      limit(searches, session.user.id, "search", "searches");
      const answer: SearchAnswer = { results: await workspace.searchMessages(session.user.id, words, count) };
      sendJson(res, 200, answer);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/typing",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const { stop } = await readJson(req, typingBodySchema);
      // Over the limit: dropped, still 204, as the WebSocket drops it without an answer.
      await command({ type: "typing", room, stop }, session);
      sendEmpty(res);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/read",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const { seq, unread } = await readJson(req, roomReadBodySchema);
      // Over the limit: dropped, still 204, as the WebSocket drops it without an answer.
      await command({ type: "read", room, seq, ...(unread ? { unread } : {}) }, session);
      sendEmpty(res);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/cursor",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const { x, y, board } = await readJson(req, cursorBodySchema);
      await command({ type: "cursor", room, x, y, ...(board ? { board } : {}) }, session);
      sendEmpty(res);
    }),
  );

  // --- Feed and notifications ----------------------------------------------

  router.on(
    "GET",
    "/api/feed",
    authed(async ({ res, url }) => {
      const before = optionalInt(url, "before", 1, Number.MAX_SAFE_INTEGER);
      const limit = optionalInt(url, "limit", 1, 200) ?? 50;
      sendJson(res, 200, await workspace.feed(before, limit));
    }),
  );
  router.on(
    "GET",
    "/api/notifications",
    authed(async ({ res, url }, session) => {
      const limit = optionalInt(url, "limit", 1, 100) ?? 20;
      sendJson(res, 200, await workspace.notifications(session.user.id, limit));
    }),
  );
  router.on(
    "POST",
    "/api/notifications/read",
    authed(async ({ req, res }, session) => {
      const { seq } = await readJson(req, readBodySchema);
      const readSeq = await workspace.markRead(session.user.id, seq);
      hub.announceRead(session.user.id, readSeq);
      sendEmpty(res);
    }),
  );

  // --- Streaming transports ------------------------------------------------

  router.on("GET", "/api/stream", authed(({ req, res, url }, session) => deps.sse.handle(req, res, url, session)));
  router.on("GET", "/api/poll", authed(({ req, res, url }, session) => deps.poll.handle(req, res, url, session)));
  // A long-polling page's upstream: the WebSocket's frames, in a batch (PROTOCOL.md, 1.1).
  router.on(
    "POST",
    "/api/poll/frames",
    authed(async ({ req, res, url }, session) => {
      const body = await readJson(req, pollFramesBodySchema, "bad_request", MAX_POLL_BATCH_BYTES);
      const conn = pageOf(url, body.conn);
      const answer: PollFramesAnswer = { frames: await deps.poll.runFrames(session, conn, body.frames, docOf(url.searchParams)) };
      sendJson(res, 200, answer);
    }),
  );

  return router;
}

/**
 * The `:id` of a room path, checked before anything looks it up: an id no room can have (a NUL,
 * a dot, 65 characters) is simply no room.
 */
function roomParam(params: Record<string, string>): string {
  const id = params.id ?? "";
  if (!isRoomId(id)) throw new HttpError("unknown_room", "There is no such room");
  return id;
}

/** The `:seq` of a message path: a message's own seq (1 or more); anything else is no message. */
function seqParam(params: Record<string, string>): number {
  const text = params.seq ?? "";
  const seq = /^\d{1,15}$/.test(text) ? Number(text) : 0;
  if (seq < 1) throw new HttpError("unknown_message", "There is no such message");
  return seq;
}

/** The page a batch is for: `?conn=` or the body's `conn`, the same when both are given. */
function pageOf(url: URL, inBody: string | undefined): string {
  const inQuery = url.searchParams.get("conn");
  if (inQuery !== null && !connIdSchema.safeParse(inQuery).success) throw new HttpError("bad_request", "conn is 1–64 letters, digits, '-' or '_'");
  if (inQuery !== null && inBody !== undefined && inQuery !== inBody) throw new HttpError("bad_request", "conn differs between the query and the body");
  const conn = inQuery ?? inBody;
  if (conn === undefined) throw new HttpError("bad_request", "Name the page: ?conn=<id> or \"conn\" in the body");
  return conn;
}

/** Maps domain errors to PROTOCOL.md's codes (the commands' one mapping, server/commands/errors.ts). */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  const known = knownError(err);
  if (!known) return null;
  // The server's own trouble passes: say when to ask again, as a full server's poll does.
  return new HttpError(known.code, known.message, known.code === "overloaded" ? { "Retry-After": "1" } : {});
}

/** A command's error frame, thrown as the HTTP error of the same code. */
function throwIfRefused(frames: readonly ServerFrame[]): void {
  for (const f of frames) if (f.type === "error") throw new HttpError(f.code, f.message);
}

function optionalInt(url: URL, name: string, min: number, max: number): number | null {
  const text = url.searchParams.get(name);
  if (text === null || text === "") return null;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new HttpError("bad_request", `${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}
