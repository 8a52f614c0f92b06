// Protocol 1.2's changes to a message — edit, delete, react — and replies and mentions by id,
// over a real server on 127.0.0.1: each over the one command path (WebSocket frames, long-poll
// batches and HTTP), acknowledged once durable, idempotent by clientId, refused with its code,
// and folded into the message that history returns. A delete leaves no copy of the text.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isType, MANY_ROOMS, startServer, WsClient, type Person, type TestServer } from "../helpers/server";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { SEND_LIMITS } from "../../server/ratelimit";
import { MAX_REACTION_EMOJI, type RealtimeEvent, type ServerFrame } from "../../lib/protocol";

type Ack = Extract<ServerFrame, { type: "ack" }>;
type ErrorFrame = Extract<ServerFrame, { type: "error" }>;
type Message = Extract<RealtimeEvent, { type: "message" }>;

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("changes to messages on %s", (kind) => {
  let s: TestServer;
  let ada: Person;
  let lin: Person;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    s = await startServer({
      kind,
      testDb: kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined,
      // Many changes in a row: the send rate is tested on its own below, with a fresh person.
      tuning: { rateLimits: { ...SEND_LIMITS, send: { rate: 1000, burst: 1000 } } },
      env: MANY_ROOMS,
    });
    ada = await s.signIn("Ada");
    lin = await s.signIn("Lin");
  }, 60_000);
  afterAll(async () => {
    for (const c of sockets) c.close();
    await s?.stop();
  });

  const newRoom = async (): Promise<string> => {
    const name = `mc-${randomBytes(4).toString("hex")}`;
    const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: ada.cookie });
    expect(res.status).toBe(201);
    return name;
  };
  const joined = async (p: Person, room: string, since?: number): Promise<WsClient> => {
    const c = await s.connect(p.cookie, { protocols: ["rt.v1.2", "rt.v1.1", "rt.v1"] });
    sockets.push(c);
    c.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
    await c.next(isType("joined", (f) => f.room === room));
    return c;
  };
  let ids = 0;
  const cid = () => `c-${++ids}-${randomBytes(2).toString("hex")}`;
  /** Sends a durable frame and waits for its ack or error. */
  const ask = async (c: WsClient, frame: Record<string, unknown> & { clientId?: string }): Promise<Ack | ErrorFrame> => {
    const clientId = frame.clientId ?? cid();
    const from = c.frames.length;
    c.send({ ...frame, clientId });
    return (await c.next((f) => (f.type === "ack" || f.type === "error") && f.clientId === clientId, { from })) as Ack | ErrorFrame;
  };
  const acked = async (c: WsClient, frame: Record<string, unknown>): Promise<number> => {
    const answer = await ask(c, frame);
    if (answer.type !== "ack") throw new Error(`refused: ${answer.code} ${answer.message}`);
    return answer.seq;
  };
  const history = async (room: string, p: Person = ada): Promise<RealtimeEvent[]> => {
    const res = await s.api(`/api/rooms/${room}/events?limit=200`, { cookie: p.cookie });
    expect(res.status).toBe(200);
    return ((await res.json()) as { events: RealtimeEvent[] }).events;
  };
  const messageIn = async (room: string, seq: number): Promise<Message> => {
    const found = (await history(room)).find((e) => e.seq === seq);
    if (found?.type !== "message") throw new Error(`no message ${seq}`);
    return found;
  };
  const head = async (room: string) => s.app.log.head(`room:${room}`);
  const eventFor = (c: WsClient, type: RealtimeEvent["type"], from = 0) =>
    c.next((f) => f.type === "event" && f.event.type === type, { from }) as Promise<Extract<ServerFrame, { type: "event" }>>;

  it("an edit reaches the room live, history returns the new text, and someone offline gets the edit when they return", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    const seq = await acked(a, { type: "send", room, text: "hello wrold" });
    await l.next(isType("event", (f) => f.event.seq === seq));
    const from = l.frames.length;
    const editSeq = await acked(a, { type: "edit", room, seq, text: "hello world" });
    const live = (await eventFor(l, "message.edited", from)).event;
    expect(live).toMatchObject({ seq: editSeq, data: { seq, text: "hello world" }, actor: { id: ada.user.id } });
    const now = await messageIn(room, seq);
    expect(now.data.text).toBe("hello world");
    expect(now.data.editedAt).toBe(live.at);

    // Lin goes away knowing everything up to the edit; Ada edits again meanwhile.
    l.close();
    const again = await acked(a, { type: "edit", room, seq, text: "hello, world" });
    const back = await joined(lin, room, editSeq);
    const replayed = (await eventFor(back, "message.edited")).event;
    expect(replayed).toMatchObject({ seq: again, data: { seq, text: "hello, world" } });
  });

  it("only the author edits or deletes; an unknown, non-message or deleted target gets its code, and nothing is appended", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    const seq = await acked(a, { type: "send", room, text: "mine" });
    const before = await head(room);
    expect(await ask(l, { type: "edit", room, seq, text: "yours now" })).toMatchObject({ type: "error", code: "forbidden", room });
    expect(await ask(l, { type: "delete", room, seq })).toMatchObject({ type: "error", code: "forbidden" });
    expect(await ask(a, { type: "edit", room, seq: seq + 100, text: "x" })).toMatchObject({ type: "error", code: "unknown_message" });
    expect(await ask(a, { type: "edit", room, seq, text: "   " })).toMatchObject({ type: "error", code: "invalid_text" });
    expect(await head(room)).toBe(before);
    const editSeq = await acked(a, { type: "edit", room, seq, text: "mine, edited" });
    // An edit event is not a message: it cannot be edited, answered or reacted to.
    expect(await ask(a, { type: "edit", room, seq: editSeq, text: "x" })).toMatchObject({ type: "error", code: "unknown_message" });
    expect(await ask(l, { type: "react", room, seq: editSeq, emoji: "👍", on: true })).toMatchObject({ type: "error", code: "unknown_message" });
    await acked(a, { type: "delete", room, seq });
    expect(await ask(a, { type: "edit", room, seq, text: "back" })).toMatchObject({ type: "error", code: "message_deleted" });
    expect(await ask(l, { type: "react", room, seq, emoji: "👍", on: true })).toMatchObject({ type: "error", code: "message_deleted" });
    // A malformed change is a bad frame with no effect, named by its clientId and room: the
    // client fails that one (kept for Retry) instead of sending it again, its others behind it.
    const badFrame = async (frame: Record<string, unknown>) => {
      const from = a.frames.length;
      const clientId = cid();
      a.send({ ...frame, clientId });
      expect(await a.next(isType("error"), { from })).toMatchObject({ code: "bad_frame", clientId, room });
    };
    const headNow = await head(room);
    await badFrame({ type: "edit", room, seq: 0, text: "x" });
    await badFrame({ type: "react", room, seq, emoji: "thumbs", on: true });
    await badFrame({ type: "react", room, seq, emoji: "👍👍", on: true });
    await badFrame({ type: "react", room, seq, emoji: "❤", on: true }); // a heart without its emoji form
    expect(await head(room)).toBe(headNow);
    // One whose clientId or room is not one names neither.
    const from = a.frames.length;
    a.send({ type: "react", room: "No Such Room!", seq, emoji: "x", on: true, clientId: "" });
    const refused = await a.next(isType("error"), { from });
    expect(refused).toMatchObject({ code: "bad_frame" });
    expect(refused).not.toHaveProperty("clientId");
    expect(refused).not.toHaveProperty("room");
  });

  it("a delete takes the text out of the database: the message, its edits, the feed's and notifications' previews, and the replies' quotes", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    const secret = `secret-${randomBytes(4).toString("hex")}`;
    const seq = await acked(a, { type: "send", room, text: `first ${secret} @Lin` });
    await acked(a, { type: "edit", room, seq, text: `second ${secret} @Lin` });
    const reply = await acked(l, { type: "send", room, text: "answering that", replyTo: seq });
    const stored = async () =>
      Number(
        (await s.testDb.db.sql.query<{ n: number | string }>(`SELECT count(*) AS n FROM events WHERE data::text LIKE $1`, [`%${secret}%`]))[0]!.n,
      );
    expect(await stored()).toBeGreaterThanOrEqual(4); // message, edit, feed preview, mention preview, quote
    const from = l.frames.length;
    const delSeq = await acked(a, { type: "delete", room, seq });
    expect((await eventFor(l, "message.deleted", from)).event).toMatchObject({ seq: delSeq, data: { seq } });
    expect(await stored()).toBe(0);
    const page = await history(room);
    expect(page.find((e) => e.seq === seq)).toMatchObject({ type: "message", data: { text: "", deleted: true } });
    expect(page.find((e) => e.seq === reply)).toMatchObject({ data: { replyTo: { seq, preview: "", deleted: true } } });
    // Deleting again acknowledges with the message's seq and appends nothing.
    const headNow = await head(room);
    expect(await acked(a, { type: "delete", room, seq })).toBe(seq);
    expect(await head(room)).toBe(headNow);
  });

  it("an edit carries its text into the feed's and notifications' previews and the replies' quotes; an edit after a delete does not bring the text back", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    const pasted = `pasted-${randomBytes(4).toString("hex")}`;
    const seq = await acked(a, { type: "send", room, text: `the key is ${pasted} @Lin` });
    const reply = await acked(l, { type: "send", room, text: "got it", replyTo: seq });
    await acked(a, { type: "edit", room, seq, text: "never mind @Lin" });

    const feed = ((await (await s.api("/api/feed?limit=50", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect(feed.find((e) => e.type === "message.posted" && e.data.roomId === room && e.data.seq === seq)).toMatchObject({ data: { preview: "never mind @Lin" } });
    const mentions = ((await (await s.api("/api/notifications", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect(mentions.find((e) => e.type === "mention" && e.data.roomId === room && e.data.seq === seq)).toMatchObject({ data: { preview: "never mind @Lin" } });
    expect((await history(room)).find((e) => e.seq === reply)).toMatchObject({ data: { replyTo: { seq, preview: "never mind @Lin" } } });
    // No row keeps the text edited out.
    const holding = async () => (await s.testDb.db.sql.query<{ type: string }>(`SELECT type FROM events WHERE data::text LIKE $1`, [`%${pasted}%`])).map((r) => r.type);
    expect(await holding()).toEqual([]);

    // An edit prepared before a delete and committed after it leaves the previews blank.
    const later = await s.app.workspace.prepareEdit(room, ada.user, seq, `back again ${pasted}`, cid());
    await acked(a, { type: "delete", room, seq });
    if (typeof later === "function") await later();
    const after = ((await (await s.api("/api/feed?limit=50", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect(after.find((e) => e.type === "message.posted" && e.data.roomId === room && e.data.seq === seq)).toMatchObject({ data: { preview: "" } });
    expect((await history(room)).find((e) => e.seq === reply)).toMatchObject({ data: { replyTo: { seq, preview: "", deleted: true } } });
    expect(await holding()).toEqual([]);
  });

  it("an edit and a delete reach the feed and the notifications of a page that does not follow the room, live; the feed's and notifications' lists leave the notice out (1.18)", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    // Lin follows only the feed and her own stream, not the room: as a page does on another room.
    const poll = async (cursor: string) => {
      const q = new URLSearchParams({ streams: "feed,user:me", wait: "0", conn: "mc-page", ...(cursor ? { cursor } : {}) });
      const res = await s.api(`/api/poll?${q}`, { cookie: lin.cookie });
      expect(res.status).toBe(200);
      return (await res.json()) as { events: RealtimeEvent[]; cursor: string };
    };
    let at = (await poll("")).cursor;
    const seq = await acked(a, { type: "send", room, text: "lunch at noon @Lin" });
    await acked(a, { type: "edit", room, seq, text: "lunch at one @Lin" });
    const edited = await poll(at);
    at = edited.cursor;
    const notices = (events: RealtimeEvent[]) =>
      events.filter((e) => e.type === "message.changed").map((e) => ({ stream: e.stream.startsWith("user:") ? "user" : e.stream, data: e.data }));
    expect(notices(edited.events)).toEqual([
      { stream: "feed", data: { roomId: room, seq, preview: "lunch at one @Lin" } },
      { stream: "user", data: { roomId: room, seq, preview: "lunch at one @Lin" } },
    ]);
    await acked(a, { type: "delete", room, seq });
    expect(notices((await poll(at)).events)).toEqual([
      { stream: "feed", data: { roomId: room, seq, preview: "" } },
      { stream: "user", data: { roomId: room, seq, preview: "" } },
    ]);
    // The lists show the items, already reading what the message says now; not the notices.
    const feed = ((await (await s.api("/api/feed?limit=200", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect(feed.filter((e) => e.type === "message.changed")).toEqual([]);
    expect(feed.find((e) => e.type === "message.posted" && e.data.roomId === room && e.data.seq === seq)).toMatchObject({ data: { preview: "" } });
    const mentions = ((await (await s.api("/api/notifications", { cookie: lin.cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect(mentions.filter((e) => e.type === "message.changed")).toEqual([]);
  });

  it("a private room's edit is told in its members' own streams, not the public feed, and not to its author (1.18)", async () => {
    const kim = await s.signIn("Kim");
    const room = `mcp-${randomBytes(4).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room, visibility: "private" }), cookie: ada.cookie })).status).toBe(201);
    for (const p of [lin, kim]) {
      expect((await s.api(`/api/rooms/${room}/members`, { method: "POST", body: JSON.stringify({ userId: p.user.id }), cookie: ada.cookie })).status).toBe(204);
    }
    const a = await joined(ada, room);
    const heads = async () => ({
      feed: await s.app.log.head("feed"),
      ada: await s.app.log.head(`user:${ada.user.id}`),
      lin: await s.app.log.head(`user:${lin.user.id}`),
      kim: await s.app.log.head(`user:${kim.user.id}`),
    });
    const seq = await acked(a, { type: "send", room, text: "the plan" });
    const before = await heads();
    await acked(a, { type: "edit", room, seq, text: "the new plan" });
    expect(await heads()).toEqual({ ...before, lin: before.lin + 1, kim: before.kim + 1 });
    const told = await s.app.log.readBefore(`user:${kim.user.id}`, null, 1);
    expect(told.events[0]).toMatchObject({ type: "message.changed", data: { roomId: room, seq, preview: "the new plan" } });
  });

  it("reactions: each person once per emoji, counts in history, taking back, a limit of different emoji, idempotent by clientId", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    const seq = await acked(a, { type: "send", room, text: "react to me" });
    const linUp = await acked(l, { type: "react", room, seq, emoji: "👍", on: true });
    await acked(a, { type: "react", room, seq, emoji: "👍", on: true });
    await acked(a, { type: "react", room, seq, emoji: "🇫🇷", on: true });
    expect((await messageIn(room, seq)).data.reactions).toEqual({
      "👍": [{ id: lin.user.id, name: "Lin" }, { id: ada.user.id, name: "Ada" }],
      "🇫🇷": [{ id: ada.user.id, name: "Ada" }],
    });
    // Lin again: already there, so the message's own seq and no new event.
    const headNow = await head(room);
    expect(await acked(l, { type: "react", room, seq, emoji: "👍", on: true })).toBe(seq);
    expect(await head(room)).toBe(headNow);
    // The same clientId again is the first answer, even after the state moved on.
    const clientId = cid();
    const off = await acked(a, { type: "react", room, seq, emoji: "🇫🇷", on: false, clientId });
    expect(await acked(a, { type: "react", room, seq, emoji: "🇫🇷", on: false, clientId })).toBe(off);
    expect((await messageIn(room, seq)).data.reactions).toEqual({ "👍": [{ id: lin.user.id, name: "Lin" }, { id: ada.user.id, name: "Ada" }] });
    expect(linUp).toBeGreaterThan(seq);

    const many = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘", "🥰", "😗", "😙", "🥲", "😚", "🙂", "🤗"];
    for (const emoji of many.slice(0, MAX_REACTION_EMOJI - 1)) await acked(l, { type: "react", room, seq, emoji, on: true });
    expect(await ask(l, { type: "react", room, seq, emoji: many[MAX_REACTION_EMOJI - 1], on: true })).toMatchObject({
      type: "error",
      code: "too_many_reactions",
    });
    // One already on the message can still be added to.
    await acked(a, { type: "react", room, seq, emoji: "😀", on: true });
  });

  it("a reply quotes the message and tells its author, not the one answering themselves", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    const seq = await acked(a, { type: "send", room, text: "who is coming on friday?" });
    const reply = await acked(l, { type: "send", room, text: "me", replyTo: seq });
    expect(await messageIn(room, reply)).toMatchObject({
      data: { text: "me", replyTo: { seq, actor: { id: ada.user.id, name: "Ada" }, preview: "who is coming on friday?" } },
    });
    await acked(a, { type: "send", room, text: "and me", replyTo: seq });
    const notes = async (p: Person) =>
      ((await (await s.api("/api/notifications?limit=100", { cookie: p.cookie })).json()) as { events: RealtimeEvent[] }).events;
    const adas = (await notes(ada)).flatMap((e) => (e.type === "reply" && e.data.roomId === room ? [e.data.seq] : []));
    expect(adas).toEqual([reply]);
    expect(await ask(l, { type: "send", room, text: "to nothing", replyTo: 9999 })).toMatchObject({ type: "error", code: "unknown_message" });
  });

  it("mentions by id work for any display name and keep pointing at the person; ids not named in the text are dropped", async () => {
    const room = await newRoom();
    const bob = await s.signIn("Bob (proxy) 🎉");
    const eve = await s.signIn("Eve");
    const a = await joined(ada, room);
    const seq = await acked(a, { type: "send", room, text: "ping @Bob (proxy) 🎉 please", mentions: [bob.user.id, eve.user.id] });
    expect((await messageIn(room, seq)).data.mentions).toEqual([{ id: bob.user.id, name: "Bob (proxy) 🎉" }]);
    const notes = async (p: Person) =>
      ((await (await s.api("/api/notifications?limit=100", { cookie: p.cookie })).json()) as { events: RealtimeEvent[] }).events;
    expect((await notes(bob)).filter((e) => e.type === "mention").map((e) => e.data.seq)).toEqual([seq]);
    expect(await notes(eve)).toEqual([]);
    // An edit that names Eve tells her once; the same edit again tells nobody new.
    await acked(a, { type: "edit", room, seq, text: "ping @Bob (proxy) 🎉 and @Eve", mentions: [bob.user.id, eve.user.id] });
    await acked(a, { type: "edit", room, seq, text: "ping @Bob (proxy) 🎉 and @Eve!", mentions: [bob.user.id, eve.user.id] });
    expect((await notes(eve)).filter((e) => e.type === "mention").map((e) => e.data.seq)).toEqual([seq]);
    expect((await notes(bob)).filter((e) => e.type === "mention")).toHaveLength(1);
    // Version 1 clients name people by text: still found, and recorded by id.
    const v1 = await acked(a, { type: "send", room, text: "hi @Eve" });
    expect((await messageIn(room, v1)).data.mentions).toEqual([{ id: eve.user.id, name: "Eve" }]);
  });

  it("the autocomplete finds people by any part of their name, the room's own first", async () => {
    const room = await newRoom();
    const tag = randomBytes(3).toString("hex");
    const outsider = await s.signIn(`Zed ${tag}`);
    const member = await s.signIn(`Zoe ${tag}`);
    await joined(member, room);
    await new Promise((r) => setTimeout(r, 200)); // the first join is recorded after its answer
    const res = await s.api(`/api/people?q=${tag}&room=${room}`, { cookie: ada.cookie });
    expect(res.status).toBe(200);
    const { people } = (await res.json()) as { people: { id: string }[] };
    expect(people.map((p) => p.id)).toEqual([member.user.id, outsider.user.id]);
    expect((await s.api(`/api/people?q=x&room=..`, { cookie: ada.cookie })).status).toBe(400);
    expect((await s.api(`/api/people?q=x`)).status).toBe(401);
  });

  it("over HTTP: PATCH, DELETE and reactions answer with their event and the codes of the frames", async () => {
    const room = await newRoom();
    const post = await s.api(`/api/rooms/${room}/messages`, { method: "POST", cookie: ada.cookie, body: JSON.stringify({ text: "via http", clientId: cid() }) });
    const { event } = (await post.json()) as { event: Message };
    const call = (method: string, path: string, who: Person, body: unknown) =>
      s.api(`/api/rooms/${room}/messages/${path}`, { method, cookie: who.cookie, body: JSON.stringify(body) });
    const edit = await call("PATCH", `${event.seq}`, ada, { text: "via http, edited", clientId: cid() });
    expect(edit.status).toBe(200);
    expect(((await edit.json()) as { event: RealtimeEvent }).event).toMatchObject({ type: "message.edited", data: { seq: event.seq } });
    expect((await call("PATCH", `${event.seq}`, lin, { text: "no", clientId: cid() })).status).toBe(403);
    expect((await call("PATCH", "abc", ada, { text: "no", clientId: cid() })).status).toBe(404);
    const react = await call("POST", `${event.seq}/reactions`, lin, { emoji: "🎉", on: true, clientId: cid() });
    expect(react.status).toBe(200);
    expect((await call("POST", `${event.seq}/reactions`, lin, { emoji: "<b>", on: true, clientId: cid() })).status).toBe(400);
    const del = await call("DELETE", `${event.seq}`, ada, { clientId: cid() });
    expect(del.status).toBe(200);
    expect((await messageIn(room, event.seq)).data).toMatchObject({ text: "", deleted: true });
    const unknown = await s.api(`/api/rooms/${room}/messages/99999`, { method: "DELETE", cookie: ada.cookie, body: JSON.stringify({ clientId: cid() }) });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("unknown_message");
  });

  it("over long polling: a page's batch edits and reacts, joining on demand", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const seq = await acked(a, { type: "send", room, text: "poll me" });
    const clientId = cid();
    const res = await s.api(`/api/poll/frames?conn=page-${randomBytes(3).toString("hex")}`, {
      method: "POST",
      cookie: lin.cookie,
      body: JSON.stringify({ frames: [{ type: "react", room, seq, emoji: "👀", on: true, clientId }] }),
    });
    expect(res.status).toBe(200);
    const { frames } = (await res.json()) as { frames: ServerFrame[] };
    expect(frames).toEqual([expect.objectContaining({ type: "ack", clientId })]);
    expect((await messageIn(room, seq)).data.reactions).toEqual({ "👀": [{ id: lin.user.id, name: "Lin" }] });
  });

  it("changes draw on the person's send rate", async () => {
    const limited = await startServer({ kind, testDb: s.testDb, env: MANY_ROOMS });
    try {
      const kim = await limited.signIn(`Kim ${randomBytes(2).toString("hex")}`);
      const name = `rate-${randomBytes(3).toString("hex")}`;
      await limited.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: kim.cookie });
      const c = await limited.connect(kim.cookie);
      sockets.push(c);
      c.send({ type: "join", room: name });
      await c.next(isType("joined"));
      const seq = await acked(c, { type: "send", room: name, text: "x" });
      // All at once: one at a time, a slow machine's round trips would let the bucket refill.
      const answers = await Promise.all(
        Array.from({ length: SEND_LIMITS.send.burst + 5 }, (_, i) => ask(c, { type: "react", room: name, seq, emoji: i % 2 ? "👍" : "👎", on: true })),
      );
      expect(answers.some((f) => f.type === "error" && f.code === "rate_limited")).toBe(true);
    } finally {
      await limited.stop();
    }
  });
});
