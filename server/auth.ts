// Identity: signed, tamper-evident session cookies backed by a sessions table.
// The signature stops forgery; the table lets a sign-out revoke a session everywhere.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { PrismaClient } from "./db/generated/client";
import { colorFor } from "../lib/colors";
import type { User } from "../lib/protocol";

export const SESSION_COOKIE = "rt_session";
const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
/** How long a verified session is trusted without asking the database again. */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;


export interface Session {
  id: string;
  user: User;
  expiresAt: number;
}

export class Sessions {
  private readonly cache = new Map<string, { session: Session; checkedAt: number }>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a person and a session for them; returns the Set-Cookie value. */
  async create(name: string, secure: boolean): Promise<{ session: Session; cookie: string }> {
    const id = `u_${randomBytes(8).toString("base64url")}`;
    const user: User = { id, name, color: colorFor(id) };
    const sessionId = randomBytes(18).toString("base64url");
    const expiresAt = this.now() + SESSION_TTL_MS;
    await this.prisma.user.create({
      data: { ...user, sessions: { create: { id: sessionId, expiresAt: new Date(expiresAt) } } },
    });
    const session = { id: sessionId, user, expiresAt };
    this.remember(session);
    return { session, cookie: this.cookieFor(session, secure) };
  }

  /** The session a request's cookie names, or null when absent, forged, expired or revoked. */
  async fromRequest(req: IncomingMessage): Promise<Session | null> {
    const token = readCookie(req.headers.cookie, SESSION_COOKIE);
    return token ? this.verify(token) : null;
  }

  async verify(token: string): Promise<Session | null> {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    const [sessionId, expText, sig] = parts as [string, string, string];
    if (!safeEqual(sig, this.sign(`${sessionId}.${expText}`))) return null;
    const exp = Number(expText);
    if (!Number.isSafeInteger(exp) || exp <= this.now()) return null;

    const cached = this.cache.get(sessionId);
    if (cached && this.now() - cached.checkedAt < CACHE_MS) return cached.session;
    const row = await this.prisma.session.findUnique({ where: { id: sessionId }, include: { user: true } });
    if (!row || row.expiresAt.getTime() <= this.now()) {
      this.cache.delete(sessionId);
      return null;
    }
    const session = {
      id: row.id,
      user: { id: row.user.id, name: row.user.name, color: row.user.color },
      expiresAt: row.expiresAt.getTime(),
    };
    this.remember(session);
    return session;
  }

  /**
   * Signs a session out: it expires now rather than disappearing, so the row still says when
   * its person was last able to act (guest retention counts from there; server/guests.ts).
   */
  async destroy(sessionId: string): Promise<void> {
    this.cache.delete(sessionId);
    await this.prisma.session.updateMany({ where: { id: sessionId }, data: { expiresAt: new Date(this.now()) } });
  }

  /** Forgets a session this instance trusted (another instance signed it out). */
  forget(sessionId: string): void {
    this.cache.delete(sessionId);
  }

  cookieFor(session: Session, secure: boolean): string {
    const payload = `${session.id}.${session.expiresAt}`;
    const maxAge = Math.max(0, Math.floor((session.expiresAt - this.now()) / 1000));
    return serializeCookie(SESSION_COOKIE, `${payload}.${this.sign(payload)}`, maxAge, secure);
  }

  static clearedCookie(secure: boolean): string {
    return serializeCookie(SESSION_COOKIE, "", 0, secure);
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.secret).update(payload).digest("base64url");
  }

  private remember(session: Session): void {
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(session.id, { session, checkedAt: this.now() });
  }
}

function serializeCookie(name: string, value: string, maxAge: number, secure: boolean): string {
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}
