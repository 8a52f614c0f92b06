// Message search (protocol 1.7) over a real server on 127.0.0.1, on PGlite and (with
// DATABASE_URL) Postgres: every word, each as a word's beginning, newest first; only in rooms the
// person may read; an edit found by its new words and not its old; a delete found by none; bad
// queries refused with their code; and a person's searches limited.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANY_ROOMS, startServer, type Person, type TestServer } from "../helpers/server";
import { dbKinds } from "../helpers/db";
import { SEARCHES_PER_PERSON_PER_MINUTE } from "../../server/http/api";
import { SearchIndex } from "../../server/search-index";
import { silentLogger } from "../../server/log";
import type { RealtimeEvent, SearchAnswer } from "../../lib/protocol";

describe.each(dbKinds)("message search on %s", (kind) => {
  let server: TestServer;
  let ada: Person;
  let lin: Person;
  // A word no other test writes: each test searches its own messages.
  const word = () => `w${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    server = await startServer({ kind, env: MANY_ROOMS });
    ada = await server.signIn("Ada");
    lin = await server.signIn("Lin");
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const call = (p: Person, method: string, path: string, body?: unknown) =>
    server.api(path, { method, cookie: p.cookie, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const post = async (p: Person, room: string, text: string) => {
    const res = await call(p, "POST", `/api/rooms/${room}/messages`, { text, clientId: `c-${randomBytes(4).toString("hex")}` });
    expect(res.status).toBe(201);
    return ((await res.json()) as { event: RealtimeEvent }).event;
  };
  const search = async (p: Person, q: string) => {
    // The words are written a moment after each commit; read what is committed now.
    await server.app.searchIndex.flush();
    const res = await call(p, "GET", `/api/search?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as SearchAnswer).results;
  };
  const room = async (p: Person, visibility: "public" | "private" = "public") => {
    const name = `s-${randomBytes(3).toString("hex")}`;
    expect((await call(p, "POST", "/api/rooms", { name, visibility })).status).toBe(201);
    return name;
  };

  it("finds messages with every word, each as a word's beginning, newest first, with the words in the snippet", async () => {
    const w = word();
    const r = await room(ada);
    const first = await post(ada, r, `the ${w} deploy went out`);
    await post(ada, r, `${w} only, nothing else`);
    const third = await post(lin, r, `**Deployment** of ${w} is done`);
    // "depl" begins "deploy" and "Deployment" (markdown aside, any case); a word inside another does not count.
    expect((await search(lin, `${w} DEPL`)).map((x) => x.seq)).toEqual([third.seq, first.seq]);
    expect(await search(lin, `${w} ploy`)).toEqual([]);
    const [hit] = await search(lin, `${w} deployment`);
    expect(hit).toEqual({ roomId: r, seq: third.seq, actor: { id: lin.user.id, name: "Lin" }, at: third.at, snippet: `Deployment of ${w} is done` });
  });

  it("cuts a long message to the part around the word found", async () => {
    const w = word();
    const r = await room(ada);
    const filler = Array.from({ length: 60 }, (_, i) => `filler${i}`).join(" ");
    await post(ada, r, `${filler} here is ${w} in the middle ${filler}`);
    const [hit] = await search(ada, w);
    expect(hit!.snippet.startsWith("…")).toBe(true);
    expect(hit!.snippet.endsWith("…")).toBe(true);
    expect(hit!.snippet).toContain(`here is ${w} in the middle`);
    expect(hit!.snippet.length).toBeLessThan(260);
  });

  it("finds nothing of a private room for someone outside it, and all of it for its members", async () => {
    const w = word();
    const secret = await room(ada, "private");
    const open = await room(ada);
    await post(ada, secret, `${w} in private`);
    await post(ada, open, `${w} in public`);
    expect((await search(lin, w)).map((x) => x.roomId)).toEqual([open]);
    expect((await search(ada, w)).map((x) => x.roomId)).toEqual([open, secret]);
    // Added, Lin finds it; removed, she does not any more.
    expect((await call(ada, "POST", `/api/rooms/${secret}/members`, { userId: lin.user.id })).status).toBe(204);
    expect((await search(lin, w)).map((x) => x.roomId)).toEqual([open, secret]);
    expect((await call(ada, "DELETE", `/api/rooms/${secret}/members/${lin.user.id}`)).status).toBe(204);
    expect((await search(lin, w)).map((x) => x.roomId)).toEqual([open]);
  });

  it("finds an edited message by what it says now, and a deleted one not at all", async () => {
    const [w, old, fresh] = [word(), word(), word()];
    const r = await room(ada);
    const edited = await post(ada, r, `${w} says ${old}`);
    const deleted = await post(ada, r, `${w} will be gone`);
    expect((await search(ada, w)).map((x) => x.seq)).toEqual([deleted.seq, edited.seq]);
    expect((await call(ada, "PATCH", `/api/rooms/${r}/messages/${edited.seq}`, { text: `${w} says ${fresh}`, clientId: `e-${w}` })).status).toBe(200);
    expect((await call(ada, "DELETE", `/api/rooms/${r}/messages/${deleted.seq}`, { clientId: `d-${w}` })).status).toBe(200);
    expect(await search(ada, old)).toEqual([]);
    expect((await search(ada, fresh)).map((x) => x.snippet)).toEqual([`${w} says ${fresh}`]);
    expect((await search(ada, w)).map((x) => x.seq)).toEqual([edited.seq]);
  });

  it("reads on a restart what the index missed while it was stopped, and never waits on it for an ack", async () => {
    const w = word();
    const r = await room(ada);
    await server.app.searchIndex.stop();
    const missed = await post(ada, r, `${w} written while the index was stopped`);
    // More than one read's worth behind: read to the end all the same.
    const actor = { id: ada.user.id, name: "Ada" };
    await Promise.all(
      Array.from({ length: 600 }, (_, i) => server.app.log.append({ stream: `room:${r}`, type: "message", actor, data: { text: `filler ${i} ${i === 599 ? `${w} last` : ""}`, clientId: `f-${w}-${i}` }, clientId: `f-${w}-${i}` })),
    );
    const replacement = new SearchIndex(server.app.db, server.app.log, { logger: silentLogger });
    server.app.searchIndex = replacement;
    try {
      await replacement.start();
      const found = await search(ada, w);
      expect(found.map((x) => x.snippet)).toEqual([`filler 599 ${w} last`, `${w} written while the index was stopped`]);
      expect(found[1]!.seq).toBe(missed.seq);
    } finally {
      await replacement.stop();
    }
  });

  it("refuses a query with no word, one too long, a bad limit, and anyone signed out", async () => {
    const codeOf = async (res: Response) => ({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code });
    expect(await codeOf(await call(ada, "GET", "/api/search?q=%20%21%3F*"))).toEqual({ status: 400, code: "bad_request" });
    expect(await codeOf(await call(ada, "GET", "/api/search"))).toEqual({ status: 400, code: "bad_request" });
    expect(await codeOf(await call(ada, "GET", `/api/search?q=${"a".repeat(201)}`))).toEqual({ status: 400, code: "bad_request" });
    expect(await codeOf(await call(ada, "GET", "/api/search?q=x&limit=51"))).toEqual({ status: 400, code: "bad_request" });
    expect(await codeOf(await server.api("/api/search?q=x"))).toEqual({ status: 401, code: "unauthorized" });
    // Query syntax of the database is only ever words: these find nothing rather than fail.
    for (const q of ["a & b", "x:* | !y", "'); DROP TABLE events; --", "<-> x"]) expect((await call(ada, "GET", `/api/search?q=${encodeURIComponent(q)}`)).status).toBe(200);
  });

  it("limits a person's searches, with Retry-After, and not the next person's", async () => {
    const kim = await server.signIn("Kim");
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < SEARCHES_PER_PERSON_PER_MINUTE + 1; i++) {
      const res = await call(kim, "GET", "/api/search?q=anything");
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after");
      await res.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(SEARCHES_PER_PERSON_PER_MINUTE);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect((await call(lin, "GET", "/api/search?q=anything")).status).toBe(200);
  });
});
