// Accounts (protocol 1.2) against a real server on 127.0.0.1: creating one signs in; signing in
// again on another device is the same person; wrong usernames and wrong passwords are one
// answer from one path; passwords are stored salted and slow; display names cannot be taken
// by lookalikes, by guests, or twice; attempts are limited per username.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, startServer, type TestServer } from "../helpers/server";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { metricValue, scrapeMetrics } from "../helpers/metrics";
import { SCRYPT, verifyPassword } from "../../server/accounts";
import { RENAMES_PER_PERSON_BURST, SIGN_INS_PER_USERNAME_PER_MINUTE } from "../../server/http/api";
import type { User } from "../../lib/protocol";

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("accounts on %s", (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ kind, testDb: kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined });
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  const tag = () => randomBytes(3).toString("hex");
  const post = (path: string, body: unknown, cookie?: string) => s.api(path, { method: "POST", body: JSON.stringify(body), cookie });
  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
  const cookieOf = (res: Response) => res.headers.get("set-cookie")!.split(";")[0]!;
  const whoIs = async (cookie: string) => ((await (await s.api("/api/session", { cookie })).json()) as { user: User }).user;

  it("creating an account signs in; signing in elsewhere is the same person, not a guest", async () => {
    const username = `ada_${tag()}`;
    const created = await post("/api/account", { username, password: "correct horse", name: `Ada ${username}` });
    expect(created.status).toBe(201);
    const { user } = (await created.json()) as { user: User };
    expect(user).toMatchObject({ name: `Ada ${username}` });
    expect(user.guest).toBeUndefined();
    expect(await whoIs(cookieOf(created))).toEqual(user);

    const again = await post("/api/session", { username: username.toUpperCase(), password: "correct horse" });
    expect(again.status).toBe(200);
    expect(cookieOf(again)).not.toBe(cookieOf(created));
    expect(await whoIs(cookieOf(again))).toEqual(user);
    // Guests keep working as in version 1, and say so.
    const guest = await post("/api/session", { name: `Visitor ${tag()}` });
    expect(((await guest.json()) as { user: User }).user.guest).toBe(true);
  });

  it("asked whether there is a session, the answer is the person or none; asked for one, none is a 401 (1.8)", async () => {
    const guest = await post("/api/session", { name: `Visitor ${tag()}` });
    const cookie = cookieOf(guest);
    const optional = async (c?: string) => {
      const res = await s.api("/api/session?optional=1", c ? { cookie: c } : {});
      return { status: res.status, body: (await res.json()) as { user: User | null } };
    };
    expect(await optional(cookie)).toMatchObject({ status: 200, body: { user: { name: expect.stringMatching(/^Visitor /) } } });
    expect(await optional()).toEqual({ status: 200, body: { user: null } });
    // A forged or ended session is no session, and says so the same way.
    expect(await optional(`${cookie.split("=")[0]}=forged`)).toEqual({ status: 200, body: { user: null } });
    expect((await s.api("/api/session", { method: "DELETE", cookie })).status).toBe(204);
    expect(await optional(cookie)).toEqual({ status: 200, body: { user: null } });
    // Without the parameter, as in version 1.
    const plain = await s.api("/api/session", {});
    expect(plain.status).toBe(401);
    expect(await errorCode(plain)).toBe("unauthorized");
  });

  it("a guest claims an account and stays the same person, now able to sign in anywhere (1.8)", async () => {
    const guest = await post("/api/session", { name: `Visitor ${tag()}` });
    const cookie = cookieOf(guest);
    const { user: before } = (await guest.json()) as { user: User };
    expect(before.guest).toBe(true);
    const username = `kept_${tag()}`;
    const claimed = await post("/api/account/claim", { username, password: "correct horse" }, cookie);
    expect(claimed.status).toBe(200);
    expect(((await claimed.json()) as { user: User }).user).toEqual({ id: before.id, name: before.name, color: before.color });
    // The same session goes on, now an account's; and the password signs in elsewhere as the same person.
    expect(await whoIs(cookie)).toEqual({ id: before.id, name: before.name, color: before.color });
    const elsewhere = await post("/api/session", { username, password: "correct horse" });
    expect(((await elsewhere.json()) as { user: User }).user.id).toBe(before.id);

    // Once is enough; a taken username is refused; nobody signed in claims nothing.
    expect(await errorCode(await post("/api/account/claim", { username: `again_${tag()}`, password: "correct horse" }, cookie))).toBe("forbidden");
    const other = cookieOf(await post("/api/session", { name: `Visitor ${tag()}` }));
    const taken = await post("/api/account/claim", { username, password: "correct horse" }, other);
    expect(taken.status).toBe(409);
    expect(await errorCode(taken)).toBe("username_taken");
    expect((await whoIs(other)).guest).toBe(true);
    expect((await post("/api/account/claim", { username: `nobody_${tag()}`, password: "correct horse" })).status).toBe(401);
  });

  it("a wrong password and an unknown username get the same answer, and both are checked against a hash", async () => {
    const username = `lin_${tag()}`;
    expect((await post("/api/account", { username, password: "open sesame" })).status).toBe(201);
    const checks = async () => metricValue(await scrapeMetrics(s.url), "rt_password_checks_total", { outcome: "refused" }) ?? 0;
    const before = await checks();
    const wrong = await post("/api/session", { username, password: "open sesamE" });
    const unknown = await post("/api/session", { username: `nobody_${tag()}`, password: "open sesame" });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    const [a, b] = [await wrong.json(), await unknown.json()];
    expect(a).toEqual(b);
    expect(a).toEqual({ error: { code: "invalid_credentials", message: "Wrong username or password" } });
    expect(await checks()).toBe(before + 2);
  });

  it("stores passwords salted and slow: scrypt with its cost, a different salt for the same password", async () => {
    const names = [`kai_${tag()}`, `kim_${tag()}`];
    for (const username of names) expect((await post("/api/account", { username, password: "same password" })).status).toBe(201);
    const rows = await s.testDb.db.sql.query<{ password_hash: string }>("SELECT password_hash FROM users WHERE username = ANY($1::text[])", [names]);
    expect(rows).toHaveLength(2);
    for (const { password_hash } of rows) {
      expect(password_hash).toMatch(new RegExp(`^scrypt\\$${SCRYPT.N}\\$${SCRYPT.r}\\$${SCRYPT.p}\\$[\\w-]{22}\\$[\\w-]{43}$`));
      expect(password_hash).not.toContain("same password");
      expect(await verifyPassword("same password", password_hash)).toBe(true);
      expect(await verifyPassword("same passwore", password_hash)).toBe(false);
    }
    expect(rows[0]!.password_hash.split("$")[4]).not.toBe(rows[1]!.password_hash.split("$")[4]);
  });

  it("refuses bad usernames and passwords, and a username taken in any case", async () => {
    const username = `zoe_${tag()}`;
    for (const bad of ["ab", "has space", "ünï", "x".repeat(33)]) {
      const res = await post("/api/account", { username: bad, password: "long enough" });
      expect([res.status, await errorCode(res)]).toEqual([400, "invalid_username"]);
    }
    const short = await post("/api/account", { username, password: "7 chars" });
    expect([short.status, await errorCode(short)]).toEqual([400, "invalid_password"]);
    expect((await post("/api/account", { username, password: "long enough" })).status).toBe(201);
    const taken = await post("/api/account", { username: username.toUpperCase(), password: "long enough" });
    expect([taken.status, await errorCode(taken)]).toEqual([409, "username_taken"]);
  });

  it("an account's name cannot be taken by a lookalike, another account, or a guest; invisible characters are refused", async () => {
    const name = `Ada Lovelace ${tag()}`;
    expect((await post("/api/account", { username: `al_${tag()}`, password: "long enough", name })).status).toBe(201);
    const cyrillic = name.replace("A", "\u0410"); // Cyrillic А
    const fullWidth = name.replace("Ada", "\uFF21\uFF44\uFF41"); // Ａｄａ
    for (const pose of [cyrillic, fullWidth, name.toUpperCase()]) {
      const res = await post("/api/account", { username: `p_${tag()}`, password: "long enough", name: pose });
      expect([res.status, await errorCode(res)]).toEqual([409, "name_taken"]);
      const guest = await post("/api/session", { name: pose });
      expect([guest.status, await errorCode(guest)]).toEqual([409, "name_taken"]);
    }
    const invisible = await post("/api/session", { name: "Ad\u200Ba" });
    expect([invisible.status, await errorCode(invisible)]).toEqual([400, "invalid_name"]);
    // Guests may share names with each other, as in version 1.
    const guestName = `Sam ${tag()}`;
    expect((await post("/api/session", { name: guestName })).status).toBe(200);
    expect((await post("/api/session", { name: guestName })).status).toBe(200);
  });

  it("limits sign-in attempts per username, whoever makes them", async () => {
    const username = `target_${tag()}`;
    expect((await post("/api/account", { username, password: "long enough" })).status).toBe(201);
    const answers: Response[] = [];
    for (let i = 0; i <= SIGN_INS_PER_USERNAME_PER_MINUTE; i++) answers.push(await post("/api/session", { username, password: `guess ${i}` }));
    expect(answers.slice(0, -1).map((r) => r.status)).toEqual(Array(SIGN_INS_PER_USERNAME_PER_MINUTE).fill(401));
    const last = answers[answers.length - 1]!;
    expect([last.status, await errorCode(last)]).toEqual([429, "rate_limited"]);
    expect(Number(last.headers.get("retry-after"))).toBeGreaterThan(0);
    // Even the right password waits: the limit is on the username, not on the guess.
    expect((await post("/api/session", { username, password: "long enough" })).status).toBe(429);
  });

  it("lists the person's devices and ends one: its WebSocket closes 4401 and its cookie stops working", async () => {
    const username = `dev_${tag()}`;
    const laptop = await s.api("/api/account", { method: "POST", body: JSON.stringify({ username, password: "long enough" }), headers: { "user-agent": "Laptop/1.0" } });
    const phone = await s.api("/api/session", { method: "POST", body: JSON.stringify({ username, password: "long enough" }), headers: { "user-agent": "Phone/2.0" } });
    const [laptopCookie, phoneCookie] = [cookieOf(laptop), cookieOf(phone)];
    const list = async (cookie: string) =>
      ((await (await s.api("/api/sessions", { cookie })).json()) as { sessions: { id: string; userAgent: string | null; current: boolean }[] }).sessions;
    const devices = await list(laptopCookie);
    expect(devices.map((d) => [d.userAgent, d.current])).toEqual([
      ["Phone/2.0", false],
      ["Laptop/1.0", true],
    ]);
    // The handles are not the sessions' ids: a page never holds another device's cookie secret.
    for (const d of devices) expect(laptopCookie + phoneCookie).not.toContain(d.id);

    const phoneSocket = await s.connect(phoneCookie);
    const phoneHandle = devices.find((d) => !d.current)!.id;
    // Someone else cannot end it; nor can an id that is no session.
    const stranger = cookieOf(await post("/api/session", { name: `Eve ${tag()}` }));
    expect((await s.api(`/api/sessions/${phoneHandle}`, { method: "DELETE", cookie: stranger })).status).toBe(404);
    expect((await s.api(`/api/sessions/nope`, { method: "DELETE", cookie: laptopCookie })).status).toBe(404);
    expect((await s.api(`/api/sessions/${phoneHandle}`, { method: "DELETE", cookie: laptopCookie })).status).toBe(204);
    expect(await phoneSocket.closed()).toBe(4401);
    expect((await s.api("/api/session", { cookie: phoneCookie })).status).toBe(401);
    expect((await s.api("/api/session", { cookie: laptopCookie })).status).toBe(200);
    expect((await list(laptopCookie)).map((d) => d.userAgent)).toEqual(["Laptop/1.0"]);
  });

  const rename = (cookie: string, name: unknown) => s.api("/api/account", { method: "PATCH", body: JSON.stringify({ name }), cookie });

  it("a guest or an account takes a new name, the same person; an account's name is its own (1.9)", async () => {
    const guestCookie = cookieOf(await post("/api/session", { name: `Visitor ${tag()}` }));
    const guest = await whoIs(guestCookie);
    const renamed = await rename(guestCookie, `  Wanderer ${tag()}  `);
    expect(renamed.status).toBe(200);
    const { user } = (await renamed.json()) as { user: User };
    expect(user).toEqual({ ...guest, name: expect.stringMatching(/^Wanderer [0-9a-f]{6}$/) });
    expect(await whoIs(guestCookie)).toEqual(user);

    const username = `ren_${tag()}`;
    const account = cookieOf(await post("/api/account", { username, password: "long enough", name: `Grace ${username}` }));
    const other = cookieOf(await post("/api/account", { username: `${username}x`, password: "long enough", name: `Hopper ${username}` }));
    // Another account's name, in any case or lookalike letters, is taken; so it is for a guest.
    expect(await errorCode(await rename(account, `HOPPER ${username}`))).toBe("name_taken");
    expect((await rename(guestCookie, `Hopper ${username}`)).status).toBe(409);
    expect(await errorCode(await rename(account, "  "))).toBe("invalid_name");
    expect(await errorCode(await rename(account, 42))).toBe("invalid_name");
    expect((await rename("rt_session=forged.1.x", "Anyone")).status).toBe(401);
    // Its own name in other letters is fine, and frees the old one for others.
    expect((await rename(account, `GRACE ${username}`)).status).toBe(200);
    expect((await rename(account, `Ada ${username}`)).status).toBe(200);
    expect((await rename(other, `Grace ${username}`)).status).toBe(200);
    expect((await whoIs(other)).name).toBe(`Grace ${username}`);
    // Signing in again finds the new name.
    const again = await post("/api/session", { username, password: "long enough" });
    expect(((await again.json()) as { user: User }).user.name).toBe(`Ada ${username}`);
  });

  it("a new name reaches the rooms at once: the person's sockets are made again, and stay present (1.9)", async () => {
    const room = `names-${tag()}`;
    const lin = cookieOf(await post("/api/session", { name: `Lin ${tag()}` }));
    const ada = cookieOf(await post("/api/session", { name: `Ada ${tag()}` }));
    expect((await post("/api/rooms", { name: room }, lin)).status).toBe(201);
    const watcher = await s.connect(lin, { protocols: ["rt.v1.1"] });
    watcher.send({ type: "join", room });
    await watcher.next(isType("joined"));
    const socket = await s.connect(ada);
    socket.send({ type: "join", room });
    await socket.next(isType("joined"));
    const adaId = (await whoIs(ada)).id;
    await watcher.next((f) => f.type === "presence_diff" && f.joins.some((u) => u.id === adaId));

    const name = `Augusta ${tag()}`;
    expect((await rename(ada, name)).status).toBe(200);
    // Come back at once, and resume.
    expect(await socket.closed()).toBe(1012);
    const back = await s.connect(ada);
    back.send({ type: "join", room });
    await back.next(isType("joined"));
    // Lin hears the new name as a change, not a leave.
    const changed = await watcher.next((f) => f.type === "presence_diff" && f.joins.some((u) => u.id === adaId && u.name === name));
    expect(changed.type === "presence_diff" && changed.leaves).toEqual([]);
    back.send({ type: "send", room, text: "hello again", clientId: "c-again" });
    const said = await watcher.next((f) => f.type === "event" && f.event.type === "message" && f.event.data.text === "hello again");
    expect(said.type === "event" && said.event.actor).toMatchObject({ id: adaId, name });
    expect(watcher.of("presence_diff").flatMap((f) => f.leaves)).toEqual([]);
    watcher.close();
    back.close();
  });

  it("history, the feed, notifications and search name each person as they are now; the events keep the names they were written under (1.10)", async () => {
    const room = `now-${tag()}`;
    const [adaWas, linWas] = [`Ada ${tag()}`, `Lin ${tag()}`];
    const ada = cookieOf(await post("/api/session", { name: adaWas }));
    const lin = cookieOf(await post("/api/session", { name: linWas }));
    const [adaId, linId] = [(await whoIs(ada)).id, (await whoIs(lin)).id];
    expect((await post("/api/rooms", { name: room }, ada)).status).toBe(201);
    const word = `w${tag()}`;
    const said = await post(`/api/rooms/${room}/messages`, { text: `first ${word}`, clientId: "c-first" }, ada);
    const { seq } = ((await said.json()) as { event: { seq: number } }).event;
    // Lin answers it, quoting Ada, and reacts to it.
    expect((await post(`/api/rooms/${room}/messages`, { text: "an answer", clientId: "c-answer", replyTo: seq }, lin)).status).toBe(201);
    expect((await post(`/api/rooms/${room}/messages/${seq}/reactions`, { emoji: "👍", on: true, clientId: "c-like" }, lin)).status).toBe(200);
    const [adaIs, linIs] = [`Augusta ${tag()}`, `Linnea ${tag()}`];
    expect((await rename(ada, adaIs)).status).toBe(200);
    expect((await rename(lin, linIs)).status).toBe(200);

    const page = (await (await s.api(`/api/rooms/${room}/events`, { cookie: lin })).json()) as {
      events: { type: string; actor: { id: string; name: string }; data: { replyTo?: { actor: { name: string } }; reactions?: Record<string, { name: string }[]> } }[];
      people: { id: string; name: string }[];
    };
    // The log is as it was written…
    expect(page.events.map((e) => [e.type, e.actor.name])).toEqual([
      ["message", adaWas],
      ["message", linWas],
      ["reaction", linWas],
    ]);
    expect(page.events[1]!.data.replyTo!.actor.name).toBe(adaWas);
    // …and the page says who those people are now, the one who only reacted too.
    expect(page.people).toEqual(expect.arrayContaining([{ id: adaId, name: adaIs }, { id: linId, name: linIs }]));
    expect(page.people).toHaveLength(2);
    // A page read forwards, of the reaction alone: only who reacted.
    const forwards = (await (await s.api(`/api/rooms/${room}/events?after=${seq + 1}&limit=1`, { cookie: lin })).json()) as { people: unknown[] };
    expect(forwards.people).toEqual([{ id: linId, name: linIs }]);

    // The feed says who posted, and Ada's notifications who answered her, under their names now.
    const feed = (await (await s.api("/api/feed?limit=10", { cookie: lin })).json()) as { events: { actor: { id: string } }[]; people: unknown[] };
    expect(feed.events.some((e) => e.actor.id === adaId)).toBe(true);
    expect(feed.people).toEqual(expect.arrayContaining([{ id: adaId, name: adaIs }]));
    const told = (await (await s.api("/api/notifications", { cookie: ada })).json()) as { events: { type: string }[]; people: unknown[] };
    expect(told.events.map((e) => e.type)).toEqual(["reply"]);
    expect(told.people).toEqual([{ id: linId, name: linIs }]);

    await s.app.searchIndex.flush();
    const found = (await (await s.api(`/api/search?q=${word}`, { cookie: lin })).json()) as { results: { actor: unknown }[] };
    expect(found.results.map((r) => r.actor)).toEqual([{ id: adaId, name: adaIs }]);
  });

  it("name changes are limited per person (429 with Retry-After)", async () => {
    const cookie = cookieOf(await post("/api/session", { name: `Chameleon ${tag()}` }));
    for (let i = 0; i < RENAMES_PER_PERSON_BURST; i++) expect((await rename(cookie, `Chameleon ${i} ${tag()}`)).status).toBe(200);
    const refused = await rename(cookie, `Chameleon ${tag()}`);
    expect(refused.status).toBe(429);
    expect(await errorCode(refused)).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("tells two devices of one browser apart: which one is asking, and when each was last active", async () => {
    const username = `twin_${tag()}`;
    const browser = { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" };
    const body = JSON.stringify({ username, password: "long enough" });
    const desk = cookieOf(await s.api("/api/account", { method: "POST", body, headers: browser }));
    const laptop = cookieOf(await s.api("/api/session", { method: "POST", body, headers: browser }));
    // The desk signed in yesterday and was last used three hours ago, as its row says by now.
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
    const [signedIn, lastUsed] = [hoursAgo(24), hoursAgo(3)];
    const deskId = desk.split("=")[1]!.split(".")[0]!;
    await s.testDb.db.sql.query("UPDATE sessions SET created_at = $2::timestamptz, last_seen_at = $3::timestamptz WHERE id = $1", [deskId, signedIn, lastUsed]);

    const answer = (await (await s.api("/api/sessions", { cookie: laptop })).json()) as {
      sessions: { userAgent: string | null; current: boolean; createdAt: string; lastSeenAt: string }[];
    };
    const [here, there] = answer.sessions;
    expect(answer.sessions).toHaveLength(2);
    expect([here!.userAgent, there!.userAgent]).toEqual([browser["user-agent"], browser["user-agent"]]);
    expect([here!.current, there!.current]).toEqual([true, false]);
    // Signed in and not active since: its sign-in is its last activity.
    expect(here!.lastSeenAt).toBe(here!.createdAt);
    expect([there!.createdAt, there!.lastSeenAt]).toEqual([signedIn, lastUsed]);
  });

  it("changing the password needs the current one and signs out every other device", async () => {
    const username = `pw_${tag()}`;
    const here = cookieOf(await post("/api/account", { username, password: "first password" }));
    const there = cookieOf(await post("/api/session", { username, password: "first password" }));
    const thereSocket = await s.connect(there);
    const change = (body: unknown, cookie = here) => s.api("/api/account/password", { method: "POST", body: JSON.stringify(body), cookie });
    const wrong = await change({ current: "not it", password: "second password" });
    expect([wrong.status, await errorCode(wrong)]).toEqual([401, "invalid_credentials"]);
    const short = await change({ current: "first password", password: "short" });
    expect([short.status, await errorCode(short)]).toEqual([400, "invalid_password"]);
    expect((await change({ current: "first password", password: "second password" })).status).toBe(204);
    expect(await thereSocket.closed()).toBe(4401);
    expect((await s.api("/api/session", { cookie: there })).status).toBe(401);
    expect((await s.api("/api/session", { cookie: here })).status).toBe(200);
    expect((await post("/api/session", { username, password: "first password" })).status).toBe(401);
    expect((await post("/api/session", { username, password: "second password" })).status).toBe(200);
    // A guest has no password to change.
    const guest = cookieOf(await post("/api/session", { name: `Gus ${tag()}` }));
    const refused = await change({ current: "x", password: "long enough" }, guest);
    expect([refused.status, await errorCode(refused)]).toEqual([403, "forbidden"]);
  });
});
