// bench:canvas — the shared canvas (protocol 1.3), against the real server in a child process.
//
// 1. Drags: `users` people in one room each drag their own note at `hz`, every in-between box
//    sent as a `canvas.live` frame; with drags coalesced on the cursor tick (the server's way) and
//    with every drag event forwarded as it comes. Per receiving client: canvas.live frames/s and
//    bytes/s. Target: coalesced ≤ ⅓ of the bytes (as for cursors).
// 2. A late joiner on a big board: `objects` objects made and changed by `ops` operations in all,
//    written straight into a fresh Postgres log (seeding through the command path would take
//    hours at a person's rate). Timed: `canvas.join` → its `canvas.snapshot` frame parsed, on a
//    cold server without any snapshot (the whole log folded), on a cold server with the snapshot
//    the first join left and SNAPSHOT_EVERY/2 operations after it, and on a warm server (the
//    board in memory). Needs Postgres; skipped on PGlite.
import pg from "pg";
import WebSocket from "ws";
import { startAppServer, usePostgres } from "./lib/app-server";
import { startServerChild, SERVER_CHILD_PINNING, serverCore, type ServerChild } from "./lib/child";
import { createRoom, openMany, openWs, signIn, signInMany } from "./lib/clients";
import { createPostgresDatabase, dropPostgresDatabase } from "./lib/db";
import { fmt, median, Progress, round, sleep, table } from "./lib/common";
import { benchScript } from "./lib/script";
import { SNAPSHOT_EVERY } from "../lib/protocol";

export interface CanvasOptions {
  users?: number;
  hz?: number;
  durationMs?: number;
  objects?: number;
  ops?: number;
  joins?: number;
  serverCore?: number | null;
  postgres?: boolean;
  progress?: Progress;
}

export interface DragSample {
  mode: "coalesced" | "every event";
  inputsPerSec: number;
  framesPerClientPerSec: number;
  bytesPerClientPerSec: number;
}

export interface JoinSample {
  case: "no snapshot (fold the whole log)" | "latest snapshot + the operations after it" | "board in memory";
  opsFolded: number;
  medianMs: number;
  snapshotBytes: number;
}

export interface CommitSample {
  case: string;
  boards: number;
  clients: number;
  /** Changes acknowledged (durable) per second, all clients together. */
  opsPerSec: number;
}

export interface CanvasResults {
  /** The drag runs, one per mode. */
  samples: DragSample[];
  /** coalesced ÷ every event, bytes per client. */
  bytesRatio: number | null;
  joins: JoinSample[];
  board: { objects: number; ops: number } | null;
  /** Commit throughput of `canvas.ops`: each client with one change in flight, as the outbox sends them. */
  commits: CommitSample[];
  targets: { bytesRatioMax: number; bytesMet: boolean | null };
}

const LIVE_PREFIX = Buffer.from('{"type":"canvas.live"');

export async function runCanvas(opts: CanvasOptions = {}): Promise<CanvasResults> {
  const progress = opts.progress ?? new Progress("canvas", false);
  const postgres = await usePostgres(opts.postgres);
  const drags: DragSample[] = [];
  for (const mode of ["coalesced", "every event"] as const) {
    const s = await measureDrags(mode, { users: opts.users ?? 50, hz: opts.hz ?? 60, durationMs: opts.durationMs ?? 5000, postgres, core: serverCore(opts.serverCore) });
    drags.push(s);
    progress.note(`${mode}: ${fmt(s.framesPerClientPerSec)} frames/s, ${fmt(s.bytesPerClientPerSec / 1024)} KiB/s per client`);
  }
  const c = drags.find((d) => d.mode === "coalesced");
  const u = drags.find((d) => d.mode === "every event");
  const bytesRatio = c && u ? round(c.bytesPerClientPerSec / u.bytesPerClientPerSec, 3) : null;

  const commits: CommitSample[] = [];
  const clients = opts.users ?? 50;
  for (const boards of [clients, 1]) {
    const c = await measureCommits(boards, clients, opts.durationMs ?? 5000, postgres, serverCore(opts.serverCore));
    commits.push(c);
    progress.note(`${c.case}: ${fmt(c.opsPerSec)} changes/s`);
  }

  let joins: JoinSample[] = [];
  let board: CanvasResults["board"] = null;
  if (postgres) {
    board = { objects: opts.objects ?? 10_000, ops: opts.ops ?? 100_000 };
    joins = await measureJoins(board.objects, board.ops, opts.joins ?? 5, serverCore(opts.serverCore), progress);
  } else progress.note("late joiner: skipped (needs Postgres)");
  progress.done();
  return { samples: drags, bytesRatio, joins, board, commits, targets: { bytesRatioMax: 1 / 3, bytesMet: bytesRatio === null ? null : bytesRatio <= 1 / 3 } };
}

/** Everyone in the room with the canvas open; each drags its own note at `hz` for `durationMs`. */
async function measureDrags(
  mode: DragSample["mode"],
  o: { users: number; hz: number; durationMs: number; postgres: boolean; core: number | undefined },
): Promise<DragSample> {
  const server = await startAppServer({ postgres: o.postgres, tuning: { coalesceCursors: mode === "coalesced" } }, { core: o.core });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const cookies = await signInMany(base, o.users, "dragger");
    const room = "board";
    await createRoom(base, cookies[0]!, room);
    const counters = cookies.map(() => ({ frames: 0, bytes: 0, counting: false }));
    const sockets = await openMany(o.users, (i) =>
      openWs(`ws://127.0.0.1:${server.port}/ws`, {
        cookie: cookies[i],
        onMessage: (data) => {
          const c = counters[i]!;
          if (!c.counting || !data.subarray(0, LIVE_PREFIX.length).equals(LIVE_PREFIX)) return;
          c.frames++;
          c.bytes += data.length;
        },
      }),
    );
    for (const ws of sockets) {
      ws.send(JSON.stringify({ type: "join", room }));
      ws.send(JSON.stringify({ type: "canvas.join", room }));
    }
    await sleep(500);
    await server.settled(0.1, 5000);
    const interval = 1000 / o.hz;
    let inputs = 0;
    let stop = false;
    for (const c of counters) c.counting = true;
    const started = performance.now();
    const loops = sockets.map(async (ws, i) => {
      let step = 0;
      await sleep(Math.random() * interval);
      while (!stop) {
        const x = 100 + ((step * 3) % 800);
        ws.send(JSON.stringify({ type: "canvas.live", room, drags: { [`note-${i}`]: { x, y: 50 + i * 10, w: 160, h: 120 } } }));
        inputs++;
        step++;
        await sleep(interval);
      }
    });
    await sleep(o.durationMs);
    stop = true;
    await Promise.all(loops);
    const seconds = (performance.now() - started) / 1000;
    for (const c of counters) c.counting = false;
    for (const ws of sockets) ws.terminate();
    const frames = median(counters.map((c) => c.frames));
    const bytes = median(counters.map((c) => c.bytes));
    return {
      mode,
      inputsPerSec: round(inputs / seconds, 0),
      framesPerClientPerSec: round(frames / seconds, 1),
      bytesPerClientPerSec: round(bytes / seconds, 0),
    };
  } finally {
    await server.stop();
  }
}

/**
 * `clients` people, spread over `boards` rooms, each changing its own note back to back with one
 * change in flight (the outbox's window per lane): changes acknowledged per second. Changes to one
 * board take turns on the server (each is checked against the one before); changes to different
 * boards share the log's group commit.
 */
async function measureCommits(boards: number, clients: number, durationMs: number, postgres: boolean, core: number | undefined): Promise<CommitSample> {
  const server = await startAppServer({ postgres }, { core });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const cookies = await signInMany(base, clients, "changer");
    for (let b = 0; b < boards; b++) await createRoom(base, cookies[0]!, `b${b}`);
    const waiters = cookies.map(() => new Map<string, () => void>());
    const sockets = await openMany(clients, (i) =>
      openWs(`ws://127.0.0.1:${server.port}/ws`, {
        cookie: cookies[i],
        onMessage: (data) => {
          if (!data.subarray(0, 20).toString().startsWith('{"type":"ack"') && !data.subarray(0, 20).toString().startsWith('{"type":"error"')) return;
          const f = JSON.parse(data.toString()) as { clientId?: string };
          if (f.clientId) waiters[i]!.get(f.clientId)?.();
        },
      }),
    );
    const ask = (i: number, frame: Record<string, unknown> & { clientId: string }) =>
      new Promise<void>((resolve) => {
        waiters[i]!.set(frame.clientId, () => {
          waiters[i]!.delete(frame.clientId);
          resolve();
        });
        sockets[i]!.send(JSON.stringify(frame));
      });
    await Promise.all(
      sockets.map(async (ws, i) => {
        const room = `b${i % boards}`;
        ws.send(JSON.stringify({ type: "join", room }));
        await sleep(100);
        await ask(i, { type: "canvas.ops", room, ops: [{ op: "create", id: `n${i}`, object: { kind: "note", x: 0, y: 0, w: 100, h: 80, z: i, color: "#fde68a", text: "" } }], clientId: `create-${i}` });
      }),
    );
    await server.settled(0.1, 5000);
    let acked = 0;
    let stop = false;
    const started = performance.now();
    await Promise.all(
      sockets.map(async (_, i) => {
        const room = `b${i % boards}`;
        for (let k = 0; !stop; k++) {
          await ask(i, { type: "canvas.ops", room, ops: [{ op: "update", id: `n${i}`, set: { x: k % 1000 } }], clientId: `u-${i}-${k}` });
          if (!stop) acked++;
        }
      }).concat([sleep(durationMs).then(() => void (stop = true))]),
    );
    const seconds = (performance.now() - started) / 1000;
    for (const ws of sockets) ws.terminate();
    return { case: boards === 1 ? `${clients} people on one board` : `${clients} people on ${boards} boards`, boards, clients, opsPerSec: round(acked / seconds, 0) };
  } finally {
    await server.stop();
  }
}

/** Writes `ops` canvas operations (the first `objects` creates, then moves and edits) into the log. */
async function seed(url: string, room: string, actorId: string, objects: number, ops: number, from = 1): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const stream = `canvas:${room}`;
    const BATCH = 5000;
    for (let start = from; start < from + ops; start += BATCH) {
      const seqs: number[] = [];
      const datas: string[] = [];
      for (let seq = start; seq < Math.min(from + ops, start + BATCH); seq++) {
        const n = seq - 1;
        const op =
          n < objects
            ? { op: "create", id: `o${n}`, object: { kind: "note", x: (n % 100) * 170, y: Math.floor(n / 100) * 130, w: 160, h: 120, z: n, color: "#fde68a", text: `note ${n}` } }
            : n % 3 === 0
              ? { op: "update", id: `o${n % objects}`, set: { text: `edit ${n}` } }
              : { op: "update", id: `o${n % objects}`, set: { x: (n * 7) % 17_000, y: (n * 13) % 13_000 } };
        seqs.push(seq);
        datas.push(JSON.stringify({ ops: [op], clientId: `seed-${seq}` }));
      }
      await client.query(
        `INSERT INTO events (stream, seq, type, actor_id, actor_name, at, data, client_id)
         SELECT $1, s, 'canvas.ops', $2, 'Seeder', now(), d::jsonb, 'seed-' || s FROM unnest($3::int8[], $4::text[]) AS v(s, d)`,
        [stream, actorId, seqs, datas],
      );
    }
    await client.query(
      `INSERT INTO streams (name, head) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET head = EXCLUDED.head`,
      [stream, from + ops - 1],
    );
  } finally {
    await client.end();
  }
}

/** Opens a socket in `room` and times `canvas.join` → its snapshot frame, parsed. */
async function timeJoin(port: number, cookie: string, room: string): Promise<{ ms: number; bytes: number; seq: number }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { cookie }, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  try {
    const answer = (type: string) =>
      new Promise<{ data: Buffer; at: number }>((resolve) => {
        const on = (data: Buffer) => {
          if (!data.subarray(0, 40).toString().includes(`"type":"${type}"`)) return;
          ws.off("message", on);
          resolve({ data, at: performance.now() });
        };
        ws.on("message", on);
      });
    const joined = answer("joined");
    ws.send(JSON.stringify({ type: "join", room }));
    await joined;
    const snap = answer("canvas.snapshot");
    const started = performance.now();
    ws.send(JSON.stringify({ type: "canvas.join", room }));
    const { data } = await snap;
    const parsed = JSON.parse(data.toString()) as { seq: number; objects: unknown[] };
    return { ms: performance.now() - started, bytes: data.length, seq: parsed.seq };
  } finally {
    ws.terminate();
  }
}

async function measureJoins(objects: number, ops: number, joins: number, core: number | undefined, progress: Progress): Promise<JoinSample[]> {
  const url = await createPostgresDatabase();
  let server: ServerChild | null = null;
  const start = () => startServerChild("app", { databaseUrl: url }, { core });
  try {
    server = await start();
    const base = `http://127.0.0.1:${server.port}`;
    const cookie = await signIn(base, "Late");
    const room = "bigboard";
    await createRoom(base, cookie, room);
    progress.note(`late joiner: seeding ${objects} objects and ${ops} operations`);
    await seed(url, room, "seeder", objects, ops);
    const samples: JoinSample[] = [];

    // 1. No snapshot: the first join folds the whole log (and leaves a snapshot behind).
    const cold = await timeJoin(server.port, cookie, room);
    samples.push({ case: "no snapshot (fold the whole log)", opsFolded: ops, medianMs: round(cold.ms, 1), snapshotBytes: cold.bytes });
    progress.note(`no snapshot: ${fmt(cold.ms)} ms`);
    for (let i = 0; i < 100; i++) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const r = await c.query("SELECT seq FROM canvas_snapshots");
      await c.end();
      if (r.rows.length > 0) break;
      await sleep(50);
    }
    await server.stop();
    server = null;

    // 2. Snapshot + the operations after it, on a fresh server each time (nothing in memory).
    const after = Math.floor(SNAPSHOT_EVERY / 2);
    await seed(url, room, "seeder", objects, after, ops + 1);
    const withSnapshot: number[] = [];
    let bytes = 0;
    for (let i = 0; i < joins; i++) {
      server = await start();
      const t = await timeJoin(server.port, cookie, room);
      withSnapshot.push(t.ms);
      bytes = t.bytes;
      // 3. The same server again: the board is in memory.
      if (i === 0) {
        const warm: number[] = [];
        for (let j = 0; j < joins; j++) warm.push((await timeJoin(server.port, cookie, room)).ms);
        samples.push({ case: "board in memory", opsFolded: 0, medianMs: round(median(warm), 1), snapshotBytes: bytes });
      }
      await server.stop();
      server = null;
    }
    samples.splice(1, 0, { case: "latest snapshot + the operations after it", opsFolded: after, medianMs: round(median(withSnapshot), 1), snapshotBytes: bytes });
    return samples;
  } finally {
    if (server) await server.stop();
    await dropPostgresDatabase(url).catch(() => {});
  }
}

export function canvasMarkdown(r: CanvasResults): string {
  const drags = table(
    ["drags", "inputs/s (all people)", "canvas.live frames/s per client", "KiB/s per client"],
    r.samples.map((d) => [d.mode, fmt(d.inputsPerSec, 0), fmt(d.framesPerClientPerSec), fmt(d.bytesPerClientPerSec / 1024)]),
  );
  const c = r.samples.find((d) => d.mode === "coalesced");
  const u = r.samples.find((d) => d.mode === "every event");
  // The load generator may not reach the same input rate in both runs: per input is the fair ratio.
  const perInput = c && u && c.inputsPerSec > 0 && u.inputsPerSec > 0 ? c.bytesPerClientPerSec / c.inputsPerSec / (u.bytesPerClientPerSec / u.inputsPerSec) : null;
  const ratio =
    r.bytesRatio === null
      ? ""
      : `\n\nCoalesced ÷ every event, bytes per client: ${fmt(r.bytesRatio, 3)}${perInput === null ? "" : ` (${fmt(perInput, 3)} per drag event sent)`} (target ≤ 0.333: ${r.targets.bytesMet ? "met" : "not met"}).`;
  const joins =
    r.joins.length === 0
      ? "\n\nLate joiner: not measured (needs Postgres)."
      : `\n\nLate joiner on a board of ${fmt(r.board!.objects, 0)} objects after ${fmt(r.board!.ops, 0)} operations:\n\n` +
        table(
          ["late joiner", "operations folded", "canvas.join → snapshot parsed (ms, median)", "snapshot frame (KiB)"],
          r.joins.map((j) => [j.case, fmt(j.opsFolded, 0), fmt(j.medianMs), fmt(j.snapshotBytes / 1024, 0)]),
        );
  const commits =
    r.commits.length === 0
      ? ""
      : "\n\nCommit throughput of canvas changes, each person with one change in flight (as the outbox sends them):\n\n" +
        table(["changes", "acknowledged (durable) per second"], r.commits.map((c) => [c.case, fmt(c.opsPerSec, 0)]));
  return `${drags}${ratio}${commits}${joins}`;
}

benchScript(import.meta.url, {
  name: "canvas",
  settings: ({ quick, num }) => ({
    users: num("users", quick ? 10 : 50),
    hz: num("hz", 60),
    durationMs: num("duration", quick ? 1000 : 5000),
    objects: num("objects", quick ? 1000 : 10_000),
    ops: num("ops", quick ? 10_000 : 100_000),
    joins: num("joins", quick ? 2 : 5),
  }),
  run: (settings, progress) => runCanvas({ ...settings, progress }),
  pinning: SERVER_CHILD_PINNING,
  markdown: canvasMarkdown,
});
