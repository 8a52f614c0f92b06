// The tutorial's curl commands, run as a reader runs them — copied from the chapters' ```sh
// blocks, with only the address and the cookie jar's path changed — against a real server on
// 127.0.0.1. Chapter 1 signs in and posts the same message twice; chapter 5 follows the feed
// and resumes it with Last-Event-ID. If a chapter's command or what it promises stops being
// true, this fails.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, waitFor, type TestServer } from "../helpers/server";
import type { RealtimeEvent } from "../../lib/protocol";

const DIR = path.resolve(__dirname, "../../docs/tutorial");

/** The curl command lines of a chapter's ```sh blocks, in order. */
function curlCommands(chapter: string): string[] {
  const text = readFileSync(path.join(DIR, chapter), "utf8");
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split("\n").filter((l) => /^curl\s/.test(l)));
}

let s: TestServer;
let scratch: string;

/** The command as a reader on this machine would run it: our server's address, our own jar. */
const localize = (line: string) => line.replaceAll("localhost:3000", s.url.replace("http://", "")).replaceAll("/tmp/jar", path.join(scratch, "jar"));

/** Runs a command that ends by itself: its exit status and output. */
function run(line: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", localize(line)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill(), 15_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a command that streams until stopped (curl -N); the reader watches its output. */
function follow(line: string) {
  const child = spawn("sh", ["-c", `exec ${localize(line)}`], { stdio: ["ignore", "pipe", "pipe"] });
  const out = { text: "", exited: null as number | null };
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out.text += c));
  child.on("exit", (code) => (out.exited = code ?? -1));
  return {
    out,
    /** The SSE events received so far (data lines parsed). */
    events: () => [...out.text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as RealtimeEvent),
    stop: () =>
      new Promise<void>((resolve) => {
        if (out.exited !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}

beforeAll(async () => {
  s = await startServer();
  scratch = mkdtempSync(path.join(tmpdir(), "rt-tutorial-"));
});
afterAll(async () => {
  await s?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// The chapters run in order: chapter 5 reuses chapter 1's cookie jar, as it tells the reader to.
describe.sequential("the tutorial's commands", () => {
  it("chapter 1: sign in (200), post a message (201), post it again (200, the same event)", async () => {
    const commands = curlCommands("01-event-log.md");
    expect(commands).toHaveLength(3);
    const answers = [];
    for (const command of commands) {
      const { code, stdout, stderr } = await run(command);
      expect(code, `${command}\n${stderr}`).toBe(0);
      // -w ' %{http_code}\n' prints the status after the body.
      const m = /^([\s\S]*) (\d{3})\n$/.exec(stdout);
      expect(m, stdout).not.toBeNull();
      answers.push({ status: Number(m![2]), body: JSON.parse(m![1]!) as { event?: RealtimeEvent; user?: { name: string } } });
    }
    expect(answers.map((a) => a.status)).toEqual([200, 201, 200]);
    expect(answers[0]!.body.user?.name).toBe("Ada");
    const first = answers[1]!.body.event!;
    expect(first).toMatchObject({ stream: "room:general", type: "message", data: { text: "hello" } });
    expect(answers[2]!.body.event).toEqual(first);
    const history = (await (await s.api("/api/rooms/general/events", { cookie: await jarCookie() })).json()) as { events: RealtimeEvent[] };
    expect(history.events.filter((e) => e.type === "message")).toHaveLength(1);
  });

  it("chapter 5: the feed streams a new room live, and Last-Event-ID: feed=1 resumes with everything after 1, once", async () => {
    const commands = curlCommands("05-sse-feed.md");
    expect(commands).toHaveLength(2);
    const [live, resumed] = commands as [string, string];
    expect(resumed).toContain("Last-Event-ID: feed=1");
    const lin = await s.signIn("Lin");
    const createRoom = async (name: string) => {
      const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: lin.cookie });
      expect(res.status).toBe(201);
    };
    const created = (events: RealtimeEvent[], room: string) =>
      events.filter((e) => e.type === "room.created" && JSON.stringify(e.data).includes(`"${room}"`));

    // "Create a room in the browser and watch room.created arrive."
    const first = follow(live);
    await waitFor(() => first.out.text.startsWith("retry: 2000\n") || first.out.exited !== null, 10_000, "the stream to open");
    expect(first.out.exited).toBeNull();
    await createRoom("tutorial-one");
    await waitFor(() => created(first.events(), "tutorial-one").length > 0 || first.out.exited !== null, 10_000, "room.created on the stream");
    expect(first.out.exited, "the stream stays open until the reader stops it").toBeNull();
    await first.stop();

    // "Stop curl, create another room, then reconnect with the last id you saw."
    await createRoom("tutorial-two");
    const second = follow(resumed);
    await waitFor(() => created(second.events(), "tutorial-two").length > 0 || second.out.exited !== null, 10_000, "the missed room.created");
    expect(second.out.exited).toBeNull();
    await second.stop();
    const feed = second.events().filter((e) => e.stream === "feed");
    const head = created(feed, "tutorial-two")[0]!.seq;
    // Everything after feed=1 up to the newest, in order, each once.
    expect(feed.map((e) => e.seq)).toEqual(Array.from({ length: head - 1 }, (_, i) => i + 2));
  });
});

/** The session cookie chapter 1's first command left in the jar, as a Cookie header. */
async function jarCookie(): Promise<string> {
  const jar = readFileSync(path.join(scratch, "jar"), "utf8");
  const line = jar.split("\n").find((l) => l.includes("\trt_session\t"));
  expect(line, "the jar holds the session cookie").toBeDefined();
  const fields = line!.split("\t");
  return `rt_session=${fields.at(-1)}`;
}
