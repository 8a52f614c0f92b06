// A separate OS process that sends a burst of requests: `tsx burst-client.ts <json options>`.
// Opens `flood` connections from 127.0.0.1 and one from 127.0.0.2, says "ready" over IPC, and
// on "go" writes `GET path` on every flood connection, then on the other one. Sends back the
// place the other address's answer came in among all of them, and exits.
import net from "node:net";

interface BurstOptions {
  port: number;
  flood: number;
  path: string;
}

const opts = JSON.parse(process.argv[2]!) as BurstOptions;
const send = (m: unknown) => process.send!(m);

const connect = (localAddress: string) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port: opts.port, localAddress }, () => resolve(socket));
    socket.once("error", reject);
  });

const flood = await Promise.all(Array.from({ length: opts.flood }, () => connect("127.0.0.1")));
const other = await connect("127.0.0.2");
const all = [...flood, other];
let answered = 0;
let otherAt = -1;
for (const socket of all) {
  let head = "";
  socket.on("data", (chunk: Buffer) => {
    head += chunk.toString("latin1");
    if (!head.includes("\r\n\r\n")) return;
    if (!head.startsWith("HTTP/1.1 200")) send({ error: head.split("\r\n")[0] });
    if (socket === other) otherAt = answered;
    answered++;
    socket.destroy();
    if (answered === all.length) {
      send({ otherAt, answered });
      process.exit(0);
    }
  });
}
process.on("message", () => {
  for (const socket of all) socket.write(`GET ${opts.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
});
send("ready");
