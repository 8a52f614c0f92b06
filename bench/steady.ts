// bench/steady.ts — a server under a steady load, for looking inside it: rooms full of clients
// (as bench:fanout opens them), messages at one fixed rate for as long as asked, and the server's
// pid printed once the load is on, so that `perf record -t PID`, `strace -c -p PID` or
// `/proc/PID/task/*/stat` can watch it. Prints the server's CPU over the window at the end.
//   node_modules/.bin/tsx bench/steady.ts --server ours --rate 10 --seconds 30 --shape 50
//   --warm 20 [--warm-rate 200]: seconds of a higher rate first (the JIT's warm-up kept out of the window)
//   --rest 15: seconds to wait after the server is quiet (what connecting set going is done)
//   --embedded: ours on the embedded database (else Postgres when one answers)
//   --profile FILE: the server's CPU profile over the window (--heap: a heap profile beside it)
//   --before DIR: ours from another checkout of the repository (an earlier commit's server)
// Extra flags for the server's node (e.g. --perf-basic-prof, so perf names JavaScript frames):
//   BENCH_SERVER_NODE_ARGS="--perf-basic-prof --interpreted-frames-native-stack"
import { usePostgres } from "./lib/app-server";
import { parseArgs, Progress, sleep } from "./lib/common";
import { openRoomClients, startRoomServer, timedText, type RoomServer } from "./lib/rooms";

async function main(): Promise<void> {
  const args = parseArgs();
  const server = (args.get("server") ?? "ours") as RoomServer;
  const rate = args.num("rate", 10);
  const seconds = args.num("seconds", 30);
  const rooms = args.num("shape", 50);
  const perRoom = 1000 / rooms;
  const embedded = args.has("embedded");
  const profile = args.get("profile");
  const progress = new Progress("steady");
  const child = await startRoomServer(server, { postgres: !embedded && (await usePostgres()), pgliteOnDisk: embedded, core: 0, root: args.get("before") });
  try {
    let delivered = 0;
    const c = await openRoomClients({ server, port: child.port, rooms, perRoom, people: 50, label: server, progress, onTimed: () => delivered++ });
    await child.settled();
    // Warming up: the same load at a higher rate first, so that the window measures code the JIT
    // has compiled, as a server that has run for a while has, rather than its first minutes.
    const warm = args.num("warm", 0);
    if (warm > 0) await sendAt(c, rooms, perRoom, args.num("warm-rate", 200), warm);
    await sleep(args.num("rest", 0) * 1000);
    delivered = 0;
    if (profile) await child.profileStart(undefined, { heap: args.has("heap") });
    const s0 = await child.stats();
    console.log(`under load: pid ${child.pid}, ${rate} msg/s for ${seconds} s`);
    const t0 = performance.now();
    const sent = await sendAt(c, rooms, perRoom, rate, seconds);
    await sleep(500);
    const s1 = await child.stats();
    if (profile) await child.profileStop(profile);
    const secs = (performance.now() - t0) / 1000;
    const cpuUs = s1.cpuUserUs - s0.cpuUserUs + (s1.cpuSystemUs - s0.cpuSystemUs);
    const sysUs = s1.cpuSystemUs - s0.cpuSystemUs;
    console.log(
      `sent ${sent}, delivered ${delivered}; server CPU ${(cpuUs / 1000 / secs).toFixed(1)} ms/s (kernel ${(sysUs / 1000 / secs).toFixed(1)}), ` +
        `${delivered > 0 ? (cpuUs / delivered).toFixed(1) : "-"} µs per delivery`,
    );
    c.close();
  } finally {
    await child.stop();
  }
}

/** Sends `rate` messages a second for `seconds`, spread over the rooms and their members; returns how many. */
async function sendAt(c: Awaited<ReturnType<typeof openRoomClients>>, rooms: number, perRoom: number, rate: number, seconds: number): Promise<number> {
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    for (; sent < due; sent++) c.send((sent % rooms) * perRoom + (Math.floor(sent / rooms) % perRoom), timedText());
    await sleep(1);
  }
  return sent;
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
