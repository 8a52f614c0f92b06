// The tutorial's quick commands, run as a reader runs them — copied from the chapters' ```sh
// blocks, with only the address and the files under /tmp changed — against a real server on
// 127.0.0.1. Chapter 1 signs in and posts the same message twice; chapter 0 polls; chapter 2
// is refused at the door in each way it describes; chapter 5 follows the feed and resumes it
// from the last id it saw; the metrics commands of chapters 1, 4, 6, 8 and 9 find what they
// promise. If a chapter's command or what it promises stops being true, this fails. Commands
// that take minutes (benchmarks, the cluster) or need a browser are not run here.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, waitFor, type TestServer } from "../helpers/server";
import type { RealtimeEvent } from "../../lib/protocol";

const DIR = path.resolve(__dirname, "../../docs/tutorial");

/** The ```sh blocks of a chapter, each as its command lines. */
function shBlocks(chapter: string): string[][] {
  const text = readFileSync(path.join(DIR, chapter), "utf8");
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split("\n").filter((l) => l.trim() !== ""));
}

/** The curl command lines of a chapter's ```sh blocks, in order. */
const curlCommands = (chapter: string) => shBlocks(chapter).flat().filter((l) => /^curl\s/.test(l));

let s: TestServer;
let scratch: string;

/** The command as a reader on this machine would run it: our server's address, our own files. */
const localize = (line: string) => line.replaceAll("localhost:3000", s.url.replace("http://", "")).replaceAll("/tmp/", `${scratch}/`);

/** Runs a command that ends by itself: its exit status and output. */
function run(line: string, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", localize(line)], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts commands that stream until stopped (curl -N, maybe into tee); the reader watches their
 * output. They run in a process group of their own, so that stopping them stops every process
 * of the pipeline, as Ctrl-C does.
 */
function follow(script: string) {
  const child = spawn("sh", ["-c", localize(script)], { stdio: ["ignore", "pipe", "pipe"], detached: true });
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
        process.kill(-child.pid!, "SIGINT");
      }),
  };
}

/** A command that prints its body and then ' <status>' (curl -w ' %{http_code}\n'). */
function statusAndBody(stdout: string): { status: number; body: string } {
  const m = /^([\s\S]*?) ?(\d{3})\n$/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return { status: Number(m![2]), body: m![1]! };
}

beforeAll(async () => {
  s = await startServer();
  scratch = mkdtempSync(path.join(tmpdir(), "rt-tutorial-"));
});
afterAll(async () => {
  await s?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// The chapters run in the order a reader meets their commands: the others reuse chapter 1's
// cookie jar, as they tell the reader to.
describe.sequential("the tutorial's commands", () => {
  it("chapter 1: sign in (200), post a message (201), post it again (200, the same event); the repeat is counted", async () => {
    const commands = curlCommands("01-event-log.md");
    expect(commands).toHaveLength(4);
    const answers = [];
    for (const command of commands.slice(0, 3)) {
      const { code, stdout, stderr } = await run(command);
      expect(code, `${command}\n${stderr}`).toBe(0);
      const { status, body } = statusAndBody(stdout);
      answers.push({ status, body: JSON.parse(body) as { event?: RealtimeEvent; user?: { name: string } } });
    }
    expect(answers.map((a) => a.status)).toEqual([200, 201, 200]);
    expect(answers[0]!.body.user?.name).toBe("Ada");
    const first = answers[1]!.body.event!;
    expect(first).toMatchObject({ stream: "room:general", type: "message", data: { text: "hello" } });
    expect(answers[2]!.body.event).toEqual(first);
    const history = (await (await s.api("/api/rooms/general/events", { cookie: await jarCookie() })).json()) as { events: RealtimeEvent[] };
    expect(history.events.filter((e) => e.type === "message")).toHaveLength(1);

    const metrics = await run(commands[3]!);
    expect(metrics.code).toBe(0);
    expect(metrics.stdout).toMatch(/^rt_append_duplicates_total(\{[^}]*\})? 1$/m);
  });

  it("chapter 12: a message edited over HTTP shows its new text in history, and a delete blanks it and its edit", async () => {
    const [block] = shBlocks("12-messages-that-change.md");
    expect(block).toHaveLength(4);
    const { code, stdout, stderr } = await run(block!.join("\n"));
    expect(code, stderr).toBe(0);
    const [edit, history, del] = stdout.split(/(?<=\n)/);
    const edited = statusAndBody(edit!);
    expect(edited.status).toBe(200);
    const editEvent = (JSON.parse(edited.body) as { event: RealtimeEvent }).event;
    expect(editEvent).toMatchObject({ type: "message.edited", data: { text: "see you at 11" } });
    const seq = (editEvent.data as { seq: number }).seq;
    const page = JSON.parse(history!) as { events: RealtimeEvent[] };
    expect(page.events.map((e) => e.type)).toEqual(["message", "message.edited"]);
    expect(page.events[0]).toMatchObject({ seq, data: { text: "see you at 11", editedAt: editEvent.at } });
    expect(statusAndBody(del!).status).toBe(200);
    const after = (await (await s.api("/api/rooms/general/events?limit=3", { cookie: await jarCookie() })).json()) as { events: RealtimeEvent[] };
    expect(after.events.find((e) => e.seq === seq)).toMatchObject({ data: { text: "", deleted: true } });
    expect(after.events.find((e) => e.type === "message.edited")).toMatchObject({ data: { seq, text: "" } });
  });

  it("chapter 13: an account is created (201); a wrong password and an unknown username get the same 401", async () => {
    const commands = curlCommands("13-who-you-are.md");
    expect(commands).toHaveLength(3);
    const answers = [];
    for (const command of commands) {
      const { code, stdout, stderr } = await run(command);
      expect(code, `${command}\n${stderr}`).toBe(0);
      answers.push(statusAndBody(stdout));
    }
    expect(answers.map((a) => a.status)).toEqual([201, 401, 401]);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ user: { name: "grace" } });
    expect(JSON.parse(answers[0]!.body).user.guest).toBeUndefined();
    expect(answers[1]!.body).toBe(answers[2]!.body);
    const again = statusAndBody((await run(commands[0]!)).stdout);
    expect([again.status, JSON.parse(again.body).error.code]).toEqual([409, "username_taken"]);
  });

  it("chapter 14: a private room is created (201); to another person it answers as a room that never existed (404)", async () => {
    const commands = curlCommands("14-who-may-see-what.md");
    expect(commands).toHaveLength(5);
    for (const command of commands.slice(0, 2)) expect((await run(command)).code).toBe(0);
    const answers = [];
    for (const command of commands.slice(2)) answers.push(statusAndBody((await run(command)).stdout));
    expect(answers.map((a) => a.status)).toEqual([201, 404, 404]);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({ room: { id: "plans", private: true } });
    const [hidden, never] = [answers[1]!, answers[2]!].map((a) => JSON.parse(a.body) as { error: { code: string; message: string } });
    expect(hidden!.error.code).toBe("unknown_room");
    expect(hidden).toEqual(JSON.parse(JSON.stringify(never).replaceAll("nowhere", "plans")));
  });

  it("chapter 0: the long poll from a terminal answers at once with the feed's cursor", async () => {
    const [command] = curlCommands("00-browser-apis.md");
    const { code, stdout } = await run(command!);
    expect(code).toBe(0);
    const { status, body } = statusAndBody(stdout);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toMatchObject({ events: expect.any(Array), cursor: expect.stringMatching(/^feed=\d+$/), rooms: {} });
  });

  it("chapter 2: no cookie 401, a foreign origin 403, the app's own cookie 101; a foreign post 403, a form 415", async () => {
    const commands = curlCommands("02-websocket-chat.md");
    expect(commands).toHaveLength(5);
    const results = [];
    for (const command of commands) results.push(await run(command));
    expect(results.map((r) => r.stdout.trim().slice(-3))).toEqual(["401", "403", "101", "403", "415"]);
    // curl gives up on the accepted socket after its --max-time: exit status 28, as the chapter says.
    expect(results.map((r) => r.code)).toEqual([0, 0, 28, 0, 0]);
    expect(results[3]!.stdout).toContain('"forbidden_origin"');
    expect(results[4]!.stdout).toContain('"unsupported_media_type"');
  });

  it("chapter 5: the feed streams a new room live, and the last id seen resumes with what came after it, once", async () => {
    const [liveBlock, resumeBlock] = shBlocks("05-sse-feed.md");
    expect(liveBlock).toHaveLength(1);
    expect(resumeBlock).toHaveLength(2);
    const lin = await s.signIn("Lin");
    const createRoom = async (name: string) => {
      const res = await s.api("/api/rooms", { method: "POST", body: JSON.stringify({ name }), cookie: lin.cookie });
      expect(res.status).toBe(201);
    };
    const created = (events: RealtimeEvent[], room: string) =>
      events.filter((e) => e.type === "room.created" && JSON.stringify(e.data).includes(`"${room}"`));

    // "Create a room in the browser and watch room.created arrive."
    const first = follow(liveBlock![0]!);
    await waitFor(() => first.out.text.startsWith("retry: 2000\n") || first.out.exited !== null, 10_000, "the stream to open");
    expect(first.out.exited).toBeNull();
    expect(first.out.text).toMatch(/^id: feed=\d+,user:u_[\w-]+=\d+$/m);
    await createRoom("tutorial-one");
    await waitFor(() => created(first.events(), "tutorial-one").length > 0 || first.out.exited !== null, 10_000, "room.created on the stream");
    expect(first.out.exited, "the stream stays open until the reader stops it").toBeNull();
    await first.stop();
    const copy = readFileSync(path.join(scratch, "feed.txt"), "utf8");
    const lastId = [...copy.matchAll(/^id: (.*)$/gm)].at(-1)![1]!;
    const lastFeedSeq = Number(/feed=(\d+)/.exec(lastId)![1]);

    // "Stop curl, create another room, then reconnect with the last id you saw."
    await createRoom("tutorial-two");
    const second = follow(resumeBlock!.join("\n"));
    await waitFor(() => created(second.events(), "tutorial-two").length > 0 || second.out.exited !== null, 10_000, "the missed room.created");
    expect(second.out.exited).toBeNull();
    await second.stop();
    const feed = second.events().filter((e) => e.stream === "feed");
    const head = created(feed, "tutorial-two")[0]!.seq;
    // Everything after the last id, up to the newest, in order, each once — and nothing before it.
    expect(feed.map((e) => e.seq)).toEqual(Array.from({ length: head - lastFeedSeq }, (_, i) => lastFeedSeq + 1 + i));
    expect(created(feed, "tutorial-one")).toEqual([]);
  });

  it("chapters 4, 6, 8 and 9: the metrics they grep for are there", async () => {
    const cursors = await run(curlCommands("04-cursors.md")[0]!);
    expect(cursors.stdout).toMatch(/^rt_cursor_inputs_total(\{[^}]*\})? \d+$/m);
    expect(cursors.stdout).toMatch(/^rt_cursor_frames_flushed_total(\{[^}]*\})? \d+$/m);
    expect(cursors.stdout).toMatch(/^rt_cursor_inputs_coalesced_total(\{[^}]*\})? \d+$/m);

    // Chapter 0's poll has been answered by now.
    const polls = await run(curlCommands("06-long-polling.md")[0]!);
    expect(polls.stdout).toMatch(/^rt_poll_answers_total(\{[^}]*\})? \d+$/m);

    const measuring = await run(curlCommands("08-measuring.md")[0]!);
    expect(measuring.stdout).toMatch(/^rt_appends_total(\{[^}]*\})? \d+$/m);
    expect(measuring.stdout).toMatch(/^rt_acks_total(\{[^}]*\})? \d+$/m);

    const help = await run(curlCommands("09-debugging-testing.md")[0]!);
    for (const name of ["rt_connections", "rt_protocol_errors_total", "rt_resumes_total", "rt_resets_total", "rt_slow_consumer_closes_total"]) {
      expect(help.stdout).toContain(`# HELP ${name} `);
    }
    for (const r of [cursors, polls, measuring, help]) expect(r.code).toBe(0);
  });

  it("chapter 10: ulimit -n prints the open-file limit", async () => {
    const line = shBlocks("10-capacity.md").flat().find((l) => l === "ulimit -n");
    expect(line).toBeDefined();
    const { code, stdout } = await run(line!);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^(\d+|unlimited)$/);
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
