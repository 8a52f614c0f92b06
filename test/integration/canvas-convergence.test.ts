// Convergence of the shared canvas, as a property: many people, each running the project's own
// realtime client (WebSocket or long polling) against a real server, make random changes —
// create, move, recolour, retext, delete, bring to front, several at once, undo, redo — while
// every socket delivers with random delays, connections drop and people go offline for a while
// (their changes queue in the outbox and merge on reconnect). At quiescence every person's board
// equals the server's, and the server's equals a replay of the canvas stream from scratch.
// A seed (CANVAS_SEED) replays one run exactly as far as the schedule goes.
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, waitFor, type Person, type TestServer } from "../helpers/server";
import { makeClient } from "../helpers/client";
import { createTestDatabase, dbKinds, type TestDatabase } from "../helpers/db";
import { boardObjects, emptyBoard, foldBatches, frontZ, sameBoard, type Board } from "../../lib/canvas/board";
import { followCanvas } from "../../lib/canvas/follow";
import type { CanvasDoc } from "../../lib/canvas/doc";
import type { RealtimeClient } from "../../lib/realtime/client";
import type { WebSocketLike } from "../../lib/realtime/types";
import { canvasStream, type CanvasOp } from "../../lib/protocol";

const PEOPLE = 6;
const LONG_POLLERS = 2;
const STEPS = 160;
/** Most a socket holds back each frame it delivers (in order, as TCP would). */
const MAX_LAG_MS = 40;

/** A small seeded generator (mulberry32): the same seed, the same schedule. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A `ws` socket whose every frame, each way, is held back a random while, in order: what a
 * slow, jittery network does. Frames for a socket that has closed meanwhile are lost, as on a
 * real network; the client's outbox sends them again.
 */
function laggySocket(url: string, protocols: string[], cookie: string, random: () => number): WebSocketLike {
  const inner = new WebSocket(url, protocols, { headers: { cookie } });
  let inbound = Promise.resolve();
  let outbound = Promise.resolve();
  const lag = () => new Promise<void>((r) => setTimeout(r, random() * MAX_LAG_MS));
  const socket: WebSocketLike = {
    get readyState() {
      return inner.readyState;
    },
    get bufferedAmount() {
      return inner.bufferedAmount;
    },
    onopen: null,
    onclose: null,
    onerror: null,
    onmessage: null,
    send(data) {
      outbound = outbound.then(lag).then(() => {
        if (inner.readyState === WebSocket.OPEN) inner.send(data);
      });
    },
    close(code, reason) {
      inner.close(code, reason);
    },
  };
  inner.onopen = (ev) => socket.onopen?.(ev);
  inner.onerror = (ev) => socket.onerror?.(ev);
  inner.onmessage = (ev) => {
    inbound = inbound.then(lag).then(() => socket.onmessage?.({ data: ev.data }));
  };
  inner.onclose = (ev) => {
    inbound = inbound.then(() => socket.onclose?.({ code: ev.code, reason: ev.reason }));
  };
  return socket;
}

interface Someone {
  name: string;
  client: RealtimeClient;
  doc: CanvasDoc;
  stop(): void;
  offlineUntil: number;
}

let sharedDb: TestDatabase | undefined;
afterAll(async () => {
  await sharedDb?.drop();
});

describe.each(dbKinds)("canvas convergence on %s", (kind) => {
  let s: TestServer;
  const people: Person[] = [];

  beforeAll(async () => {
    s = await startServer({ kind, testDb: kind === "pglite" ? (sharedDb ??= await createTestDatabase("pglite")) : undefined });
    for (let i = 0; i < PEOPLE; i++) people.push(await s.signIn(`P${i}`));
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  it("ends with every board equal to the server's and to a replay of the log", async () => {
    const seed = Number(process.env.CANVAS_SEED ?? randomBytes(4).readUInt32LE(0));
    const random = prng(seed);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const room = `conv-${randomBytes(3).toString("hex")}`;
    expect((await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name: room }), cookie: people[0]!.cookie })).status).toBe(201);

    let ids = 0;
    const everyone: Someone[] = people.map((p, i) => {
      const transport = i < LONG_POLLERS ? "longpoll" : "websocket";
      const { client } = makeClient(s.url, p.cookie, {
        transport,
        pollWaitS: 1,
        createWebSocket: (url, protocols) => laggySocket(url, protocols, p.cookie, random),
      });
      client.start();
      client.join(room);
      const followed = followCanvas(client, room, () => `c-${i}-${++ids}`, { changed: () => undefined });
      return { name: p.user.name, client, doc: followed.doc, stop: followed.stop, offlineUntil: 0 };
    });

    try {
      await waitFor(() => everyone.every((p) => p.doc.loaded), 15_000, "every canvas to load");

      /** A random change someone could make on the board they see. */
      const randomChange = (p: Someone, view: Board): CanvasOp[] => {
        const objects = boardObjects(view);
        const some = objects.length > 0 ? pick(objects) : null;
        const roll = random();
        if (!some || roll < 0.25) {
          return [{ op: "create", id: `o${Math.floor(random() * 1e9).toString(36)}`, object: { kind: pick(["note", "rect", "ellipse"] as const), x: Math.round(random() * 800), y: Math.round(random() * 600), w: 120, h: 90, z: frontZ(view), color: pick(["#fde68a", "#bfdbfe", "#fecaca"]), text: p.name } }];
        }
        if (roll < 0.5) return [{ op: "update", id: some.id, set: { x: Math.round(random() * 800), y: Math.round(random() * 600) } }];
        if (roll < 0.62) return [{ op: "update", id: some.id, set: { color: pick(["#fde68a", "#bbf7d0", "#e9d5ff"]) } }];
        if (roll < 0.72) return [{ op: "update", id: some.id, set: { text: `${p.name} ${Math.floor(random() * 100)}` } }];
        if (roll < 0.8) return [{ op: "update", id: some.id, set: { z: frontZ(view) } }];
        if (roll < 0.9) return [{ op: "delete", id: some.id }];
        // Several at once (a multi-select move).
        return objects.slice(0, 3).map((o): CanvasOp => ({ op: "update", id: o.id, set: { x: o.x + 10, y: o.y + 10 } }));
      };

      let changes = 0;
      for (let step = 0; step < STEPS; step++) {
        const p = pick(everyone);
        const now = Date.now();
        if (p.offlineUntil && now >= p.offlineUntil) {
          p.client.setOffline(false);
          p.offlineUntil = 0;
        }
        const roll = random();
        if (roll < 0.72) {
          if (p.doc.change(randomChange(p, p.doc.view))) changes++;
        } else if (roll < 0.82) p.doc.undo();
        else if (roll < 0.87) p.doc.redo();
        else if (roll < 0.93 && !p.offlineUntil) {
          // An offline spell: changes made meanwhile wait in the outbox.
          p.client.setOffline(true);
          p.offlineUntil = now + 200 + random() * 800;
        } else if (!p.offlineUntil) p.client.dropConnection();
        await new Promise((r) => setTimeout(r, random() * 25));
      }
      expect(changes).toBeGreaterThan(STEPS / 3);

      // Quiescence: everyone online, every change sent and committed or refused, every board at the head.
      for (const p of everyone) p.client.setOffline(false);
      const stream = canvasStream(room);
      const settled = async () => {
        const head = await s.app.log.head(stream);
        return everyone.every(
          (p) => p.doc.board.pendingChanges.length === 0 && p.doc.board.position === head && !p.client.getOutbox().some((e) => e.frame?.type === "canvas.ops"),
        );
      };
      await waitFor(settled, 60_000, `quiescence (seed ${seed})`);

      const server = (await s.app.workspace.canvas.current(room)).board;
      const log = await s.app.log.readAfter(stream, 0, 100_000);
      const replayed = foldBatches(emptyBoard(), log.map((e) => (e.type === "canvas.ops" ? e.data.ops : [])));
      if (process.env.CANVAS_VERBOSE) console.log(`seed ${seed}: ${changes} changes made, ${log.length} committed, ${server.size} objects`);
      expect(log.length).toBeGreaterThan(STEPS / 5);
      expect(sameBoard(server, replayed), `seed ${seed}: the server's board is the replay of its log`).toBe(true);
      for (const p of everyone) {
        expect(sameBoard(p.doc.view, server), `seed ${seed}: ${p.name}'s board is the server's`).toBe(true);
      }
    } finally {
      for (const p of everyone) {
        p.stop();
        p.client.stop();
      }
    }
  }, 120_000);
});
