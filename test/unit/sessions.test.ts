// Session cookies: a signed `id.expiry.signature`, trusted for a short while once verified.
// What a recently verified session must not let through: a cookie with the same id and a
// forged or altered part, or one signed out since.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sessions } from "../../server/auth";
import { createTestDatabase, type TestDatabase } from "../helpers/db";

let testDb: TestDatabase;
let sessions: Sessions;

beforeAll(async () => {
  testDb = await createTestDatabase("pglite");
  sessions = new Sessions(testDb.db, "unit-secret-unit-secret-unit-secret-0123");
});
afterAll(async () => {
  await testDb?.drop();
});

/** The cookie's value (what a browser sends back) from a Set-Cookie header. */
const valueOf = (setCookie: string) => setCookie.split(";")[0]!.split("=").slice(1).join("=");

describe("session cookies", () => {
  it("verifies a signed-in person's cookie, again and again", async () => {
    const { session, cookie } = await sessions.create("Ada", false);
    const token = valueOf(cookie);
    for (let i = 0; i < 3; i++) expect((await sessions.verify(token))?.user).toEqual(session.user);
  });

  it("refuses a cookie with a verified session's id but a forged signature or a changed expiry", async () => {
    const { cookie } = await sessions.create("Lin", false);
    const token = valueOf(cookie);
    expect(await sessions.verify(token)).not.toBeNull(); // now trusted for a while
    const [id, exp, sig] = token.split(".") as [string, string, string];
    const flipped = `${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`;
    expect(await sessions.verify(`${id}.${exp}.${flipped}`)).toBeNull();
    expect(await sessions.verify(`${id}.${Number(exp) + 1000}.${sig}`)).toBeNull();
    expect(await sessions.verify(`${id}.${exp}.`)).toBeNull();
    expect(await sessions.verify(token)).not.toBeNull();
  });

  it("refuses a cookie at once once its session is signed out, however recently it was verified", async () => {
    const { session, cookie } = await sessions.create("Kay", false);
    const token = valueOf(cookie);
    expect(await sessions.verify(token)).not.toBeNull();
    await sessions.destroy(session.id);
    expect(await sessions.verify(token)).toBeNull();
  });
});
