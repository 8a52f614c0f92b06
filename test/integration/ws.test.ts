// The WebSocket transport of PROTOCOL.md over a real server on 127.0.0.1: the handshake's
// refusals, every client frame, every error code, the close codes, and the delivery rules
// (replay then live with no gap or duplicate, ack after commit, idempotent sends).
import http from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { isType, MANY_ROOMS, startServer, waitFor, WsClient, type Person, type TestServer } from "../helpers/server";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { metricValue, scrapeMetrics, type Sample } from "../helpers/metrics";
import { SEND_LIMITS } from "../../server/ratelimit";
import { restartingReasonSchema, type RealtimeEvent, type ServerFrame } from "../../lib/protocol";

/** Long enough that a cleared typing indicator can only have been cleared on purpose. */
const TYPING_TTL_MS = 60_000;
const PRESENCE_GRACE_MS = 2_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An upgrade request on a raw socket: did the server switch protocols, and if not, what did it say? */
function rawUpgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; upgraded: boolean; protocol?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url.replace(/^ws/, "http"), {
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": randomBytes(16).toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, upgraded: true, protocol: res.headers["sec-websocket-protocol"], body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, upgraded: false, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Sends join and waits for its answer (joined or reset). */
async function join(c: WsClient, room: string, since?: number) {
  const from = c.frames.length;
  c.send(since === undefined ? { type: "join", room } : { type: "join", room, since });
  return c.next(
    (f): f is Extract<ServerFrame, { type: "joined" | "reset" }> => (f.type === "joined" || f.type === "reset") && f.room === room,
    { from },
  );
}

let roomCounter = 0;

// One embedded database for every server of this file: starting PGlite is the slow part.
let sharedDb: TestDatabase | undefined;
const pglite = async () => (sharedDb ??= await createTestDatabase("pglite"));
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("WebSocket /ws on %s", (kind) => {
  let s: TestServer;
  let ada: Person;
  let lin: Person;
  let kai: Person;
  const open: WsClient[] = [];

  const connect = async (p: Person, o?: Parameters<TestServer["connect"]>[1]) => {
    const c = await s.connect(p.cookie, o);
    open.push(c);
    return c;
  };

  const newRoom = async (): Promise<string> => {
    const name = `r${++roomCounter}-${randomBytes(3).toString("hex")}`;
    const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: ada.cookie });
    expect(res.status).toBe(201);
    return name;
  };

  /** Connects `p` and joins `room`. */
  const connectAndJoin = async (p: Person, room: string) => {
    const c = await connect(p);
    await join(c, room);
    return c;
  };

  /** A new room, Ada and Lin connected to it and joined (Ada first). */
  const adaAndLinInNewRoom = async () => {
    const room = await newRoom();
    const a = await connect(ada);
    const l = await connect(lin);
    await join(a, room);
    await join(l, room);
    return { room, a, l };
  };

  const postHttp = (p: Person, room: string, text: string, clientId: string) =>
    s.api(`/api/rooms/${room}/messages`, { method: "POST", body: JSON.stringify({ text, clientId }), cookie: p.cookie });

  /** Appends straight to the log (no rate limit): history for replay tests. */
  const preload = async (room: string, n: number) => {
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        s.app.log.append({
          stream: `room:${room}`,
          type: "message",
          actor: { id: ada.user.id, name: ada.user.name },
          data: { text: `old ${i + 1}`, clientId: `pre-${i}` },
          clientId: `pre-${i}`,
        }),
      ),
    );
  };

  /** The room's message events a client received, in arrival order. */
  const eventsOf = (c: WsClient, room: string) =>
    c
      .of("event")
      .map((f) => f.event)
      .filter((e): e is Extract<RealtimeEvent, { type: "message" }> => e.stream === `room:${room}` && e.type === "message");

  beforeAll(async () => {
    s = await startServer({
      kind,
      testDb: kind === "pglite" ? await pglite() : undefined,
      // Ada types in one test after another: at the default 2/s a fast run would find her
      // typing rate-limited (dropped without an answer) by the time of the later ones.
      tuning: { typingTtlMs: TYPING_TTL_MS, presenceGraceMs: PRESENCE_GRACE_MS, rateLimits: { ...SEND_LIMITS, typing: { rate: 100, burst: 100 } } },
      env: { ALLOWED_ORIGINS: "https://partner.example.com", ...MANY_ROOMS },
    });
    ada = await s.signIn("Ada");
    lin = await s.signIn("Lin");
    kai = await s.signIn("Kai");
  });
  afterEach(() => {
    // Every frame this file's scenarios drew from the server passes the schemas the browser checks.
    expect(open.flatMap((c) => c.invalid)).toEqual([]);
  });
  afterAll(async () => {
    for (const c of open) c.ws.terminate();
    await s?.stop();
  });

  describe("handshake", () => {
    it("answers 401 without a cookie and never upgrades", async () => {
      const r = await rawUpgrade(s.wsUrl, { "Sec-WebSocket-Protocol": "rt.v1" });
      expect(r.upgraded).toBe(false);
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: "unauthorized" } });
      await expect(WsClient.open(s.wsUrl, "")).rejects.toMatchObject({ status: 401 });
    });

    it("answers 401 to a forged, tampered or signed-out cookie", async () => {
      const [name, value] = ada.cookie.split("=") as [string, string];
      const [sid, exp, sig] = value.split(".") as [string, string, string];
      const forged = [
        `${name}=${sid}.${exp}.${sig.slice(0, -2)}AA`,
        `${name}=${sid}.${Number(exp) + 1}.${sig}`,
        `${name}=AAAAAAAAAAAAAAAAAAAAAAAA.${exp}.${sig}`,
        `${name}=garbage`,
      ];
      for (const cookie of forged) {
        const r = await rawUpgrade(s.wsUrl, { cookie, "Sec-WebSocket-Protocol": "rt.v1" });
        expect(r.upgraded, cookie).toBe(false);
        expect(r.status, cookie).toBe(401);
      }
    });

    it("answers 403 to a foreign Origin, and accepts its own and the allowed ones", async () => {
      const foreign = await rawUpgrade(s.wsUrl, { cookie: ada.cookie, origin: "https://evil.example.com" });
      expect(foreign).toMatchObject({ upgraded: false, status: 403 });
      expect(JSON.parse(foreign.body)).toMatchObject({ error: { code: "forbidden" } });
      await expect(connect(ada, { headers: { origin: "http://evil.example.com" } })).rejects.toMatchObject({ status: 403 });

      const own = await connect(ada, { headers: { origin: s.url } });
      expect((await join(own, "general")).type).toBe("joined");
      const partner = await connect(ada, { headers: { origin: "https://partner.example.com" } });
      expect((await join(partner, "general")).type).toBe("joined");
      own.close();
      partner.close();
    });

    it("selects rt.v1, treats a client offering none as rt.v1, and refuses one offering only other versions with 400", async () => {
      const v1 = await connect(ada, { protocols: ["rt.v2", "rt.v1"] });
      expect(v1.ws.protocol).toBe("rt.v1");
      const none = await connect(ada, { protocols: [] });
      expect(none.ws.protocol).toBe("");
      expect((await join(none, "general")).type).toBe("joined");

      const v2 = await rawUpgrade(s.wsUrl, { cookie: ada.cookie, "Sec-WebSocket-Protocol": "rt.v2" });
      expect(v2).toMatchObject({ upgraded: false, status: 400 });
      await expect(connect(ada, { protocols: ["rt.v2", "rt.v3"] })).rejects.toMatchObject({ status: 400 });
      v1.close();
      none.close();
    });
  });

  describe("join and leave", () => {
    it("answers join with joined {room, head, members} before anything else about the room", async () => {
      const room = await newRoom();
      await postHttp(ada, room, "before", "j-1");
      const a = await connect(ada);
      const joined = await join(a, room);
      expect(joined).toEqual({ type: "joined", room, head: 1, members: [ada.user] });
      expect(a.frames.filter((f) => "room" in f && f.room === room)[0]).toBe(joined);

      const l = await connect(lin);
      const linJoined = await join(l, room);
      expect(linJoined).toMatchObject({ type: "joined", room, head: 1 });
      expect(linJoined.type === "joined" && linJoined.members.map((m) => m.id).sort()).toEqual([ada.user.id, lin.user.id].sort());
      // Ada hears Lin arrive.
      const p = await a.next(isType("presence", (f) => f.room === room && f.members.length === 2));
      expect(p.members.map((m) => m.id).sort()).toEqual([ada.user.id, lin.user.id].sort());
      // No history without since: the message before the join is not sent.
      await postHttp(ada, room, "after", "j-2");
      const live = await l.next(isType("event", (f) => f.event.stream === `room:${room}`));
      expect(live.event).toMatchObject({ seq: 2, data: { text: "after" } });
      expect(eventsOf(l, room).map((e) => e.seq)).toEqual([2]);
      a.close();
      l.close();
    });

    it("replays every event after since in order, then live, with no gap or duplicate — even with commits during the replay", async () => {
      const room = await newRoom();
      const stream = `room:${room}`;
      await preload(room, 700);
      const posters = [await s.signIn("P1"), await s.signIn("P2"), await s.signIn("P3")];

      // While the first page of the replay is being read, 30 more messages commit over HTTP.
      const log = s.app.log;
      const original = log.readAfter;
      let injected = false;
      log.readAfter = async function (this: typeof log, st, after, limit) {
        const page = await original.call(this, st, after, limit);
        if (st === stream && !injected) {
          injected = true;
          await Promise.all(
            posters.flatMap((p) => Array.from({ length: 10 }, (_, i) => postHttp(p, room, `during ${p.user.name} ${i}`, `d-${i}`))),
          ).then((rs) => rs.forEach((r) => expect(r.status).toBe(201)));
        }
        return page;
      };
      const l = await connect(lin);
      try {
        const joined = await join(l, room, 0);
        expect(joined.type).toBe("joined");
        expect(joined.head).toBeGreaterThanOrEqual(700);
        await l.next(isType("event", (f) => f.event.stream === stream && f.event.seq === 730), { timeoutMs: 15_000 });
      } finally {
        log.readAfter = original;
      }
      expect(injected).toBe(true);
      const res = await postHttp(ada, room, "live", "live-1");
      expect(res.status).toBe(201);
      await l.next(isType("event", (f) => f.event.seq === 731 && f.event.stream === stream));
      const seqs = eventsOf(l, room).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: 731 }, (_, i) => i + 1));
      // Nothing of the room came before joined.
      const firstEvent = l.frames.findIndex((f) => f.type === "event");
      expect(l.frames.findIndex((f) => f.type === "joined")).toBeLessThan(firstEvent);
      l.close();
    });

    it("resumes from a since in the middle while messages keep arriving, exactly once each", async () => {
      const room = await newRoom();
      const stream = `room:${room}`;
      await preload(room, 40);
      const l = await connect(lin);
      const poster = await s.signIn("Poster");
      // Start the posts and the join together: whatever their interleaving, each seq arrives once.
      const posts = Promise.all(Array.from({ length: 15 }, (_, i) => postHttp(poster, room, `race ${i}`, `race-${i}`)));
      const joined = await join(l, room, 25);
      expect(joined.type).toBe("joined");
      expect((await posts).every((r) => r.status === 201)).toBe(true);
      await l.next(isType("event", (f) => f.event.stream === stream && f.event.seq === 55));
      await sleep(100);
      expect(eventsOf(l, room).map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 26));
      l.close();
    });

    it("sends reset instead of a replay when more than 1000 were missed, then live events", async () => {
      const room = await newRoom();
      await preload(room, 1002);
      const l = await connect(lin);
      const answer = await join(l, room, 1);
      expect(answer).toEqual({ type: "reset", room, head: 1002 });
      await postHttp(ada, room, "after reset", "ar-1");
      const live = await l.next(isType("event", (f) => f.event.stream === `room:${room}`));
      expect(live.event.seq).toBe(1003);
      expect(eventsOf(l, room)).toHaveLength(1);
      expect(l.of("joined").filter((f) => f.room === room)).toHaveLength(0);

      // Exactly 1000 missed is still a replay.
      const m = await connect(kai);
      expect((await join(m, room, 3)).type).toBe("joined");
      await m.next(isType("event", (f) => f.event.stream === `room:${room}` && f.event.seq === 1003), { timeoutMs: 15_000 });
      expect(eventsOf(m, room).map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 4));
      l.close();
      m.close();
    });

    it("sends reset when since is beyond the head (the log was reset)", async () => {
      const room = await newRoom();
      await preload(room, 3);
      const l = await connect(lin);
      expect(await join(l, room, 50)).toEqual({ type: "reset", room, head: 3 });
      await postHttp(ada, room, "next", "n-1");
      expect((await l.next(isType("event", (f) => f.event.stream === `room:${room}`))).event.seq).toBe(4);
      l.close();
    });

    it("stops delivering a room after leave, and the others see the leaver go at once", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      await a.next(isType("presence", (f) => f.room === room && f.members.length === 2));
      const from = a.frames.length;
      l.send({ type: "leave", room });
      const p = await a.next(isType("presence", (f) => f.room === room), { from });
      expect(p.members).toEqual([ada.user]);
      await postHttp(ada, room, "after leave", "al-1");
      await a.next(isType("event", (f) => f.event.stream === `room:${room}`));
      await sleep(100);
      expect(eventsOf(l, room)).toEqual([]);
      // Leaving again is an error: not joined.
      const from2 = l.frames.length;
      l.send({ type: "leave", room });
      expect(await l.next(isType("error"), { from: from2 })).toMatchObject({ code: "not_joined" });
      a.close();
      l.close();
    });
  });

  describe("send", () => {
    it("acks with the seq only once the event is committed and readable", async () => {
      const room = await newRoom();
      const a = await connectAndJoin(ada, room);
      // Slow every commit down, so an ack sent before the commit would be caught.
      const committed = new Set<number>();
      const stop = s.app.log.onCommit((events) => events.forEach((e) => e.stream === `room:${room}` && committed.add(e.seq)));
      const db = s.app.db;
      const transaction = db.transaction;
      (db as { transaction: typeof transaction }).transaction = <T>(fn: (tx: Parameters<Parameters<typeof transaction>[0]>[0]) => Promise<T>) =>
        transaction.call(db, async (tx) => {
          const r = await fn(tx);
          await sleep(150);
          return r;
        }) as Promise<T>;
      let committedAtAck: boolean | null = null;
      a.ws.on("message", (data) => {
        const f = JSON.parse(data.toString()) as ServerFrame;
        if (f.type === "ack" && f.clientId === "s-1") committedAtAck = committed.has(f.seq);
      });
      try {
        const from = a.frames.length;
        a.send({ type: "send", room, text: "  hello  ", clientId: "s-1" });
        const ack = await a.next(isType("ack", (f) => f.clientId === "s-1"), { from });
        expect(ack).toEqual({ type: "ack", clientId: "s-1", seq: 1 });
        expect(committedAtAck).toBe(true);
        const [stored] = await s.app.log.readAfter(`room:${room}`, 0, 10);
        expect(stored).toMatchObject({ seq: 1, type: "message", actor: { id: ada.user.id, name: "Ada" }, data: { text: "hello", clientId: "s-1" } });
      } finally {
        (db as { transaction: typeof transaction }).transaction = transaction;
        stop();
      }
      a.close();
    });

    it("answers a repeated clientId with the first ack and appends nothing", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      a.send({ type: "send", room, text: "once", clientId: "dup-1" });
      const first = await a.next(isType("ack", (f) => f.clientId === "dup-1"));
      // Again later, and twice in one go.
      const from = a.frames.length;
      a.send({ type: "send", room, text: "once (retry)", clientId: "dup-1" });
      a.send({ type: "send", room, text: "once (retry 2)", clientId: "dup-1" });
      a.send({ type: "send", room, text: "other", clientId: "dup-2" });
      await a.next(isType("ack", (f) => f.clientId === "dup-2"), { from });
      await waitFor(() => a.of("ack").filter((f) => f.clientId === "dup-1").length === 3, 5000, "three acks for dup-1");
      expect(a.of("ack").filter((f) => f.clientId === "dup-1").map((f) => f.seq)).toEqual([first.seq, first.seq, first.seq]);
      expect(await s.app.log.head(`room:${room}`)).toBe(2);
      await l.next(isType("event", (f) => f.event.stream === `room:${room}` && f.event.seq === 2));
      await sleep(100);
      expect(eventsOf(l, room).map((e) => [e.seq, e.data])).toEqual([
        [1, { text: "once", clientId: "dup-1" }],
        [2, { text: "other", clientId: "dup-2" }],
      ]);
      a.close();
      l.close();
    });

    it("delivers each new event to every joined connection exactly once, the sender's own included", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      for (let i = 0; i < 5; i++) a.send({ type: "send", room, text: `m${i}`, clientId: `e-${i}` });
      await waitFor(() => a.of("ack").length >= 5, 5000, "acks");
      await l.next(isType("event", (f) => f.event.stream === `room:${room}` && f.event.seq === 5));
      await a.next(isType("event", (f) => f.event.stream === `room:${room}` && f.event.seq === 5));
      await sleep(50);
      for (const c of [a, l]) expect(eventsOf(c, room).map((e) => e.data.text)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
      a.close();
      l.close();
    });
  });

  describe("typing", () => {
    it("marks the sender typing, clears it on stop, and tells everyone in the room", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      a.send({ type: "typing", room });
      const on = await l.next(isType("typing", (f) => f.room === room));
      expect(on.users).toEqual([{ id: ada.user.id, name: "Ada" }]);
      const from = l.frames.length;
      a.send({ type: "typing", room, stop: true });
      expect((await l.next(isType("typing", (f) => f.room === room), { from })).users).toEqual([]);
      expect(s.app.hub.typing.users(room)).toEqual([]);
      a.close();
      l.close();
    });

    it("expires on its own when not renewed", async () => {
      // Wide margins (a 2 s lapse, renewals 0.8 s apart, looked at 0.4 s from either deadline):
      // a loaded machine delays a frame by a few hundred ms.
      const short = await startServer({ testDb: s.testDb, tuning: { typingTtlMs: 2_000 } });
      try {
        const [p, q] = [await short.signIn("Ada"), await short.signIn("Lin")];
        const a = await short.connect(p.cookie);
        const l = await short.connect(q.cookie);
        for (const c of [a, l]) await join(c, "general");
        a.send({ type: "typing", room: "general" });
        await l.next(isType("typing", (f) => f.users.length === 1));
        const from = l.frames.length;
        expect((await l.next(isType("typing"), { from })).users).toEqual([]);
        // A renew keeps it alive past the first deadline.
        a.send({ type: "typing", room: "general" });
        await l.next(isType("typing", (f) => f.users.length === 1), { from });
        await sleep(800);
        a.send({ type: "typing", room: "general" });
        await sleep(1_600);
        expect(short.app.hub.typing.users("general")).toEqual([{ id: p.user.id, name: "Ada" }]);
        expect(l.of("typing").filter((f) => f.users.length === 0)).toHaveLength(1);
        a.close();
        l.close();
      } finally {
        await short.stop();
      }
    });

    it("is cleared by sending a message, before the message arrives", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      a.send({ type: "typing", room });
      await l.next(isType("typing", (f) => f.room === room && f.users.length === 1));
      const from = l.frames.length;
      a.send({ type: "send", room, text: "done typing", clientId: "t-1" });
      const ev = await l.next(isType("event", (f) => f.event.stream === `room:${room}`), { from });
      const off = await l.next(isType("typing", (f) => f.room === room && f.users.length === 0), { from });
      expect(l.frames.indexOf(off)).toBeLessThan(l.frames.indexOf(ev));
      a.close();
      l.close();
    });

    it("is cleared when the typist disconnects", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      a.send({ type: "typing", room });
      await l.next(isType("typing", (f) => f.room === room && f.users.length === 1));
      const from = l.frames.length;
      a.ws.terminate();
      expect((await l.next(isType("typing", (f) => f.room === room), { from })).users).toEqual([]);
      l.close();
    });

    it("stays when the typist's other tab closes, and goes when the typing tab does", async () => {
      // Rate limits are per person and shared by all their sockets: a fresh Ada starts with a
      // full allowance, whatever earlier tests spent.
      ada = await s.signIn("Ada");
      const { room, a, l } = await adaAndLinInNewRoom();
      const otherTab = await connectAndJoin(ada, room);
      a.send({ type: "typing", room });
      await l.next(isType("typing", (f) => f.room === room && f.users.length === 1));
      const from = l.frames.length;
      otherTab.ws.terminate();
      await waitFor(() => s.app.hub.connections().filter((c) => c.user.id === ada.user.id).length === 1, 5000, "the other tab gone");
      expect(s.app.hub.typing.users(room)).toEqual([{ id: ada.user.id, name: "Ada" }]);
      // A round trip for Lin: anything the close sent Lin arrived before this answer.
      l.send({ type: "send", room, text: "round trip", clientId: "t-tabs" });
      await l.next(isType("ack", (f) => f.clientId === "t-tabs"), { from });
      expect(l.frames.slice(from).filter((f) => f.type === "typing")).toEqual([]);
      a.ws.terminate();
      expect((await l.next(isType("typing", (f) => f.room === room), { from })).users).toEqual([]);
      l.close();
    });

    it("tells a newcomer who is typing already", async () => {
      // Rate limits are per person and shared by all their sockets: a fresh Ada starts with a
      // full allowance, whatever earlier tests spent.
      ada = await s.signIn("Ada");
      const room = await newRoom();
      const a = await connectAndJoin(ada, room);
      a.send({ type: "typing", room });
      await a.next(isType("typing", (f) => f.room === room && f.users.length === 1));
      const l = await connectAndJoin(lin, room);
      expect((await l.next(isType("typing", (f) => f.room === room))).users).toEqual([{ id: ada.user.id, name: "Ada" }]);
      a.close();
      l.close();
    });
  });

  describe("presence", () => {
    it("counts a person with two tabs once, and drops them only after the grace once both are gone", async () => {
      const room = await newRoom();
      const l = await connectAndJoin(lin, room);
      const tab1 = await connect(ada);
      const tab2 = await connect(ada);
      await join(tab1, room);
      const arrived = await l.next(isType("presence", (f) => f.room === room && f.members.length === 2));
      expect(arrived.members.filter((m) => m.id === ada.user.id)).toHaveLength(1);
      const afterFirst = l.of("presence").length;
      const joined2 = await join(tab2, room);
      expect(joined2.type === "joined" && joined2.members.filter((m) => m.id === ada.user.id)).toHaveLength(1);
      tab1.close();
      await tab1.closed();
      await sleep(PRESENCE_GRACE_MS + 400);
      expect(l.of("presence").length).toBe(afterFirst);

      const from = l.frames.length;
      tab2.close();
      const gone = await l.next(isType("presence", (f) => f.room === room), { from, timeoutMs: PRESENCE_GRACE_MS + 8_000 });
      expect(gone.members).toEqual([lin.user]);
      l.close();
    });

    it("sends no presence frame at all for a quick reconnect within the grace", async () => {
      const room = await newRoom();
      const l = await connectAndJoin(lin, room);
      const a = await connectAndJoin(ada, room);
      await l.next(isType("presence", (f) => f.room === room && f.members.length === 2));
      const before = l.of("presence").length;
      a.ws.terminate();
      await a.closed();
      const again = await connectAndJoin(ada, room);
      await sleep(PRESENCE_GRACE_MS + 400);
      expect(l.of("presence").length).toBe(before);
      expect(s.app.hub.presence.members(room).map((m) => m.id).sort()).toEqual([ada.user.id, lin.user.id].sort());
      again.close();
      l.close();
    });
  });

  describe("cursors", () => {
    it("coalesces a burst into few frames holding the latest position, own cursor shown to others", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      const from = l.frames.length;
      for (let i = 1; i <= 30; i++) a.send({ type: "cursor", room, x: i / 100, y: 0.5 });
      const last = await l.next(isType("cursors", (f) => f.room === room && f.cursors[ada.user.id]?.x === 0.3), { from });
      expect(last.cursors[ada.user.id]).toEqual({ x: 0.3, y: 0.5, name: "Ada", color: ada.user.color });
      await sleep(150);
      const frames = l.frames.slice(from).filter((f) => f.type === "cursors");
      expect(frames.length).toBeGreaterThanOrEqual(1);
      expect(frames.length).toBeLessThanOrEqual(4);

      // Only what changed: Lin moves, Ada's unchanged cursor is not sent again.
      const from2 = a.frames.length;
      l.send({ type: "cursor", room, x: 0.9, y: 0.9 });
      const linMoved = await a.next(isType("cursors", (f) => f.room === room && lin.user.id in f.cursors), { from: from2 });
      expect(Object.keys(linMoved.cursors)).toEqual([lin.user.id]);

      // A newcomer gets the current cursors.
      const k = await connectAndJoin(kai, room);
      const snapshot = await k.next(isType("cursors", (f) => f.room === room));
      expect(snapshot.cursors).toMatchObject({ [ada.user.id]: { x: 0.3, y: 0.5 }, [lin.user.id]: { x: 0.9, y: 0.9 } });

      // Leaving: null.
      const from3 = l.frames.length;
      a.send({ type: "leave", room });
      const left = await l.next(isType("cursors", (f) => f.room === room && ada.user.id in f.cursors), { from: from3 });
      expect(left.cursors[ada.user.id]).toBeNull();
      a.close();
      l.close();
      k.close();
    });

    it("sends at most one cursors frame per 50 ms tick while a cursor moves steadily", async () => {
      const { room, a, l } = await adaAndLinInNewRoom();
      const from = l.frames.length;
      const started = Date.now();
      for (let i = 1; i <= 50; i++) {
        a.send({ type: "cursor", room, x: i / 100, y: 0.25 });
        await sleep(5);
      }
      await l.next(isType("cursors", (f) => f.room === room && f.cursors[ada.user.id]?.x === 0.5), { from });
      const elapsed = Date.now() - started;
      const frames = l.frames.slice(from).filter((f) => f.type === "cursors");
      // Every input was distinct, so an uncoalesced server would send 50 frames.
      expect(frames.length).toBeLessThanOrEqual(Math.floor(elapsed / 50) + 2);
      expect(frames.length).toBeLessThan(50);
      a.close();
      l.close();
    });

    it("drops cursor input beyond 60/s silently", async () => {
      const room = await newRoom();
      const a = await connectAndJoin(ada, room);
      for (let i = 0; i < 150; i++) a.send({ type: "cursor", room, x: (i % 100) / 100, y: 0 });
      a.send({ type: "typing", room });
      await a.next(isType("typing", (f) => f.room === room));
      await sleep(100);
      expect(a.of("error")).toEqual([]);
      expect(a.closeCode).toBeNull();
      a.close();
    });
  });

  describe("errors", () => {
    it("answers bad frames with bad_json, bad_frame, unknown_room, not_joined and invalid_text, and stays open", async () => {
      const room = await newRoom();
      const a = await connect(ada);
      const cases: Array<[unknown, string, string?]> = [
        ["{not json", "bad_json"],
        ["", "bad_json"],
        [{ type: "nope" }, "bad_frame"],
        [{ type: "join" }, "bad_frame"],
        [[], "bad_frame"],
        ["null", "bad_frame"],
        ['"join"', "bad_frame"],
        [{ type: "join", room: "general", since: -1 }, "bad_frame"],
        [{ type: "send", room, text: "no client id" }, "bad_frame"],
        [{ type: "cursor", room, x: 1.5, y: 0 }, "bad_frame"],
        [{ type: "join", room: "no-such-room" }, "unknown_room"],
        [{ type: "send", room, text: "hi", clientId: "nj-1" }, "not_joined", "nj-1"],
        [{ type: "typing", room }, "not_joined"],
        [{ type: "leave", room }, "not_joined"],
      ];
      for (const [frame, code, clientId] of cases) {
        const from = a.frames.length;
        a.send(frame);
        const err = await a.next(isType("error"), { from });
        expect(err.code, JSON.stringify(frame)).toBe(code);
        expect(err.message).toMatch(/\w/);
        if (clientId) expect(err.clientId).toBe(clientId);
      }
      // Binary frames are not JSON text.
      let from = a.frames.length;
      a.ws.send(Buffer.from([1, 2, 3]));
      expect((await a.next(isType("error"), { from })).code).toBe("bad_json");

      await join(a, room);
      for (const [text, clientId] of [["   ", "it-1"], ["x".repeat(4001), "it-2"]] as const) {
        from = a.frames.length;
        a.send({ type: "send", room, text, clientId });
        expect(await a.next(isType("error"), { from })).toMatchObject({ code: "invalid_text", clientId });
      }
      expect(await s.app.log.head(`room:${room}`)).toBe(0);
      expect(a.closeCode).toBeNull();
      // Still usable.
      a.send({ type: "send", room, text: "fine", clientId: "ok-1" });
      expect((await a.next(isType("ack", (f) => f.clientId === "ok-1"))).seq).toBe(1);
      a.close();
    });

    it("answers every send of a 200-frame burst with an ack or rate_limited, as many acks as 10/s after a burst of 20 allows, and the acked ones arrive gapless and in order", async () => {
      // Rate limits are per person and shared by all their sockets: a fresh Ada starts with a
      // full allowance, whatever earlier tests spent.
      ada = await s.signIn("Ada");
      const { room, a, l } = await adaAndLinInNewRoom();
      const ids = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
      // The server takes every token between these two instants (one clock: the server runs in
      // this process). Its bucket holds at most 20 at the start and gains 10 per second.
      const started = Date.now();
      for (const [i, clientId] of ids.entries()) a.send({ type: "send", room, text: `burst ${i}`, clientId });
      const answered = () =>
        new Set([...a.of("ack").map((f) => f.clientId), ...a.of("error").map((f) => f.clientId)].filter((id) => id?.startsWith("burst-")));
      await waitFor(() => answered().size === 200 || a.closeCode !== null, 15_000, "an answer to every send");
      const elapsedMs = Date.now() - started;
      expect(a.closeCode).toBeNull();

      const acks = a.of("ack").filter((f) => f.clientId.startsWith("burst-"));
      const errors = a.of("error").filter((f) => f.clientId?.startsWith("burst-"));
      expect(acks.length + errors.length).toBe(200);
      expect(new Set(errors.map((e) => e.code))).toEqual(new Set(["rate_limited"]));
      expect(acks.length).toBeGreaterThanOrEqual(20);
      expect(acks.length).toBeLessThanOrEqual(20 + Math.floor((10 * elapsedMs) / 1000));

      const ackedIndexes = acks.map((f) => Number(f.clientId.slice("burst-".length))).sort((x, y) => x - y);
      await l.next(isType("event", (f) => f.event.stream === `room:${room}` && f.event.seq === acks.length), { timeoutMs: 10_000 });
      await sleep(100);
      const seen = eventsOf(l, room);
      expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: acks.length }, (_, i) => i + 1));
      expect(seen.map((e) => e.data.text)).toEqual(ackedIndexes.map((i) => `burst ${i}`));
      expect(await s.app.log.head(`room:${room}`)).toBe(acks.length);
      a.close();
      l.close();
    });
  });
});

describe("WebSocket close codes", () => {
  let s: TestServer;
  let ada: Person;
  const open: WsClient[] = [];
  const connect = async (cookie: string) => {
    const c = await s.connect(cookie);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    s = await startServer({
      testDb: await pglite(),
      tuning: { wsMaxBufferedBytes: 64 * 1024 },
      env: MANY_ROOMS,
    });
    ada = await s.signIn("Ada");
  });
  afterEach(() => {
    // Every frame this file's scenarios drew from the server passes the schemas the browser checks.
    expect(open.flatMap((c) => c.invalid)).toEqual([]);
  });
  afterAll(async () => {
    for (const c of open) c.ws.terminate();
    await s?.stop();
  });

  const ownConnections = () => s.app.hub.connections().filter((c) => c.transport === "ws");

  it("closes with 1008 after persistent abuse, having answered the first bad frames", async () => {
    const a = await connect(ada.cookie);
    for (let i = 0; i < 120; i++) a.send("{bad");
    expect(await a.closed()).toBe(1008);
    expect(a.of("error").length).toBeGreaterThanOrEqual(50);
    expect(a.of("error").every((e) => e.code === "bad_json")).toBe(true);
  });

  it("closes with 1008 a client that keeps flooding sends far past the limit", async () => {
    const flooder = await s.signIn("Flooder");
    const a = await connect(flooder.cookie);
    await join(a, "general");
    for (let i = 0; i < 1000; i++) a.send({ type: "send", room: "general", text: `flood ${i}`, clientId: `f-${i}` });
    expect(await a.closed(10_000)).toBe(1008);
    // No more acked than the burst allows; what was read past it was refused (frames past the
    // connection's frame rate are dropped unread, and count toward the close as refusals do).
    const refused = a.of("error").filter((e) => e.code === "rate_limited").length;
    const acked = a.of("ack").length;
    expect(acked).toBeLessThanOrEqual(25);
    expect(refused).toBeGreaterThan(0);
    expect(acked + refused).toBeLessThan(1000);
  });

  it("closes with 1009 on a frame over 64 KiB, and accepts one just under", async () => {
    const a = await connect(ada.cookie);
    await join(a, "general");
    const padding = "x".repeat(64 * 1024 - 200);
    a.send(JSON.stringify({ type: "typing", room: "general", pad: padding }));
    a.send({ type: "typing", room: "general" });
    await a.next(isType("typing"));
    a.send("x".repeat(64 * 1024 + 1));
    expect(await a.closed()).toBe(1009);
  });

  it("keeps answering clients alive across many pings and terminates one that does not pong", async () => {
    // Its own server: a fast heartbeat would also end the paused socket of the slow-consumer test.
    const outer = s;
    s = await startServer({ testDb: await pglite(), tuning: { pingIntervalMs: 200, pongTimeoutMs: 400 } });
    try {
      await heartbeat();
    } finally {
      await s.stop();
      s = outer;
    }
  });

  async function heartbeat(): Promise<void> {
    const ada = await s.signIn("Ada");
    const healthy = await connect(ada.cookie);
    const silentUser = await s.signIn("Silent");
    const silent = new WebSocket(s.wsUrl, ["rt.v1"], { headers: { cookie: silentUser.cookie }, autoPong: false });
    let pings = 0;
    silent.on("ping", () => pings++);
    const silentClosed = new Promise<number>((resolve) => silent.on("close", (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      silent.once("open", resolve);
      silent.once("error", reject);
    });
    const code = await silentClosed;
    expect(code).toBe(1006); // terminated, no close handshake
    expect(pings).toBeGreaterThanOrEqual(1);
    await sleep(1_000); // several more ping rounds
    expect(healthy.closeCode).toBeNull();
    await join(healthy, "general");
    expect(ownConnections().some((c) => c.user.id === silentUser.user.id)).toBe(false);
    expect(ownConnections().some((c) => c.user.id === ada.user.id)).toBe(true);
    healthy.close();
    await healthy.closed();
  }

  it("closes a socket that fell too far behind on durable events with 1013, and others lose nothing", async () => {
    const room = "slow";
    expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room }), cookie: ada.cookie })).status).toBe(201);
    const slowUser = await s.signIn("Slow");
    const slow = await connect(slowUser.cookie);
    const fast = await connect(ada.cookie);
    const slowIsConnected = () => ownConnections().some((c) => c.user.id === slowUser.user.id);
    for (const c of [slow, fast]) await join(c, room);
    const metricsBefore = await scrapeMetrics(s.url);
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const big = "y".repeat(32 * 1024);
    let appended = 0;
    // Up to ~64 MiB; the socket buffers of the loopback fill long before that.
    for (let batch = 0; batch < 64 && slowIsConnected(); batch++) {
      await Promise.all(
        Array.from({ length: 64 }, () =>
          s.app.log.append({
            stream: `room:${room}`,
            type: "message",
            actor: { id: ada.user.id, name: "Ada" },
            data: { text: big, clientId: `big-${appended}` },
            clientId: `big-${appended++}`,
          }),
        ),
      );
      await sleep(5);
    }
    expect(slowIsConnected()).toBe(false);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed(10_000)).toBe(1013);
    // A reader that was keeping up has every event, in order.
    await fast.next(isType("event", (f) => f.event.seq === appended), { timeoutMs: 20_000 });
    expect(fast.of("event").map((f) => f.event.seq)).toEqual(Array.from({ length: appended }, (_, i) => i + 1));
    // Operators see it: one slow-consumer close, one connection fewer.
    const metricsAfter = await scrapeMetrics(s.url);
    const delta = (name: string, labels: Record<string, string>) => metricValue(metricsAfter, name, labels) - metricValue(metricsBefore, name, labels);
    expect(delta("rt_slow_consumer_closes_total", { transport: "ws" })).toBe(1);
    expect(delta("rt_connections", { transport: "ws" })).toBe(-1);
    fast.close();
  });

  it("closes every socket of a signed-out session with 4401, and only those", async () => {
    const other = await s.signIn("Other");
    const me = await s.signIn("Leaving");
    const tabs = [await connect(me.cookie), await connect(me.cookie)];
    const bystander = await connect(other.cookie);
    const res = await s.api("/api/session", { method: "DELETE", cookie: me.cookie });
    expect(res.status).toBe(204);
    for (const t of tabs) expect(await t.closed()).toBe(4401);
    expect(bystander.closeCode).toBeNull();
    await join(bystander, "general");
    await expect(WsClient.open(s.wsUrl, me.cookie)).rejects.toMatchObject({ status: 401 });
    bystander.close();
  });
});

describe("WebSocket metrics", () => {
  it("counts connections, frames in and out by type, acks, rate-limited frames and errors as they happen", async () => {
    // A long grace: the one who leaves is still present, so no presence frame lands mid-count.
    const s = await startServer({ testDb: await pglite(), tuning: { presenceGraceMs: 60_000 } });
    const clients: WsClient[] = [];
    try {
      const ada = await s.signIn("Ada");
      const lin = await s.signIn("Lin");
      const room = `metrics-${randomBytes(3).toString("hex")}`;
      expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room }), cookie: ada.cookie })).status).toBe(201);
      const before = await scrapeMetrics(s.url);
      const delta = (after: Sample[], name: string, labels: Record<string, string> = {}) =>
        metricValue(after, name, labels) - metricValue(before, name, labels);

      const a = await s.connect(ada.cookie);
      const l = await s.connect(lin.cookie);
      clients.push(a, l);
      await join(a, room);
      await a.next(isType("presence", (f) => f.members.length === 1));
      await join(l, room);
      for (const c of [a, l]) await c.next(isType("presence", (f) => f.members.length === 2));
      const joined = await scrapeMetrics(s.url);
      expect(delta(joined, "rt_connections", { transport: "ws" })).toBe(2);
      expect(delta(joined, "rt_ws_frames_in_total", { type: "join" })).toBe(2);
      expect(delta(joined, "rt_ws_frames_out_total", { type: "joined" })).toBe(2);
      expect(delta(joined, "rt_ws_frames_out_total", { type: "presence" })).toBe(3);

      // 22 sends at once: 20 acked (the burst), 2 refused; every accepted one reaches both.
      for (let i = 0; i < 22; i++) a.send({ type: "send", room, text: `m${i}`, clientId: `m-${i}` });
      await waitFor(() => a.of("ack").length + a.of("error").length === 22, 10_000, "an answer to every send");
      for (const c of [a, l]) await waitFor(() => c.of("event").length === 20, 10_000, "every event");
      l.close();
      await waitFor(async () => delta(await scrapeMetrics(s.url), "rt_connections", { transport: "ws" }) === 1, 5_000, "the close to count");

      const after = await scrapeMetrics(s.url);
      expect(delta(after, "rt_ws_frames_in_total", { type: "send" })).toBe(22);
      expect(delta(after, "rt_ws_frames_in_total")).toBe(24);
      expect(delta(after, "rt_acks_total", { transport: "ws" })).toBe(20);
      expect(delta(after, "rt_rate_limited_total", { type: "send" })).toBe(2);
      expect(delta(after, "rt_protocol_errors_total", { code: "rate_limited" })).toBe(2);
      expect(delta(after, "rt_ws_frames_out_total", { type: "ack" })).toBe(20);
      expect(delta(after, "rt_ws_frames_out_total", { type: "error" })).toBe(2);
      expect(delta(after, "rt_ws_frames_out_total", { type: "event" })).toBe(40);
      expect(delta(after, "rt_deliveries_total", { transport: "ws" })).toBe(40);
      // joined, presence, ack, error, event, and each join's full cursor set.
      expect(delta(after, "rt_ws_frames_out_total", { type: "cursors" })).toBe(2);
      expect(delta(after, "rt_ws_frames_out_total")).toBe(2 + 3 + 20 + 2 + 40 + 2);
      expect(delta(after, "rt_slow_consumer_closes_total")).toBe(0);
    } finally {
      for (const c of clients) c.ws.terminate();
      await s.stop();
    }
  });
});

describe("WebSocket when the event log is overloaded", () => {
  it("answers a send with overloaded and its clientId while the log's queue is full, keeps the socket, and takes the same clientId later", async () => {
    const s = await startServer({ testDb: await pglite(), tuning: { appendMaxQueue: 2 } });
    let a: WsClient | undefined;
    try {
      const ada = await s.signIn("Ada");
      a = await s.connect(ada.cookie);
      await join(a, "general");
      // The first join's feed event is written before the log is made to wait.
      await waitFor(async () => (await s.app.log.readBefore("feed", null, 20)).events.some((e) => e.type === "member.joined" && e.actor.id === ada.user.id));
      // The database is slow to commit: the log's next transaction waits, and two appends wait
      // behind it: full. (Holding a transaction open instead would stop every query on the
      // embedded database, whose one backend is a transaction's until it ends.)
      let release!: () => void;
      const busy = new Promise<void>((r) => (release = r));
      const transaction = s.app.db.transaction.bind(s.app.db);
      const slow = vi.spyOn(s.app.db, "transaction").mockImplementationOnce(async (fn) => {
        await busy;
        return transaction(fn);
      });
      const waiting = [1, 2].map((i) =>
        s.app.log.append({ stream: "room:general", type: "message", actor: ada.user, data: { text: `waiting ${i}`, clientId: `w-${i}` }, clientId: `w-${i}` }),
      );
      a.send({ type: "send", room: "general", text: "hello", clientId: "ov-1" });
      const err = await a.next(isType("error", (f) => f.clientId === "ov-1"));
      expect(err.code).toBe("overloaded");
      expect(err.message).toMatch(/busy/);
      release();
      await Promise.all(waiting);
      slow.mockRestore();
      a.send({ type: "send", room: "general", text: "hello", clientId: "ov-1" });
      const ack = await a.next(isType("ack", (f) => f.clientId === "ov-1"));
      const mine = (await s.app.log.readBefore("room:general", null, 10)).events.filter((e) => e.actor.id === ada.user.id);
      expect(mine.map((e) => (e.data as { text: string }).text)).toEqual(["waiting 1", "waiting 2", "hello"]);
      expect(ack.seq).toBe(await s.app.log.head("room:general"));
      expect(a.closeCode).toBeNull();
    } finally {
      a?.ws.terminate();
      await s.stop();
    }
  });
});

describe("WebSocket on shutdown", () => {
  it("closes every socket with 1012 and a JSON reason telling when to reconnect", async () => {
    const s = await startServer({ testDb: await pglite(), tuning: { drainSpreadMs: 200 } });
    const ada = await s.signIn("Ada");
    const clients = await Promise.all(Array.from({ length: 3 }, () => s.connect(ada.cookie)));
    for (const c of clients) await join(c, "general");
    const stopped = s.stop();
    for (const c of clients) {
      expect(await c.closed()).toBe(1012);
      const reason = restartingReasonSchema.parse(JSON.parse(c.closeReason));
      expect(reason.reconnectAfterMs).toBeLessThanOrEqual(200);
    }
    await stopped;
  });
});
