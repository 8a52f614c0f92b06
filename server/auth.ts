// Identity: signed, tamper-evident session cookies backed by a sessions table.
// The signature stops forgery; the table lets a sign-out revoke a session everywhere.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Database } from "./db/database";
import type { PrismaClient } from "./db/generated/client";
import type { Logger } from "./log";
import { colorFor } from "../lib/colors";
import type { User } from "../lib/protocol";

export const SESSION_COOKIE = "rt_session";
/**
 * The name under HTTPS. A `__Host-` cookie is accepted by browsers only when set `Secure`,
 * with `Path=/` and no `Domain`, by this very host: a sibling subdomain or a plain-HTTP page
 * cannot plant one beside it (cookie tossing), as it can an `rt_session`.
 */
export const SECURE_SESSION_COOKIE = "__Host-rt_session";

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}

/**
 * A request carrying the session cookie twice: one of them was planted by another page of the
 * site (with a narrower Path, it even comes first). Which is the person's own cannot be told,
 * so neither is used.
 */
export class DuplicateCookieError extends Error {
  override name = "DuplicateCookieError";
  readonly code = "duplicate_cookie" as const;
  constructor(cookie: string) {
    super(`The request carries the ${cookie} cookie more than once; sign in again`);
  }
}
const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/**
 * How long a verified session is trusted without asking the database again (and a long poll
 * carries on from its last answer without its session read again: protocol 1.17).
 */
export const SESSION_TRUST_MS = 10_000;
const CACHE_MAX = 10_000;
/**
 * How stale a session's last activity may get in the database: written at most this often per
 * session (and instance), never on each request. Minutes are what the list of devices needs.
 */
export const SEEN_EVERY_MS = 5 * 60_000;
/** Activity noted within this long is written together. */
const SEEN_BATCH_MS = 1_000;


/**
 * Commits the transaction without waiting for the disk. For sign-ins: a session (and a guest)
 * lost in a power cut only means signing in again, and the log is written in order, so anything
 * durable the person does afterwards (a message) puts the session on the disk first. A flood of
 * sign-ups then costs the disk nothing, where each would otherwise wait for an fsync.
 */
const lazyCommit = (prisma: PrismaClient) => prisma.$executeRaw`SET LOCAL synchronous_commit = off`;

export interface Session {
  id: string;
  user: User;
  expiresAt: number;
  /**
   * When the database last vouched for it (made or looked up; `Sessions` trusts it that long
   * plus SESSION_TRUST_MS). Absent: just now.
   */
  checkedAt?: number;
}

export class Sessions {
  /**
   * Sessions verified lately, by id, with the cookie value last verified for each and when the
   * database last heard that the session acted.
   */
  private readonly cache = new Map<string, { session: Session; checkedAt: number; token?: string; seenAt: number }>();

  private readonly prisma: PrismaClient;
  /** The database lookups under way, by session id (one at a time per session). */
  private readonly lookups = new Map<string, Promise<Session | null>>();
  /** Sessions that acted since the last write of activity, and when. */
  private readonly seenSince = new Map<string, number>();
  private seenTimer: NodeJS.Timeout | null = null;

  constructor(
    /** The database: Prisma for writes, its driver for the lookup every connection makes. */
    private readonly db: Pick<Database, "prisma" | "sql">,
    private readonly secret: string,
    private readonly now: () => number = Date.now,
    /** Whether a request came over HTTPS (the proxy's word believed only from a trusted proxy). */
    private readonly isSecure: (req: IncomingMessage) => boolean = () => false,
    /** Where a failed note of a session's activity is told (it is retried at the next request). */
    private readonly logger?: Logger,
  ) {
    this.prisma = db.prisma;
  }

  /**
   * Creates a person and a session for them; returns the Set-Cookie value. A guest by default;
   * `account` makes them an account (server/accounts.ts), who can sign in again anywhere.
   */
  async create(
    name: string,
    secure: boolean,
    account?: { username: string; passwordHash: string; nameKey: string },
    userAgent?: string,
  ): Promise<{ session: Session; cookie: string }> {
    const id = `u_${randomBytes(8).toString("base64url")}`;
    const user: User = { id, name, color: colorFor(id), ...(account ? {} : { guest: true as const }) };
    const sessionId = randomBytes(18).toString("base64url");
    const now = this.now();
    const expiresAt = now + SESSION_TTL_MS;
    const sessionRow = { id: sessionId, createdAt: new Date(now), expiresAt: new Date(expiresAt), userAgent: device(userAgent) };
    const create = this.prisma.user.create({ data: { id, name, color: user.color, ...account, sessions: { create: sessionRow } } });
    // An account must outlive a crash once its creation was answered; a guest need not.
    await (account ? create : this.prisma.$transaction([lazyCommit(this.prisma), create]));
    const session = { id: sessionId, user, expiresAt, checkedAt: now };
    this.remember(session, now);
    return { session, cookie: this.cookieFor(session, secure) };
  }

  /** A new session for a person who exists (an account signing in on another device). */
  async open(user: User, secure: boolean, userAgent?: string): Promise<{ session: Session; cookie: string }> {
    const sessionId = randomBytes(18).toString("base64url");
    const now = this.now();
    const expiresAt = now + SESSION_TTL_MS;
    await this.prisma.$transaction([
      lazyCommit(this.prisma),
      this.prisma.session.create({
        data: { id: sessionId, userId: user.id, createdAt: new Date(now), expiresAt: new Date(expiresAt), userAgent: device(userAgent) },
      }),
    ]);
    const session = { id: sessionId, user, expiresAt, checkedAt: now };
    this.remember(session, now);
    return { session, cookie: this.cookieFor(session, secure) };
  }

  /**
   * The session a request's cookie names, or null when absent, forged, expired or revoked.
   * Throws DuplicateCookieError when the cookie comes twice.
   */
  async fromRequest(req: IncomingMessage): Promise<Session | null> {
    const name = sessionCookieName(this.isSecure(req));
    const tokens = readCookies(req.headers.cookie, name);
    if (tokens.length > 1) throw new DuplicateCookieError(name);
    return tokens[0] ? this.verify(tokens[0]) : null;
  }

  async verify(token: string): Promise<Session | null> {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [sessionId, expText, sig] = parts as [string, string, string];
    const exp = Number(expText);
    if (!Number.isSafeInteger(exp) || exp <= this.now()) return null;
    // A token this instance verified lately is the same string again: comparing it is enough,
    // and far cheaper than the HMAC (a flood of requests on one cookie pays for that on each).
    const cached = this.cache.get(sessionId);
    if (cached && this.now() - cached.checkedAt < SESSION_TRUST_MS && cached.token !== undefined && safeEqual(token, cached.token)) return cached.session;
    if (!safeEqual(sig, this.sign(`${sessionId}.${expText}`))) return null;
    if (cached && this.now() - cached.checkedAt < SESSION_TRUST_MS) {
      cached.token = token;
      return cached.session;
    }
    // Requests of one session that find it due together (its tabs' polls, its devices after a
    // restart) share one lookup: a session's trust runs out for all of them at the same moment.
    let lookup = this.lookups.get(sessionId);
    if (!lookup) {
      lookup = this.lookUp(sessionId, token, cached?.seenAt).finally(() => this.lookups.delete(sessionId));
      this.lookups.set(sessionId, lookup);
    }
    return lookup;
  }

  /** Reads a session from the database (its cookie's signature checked), and remembers it. */
  private async lookUp(sessionId: string, token: string, seenAt: number | undefined): Promise<Session | null> {
    // One statement on the database's own driver: every connection a cold cache meets (all of
    // them, after a restart) pays for this lookup, and it is the one query each must make.
    const [row] = await this.db.sql.query<{ user_id: string; name: string; color: string; guest: boolean; expires_ms: string | number; seen_ms: string | number }>(
      `SELECT s.user_id, u.name, u.color, u.username IS NULL AS guest, (extract(epoch FROM s.expires_at) * 1000)::bigint AS expires_ms,
              (extract(epoch FROM coalesce(s.last_seen_at, s.created_at)) * 1000)::bigint AS seen_ms
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1`,
      [sessionId],
    );
    const expiresAt = Number(row?.expires_ms);
    if (!row || expiresAt <= this.now()) {
      this.cache.delete(sessionId);
      return null;
    }
    const user: User = { id: row.user_id, name: row.name, color: row.color, ...(row.guest ? { guest: true as const } : {}) };
    const session = { id: sessionId, user, expiresAt, checkedAt: this.now() };
    // A write of this instance's still on its way is no reason to write again.
    this.remember(session, Math.max(Number(row.seen_ms), seenAt ?? 0), token);
    // A lookup is a request from the session (every one that misses the cache): it acted.
    this.seen(sessionId);
    return session;
  }

  /**
   * Notes that a session acted (a request, a WebSocket's pong). Its row hears of it at most
   * every SEEN_EVERY_MS: the list of devices says when each was last active, and a busy session
   * costs the database one small write every few minutes, not one per request.
   */
  seen(sessionId: string): void {
    const known = this.cache.get(sessionId);
    const now = this.now();
    if (!known || now - known.seenAt < SEEN_EVERY_MS) return;
    known.seenAt = now;
    this.seenSince.set(sessionId, now);
    if (this.seenTimer) return;
    this.seenTimer = setTimeout(() => void this.writeSeen(), SEEN_BATCH_MS);
    this.seenTimer.unref();
  }

  /**
   * Writes the activity noted since the last write, every session's in one statement: after a
   * restart, thousands of devices coming back are one write, not one each in their way.
   */
  async writeSeen(): Promise<void> {
    if (this.seenTimer) clearTimeout(this.seenTimer);
    this.seenTimer = null;
    if (this.seenSince.size === 0) return;
    const ids = [...this.seenSince.keys()];
    const times = [...this.seenSince.values()].map((ms) => new Date(ms).toISOString());
    this.seenSince.clear();
    await this.db.sql
      .query("UPDATE sessions s SET last_seen_at = v.at FROM unnest($1::text[], $2::timestamptz[]) AS v(id, at) WHERE s.id = v.id", [ids, times])
      .catch((err: unknown) => this.logger?.warn({ err, sessions: ids.length }, "could not note the sessions' activity"));
  }

  /**
   * Signs a session out: it expires now rather than disappearing, so the row still says when
   * its person was last able to act (guest retention counts from there; server/guests.ts).
   */
  async destroy(sessionId: string): Promise<void> {
    this.cache.delete(sessionId);
    await this.prisma.session.updateMany({ where: { id: sessionId }, data: { expiresAt: new Date(this.now()) } });
  }

  /** A person's sessions still valid (their signed-in devices), newest first. */
  async list(userId: string): Promise<DeviceSession[]> {
    const rows = await this.prisma.session.findMany({
      where: { userId, expiresAt: { gt: new Date(this.now()) } },
      orderBy: { createdAt: "desc" },
      select: { id: true, createdAt: true, expiresAt: true, userAgent: true, lastSeenAt: true },
    });
    return rows.map((r) => ({
      sessionId: r.id,
      handle: sessionHandle(r.id),
      createdAt: r.createdAt,
      expiresAt: r.expiresAt,
      lastSeenAt: r.lastSeenAt ?? r.createdAt,
      userAgent: r.userAgent,
    }));
  }

  /** Forgets a session this instance trusted (another instance signed it out). */
  forget(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  /** Forgets every session of a person this instance trusted: they are read again (a new name). */
  forgetPerson(userId: string): void {
    for (const [id, entry] of this.cache) if (entry.session.user.id === userId) this.cache.delete(id);
  }

  cookieFor(session: Session, secure: boolean): string {
    const payload = `${session.id}.${session.expiresAt}`;
    const maxAge = Math.max(0, Math.floor((session.expiresAt - this.now()) / 1000));
    return serializeCookie(sessionCookieName(secure), `${payload}.${this.sign(payload)}`, maxAge, secure);
  }

  static clearedCookie(secure: boolean): string {
    return serializeCookie(sessionCookieName(secure), "", 0, secure);
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.secret).update(payload).digest("base64url");
  }

  private remember(session: Session, seenAt: number, token?: string): void {
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(session.id, { session, checkedAt: session.checkedAt ?? this.now(), token, seenAt });
  }
}

/** A signed-in device as its person sees it. */
export interface DeviceSession {
  /** The session's own id: the secret half of the cookie, never sent to a page. */
  sessionId: string;
  /** What pages name the session by: derived from its id, useless as a cookie. */
  handle: string;
  createdAt: Date;
  expiresAt: Date;
  /** When it last acted, to within SEEN_EVERY_MS; its sign-in until then. */
  lastSeenAt: Date;
  userAgent: string | null;
}

/** A session's public name: a hash of its id, so listing devices never hands out a cookie's secret. */
export function sessionHandle(sessionId: string): string {
  return createHash("sha256").update(sessionId).digest("base64url").slice(0, 22);
}

/** The User-Agent as stored: enough to tell devices apart, bounded. */
function device(userAgent: string | undefined): string | null {
  return userAgent ? userAgent.slice(0, 200) : null;
}

function serializeCookie(name: string, value: string, maxAge: number, secure: boolean): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
}

/** Every value the Cookie header holds under `name`, in the order sent. */
export function readCookies(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
