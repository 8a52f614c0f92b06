// The attacks of the abuse bench (issue 13's findings), each from one client address, each
// bounded in count and time. An attack prepares (sign-ins, rooms, idle sockets: bounded by a
// deadline of its own, before the measured window), then runs until the window's deadline, then
// lets go of everything. It counts what the server let it do — connections accepted, messages
// acked — and what the server refused, by status or close: those counts are the caps at work.
// Nothing here slows the attacker but the server: no client-side pacing beyond the stated
// rates, and a socket's local write buffer is only bounded (1 MiB) so the load generator itself
// stays small; past that the server's TCP flow control is what holds it back.
import http from "node:http";
import net from "node:net";
import { openMany, Pacer } from "./clients";
import { sleep } from "./common";
import { FastWs, OP_TEXT } from "./fastws";
import { httpRequest, trySignIn } from "./bystander";
import { openRawSse } from "./sse";

export const ATTACKS = ["connections", "stalled-sse", "long-polls", "join-churn", "flood", "sign-ups"] as const;
export type AttackName = (typeof ATTACKS)[number];
/** A window with no attack: the bystander's figures to compare against. */
export type Scenario = "quiet" | AttackName;

export interface AttackSettings {
  /** (1) most WebSockets, and most SSE streams, one session tries to hold. */
  floodConnections: number;
  /** (2) stalled SSE readers, the sessions they share, and 4 KB posters at 10/s each. */
  stalledReaders: number;
  stalledPeople: number;
  posters: number;
  /** (3) sessions from one address, and polls each holds. */
  pollPeople: number;
  pollsPerPerson: number;
  /** (4) sockets leaving and joining `general` every `churnEveryMs`, and the people they belong to. */
  churnSockets: number;
  churnPeople: number;
  churnEveryMs: number;
  /** (5) one person's sockets, each sending chat at `floodSendRate`/s and cursors at `floodCursorRate`/s. */
  floodSockets: number;
  floodSendRate: number;
  floodCursorRate: number;
  /** (6) most sign-ups tried, and how many at once. */
  signUps: number;
  signUpConcurrency: number;
}

export const DEFAULT_ATTACK_SETTINGS: AttackSettings = {
  floodConnections: 2000,
  stalledReaders: 1000,
  stalledPeople: 1,
  posters: 2,
  pollPeople: 100,
  pollsPerPerson: 20,
  churnSockets: 1000,
  churnPeople: 1000,
  churnEveryMs: 400,
  floodSockets: 50,
  floodSendRate: 10,
  floodCursorRate: 1000,
  signUps: 20_000,
  signUpConcurrency: 20,
};

/** What the attacker did and what the server let it do, by name (each attack its own). */
export type AttackCounts = Record<string, number>;

export interface AttackContext {
  port: number;
  settings: AttackSettings;
  /** Where preparation stops, whatever it has reached (ms, performance.now()). */
  prepareDeadline: number;
  note(text: string): void;
}

export interface Attack {
  /** Runs until `deadline` (what it opened stays open until `stop`); `counts` are live meanwhile. */
  run(deadline: number): Promise<void>;
  /** Connections the attacker holds open now (its own view). */
  open(): number;
  /** Lets go of every connection. */
  stop(): void;
  counts: AttackCounts;
}

const MAX_LOCAL_BUFFER = 1024 * 1024;
const ROOM = "abuse";

/** Prepares the attack (bounded by the context's deadline); the window then calls `run`. */
export async function prepareAttack(name: AttackName, ctx: AttackContext): Promise<Attack> {
  switch (name) {
    case "connections":
      return connectionFlood(ctx);
    case "stalled-sse":
      return stalledReaders(ctx);
    case "long-polls":
      return heldPolls(ctx);
    case "join-churn":
      return joinChurn(ctx);
    case "flood":
      return oneSenderFlood(ctx);
    case "sign-ups":
      return signUpFlood(ctx);
    default: {
      const never: never = name;
      throw new Error(`unknown attack ${String(never)}`);
    }
  }
}

/** Signs in up to `n` people (20 at a time) until the deadline; refused ones are counted. */
async function signInPeople(ctx: AttackContext, n: number, prefix: string, counts: { people: number; signInsRefused: number }): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < n && performance.now() < ctx.prepareDeadline; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, n - i) }, (_, j) => trySignIn(ctx.port, `${prefix}${i + j}`)));
    for (const b of batch) {
      if (b.cookie) cookies.push(b.cookie);
      else counts.signInsRefused++;
    }
  }
  counts.people = cookies.length;
  return cookies;
}

async function createAttackRoom(ctx: AttackContext, cookie: string): Promise<void> {
  const res = await httpRequest(ctx.port, "POST", "/api/rooms", { cookie, json: { name: ROOM } });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating the attack's room: ${res.status} ${res.body}`);
}

/** "answered HTTP/1.1 429 …" → 429; a failure without an answer → 0. */
function statusOf(err: unknown): number {
  const m = /HTTP\/1\.1 (\d{3})/.exec(String((err as Error)?.message ?? err));
  return m ? Number(m[1]) : 0;
}

/** Counts a refusal under `<what>Refused` (an HTTP status) or `<what>Failed` (no answer). */
function countFailure(counts: AttackCounts, what: string, err: unknown): void {
  const key = statusOf(err) ? `${what}Refused` : `${what}Failed`;
  counts[key] = (counts[key] ?? 0) + 1;
}

function wsConnect(ctx: AttackContext, cookie: string, onFrame?: (payload: Buffer) => void, onClose?: () => void): Promise<FastWs> {
  return FastWs.connect({ port: ctx.port, path: "/ws", headers: { Cookie: cookie }, protocols: ["rt.v1"], timeoutMs: 10_000, onFrame, onClose });
}

const startsWith = (b: Buffer, s: string) => b.length >= s.length && b.toString("latin1", 0, s.length) === s;

// ---------------------------------------------------------------------------
// (1) One session opens as many WebSockets and event streams as it can.

async function connectionFlood(ctx: AttackContext): Promise<Attack> {
  const counts = { people: 0, signInsRefused: 0, wsOpened: 0, wsRefused: 0, wsFailed: 0, wsClosedByServer: 0, sseOpened: 0, sseRefused: 0, sseFailed: 0, sseClosedByServer: 0 };
  const [cookie] = await signInPeople(ctx, 1, "hoarder", counts);
  if (!cookie) throw new Error("connections: the attacker could not sign in");
  const sockets: FastWs[] = [];
  const streams: net.Socket[] = [];
  let stopping = false;
  const max = ctx.settings.floodConnections;
  return {
    counts,
    open: () => sockets.filter((s) => !s.closed).length + streams.filter((s) => !s.destroyed).length,
    async run(deadline) {
      const open = (kind: "ws" | "sse") => async () => {
        if (performance.now() >= deadline) return;
        try {
          if (kind === "ws") {
            const ws = await wsConnect(ctx, cookie, undefined, () => {
              if (!stopping) counts.wsClosedByServer++;
            });
            sockets.push(ws);
            counts.wsOpened++;
          } else {
            const sock = await openRawSse({ port: ctx.port, path: "/api/stream?streams=feed,user:me", headers: { Cookie: cookie }, onEvents: () => {}, timeoutMs: 10_000 });
            sock.on("close", () => {
              if (!stopping) counts.sseClosedByServer++;
            });
            streams.push(sock);
            counts.sseOpened++;
          }
        } catch (err) {
          countFailure(counts, kind, err);
        }
      };
      // WebSockets and streams side by side, 25 of each at a time, until the bound or the deadline.
      await Promise.all([
        openMany(max, open("ws"), { concurrency: 25 }),
        openMany(max, open("sse"), { concurrency: 25 }),
      ]);
      while (performance.now() < deadline) await sleep(50);
    },
    stop() {
      stopping = true;
      for (const s of sockets) s.close();
      for (const s of streams) s.destroy();
    },
  };
}

// ---------------------------------------------------------------------------
// (2) Event-stream readers that never read, while another person posts 4 KB messages within
// the per-session limit (10/s each) into the room they follow.

async function stalledReaders(ctx: AttackContext): Promise<Attack> {
  const s = ctx.settings;
  const counts = { people: 0, signInsRefused: 0, stalledOpened: 0, stalledRefused: 0, stalledFailed: 0, posted: 0, postRefused: 0, postFailed: 0, posters: 0 };
  const readers = await signInPeople(ctx, s.stalledPeople, "staller", counts);
  const posters = await signInPeople(ctx, s.posters, "poster", { people: 0, signInsRefused: 0 });
  counts.posters = posters.length;
  if (!readers[0] || !posters[0]) throw new Error("stalled-sse: the attacker could not sign in");
  await createAttackRoom(ctx, posters[0]);
  // 4000 characters of "€" (3 bytes each): the largest message the app takes, ~12 KB a frame.
  const text = "€".repeat(4000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: posters.length });
  const streams: net.Socket[] = [];
  let pacer: Pacer | null = null;
  return {
    counts,
    open: () => streams.filter((x) => !x.destroyed).length,
    async run(deadline) {
      let n = 0;
      let inFlight = 0;
      pacer = new Pacer(posters.length, 10, (i) => {
        if (inFlight >= posters.length * 4) return; // a server that stopped answering: no pile of requests here
        inFlight++;
        httpRequest(ctx.port, "POST", `/api/rooms/${ROOM}/messages`, { cookie: posters[i]!, json: { text, clientId: `p${n++}` }, agent, timeoutMs: 30_000 })
          .then((res) => (res.status === 201 ? counts.posted++ : counts.postRefused++))
          .catch(() => counts.postFailed++)
          .finally(() => inFlight--);
      });
      pacer.start(5);
      await openMany(
        s.stalledReaders,
        async (i) => {
          if (performance.now() >= deadline) return;
          try {
            const sock = await openRawSse({ port: ctx.port, path: `/api/stream?streams=room:${ROOM}`, headers: { Cookie: readers[i % readers.length]! }, onEvents: () => {}, timeoutMs: 10_000 });
            // From here on nothing is read: the server's writes fill the kernel's buffers, then its own.
            sock.pause();
            streams.push(sock);
            counts.stalledOpened++;
          } catch (err) {
            countFailure(counts, "stalled", err);
          }
        },
        { concurrency: 25 },
      );
      while (performance.now() < deadline) await sleep(50);
      pacer.stop();
    },
    stop() {
      pacer?.stop();
      for (const x of streams) x.destroy();
      agent.destroy();
    },
  };
}

// ---------------------------------------------------------------------------
// (3) Held long polls: many sessions from one address, each holding many polls of a quiet
// stream (its own notifications), each answered poll sent again at once; a refused one after
// half a second.

async function heldPolls(ctx: AttackContext): Promise<Attack> {
  const s = ctx.settings;
  const counts = { people: 0, signInsRefused: 0, polls: 0, answered: 0, pollRefused429: 0, pollRefused503: 0, pollRefusedOther: 0, pollFailed: 0, peakOutstanding: 0 };
  const people = await signInPeople(ctx, s.pollPeople, "poller", counts);
  if (!people.length) throw new Error("long-polls: the attacker could not sign in");
  const total = people.length * s.pollsPerPerson;
  const agent = new http.Agent({ keepAlive: true, maxSockets: total + 10 });
  let outstanding = 0;
  let stopped = false;
  return {
    counts,
    open: () => outstanding,
    async run(deadline) {
      const loop = async (i: number) => {
        const cookie = people[i % people.length]!;
        while (!stopped && performance.now() < deadline) {
          outstanding++;
          counts.peakOutstanding = Math.max(counts.peakOutstanding, outstanding);
          counts.polls++;
          let pause = 0;
          try {
            // Held past the deadline until stop() lets go (the window's end includes the bystander's last acks).
            const res = await httpRequest(ctx.port, "GET", `/api/poll?streams=user:me&wait=25&client=t${i}`, { cookie, agent, timeoutMs: 60_000 });
            if (res.status === 200) counts.answered++;
            else {
              if (res.status === 429) counts.pollRefused429++;
              else if (res.status === 503) counts.pollRefused503++;
              else counts.pollRefusedOther++;
              pause = 500;
            }
          } catch {
            if (!stopped) counts.pollFailed++;
            pause = 500;
          } finally {
            outstanding--;
          }
          if (pause) await sleep(pause);
        }
      };
      await Promise.all(Array.from({ length: total }, (_, i) => loop(i)));
    },
    stop() {
      stopped = true;
      agent.destroy();
    },
  };
}

// ---------------------------------------------------------------------------
// (4) Join/leave churn within the join limit: sockets of many people each leaving `general`
// and joining it again every 400 ms (2.5 joins/s, half the per-connection limit).

async function joinChurn(ctx: AttackContext): Promise<Attack> {
  const s = ctx.settings;
  const counts = { people: 0, signInsRefused: 0, sockets: 0, wsRefused: 0, wsFailed: 0, wsClosedByServer: 0, joins: 0, joined: 0, errors: 0, bytesReceived: 0 };
  const people = await signInPeople(ctx, s.churnPeople, "churner", counts);
  if (!people.length) throw new Error("join-churn: the attacker could not sign in");
  let stopping = false;
  const sockets: FastWs[] = [];
  const onFrame = (payload: Buffer) => {
    if (startsWith(payload, '{"type":"joined"')) counts.joined++;
    else if (startsWith(payload, '{"type":"error"')) counts.errors++;
  };
  await openMany(
    s.churnSockets,
    async (i) => {
      if (performance.now() >= ctx.prepareDeadline) return;
      try {
        sockets.push(await wsConnect(ctx, people[i % people.length]!, onFrame, () => { if (!stopping) counts.wsClosedByServer++; }));
        counts.sockets++;
      } catch (err) {
        countFailure(counts, "ws", err);
      }
    },
    { concurrency: 50 },
  );
  const join = JSON.stringify({ type: "join", room: "general" });
  const leave = JSON.stringify({ type: "leave", room: "general" });
  const inRoom = new Uint8Array(sockets.length);
  let pacer: Pacer | null = null;
  return {
    counts,
    open: () => sockets.filter((x) => !x.closed).length,
    async run(deadline) {
      pacer = new Pacer(sockets.length, 1000 / s.churnEveryMs, (i) => {
        const ws = sockets[i]!;
        if (ws.closed || ws.bufferedAmount > MAX_LOCAL_BUFFER) return;
        if (inRoom[i]) ws.send(leave);
        ws.send(join);
        inRoom[i] = 1;
        counts.joins++;
      });
      pacer.start(5);
      while (performance.now() < deadline) await sleep(50);
      pacer.stop();
      counts.bytesReceived = sockets.reduce((a, x) => a + x.bytesRead, 0);
    },
    stop() {
      stopping = true;
      pacer?.stop();
      for (const x of sockets) x.close();
    },
  };
}

// ---------------------------------------------------------------------------
// (5) One person's many sockets, each sending chat at the per-connection limit and cursor
// frames far past it (one write of many frames per socket every 10 ms).

async function oneSenderFlood(ctx: AttackContext): Promise<Attack> {
  const s = ctx.settings;
  const counts = { people: 0, signInsRefused: 0, sockets: 0, wsRefused: 0, wsFailed: 0, wsClosedByServer: 0, sent: 0, acked: 0, rateLimited: 0, otherErrors: 0, cursorFrames: 0 };
  const [cookie] = await signInPeople(ctx, 1, "flooder", counts);
  if (!cookie) throw new Error("flood: the attacker could not sign in");
  await createAttackRoom(ctx, cookie);
  let stopping = false;
  const sockets: FastWs[] = [];
  let joined = 0;
  const onFrame = (payload: Buffer) => {
    if (startsWith(payload, '{"type":"ack"')) counts.acked++;
    else if (startsWith(payload, '{"type":"joined"')) joined++;
    else if (startsWith(payload, '{"type":"error"')) {
      if (payload.includes('"rate_limited"')) counts.rateLimited++;
      else counts.otherErrors++;
    }
  };
  await openMany(
    s.floodSockets,
    async () => {
      if (performance.now() >= ctx.prepareDeadline) return;
      try {
        const ws = await wsConnect(ctx, cookie, onFrame, () => { if (!stopping) counts.wsClosedByServer++; });
        ws.send(JSON.stringify({ type: "join", room: ROOM }));
        sockets.push(ws);
        counts.sockets++;
      } catch (err) {
        countFailure(counts, "ws", err);
      }
    },
    { concurrency: 25 },
  );
  while (joined < sockets.length && performance.now() < ctx.prepareDeadline) await sleep(20);
  const cursorsPerTick = Math.max(1, Math.round(s.floodCursorRate / 100));
  const cursorBatch = Buffer.concat(
    Array.from({ length: cursorsPerTick }, (_, k) => textFrame(JSON.stringify({ type: "cursor", room: ROOM, x: (k % 100) / 100, y: 0.5 }))),
  );
  let pacer: Pacer | null = null;
  let cursorTimer: NodeJS.Timeout | undefined;
  let n = 0;
  return {
    counts,
    open: () => sockets.filter((x) => !x.closed).length,
    async run(deadline) {
      pacer = new Pacer(sockets.length, s.floodSendRate, (i) => {
        const ws = sockets[i]!;
        if (ws.closed || ws.bufferedAmount > MAX_LOCAL_BUFFER) return;
        ws.send(JSON.stringify({ type: "send", room: ROOM, text: `spam ${n}`, clientId: `f${n++}` }));
        counts.sent++;
      });
      pacer.start(5);
      if (s.floodCursorRate > 0) {
        cursorTimer = setInterval(() => {
          for (const ws of sockets) {
            if (ws.closed || ws.bufferedAmount > MAX_LOCAL_BUFFER) continue;
            ws.sendRaw(cursorBatch);
            counts.cursorFrames += cursorsPerTick;
          }
        }, 10);
      }
      while (performance.now() < deadline) await sleep(50);
      pacer.stop();
      clearInterval(cursorTimer);
    },
    stop() {
      stopping = true;
      pacer?.stop();
      clearInterval(cursorTimer);
      for (const x of sockets) x.close();
    },
  };
}

/** A masked client text frame (zero key), as FastWs sends: built once, written many times. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new Error("textFrame: short frames only");
  return Buffer.concat([Buffer.from([0x80 | OP_TEXT, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

// ---------------------------------------------------------------------------
// (6) Sign-ups from one address, as fast as the server answers.

async function signUpFlood(ctx: AttackContext): Promise<Attack> {
  const s = ctx.settings;
  const counts = { tried: 0, signedUp: 0, refused: 0, failed: 0 };
  const agent = new http.Agent({ keepAlive: true, maxSockets: s.signUpConcurrency });
  let stopped = false;
  return {
    counts,
    open: () => 0,
    async run(deadline) {
      let i = 0;
      const worker = async () => {
        while (!stopped && i < s.signUps && performance.now() < deadline) {
          const name = `signup${i++}`;
          counts.tried++;
          const r = await trySignIn(ctx.port, name, { agent, timeoutMs: 30_000 });
          if (r.cookie) counts.signedUp++;
          else if (r.status) counts.refused++;
          else counts.failed++;
        }
      };
      await Promise.all(Array.from({ length: s.signUpConcurrency }, worker));
    },
    stop() {
      stopped = true;
      agent.destroy();
    },
  };
}
