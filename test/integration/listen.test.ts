// The LISTEN connection that carries other instances' NOTIFYs, on a real Postgres: a connection
// that dies without a word is noticed and replaced, and the listener is told to catch up.
import { afterEach, describe, expect, it } from "vitest";
import pg from "pg";
import { openDatabase, type Database } from "../../server/db/database";
import { waitFor } from "../helpers/server";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy";

const base = process.env.DATABASE_URL;

describe.runIf(base)("LISTEN connection", () => {
  let proxy: TcpProxy | undefined;
  let db: Database | undefined;
  afterEach(async () => {
    await db?.close();
    await proxy?.close();
  });

  const notify = async (channel: string, payload: string) => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    try {
      await c.query("SELECT pg_notify($1, $2)", [channel, payload]);
    } finally {
      await c.end();
    }
  };

  it("replaces a connection that went silent, says so, and hears notifications again", async () => {
    const u = new URL(base!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    db = await openDatabase({ url: proxy.via(base!), listenCheckMs: 200 });
    const channel = `rt_liveness_${process.pid}`;
    const heard: string[] = [];
    let reconnects = 0;
    await db.listen(channel, (p) => heard.push(p), () => reconnects++);
    await notify(channel, "before");
    await waitFor(() => heard.includes("before"), 5000, "the first notification");

    proxy.silence();
    await notify(channel, "while silent");
    await waitFor(() => reconnects === 1, 10_000, "the listener to notice and reconnect");
    expect(heard).not.toContain("while silent");
    await notify(channel, "after");
    await waitFor(() => heard.includes("after"), 5000, "a notification on the new connection");
  });
});
