// The bystander in a process of its own. In the bench's own process its clock would be the
// attacker's: parsing what the server sends 1,000 churning sockets, or starting 2,000 requests a
// second, holds up the event loop that reads the bystander's acks, and that delay would be
// counted as the server's. A real bystander is someone else's browser; a process of its own is
// the nearest this machine has. Driven over IPC by `startBystanderProcess` (bystander.ts).
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startBystander, type Bystander } from "./bystander";

const loop = monitorEventLoopDelay({ resolution: 5 });

type Command = { op: "start"; options: Parameters<typeof startBystander>[0] } | { op: "startWindow" } | { op: "endWindow" } | { op: "close" };

let bystander: Bystander | null = null;
const reply = (msg: unknown) => process.send!(msg);

process.on("message", (cmd: Command) => {
  void (async () => {
    try {
      switch (cmd.op) {
        case "start":
          bystander = await startBystander(cmd.options);
          return reply({ op: "started" });
        case "startWindow":
          loop.reset();
          loop.enable();
          bystander!.startWindow();
          return reply({ op: "windowStarted" });
        case "endWindow":
          loop.disable();
          process.stderr.write(`bystander loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms\n`);
          return reply({ op: "figures", figures: await bystander!.endWindow() });
        case "close":
          bystander?.close();
          reply({ op: "closed" });
          return process.disconnect();
      }
    } catch (err) {
      reply({ op: "error", message: err instanceof Error ? err.message : String(err) });
    }
  })();
});
