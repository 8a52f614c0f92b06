// A separate OS process that appends to the event log: `tsx append-worker.ts <json options>`.
// Prints one line per acknowledged append ("ack <seq> <text>") so a parent can check durability.
import { openDatabase } from "../../server/db/database";
import { EventLog } from "../../server/eventlog";

interface WorkerOptions {
  url?: string;
  dataDir?: string;
  stream: `room:${string}`;
  count: number;
  concurrency: number;
  tag: string;
}

const opts = JSON.parse(process.argv[2]!) as WorkerOptions;
const db = await openDatabase({ url: opts.url, dataDir: opts.dataDir, poolSize: 4 });
const log = new EventLog(db);
let next = 0;
const out: string[] = [];
const flush = () => {
  if (out.length) process.stdout.write(out.splice(0).join(""));
};

async function lane(): Promise<void> {
  while (next < opts.count) {
    const i = next++;
    const text = `${opts.tag}-${i}`;
    const { event } = await log.append({
      stream: opts.stream,
      type: "message",
      actor: { id: `u_${opts.tag}`, name: opts.tag },
      data: { text, clientId: text },
      clientId: text,
    });
    out.push(`ack ${event.seq} ${text}\n`);
    if (out.length >= 20) flush();
  }
}

await Promise.all(Array.from({ length: opts.concurrency }, lane));
flush();
await log.close();
await db.close();
process.stdout.write("done\n");
