// The cursor pipeline end to end over real sockets: 60 positions in about a second from one
// person reach another as at most one frame per 50 ms tick, ending exactly where they stopped;
// and what a page shows is right in the end however many frames it missed — back from a
// disconnect, or too slow to be sent them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeClient, type TestClient } from "../helpers/client";
import { isType, MANY_ROOMS, startServerWith, waitFor, type Person, type TestServer, type WsClient } from "../helpers/server";
import { createCursorStore } from "../../lib/store/cursors";
import type { EphemeralBus, EphemeralMessage } from "../../server/backplane/ephemeral";
import { EventLog } from "../../server/eventlog";
import { Hub, type RoomFrame, type Subscriber } from "../../server/hub";
import { silentLogger } from "../../server/log";
import { ManualClock } from "../../server/state/clock";
import type { CursorMap, CursorState, ServerFrame, User } from "../../lib/protocol";

let s: TestServer;
let ada: Person;
let lin: Person;
let kai: Person;
const sockets: WsClient[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  // A paused reader may fall megabytes behind here without being closed for it (1013).
  [s, ada, lin, kai] = await startServerWith(["Ada", "Lin", "Kai"], { tuning: { wsMaxBufferedBytes: 64 * 1024 * 1024 }, env: MANY_ROOMS });
});
afterEach(() => {
  for (const c of sockets.splice(0)) c.ws.terminate();
  for (const c of clients.splice(0)) c.client.stop();
});
afterAll(async () => {
  await s?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let rooms = 0;
async function newRoom(): Promise<string> {
  const name = `canvas-${++rooms}`;
  const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: ada.cookie });
  expect(res.status).toBe(201);
  return name;
}

async function connect(who: Person): Promise<WsClient> {
  const c = await s.connect(who.cookie);
  sockets.push(c);
  return c;
}

async function joined(who: Person, room: string): Promise<WsClient> {
  const c = await connect(who);
  c.send({ type: "join", room });
  await c.next(isType("joined", (f) => f.room === room));
  return c;
}

/** The cursors a page would show after these frames: merged, `null` removes, `full` replaces. */
function shownBy(frames: ServerFrame[], room: string): Record<string, CursorState> {
  let shown: Record<string, CursorState> = {};
  for (const f of frames) {
    if (f.type !== "cursors" || f.room !== room) continue;
    if (f.full) shown = {};
    for (const [id, c] of Object.entries(f.cursors)) {
      if (c) shown[id] = c;
      else delete shown[id];
    }
  }
  return shown;
}

async function skippedSoFar(): Promise<number> {
  return (await s.app.metrics.cursorFramesSkipped.get()).values.reduce((n, v) => n + v.value, 0);
}

it("60 positions in ~1 s arrive as ≤ 21 frames (one per tick) with the final position exact", async () => {
  const room = await newRoom();
  const a = await joined(ada, room);
  const l = await joined(lin, room);
  const from = l.frames.length;
  const started = Date.now();
  for (let i = 1; i <= 60; i++) {
    a.send({ type: "cursor", room, x: i / 60, y: 1 - i / 120 });
    // 60 Hz: the next position is due 1000/60 ms after the start, wherever this one landed.
    const due = started + (i * 1000) / 60;
    await sleep(Math.max(0, due - Date.now()));
  }
  const sendingMs = Date.now() - started;
  const last = await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 1), { from });
  expect(last.cursors[ada.user.id]).toEqual({ x: 1, y: 0.5, name: "Ada", color: ada.user.color });
  const frames = l.frames.slice(from).filter((f) => f.type === "cursors" && ada.user.id in f.cursors);
  // One frame per 50 ms tick at most: 21 for one second of movement (more only if this machine
  // took longer than a second to send them).
  expect(frames.length).toBeLessThanOrEqual(Math.max(21, Math.ceil(sendingMs / 50) + 1));
  expect(frames.length).toBeGreaterThan(1);
  // Nothing after the final position: latest wins, and an unchanged cursor is not resent.
  await sleep(200);
  expect(l.frames.slice(from).filter((f) => f.type === "cursors").at(-1)).toEqual(last);
});

it("drops cursor frames for a room not joined without an error, however many, and keeps the connection", async () => {
  const room = await newRoom();
  const a = await connect(ada);
  // A canvas pointed at while its history loads, before the join goes out.
  for (let i = 0; i < 100; i++) a.send({ type: "cursor", room, x: i / 100, y: 0.5 });
  // And a pointer still moving just after the page left.
  a.send({ type: "join", room });
  await a.next(isType("joined", (f) => f.room === room));
  a.send({ type: "leave", room });
  for (let i = 0; i < 20; i++) a.send({ type: "cursor", room, x: i / 100, y: 0.25 });
  a.send({ type: "cursor", room, x: null, y: null });
  // Frames take effect in order: a frame that does deserve an error comes back after them all.
  a.send({ type: "typing", room });
  expect((await a.next(isType("error"))).code).toBe("not_joined");
  expect(a.of("error")).toHaveLength(1);
  expect(a.closeCode).toBeNull();
  expect(s.app.hub.cursorSnapshot(room)).toEqual({});
});

describe("the point of the board (1.15)", () => {
  it("reaches the others as sent, over WebSocket, in poll answers and from HTTP; a version 1 frame carries none", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    a.send({ type: "cursor", room, x: 0.25, y: 0.75, board: { x: -120.5, y: 480 } });
    const seen = await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 0.25));
    expect(seen.cursors[ada.user.id]).toEqual({ x: 0.25, y: 0.75, board: { x: -120.5, y: 480 }, name: "Ada", color: ada.user.color });
    const poll = await s.api(`/api/poll?streams=room:${room}&wait=0`, { cookie: kai.cookie });
    expect(((await poll.json()) as { rooms: Record<string, { cursors: CursorMap }> }).rooms[room]!.cursors[ada.user.id]).toMatchObject({ board: { x: -120.5, y: 480 } });

    const http = await s.api(`/api/rooms/${room}/cursor`, { method: "POST", body: JSON.stringify({ x: 0.5, y: 0.5, board: { x: 7, y: 8 } }), cookie: kai.cookie });
    expect(http.status).toBe(204);
    const kais = await l.next(isType("cursors", (f) => f.cursors[kai.user.id] !== undefined));
    expect(kais.cursors[kai.user.id]).toMatchObject({ x: 0.5, y: 0.5, board: { x: 7, y: 8 } });

    const from = l.frames.length;
    a.send({ type: "cursor", room, x: 0.3, y: 0.3 });
    const plain = await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 0.3), { from });
    expect(plain.cursors[ada.user.id]).toEqual({ x: 0.3, y: 0.3, name: "Ada", color: ada.user.color });
  });

  it("refuses a point off the board, and the cursor stays where it was", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    a.send({ type: "cursor", room, x: 0.1, y: 0.1, board: { x: 1, y: 2 } });
    await waitFor(() => s.app.hub.cursorSnapshot(room)[ada.user.id] !== undefined, 5_000, "Ada's cursor");
    const from = a.frames.length;
    a.send({ type: "cursor", room, x: 0.2, y: 0.2, board: { x: 2_000_000, y: 0 } });
    const refused = await a.next(isType("error"), { from });
    expect(refused.code).toBe("bad_frame");
    expect(s.app.hub.cursorSnapshot(room)[ada.user.id]).toMatchObject({ x: 0.1, board: { x: 1, y: 2 } });
  });
});

describe("a cursor goes when its connection goes", () => {
  it("sends null to the others when the pointing tab disconnects, not only when it leaves", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const l = await joined(lin, room);
    a.send({ type: "cursor", room, x: 0.5, y: 0.5 });
    await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 0.5));
    const from = l.frames.length;
    a.ws.terminate(); // no leave, no close handshake: the tab crashed or the network went
    const gone = await l.next(isType("cursors", (f) => ada.user.id in f.cursors), { from });
    expect(gone.cursors[ada.user.id]).toBeNull();
  });

  it("takes a person's cursor away when the tab it came from closes, though their other tab stays", async () => {
    const room = await newRoom();
    const pointing = await joined(ada, room);
    const other = await joined(ada, room);
    const l = await joined(lin, room);
    pointing.send({ type: "cursor", room, x: 0.3, y: 0.3 });
    await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 0.3));

    // Her other tab closing leaves the cursor be.
    let from = l.frames.length;
    other.close();
    await other.closed();
    await sleep(200);
    expect(l.frames.slice(from).filter((f) => f.type === "cursors" && ada.user.id in f.cursors)).toEqual([]);
    expect(s.app.hub.cursorSnapshot(room)).toHaveProperty(ada.user.id);

    // A third tab stays open while the pointing one closes: the cursor goes at once, not after 30 s idle.
    await joined(ada, room);
    from = l.frames.length;
    pointing.close();
    const gone = await l.next(isType("cursors", (f) => ada.user.id in f.cursors), { from });
    expect(gone.cursors[ada.user.id]).toBeNull();
  });
});

describe("over HTTP, for long-polling pages", () => {
  const post = (room: string, who: Person, body: unknown) =>
    s.api(`/api/rooms/${room}/cursor`, { method: "POST", body: JSON.stringify(body), cookie: who.cookie });

  it("hides a cursor with {x: null, y: null}, at once for the others and in poll answers", async () => {
    const room = await newRoom();
    const l = await joined(lin, room);
    expect((await post(room, ada, { x: 0.4, y: 0.6 })).status).toBe(204);
    await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 0.4));
    const from = l.frames.length;
    expect((await post(room, ada, { x: null, y: null })).status).toBe(204);
    const gone = await l.next(isType("cursors", (f) => ada.user.id in f.cursors), { from });
    expect(gone.cursors[ada.user.id]).toBeNull();
    const poll = await s.api(`/api/poll?streams=room:${room}&wait=0`, { cookie: kai.cookie });
    expect(((await poll.json()) as { rooms: Record<string, { cursors: unknown }> }).rooms[room]!.cursors).toEqual({});
  });

  it("refuses a body with one coordinate null and not the other, and changes nothing", async () => {
    const room = await newRoom();
    expect((await post(room, ada, { x: 0.1, y: 0.2 })).status).toBe(204);
    for (const body of [{ x: null, y: 0.5 }, { x: 0.5, y: null }, { x: null }]) {
      const res = await post(room, ada, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_body");
    }
    expect(s.app.hub.cursorSnapshot(room)[ada.user.id]).toMatchObject({ x: 0.1, y: 0.2 });
  });

  it("the client on long polling hides its cursor when the pointer leaves the canvas", async () => {
    const room = await newRoom();
    const page = makeClient(s.url, ada.cookie, { transport: "longpoll" });
    clients.push(page);
    page.client.start();
    page.client.join(room);
    page.client.moveCursor(room, { x: 0.7, y: 0.2 });
    await waitFor(() => s.app.hub.cursorSnapshot(room)[ada.user.id]?.x === 0.7, 5000, "Ada's cursor on the server");
    page.client.moveCursor(room, null);
    await waitFor(() => !(ada.user.id in s.app.hub.cursorSnapshot(room)), 5000, "Ada's cursor hidden");
  });
});

describe("what a page shows is right in the end", () => {
  it("answers every join with the room's full cursor set, even an empty one", async () => {
    const room = await newRoom();
    const l = await joined(lin, room);
    expect(l.of("cursors")).toEqual([{ type: "cursors", room, cursors: {}, full: true }]);

    const a = await joined(ada, room);
    a.send({ type: "cursor", room, x: 0.25, y: 0.75 });
    await l.next(isType("cursors", (f) => f.cursors[ada.user.id]?.x === 0.25));
    const k = await joined(kai, room);
    expect(k.of("cursors")).toEqual([
      { type: "cursors", room, cursors: { [ada.user.id]: { x: 0.25, y: 0.75, name: "Ada", color: ada.user.color } }, full: true },
    ]);
  });

  it("drops a cursor that left while the page was disconnected, once it is back", async () => {
    const room = await newRoom();
    const a = await joined(ada, room);
    const linPage = makeClient(s.url, lin.cookie);
    clients.push(linPage);
    const store = createCursorStore();
    linPage.client.on("cursors", (c) => c.room === room && store.getState().apply(c.cursors, c.snapshot, lin.user.id));
    linPage.client.start();
    linPage.client.join(room);
    const linConnected = () => s.app.hub.connections().some((c) => c.transport === "ws" && c.user.id === lin.user.id);
    await waitFor(linConnected, 5000, "Lin's socket");
    // The join is answered before Ada moves, so Lin sees her through a live frame.
    await waitFor(() => s.app.hub.members(room).some((m) => m.id === lin.user.id), 5000, "Lin in the room");
    a.send({ type: "cursor", room, x: 0.4, y: 0.6 });
    await waitFor(() => store.getState().cursors[ada.user.id]?.x === 0.4, 5000, "Ada's cursor on Lin's page");

    linPage.client.setOffline(true);
    await waitFor(() => !linConnected(), 5000, "Lin's socket gone");
    a.send({ type: "leave", room });
    await waitFor(() => !(ada.user.id in s.app.hub.cursorSnapshot(room)), 5000, "Ada's cursor gone on the server");
    await sleep(120); // its null went out to the room, without Lin

    linPage.client.setOffline(false);
    await waitFor(() => linPage.client.getStatus().rooms.state === "connected", 5000, "Lin back");
    await waitFor(() => !(ada.user.id in store.getState().cursors), 5000, "Ada's cursor gone from Lin's page");
  });

  it("skips cursor frames for a socket that fell behind, counts them, and sends it the right final set once it catches up", async () => {
    const room = await newRoom();
    const slow = await joined(lin, room);
    const a = await joined(ada, room);
    const k = await joined(kai, room);
    a.send({ type: "cursor", room, x: 0.1, y: 0.1 });
    k.send({ type: "cursor", room, x: 0.2, y: 0.2 });
    await waitFor(() => Object.keys(shownBy(slow.frames, room)).length === 2, 5000, "both cursors on the slow page");

    // The slow page stops reading; chat fills its socket's buffers until cursor frames skip it.
    const tcp = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const skippedBefore = await skippedSoFar();
    const big = "z".repeat(32 * 1024);
    let appended = 0;
    for (let step = 0; step < 200 && (await skippedSoFar()) === skippedBefore; step++) {
      await Promise.all(
        Array.from({ length: 16 }, () => {
          const clientId = `fill-${room}-${appended++}`;
          return s.app.log.append({ stream: `room:${room}`, type: "message", actor: { id: kai.user.id, name: "Kai" }, data: { text: big, clientId }, clientId });
        }),
      );
      a.send({ type: "cursor", room, x: 0.3 + (step % 50) / 100, y: 0.1 });
      await sleep(60);
    }
    const skipped = await skippedSoFar();
    expect(skipped).toBeGreaterThan(skippedBefore);

    // While it is behind, Kai's pointer leaves the canvas and Ada stops somewhere new.
    k.send({ type: "cursor", room, x: null, y: null });
    a.send({ type: "cursor", room, x: 0.77, y: 0.33 });
    await waitFor(async () => (await skippedSoFar()) > skipped, 5000, "the last changes skipped too");

    tcp.resume();
    await slow.next(isType("event", (f) => f.event.seq === appended), { timeoutMs: 20_000 });
    await waitFor(
      () => JSON.stringify(shownBy(slow.frames, room)) === JSON.stringify({ [ada.user.id]: { x: 0.77, y: 0.33, name: "Ada", color: ada.user.color } }),
      5000,
      "Ada alone at her last position on the slow page",
    );
    expect(slow.closeCode).toBeNull();
  });
});

describe("across instances", () => {
  /** Pub/sub between hubs in this process, delivering at once: what Redis does between processes. */
  function busNetwork() {
    const members = new Set<(msg: EphemeralMessage) => void>();
    const published: EphemeralMessage[] = [];
    const join = (): EphemeralBus => {
      let self: ((msg: EphemeralMessage) => void) | null = null;
      return {
        publish(msg) {
          published.push(msg);
          for (const m of members) if (m !== self) m(msg);
        },
        async start(onMessage, onConnected) {
          self = onMessage;
          members.add(onMessage);
          onConnected();
        },
        async stop() {
          if (self) members.delete(self);
        },
      };
    };
    return { join, published };
  }

  /** A room watcher that keeps the cursor frames it is sent. */
  function watcher(user: User): Subscriber & { cursorFrames: CursorMap[] } {
    const cursorFrames: CursorMap[] = [];
    return {
      id: `w-${user.id}`,
      user,
      sessionId: `s-${user.id}`,
      transport: "ws",
      cursorFrames,
      onEvent() {},
      onRoomFrame(frame: RoomFrame) {
        if (frame.type === "cursors") cursorFrames.push((JSON.parse(frame.json) as { cursors: CursorMap }).cursors);
      },
    };
  }

  it("sends a client one cursor frame per tick however many instances its room spans", async () => {
    const clock = new ManualClock();
    const net = busNetwork();
    const hubs = ["A", "B", "C"].map(
      (instanceId) => new Hub({ log: new EventLog(s.testDb.db), clock, logger: silentLogger, instanceId, presenceHeartbeatMs: 60_000 }),
    );
    const [a, b, c] = hubs as [Hub, Hub, Hub];
    try {
      for (const hub of hubs) await hub.attachBus(net.join());
      const onA = watcher(lin.user);
      a.register(onA);
      a.watch("across", onA);

      const tick = () => {
        clock.advance(50);
        for (const hub of [b, c, a]) hub.cursors.flush();
      };
      for (let i = 1; i <= 3; i++) {
        a.moveCursor("across", ada.user, { x: i / 10, y: 0.1 });
        b.moveCursor("across", kai.user, { x: i / 10, y: 0.2 });
        c.moveCursor("across", lin.user, { x: i / 10, y: 0.3 });
        tick();
        expect(onA.cursorFrames).toHaveLength(i);
        expect(onA.cursorFrames[i - 1]).toEqual({
          [ada.user.id]: { x: i / 10, y: 0.1, name: "Ada", color: ada.user.color },
          [kai.user.id]: { x: i / 10, y: 0.2, name: "Kai", color: kai.user.color },
          [lin.user.id]: { x: i / 10, y: 0.3, name: "Lin", color: lin.user.color },
        });
      }
      // Each instance tells the others its own cursors only: nothing is relayed twice.
      const batches = net.published.filter((m): m is Extract<EphemeralMessage, { t: "cursors" }> => m.t === "cursors");
      expect(batches.map((m) => [m.i, Object.keys(m.cursors)])).toEqual(
        [1, 2, 3].flatMap(() => [
          ["B", [kai.user.id]],
          ["C", [lin.user.id]],
          ["A", [ada.user.id]],
        ]),
      );

      // An instance that goes away takes its cursors with it, in the next tick's one frame.
      c.stop();
      b.moveCursor("across", kai.user, { x: 0.9, y: 0.2 });
      tick();
      expect(onA.cursorFrames.slice(3)).toEqual([{ [lin.user.id]: null, [kai.user.id]: { x: 0.9, y: 0.2, name: "Kai", color: kai.user.color } }]);
    } finally {
      for (const hub of hubs) hub.stop();
    }
  });
});
