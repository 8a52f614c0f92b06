// Accounts: a username and a password, so a person signs in on any device as the same person.
// Passwords are hashed with scrypt (memory-hard, salted per account) and never logged. A wrong
// username and a wrong password take the same path and the same time: the answer never tells
// whether a username exists.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";
import type { Database } from "./db/database";
import type { Session, Sessions } from "./auth";
import type { Metrics } from "./metrics";
import { nameKey } from "../lib/names";
import { passwordSchema, userNameSchema, usernameSchema, type User } from "../lib/protocol";

/**
 * scrypt's cost: N = 2^15 with r = 8 takes 32 MiB and tens of milliseconds per hash — cheap for
 * one sign-in, ruinous for guessing a stolen hash at scale (OWASP's minimum for scrypt).
 */
export const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;
/** Above scrypt's own default cap (32 MiB), which N = 2^15, r = 8 just reaches. */
const MAX_MEM = 64 * 1024 * 1024;

function scrypt(password: string, salt: Buffer, keyLength: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keyLength, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$N$r$p$salt$hash`, the salt and hash in base64url: the parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const { N, r, p, keyLength } = SCRYPT;
  const key = await scrypt(password, salt, keyLength, { N, r, p, maxmem: MAX_MEM });
  return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Whether `password` is the one `stored` was made from (with the parameters it was made with). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const key = await scrypt(password, Buffer.from(salt, "base64url"), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: MAX_MEM });
  return timingSafeEqual(key, expected);
}

export class AccountError extends Error {
  override name = "AccountError";
  constructor(
    readonly code: "invalid_username" | "invalid_password" | "invalid_name" | "username_taken" | "name_taken" | "invalid_credentials" | "forbidden",
    message: string,
  ) {
    super(message);
  }
}

export class Accounts {
  /** Checked against when the username is unknown, so that path costs one hash like the other. */
  private decoy: Promise<string> | null = null;

  constructor(
    private readonly db: Pick<Database, "prisma" | "sql">,
    private readonly sessions: Sessions,
    private readonly metrics?: Metrics,
  ) {}

  /** Creates an account and signs it in. `name` defaults to the username. */
  async create(
    input: { username: string; password: string; name?: string | undefined },
    secure: boolean,
    userAgent?: string,
  ): Promise<{ session: Session; cookie: string }> {
    const account = await this.checked(input, input.name);
    try {
      return await this.sessions.create(account.name, secure, { username: account.username, passwordHash: account.passwordHash, nameKey: account.nameKey }, userAgent);
    } catch (err) {
      throw await this.whichTaken(err, account);
    }
  }

  /**
   * A guest becomes an account (protocol 1.8): the same person, with their messages, rooms and
   * read positions, now able to sign in anywhere. `name` defaults to the name they go by.
   * Refused `forbidden` for someone who is an account already.
   */
  async claim(guest: User, input: { username: string; password: string; name?: string | undefined }): Promise<User> {
    const [self] = await this.db.sql.query<{ account: boolean }>("SELECT username IS NOT NULL AS account FROM users WHERE id = $1", [guest.id]);
    if (self?.account !== false) throw new AccountError("forbidden", "You have an account already");
    const account = await this.checked(input, input.name ?? guest.name);
    let rows: Array<{ id: string; name: string; color: string }>;
    try {
      rows = await this.db.sql.query(
        "UPDATE users SET username = $2, password_hash = $3, name = $4, name_key = $5 WHERE id = $1 AND username IS NULL RETURNING id, name, color",
        [guest.id, account.username, account.passwordHash, account.name, account.nameKey],
      );
    } catch (err) {
      throw await this.whichTaken(err, account);
    }
    const [row] = rows;
    if (!row) throw new AccountError("forbidden", "You have an account already");
    return { id: row.id, name: row.name, color: row.color };
  }

  /**
   * A person takes another display name (protocol 1.9), guest or account, the same person
   * still. An account's name is its own among accounts (the unique index decides a race); a
   * guest may not take an account's.
   */
  async rename(user: User, displayName: string): Promise<User> {
    const parsed = userNameSchema.safeParse(displayName);
    if (!parsed.success) throw new AccountError("invalid_name", parsed.error.issues[0]!.message);
    const name = parsed.data;
    const key = nameKey(name);
    let rows: Array<{ id: string; name: string; color: string; guest: boolean }>;
    try {
      rows = await this.db.sql.query(
        `UPDATE users SET name = $2, name_key = CASE WHEN username IS NULL THEN name_key ELSE $3 END WHERE id = $1
           AND NOT EXISTS (SELECT 1 FROM users o WHERE o.name_key = $3 AND o.username IS NOT NULL AND o.id <> $1)
         RETURNING id, name, color, username IS NULL AS guest`,
        [user.id, name, key],
      );
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "P2002" || code === "23505") throw new AccountError("name_taken", `Someone already goes by "${name}"`);
      throw err;
    }
    const [row] = rows;
    if (!row) throw new AccountError("name_taken", `Someone already goes by "${name}"`);
    return { id: row.id, name: row.name, color: row.color, ...(row.guest ? { guest: true as const } : {}) };
  }

  /** What an account is made of, each part checked (and the password hashed). */
  private async checked(input: { username: string; password: string }, displayName: string | undefined) {
    const username = usernameSchema.safeParse(input.username);
    if (!username.success) throw new AccountError("invalid_username", username.error.issues[0]!.message);
    const password = passwordSchema.safeParse(input.password);
    if (!password.success) throw new AccountError("invalid_password", password.error.issues[0]!.message);
    const name = userNameSchema.safeParse(displayName ?? username.data);
    if (!name.success) throw new AccountError("invalid_name", name.error.issues[0]!.message);
    const passwordHash = await hashPassword(password.data);
    if (await this.usernameTaken(username.data)) throw new AccountError("username_taken", `The username "${username.data}" is taken`);
    if (await this.nameTaken(name.data)) throw new AccountError("name_taken", `Someone already goes by "${name.data}"`);
    return { username: username.data, passwordHash, name: name.data, nameKey: nameKey(name.data) };
  }

  /**
   * The unique indexes decide races: two people taking one username (or one name) at once get
   * one account; the other is told which was taken.
   */
  private async whichTaken(err: unknown, account: { username: string; name: string }): Promise<unknown> {
    const code = (err as { code?: unknown }).code;
    // P2002 from Prisma, 23505 from the driver: a unique index refused the row.
    if (code !== "P2002" && code !== "23505") return err;
    if (await this.usernameTaken(account.username)) return new AccountError("username_taken", `The username "${account.username}" is taken`);
    return new AccountError("name_taken", `Someone already goes by "${account.name}"`);
  }

  /** Signs an account in on this device: a new session for the same person. */
  async signIn(input: { username: string; password: string }, secure: boolean, userAgent?: string): Promise<{ session: Session; cookie: string }> {
    const username = input.username.trim().toLowerCase();
    const [row] = await this.db.sql.query<{ id: string; name: string; color: string; password_hash: string }>(
      "SELECT id, name, color, password_hash FROM users WHERE username = $1 AND password_hash IS NOT NULL",
      [username],
    );
    // Unknown usernames hash against a decoy: both failures cost the same and read the same.
    const ok = await verifyPassword(input.password, row?.password_hash ?? (await this.decoyHash()));
    // Counted as one: an operator sees guessing, not which usernames it hit.
    this.metrics?.passwordChecks.inc({ outcome: row && ok ? "ok" : "refused" });
    if (!row || !ok) throw new AccountError("invalid_credentials", "Wrong username or password");
    const user: User = { id: row.id, name: row.name, color: row.color };
    return this.sessions.open(user, secure, userAgent);
  }

  /**
   * Changes an account's password, given the current one. The caller ends the person's other
   * sessions: whoever knew the old password is signed out everywhere but here.
   */
  async changePassword(userId: string, current: string, next: string): Promise<void> {
    const [row] = await this.db.sql.query<{ password_hash: string | null }>("SELECT password_hash FROM users WHERE id = $1", [userId]);
    if (!row?.password_hash) throw new AccountError("forbidden", "Guests have no password; create an account instead");
    const password = passwordSchema.safeParse(next);
    if (!password.success) throw new AccountError("invalid_password", password.error.issues[0]!.message);
    const ok = await verifyPassword(current, row.password_hash);
    this.metrics?.passwordChecks.inc({ outcome: ok ? "ok" : "refused" });
    if (!ok) throw new AccountError("invalid_credentials", "The current password is wrong");
    await this.db.sql.query("UPDATE users SET password_hash = $2 WHERE id = $1", [userId, await hashPassword(password.data)]);
  }

  private async usernameTaken(username: string): Promise<boolean> {
    return (await this.db.sql.query("SELECT 1 FROM users WHERE username = $1", [username])).length > 0;
  }

  /** Whether an account goes by this display name (a guest may not take it). */
  async nameTaken(name: string): Promise<boolean> {
    const rows = await this.db.sql.query("SELECT 1 FROM users WHERE name_key = $1 AND username IS NOT NULL LIMIT 1", [nameKey(name)]);
    return rows.length > 0;
  }

  private decoyHash(): Promise<string> {
    return (this.decoy ??= hashPassword(randomBytes(12).toString("base64url")));
  }
}
