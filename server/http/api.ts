// The HTTP API of PROTOCOL.md: identity, rooms, history, messages, typing, cursors and
// notifications, plus the SSE and long-poll endpoints and the operator's endpoints.
import type { IncomingMessage } from "node:http";
import { DuplicateCookieError, Sessions, type Session } from "../auth";
import { EventLogClosedError, EventLogFullError } from "../eventlog";
import type { Hub } from "../hub";
import type { Metrics } from "../metrics";
import type { OpsSampler } from "../ops";
import { TokenBucket } from "../../lib/token-bucket";
import { SEND_LIMITS } from "../ratelimit";
import type { LongPollTransport } from "../transports/longpoll";
import type { SseTransport } from "../transports/sse";
import { WorkspaceError, type Workspace } from "../workspace";
import type { ProxyTrust } from "./proxy-trust";
import { HttpError, readJson as readJsonBody, sendEmpty, sendJson } from "./respond";
import { Router, type RouteContext } from "./router";
import {
  createRoomBodySchema,
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
  /** Who may speak for the client's scheme (the session cookie's name and `Secure`). */
  trust: ProxyTrust;
  /** How long a request body may stall before it is refused (408). */
  bodyIdleTimeoutMs?: number;
}

const typingBodySchema = z.object({ stop: z.boolean().optional() });

/** Per-session limits for the HTTP upstream of fallback clients (the same as a WebSocket's). */
class SessionLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}
  take(sessionId: string): boolean {
    let b = this.buckets.get(sessionId);
    if (!b) {
      if (this.buckets.size >= 50_000) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(sessionId, (b = new TokenBucket(this.rate, this.burst)));
    }
    return b.take();
  }
}

export function createApi(deps: ApiDeps): Router {
  const { sessions, workspace, hub } = deps;
  const router = new Router();
  const sendLimits = new SessionLimits(SEND_LIMITS.send.rate, SEND_LIMITS.send.burst);
  const typingLimits = new SessionLimits(SEND_LIMITS.typing.rate, SEND_LIMITS.typing.burst);
  const cursorLimits = new SessionLimits(SEND_LIMITS.cursor.rate, SEND_LIMITS.cursor.burst);
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
    const { name } = await readJson(req, sessionBodySchema, "invalid_name");
    const { session, cookie } = await sessions.create(name, isSecure(req));
    sendJson(res, 200, { user: session.user }, { "Set-Cookie": cookie });
  });
  router.on("GET", "/api/session", authed(({ res }, session) => sendJson(res, 200, { user: session.user })));
  router.on("DELETE", "/api/session", async ({ req, res }) => {
    const session = await sessions.fromRequest(req);
    if (session) {
      await sessions.destroy(session.id);
      hub.disconnectSession(session.id, 4401, "Signed out");
    }
    sendEmpty(res, 204, { "Set-Cookie": Sessions.clearedCookie(isSecure(req)) });
  });

  // --- Rooms ---------------------------------------------------------------

  router.on("GET", "/api/rooms", authed(async ({ res }) => sendJson(res, 200, { rooms: await workspace.listRooms() })));
  router.on(
    "POST",
    "/api/rooms",
    authed(async ({ req, res }, session) => {
      const { name } = await readJson(req, createRoomBodySchema, "invalid_name");
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
      if (!sendLimits.take(session.id)) throw new HttpError("rate_limited", "Too many messages; slow down");
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
      if (stop || typingLimits.take(session.id)) hub.setTyping(room, session.user, !stop);
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
      else if (cursorLimits.take(session.id)) hub.moveCursor(room, session.user as User, x, y);
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
