// The HTTP API of PROTOCOL.md: identity, rooms, history, messages, typing, cursors and
// notifications, plus the SSE and long-poll endpoints and the operator's endpoints.
import type { IncomingMessage } from "node:http";
import { DuplicateCookieError, Sessions, type Session } from "../auth";
import { EventLogClosedError, EventLogFullError } from "../eventlog";
import type { Hub } from "../hub";
import type { Metrics } from "../metrics";
import type { OpsSampler } from "../ops";
import { KeyedBuckets } from "../keyed-buckets";
import type { ProxyTrust } from "./proxy-trust";
import { PersonRates } from "../ratelimit";
import type { LongPollTransport } from "../transports/longpoll";
import type { SseTransport } from "../transports/sse";
import { WorkspaceError, type Workspace } from "../workspace";
import { HttpError, readJson as readJsonBody, sendEmpty, sendJson } from "./respond";
import { Router, type RouteContext } from "./router";
import {
  createRoomBodySchema,
  ROOM_PAGE_DEFAULT,
  ROOM_PAGE_MAX,
  cursorBodySchema,
  isRoomId,
  postMessageBodySchema,
  readBodySchema,
  sessionBodySchema,
  type ErrorCode,
  type PostedMessage,
  type User,
} from "../../lib/protocol";
import { z } from "zod";

export interface ApiDeps {
  sessions: Sessions;
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
}

const typingBodySchema = z.object({ stop: z.boolean().optional() });

export function createApi(deps: ApiDeps): Router {
  const { sessions, workspace, hub } = deps;
  const router = new Router();
  // Sign-ups and rooms are rows that stay: limited per address and per person, not per
  // connection, so neither new sessions nor new sockets reset them.
  const signups = new KeyedBuckets({
    ratePerSecond: deps.limits.sessionsPerAddressPerMinute / 60,
    burst: deps.limits.sessionsPerAddressPerMinute,
    now: deps.now,
  });
  const roomCreations = new KeyedBuckets({
    ratePerSecond: deps.limits.roomsPerPersonPerHour / 3600,
    burst: deps.limits.roomsPerPersonBurst,
    now: deps.now,
  });
  // The HTTP upstream of fallback clients draws on the same per-person buckets as WebSockets.
  const rates = deps.rates ?? new PersonRates();
  const readJson = <S extends z.ZodType>(req: IncomingMessage, schema: S, invalid?: ErrorCode) =>
    readJsonBody(req, schema, invalid, deps.bodyIdleTimeoutMs);

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

  router.on("POST", "/api/session", async ({ req, res }) => {
    // Checked before the body is read: a refused sign-up costs no work at all.
    const waitS = signups.take(deps.trust.clientAddress(req));
    if (waitS > 0) {
      deps.metrics.rateLimited.inc({ type: "session" });
      throw new HttpError("rate_limited", `Too many sign-ins from your address; try again in ${waitS} s`, { "Retry-After": String(waitS) });
    }
    const { name } = await readJson(req, sessionBodySchema, "invalid_name");
    const { session, cookie } = await sessions.create(name, isSecure(req));
    sendJson(res, 200, { user: session.user }, { "Set-Cookie": cookie });
  });
  router.on("GET", "/api/session", authed(({ res }, session) => sendJson(res, 200, { user: session.user })));
  router.on("DELETE", "/api/session", async ({ req, res }) => {
    const session = await sessions.fromRequest(req);
    if (session) {
      await sessions.destroy(session.id);
      hub.disconnectSession(session.id, "signed-out");
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
      const { name } = await readJson(req, createRoomBodySchema, "invalid_name");
      const waitS = roomCreations.take(session.user.id);
      if (waitS > 0) {
        deps.metrics.rateLimited.inc({ type: "room" });
        throw new HttpError("rate_limited", `You have created many rooms lately; try again in ${waitS} s`, { "Retry-After": String(waitS) });
      }
      const room = await workspace.createRoom(name, session.user);
      sendJson(res, 201, { room });
    }),
  );
  router.on(
    "GET",
    "/api/rooms/:id/events",
    authed(async ({ res, url, params }) => {
      const room = roomParam(params);
      const before = optionalInt(url, "before", 1, Number.MAX_SAFE_INTEGER);
      const limit = optionalInt(url, "limit", 1, 200) ?? 50;
      sendJson(res, 200, await workspace.history(room, before, limit));
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/messages",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const body = await readJson(req, postMessageBodySchema, "invalid_text");
      if (!rates.take(session.user.id, "send")) throw new HttpError("rate_limited", "Too many messages; slow down");
      const { event, duplicate } = await workspace.postMessage(room, session.user, body.text, body.clientId);
      hub.setTyping(room, session.user, false);
      deps.metrics.acks.inc({ transport: "http" });
      const answer: PostedMessage = { event };
      sendJson(res, duplicate ? 200 : 201, answer);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/typing",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const { stop } = await readJson(req, typingBodySchema);
      await workspace.requireRoom(room);
      if (stop || rates.take(session.user.id, "typing")) hub.setTyping(room, session.user, !stop);
      sendEmpty(res);
    }),
  );
  router.on(
    "POST",
    "/api/rooms/:id/cursor",
    authed(async ({ req, res, params }, session) => {
      const room = roomParam(params);
      const { x, y } = await readJson(req, cursorBodySchema);
      await workspace.requireRoom(room);
      // Hiding is never rate limited: it only ever takes a cursor away, as the WebSocket's null does.
      if (x === null || y === null) hub.hideCursor(room, session.user.id);
      else if (rates.take(session.user.id, "cursor")) hub.moveCursor(room, session.user as User, x, y);
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

/** Maps domain errors to PROTOCOL.md's codes. */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof DuplicateCookieError) return new HttpError(err.code, err.message);
  if (err instanceof WorkspaceError) return new HttpError(err.code, err.message);
  if (err instanceof EventLogFullError || err instanceof EventLogClosedError) return new HttpError(err.code, err.message);
  return null;
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
