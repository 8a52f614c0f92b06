// The real server on the embedded database, whose Postgres runs in a process of its own: the two
// live and die together. Killing the app takes the database's process with it (nothing orphaned);
// killing the database's process stops the app with a non-zero code and loses no acknowledged
// message; a second server on the same DATA_DIR is refused with a clear message.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RealtimeEvent } from "../../lib/protocol";
import { isAlive } from "../../server/db/datadir-lock";
import { spawnServer, type ServerProcess } from "../helpers/process";

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A data folder and the server's environment on it. */
function dataFolder() {
  const dir = mkdtempSync(path.join(tmpdir(), "rt-embedded-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, env: { DATA_DIR: dir, SESSION_SECRET: "embedded-test-secret-embedded-test-0123" } };
}

/** The database's process and its app, from the data directory's lock (`<db pid> <app pid>`). */
function lockOf(dir: string): { db: number; app: number } {
  const [db, app] = readFileSync(path.join(dir, "pglite.lock"), "utf8").trim().split(" ").map(Number);
  return { db: db!, app: app! };
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const s = await spawnServer(env);
  cleanups.push(() => s.kill("SIGKILL"));
  return s;
}

const post = (base: string, cookie: string, text: string) =>
  fetch(`${base}/api/rooms/general/messages`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify({ text, clientId: text }),
  });

async function signIn(base: string): Promise<string> {
  const res = await fetch(`${base}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Kim" }) });
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

describe("the embedded database's process beside the server", () => {
  it("is the server's child, and goes when the server is killed with SIGKILL", async () => {
    const { dir, env } = dataFolder();
    const server = await start(env);
    const lock = lockOf(dir);
    expect(lock.app).toBe(server.child.pid);
    expect(lock.db).not.toBe(server.child.pid);
    expect(isAlive(lock.db)).toBe(true);
    await server.kill("SIGKILL");
    await until("the database's process to exit", () => !isAlive(lock.db));
  }, 90_000);

  it("stops the server with a non-zero code when it dies, and no acknowledged message is lost", async () => {
    const { dir, env } = dataFolder();
    const first = await start(env);
    const cookie = await signIn(first.url);
    const acked: Array<{ seq: number; text: string }> = [];
    let n = 0;
    let stop = false;
    const lane = async () => {
      while (!stop) {
        const text = `m-${n++}`;
        const res = await post(first.url, cookie, text).catch(() => null);
        if (res?.status === 201) acked.push({ seq: ((await res.json()) as { event: RealtimeEvent }).event.seq, text });
        else if (!res) stop = true;
      }
    };
    const lanes = Promise.all([lane(), lane(), lane()]);
    await until("50 acknowledged messages", () => acked.length >= 50, 60_000);
    const exit = new Promise<number | null>((resolve) => first.child.once("exit", (code) => resolve(code)));
    process.kill(lockOf(dir).db, "SIGKILL");
    expect(await exit).toBe(1);
    stop = true;
    await lanes;
    expect(first.output()).toContain("the embedded database's process exited");

    const second = await start(env);
    const res = await fetch(`${second.url}/api/rooms/general/events?limit=200`, { headers: { cookie } });
    const history = ((await res.json()) as { events: RealtimeEvent[] }).events;
    const bySeq = new Map(history.map((e) => [e.seq, (e.data as { text: string }).text]));
    for (const a of acked.slice(-150)) expect(bySeq.get(a.seq), `seq ${a.seq}`).toBe(a.text);
    await second.kill("SIGTERM");
  }, 120_000);

  it("refuses a second server on the same DATA_DIR, naming the first; SIGTERM stops both processes and frees it", async () => {
    const { dir, env } = dataFolder();
    const first = await start(env);
    const { db } = lockOf(dir);
    const refused = await spawnServer(env).then(
      () => null,
      (err: Error) => err.message,
    );
    expect(refused).toContain(`is in use by process ${first.child.pid}`);
    expect(isAlive(db)).toBe(true);

    await first.kill("SIGTERM");
    expect(first.child.exitCode).toBe(0);
    await until("the database's process to exit", () => !isAlive(db));
    const again = await start(env);
    expect(lockOf(dir).app).toBe(again.child.pid);
    await again.kill("SIGTERM");
  }, 120_000);
});
