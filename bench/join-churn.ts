// Join/leave churn against a bystander (issue 13, finding 4): `--sockets` people each leave
// `general` and join it again every `--period` ms (back `--gap` ms after leaving), within the
// join limit, while a bystander in the room posts a message over HTTP every 150 ms. Prints the
// bystander's ack p50/p99 with no churn and under churn, and what presence cost it on the wire.
//
//   node --import tsx bench/join-churn.ts [--sockets 300] [--period 400] [--gap 200] [--seconds 15] [--postgres] [--profile out.cpuprofile]
//
// A measurement, not a test: run it on a quiet machine and compare runs side by side.
import type WebSocket from "ws";
import { startAppServer, usePostgres } from "./lib/app-server";
import { openMany, openWs, signIn, signInMany } from "./lib/clients";
import { Latency, parseArgs, round, sleep } from "./lib/common";

const args = parseArgs();
const SOCKETS = args.num("sockets", 300);
const PERIOD_MS = args.num("period", 400);
const GAP_MS = args.num("gap", 200);
const SECONDS = args.num("seconds", 15);
/** Under the per-session send limit (10/s), so no post is refused for its pace. */
const POST_EVERY_MS = 150;
const ROOM = "general";

async function main(): Promise<void> {
  const server = await startAppServer({ postgres: await usePostgres(args.has("postgres")) });
  const base = `http://127.0.0.1:${server.port}`;
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  try {
    const bystander = await signIn(base, "Bystander");
    // The bystander's own socket in the room, counting the presence bytes it is sent.
    const heard = { frames: 0, bytes: 0 };
    const watch = await openWs(wsUrl, {
      cookie: bystander,
      protocols: ["rt.v1.1", "rt.v1"],
      onMessage: (data) => {
        if (data.includes('"type":"presence')) {
          heard.frames++;
          heard.bytes += data.length;
        }
      },
    });
    watch.send(JSON.stringify({ type: "join", room: ROOM }));

    const cookies = await signInMany(base, SOCKETS, "churner");
    const sockets: WebSocket[] = await openMany(SOCKETS, (i) => openWs(wsUrl, { cookie: cookies[i]!, protocols: ["rt.v1.1", "rt.v1"] }));
    for (const ws of sockets) ws.send(JSON.stringify({ type: "join", room: ROOM }));
    // First joins write each person's `member.joined`: let that finish before measuring.
    await server.settled(0.1, 60_000);

    const quiet = await measure(base, bystander, SECONDS * 1000);
    const heardBefore = { ...heard };

    let churning = true;
    const timers = sockets.map((ws, i) =>
      setTimeout(function cycle() {
        if (!churning) return;
        ws.send(JSON.stringify({ type: "leave", room: ROOM }));
        setTimeout(() => churning && ws.send(JSON.stringify({ type: "join", room: ROOM })), GAP_MS);
        timers[i] = setTimeout(cycle, PERIOD_MS);
      }, (i * PERIOD_MS) / SOCKETS),
    );
    await sleep(1_000);
    const profile = args.get("profile");
    if (profile) await server.profileStart();
    const churn = await measure(base, bystander, SECONDS * 1000);
    if (profile) await server.profileStop(profile);
    churning = false;
    for (const t of timers) clearTimeout(t);

    const seconds = SECONDS + 1;
    console.log(
      JSON.stringify(
        {
          database: server.database,
          sockets: SOCKETS,
          periodMs: PERIOD_MS,
          gapMs: GAP_MS,
          quiet,
          churn,
          bystanderPresence: {
            framesPerS: round((heard.frames - heardBefore.frames) / seconds, 1),
            kibPerS: round((heard.bytes - heardBefore.bytes) / 1024 / seconds, 1),
          },
        },
        null,
        2,
      ),
    );
    for (const ws of [watch, ...sockets]) ws.terminate();
  } finally {
    await server.stop();
  }
}

/** Posts every 150 ms for `ms`; the acks' latency (a post with no answer in 30 s counts as 30 s). */
async function measure(base: string, cookie: string, ms: number) {
  const lat = new Latency();
  const failed: Record<string, number> = {};
  const end = Date.now() + ms;
  const inFlight: Promise<void>[] = [];
  for (let n = 0; Date.now() < end; n++) {
    const started = performance.now();
    inFlight.push(
      fetch(`${base}/api/rooms/${ROOM}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie },
        body: JSON.stringify({ text: `bystander ${n}`, clientId: `b-${Date.now()}-${n}` }),
        signal: AbortSignal.timeout(30_000),
      }).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status === 201) lat.record(performance.now() - started);
          else failed[res.status] = (failed[res.status] ?? 0) + 1;
        },
        () => {
          failed.timeout = (failed.timeout ?? 0) + 1;
          lat.record(30_000);
        },
      ),
    );
    await sleep(POST_EVERY_MS);
  }
  await Promise.all(inFlight);
  const s = lat.summary();
  return { acks: s.count, failed, p50Ms: round(s.p50, 1), p99Ms: round(s.p99, 1), maxMs: round(s.max, 1) };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
