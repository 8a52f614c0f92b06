// Draining with a message in flight: the append waits on a row lock held by the test, so the
// drain starts while it is accepted but not yet committed. Its sender must hear the ack before
// the socket closes, and the message must be in the log — no retry hides a loss. On the embedded
// database the test's open transaction holds the one backend, so the append waits its turn.
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
});
