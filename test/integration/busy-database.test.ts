// A database busy for a while: the embedded one is a single backend, taken in turns a whole
// transaction at a time, so a burst of sign-ups waits behind whatever holds it. Those who sign
// up meanwhile get in once it is free; one that cannot begin within the server's wait is told
// `503 overloaded` with Retry-After (try again), never `500 internal`. (Prisma's own wait, 2 s,
// gave sign-ups `500` whenever the machine was busy.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Prisma } from "../../server/db/generated/client";
import { TRANSACTION_WAIT_MS } from "../../server/db/database";
import { toHttpError } from "../../server/http/api";
import { knownError } from "../../server/commands/errors";
import { Sessions } from "../../server/auth";
import { startServer, type TestServer } from "../helpers/server";

let s: TestServer;
beforeAll(async () => {
  s = await startServer();
}, 60_000);
afterAll(() => s?.stop());

/** Holds the embedded database's one backend for `seconds` (longer than Prisma's own 2 s wait). */
const holdDatabase = (seconds: number) => s.testDb.db.sql.query(`SELECT pg_sleep(${seconds})`);
const post = (path: string, body: unknown) => s.api(path, { method: "POST", body: JSON.stringify(body) });

describe("sign-ups while the embedded database is busy", () => {
  it("sixty people signing up at once while the database is held for 3 s all get in", async () => {
    const held = holdDatabase(3);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => post("/api/session", { name: `Busy ${i}` })));
    await held;
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
    // Each is a person of their own, signed in.
    const cookies = answers.map((r) => r.headers.get("set-cookie")!.split(";")[0]!);
    expect(new Set(cookies).size).toBe(60);
    expect((await s.api("/api/session", { cookie: cookies[59] })).status).toBe(200);
  });

  it("a sign-up's transaction begun while the database is held for 3 s waits for it, a guest's and an account's", async () => {
    // Straight to the transaction (over HTTP a sign-up's name check waits for the database first).
    const sessions = new Sessions(s.testDb.db, "test-secret-test-secret-test-secret-0123");
    const held = holdDatabase(3);
    const tag = Date.now().toString(36);
    const signedUp = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => sessions.create(`Held ${i}`, false)),
      sessions.create("Held Account", false, { username: `held_${tag}`, passwordHash: "x", nameKey: `held account ${tag}` }),
    ]);
    await held;
    expect(signedUp.map((r) => (r.status === "rejected" ? String(r.reason) : "ok"))).toEqual(signedUp.map(() => "ok"));
  });

  it("a transaction that cannot begin within its wait is overloaded (503, Retry-After), not internal", async () => {
    expect(TRANSACTION_WAIT_MS).toBeGreaterThan(2_000);
    // The same failure, sooner: a wait of 100 ms against a database held for 1 s.
    const held = holdDatabase(1);
    const prisma = s.testDb.db.prisma;
    const failure = await prisma.$transaction([prisma.user.count(), prisma.session.count()], { maxWait: 100 }).then(
      () => null,
      (err: unknown) => err,
    );
    await held;
    expect(failure).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect(knownError(failure)).toEqual({ code: "overloaded", message: expect.stringMatching(/busy/) });
    const refusal = toHttpError(failure)!;
    expect([refusal.status, refusal.code, refusal.headers["Retry-After"]]).toEqual([503, "overloaded", "1"]);
  });
});
