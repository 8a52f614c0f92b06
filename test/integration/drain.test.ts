// Draining with a message in flight: the append waits on a row lock held by the test, so the
// drain starts while it is accepted but not yet committed. Its sender must hear the ack before
// the socket closes, and the message must be in the log — no retry hides a loss. On the embedded
// database the test's open transaction holds the one backend, so the append waits its turn.
// And an HTTP request under way when the drain begins is answered before the database closes.
import http from "node:http";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { dbKinds } from "../helpers/db";
import { isType, startServerWith, waitFor } from "../helpers/server";

describe.each(dbKinds)("drain with an append in flight on %s", (kind) => {
  it("commits the message and acknowledges it before closing the sender's socket with 1012", async () => {
    const [server, ada] = await startServerWith(["Ada"], { kind });
    const admin = new pg.Client({ connectionString: server.testDb.url });
    await admin.connect();
    try {
      const c = await server.connect(ada.cookie);
      c.send({ type: "join", room: "general" });
      await c.next(isType("joined"));
      c.send({ type: "send", room: "general", text: "first", clientId: "m1" });
      await c.next(isType("ack", (f) => f.clientId === "m1"));

      // Hold the room's stream row: the next append is accepted and then waits, uncommitted.
      await admin.query("BEGIN");
      await admin.query("SELECT 1 FROM streams WHERE name = 'room:general' FOR UPDATE");
      // Accepted, not committed: in the log's queue or its open batch. It cannot commit while the
      // test holds the room's row (on the embedded database, while the test's transaction holds
      // the one backend). Watched on the log itself: other appends (the first join's feed
      // event) may be in flight too, and a loaded machine may take seconds to get there.
      const append = vi.spyOn(server.app.log, "append");
      c.send({ type: "send", room: "general", text: "in flight", clientId: "m2" });
      await waitFor(() => append.mock.calls.some(([input]) => input.clientId === "m2"), 20_000, "the log to accept the message").catch((err: Error) => {
        throw new Error(`${err.message}; the socket's last frames: ${JSON.stringify(c.frames.slice(-4))}`);
      });
      append.mockRestore();
      expect(server.app.log.pending).toBeGreaterThan(0);

      const drained = server.app.shutdown();
      // A connection the draining server lets go of fails the fetch: ask again.
      const readyz = () => fetch(`${server.url}/readyz`).then((r) => r.status, () => 0);
      await waitFor(async () => (await readyz()) === 503, 20_000, "readyz 503 while draining");
      expect(c.closeCode, "the socket stays open while its message is uncommitted").toBeNull();
      await admin.query("COMMIT");
      await drained;

      expect(await c.closed()).toBe(1012);
      const ack = c.of("ack").find((f) => f.clientId === "m2");
      expect(ack, "the ack arrived before the close").toBeDefined();
      expect(c.of("error")).toEqual([]);
      const { rows } = await admin.query<{ seq: string; text: string }>(
        "SELECT seq, data->>'text' AS text FROM events WHERE stream = 'room:general' AND client_id = 'm2'",
      );
      expect(rows).toEqual([{ seq: String(ack!.seq), text: "in flight" }]);
    } finally {
      await admin.end();
      await server.stop();
    }
  });
  it("answers an HTTP request that was under way when the drain began, before closing the database", async () => {
    const [server, ada] = await startServerWith(["Ada"], { kind });
    try {
      // A room being created: its request is in, its body still coming when the drain begins.
      const body = JSON.stringify({ name: "late" });
      const arrived = new Promise<void>((resolve) => server.app.server.once("request", () => resolve()));
      const req = http.request(`${server.url}/api/rooms`, {
        method: "POST",
        headers: { cookie: ada.cookie, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      });
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        req.on("response", (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on("error", reject);
      });
      req.write(body.slice(0, 5));
      await arrived;

      // However far the drain gets on its own (to its end, or a second into it), the rest of
      // the body comes only then.
      const drained = server.app.shutdown();
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1_000))]);
      req.end(body.slice(5));

      const { status, body: text } = await answer;
      expect(status, text).toBe(201);
      await drained;
      const admin = new pg.Client({ connectionString: server.testDb.url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ id: string }>("SELECT id FROM rooms WHERE name = 'late'");
        expect(rows).toHaveLength(1);
      } finally {
        await admin.end();
      }
    } finally {
      await server.stop();
    }
  });
  it("cuts a request whose body keeps trickling in once half the drain's time is up, and closes", async () => {
    const [server, ada] = await startServerWith(["Ada"], { kind, env: { SHUTDOWN_TIMEOUT_MS: "2000" } });
    let trickle: ReturnType<typeof setInterval> | undefined;
    try {
      const arrived = new Promise<void>((resolve) => server.app.server.once("request", () => resolve()));
      const req = http.request(`${server.url}/api/rooms`, {
        method: "POST",
        headers: { cookie: ada.cookie, "content-type": "application/json", "content-length": 10_000 },
      });
      const cut = new Promise<string>((resolve) => {
        req.on("response", (res) => resolve(`answered ${res.statusCode}`));
        req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      // A byte of JSON's whitespace every 50 ms: never idle, never done.
      req.write("{");
      trickle = setInterval(() => req.write(" "), 50);
      await arrived;

      await server.app.shutdown();
      expect(await cut).toBe("ECONNRESET");
    } finally {
      clearInterval(trickle);
      await server.stop();
    }
  });
  it("refuses an event stream still being set up when the drain began, rather than leave it open", async () => {
    const [server, ada] = await startServerWith(["Ada"], { kind });
    try {
      // The stream's setup waits on the log's heads until the test lets it go on.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const heads = server.app.log.heads.bind(server.app.log);
      const asked = vi.spyOn(server.app.log, "heads").mockImplementationOnce(async (streams) => {
        await gate;
        return heads(streams);
      });
      const stream = new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${server.url}/api/stream?streams=feed`, { headers: { cookie: ada.cookie } }, resolve).on("error", reject),
      );
      await waitFor(() => asked.mock.calls.length > 0, 20_000, "the stream's setup to ask for the heads");

      const drained = server.app.shutdown();
      release();
      const res = await stream;
      res.resume();
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBe("1");
      await drained;
    } finally {
      await server.stop();
    }
  });
});
