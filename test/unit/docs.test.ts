// The tutorial cannot rot: every file, symbol, method and name a chapter quotes must exist in
// the code as named, every HTTP call it shows must be served by the app's router, and every
// npm script and test path it runs must exist, and every number the prose states (timeouts,
// intervals, limits) must be the code's — and where the prose says which constant holds a
// number, that constant, and where it cites a section of bench/RESULTS.md, that section.
// test/integration/tutorial.test.ts runs the chapters' quick commands against a real server.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createApi, type ApiDeps } from "../../server/http/api";
import { LISTEN_CHECK_MS } from "../../server/db/database";
import { MAX_NOTIFY_BYTES } from "../../server/eventlog";
import { CURSOR_IDLE_MS, PEER_EXPIRY_HEARTBEATS } from "../../server/hub";
import { JOIN_RATE, MAX_ROOMS_PER_CONNECTION } from "../../server/commands/limits";
import { FD_PLANNED_FULL_ADDRESSES, FD_RESERVE, plannedFileHandles } from "../../server/fd-budget";
import { OPS_KEPT_SAMPLES, OPS_SAMPLE_MS } from "../../server/ops";
import { SEND_LIMITS } from "../../server/ratelimit";
import { SESSION_TRUST_MS } from "../../server/auth";
import { POLL_STATE_INTERVAL_MS } from "../../server/transports/longpoll";
import { WS_PING_INTERVAL_MS, WS_PONG_TIMEOUT_MS } from "../../server/transports/ws";
import { loadConfig } from "../../server/config";
import {
  CloseCode,
  CURSOR_TICK_MS,
  MAX_FRAME_BYTES,
  MAX_REPLAY,
  POLL_BATCH_MS,
  POLL_PACE_MS,
  POLL_MAX_WAIT_S,
  POLL_PRESENCE_TTL_MS,
  PRESENCE_GRACE_MS,
  SSE_PING_MS,
  SSE_RETRY_MS,
  TYPING_RENEW_MS,
  TYPING_TTL_MS,
} from "../../lib/protocol";
import { mentionCandidates } from "../../lib/mentions";
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS } from "../../lib/realtime/backoff";
import {
  ANSWER_TIMEOUT_MS,
  CURSOR_WS_INTERVAL_MS,
  CURSOR_WS_MAX_HZ,
  FAILURES_BEFORE_FALLBACK,
  SSE_FIRST_BYTE_TIMEOUT_MS,
  UPGRADE_RETRY_MS,
  WS_OPEN_TIMEOUT_MS,
} from "../../lib/realtime/client";
import { GATHER_MS } from "../../lib/realtime/tab-leader";
import { CANVAS_LIVE_INTERVAL_MS } from "../../components/canvas/drag-broadcast";

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, "docs/tutorial");
const chapters = readdirSync(DIR).filter((f) => f.endsWith(".md")).sort();
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

// ---------------------------------------------------------------------------
// The code a chapter may quote: the app's own sources, never generated or installed code.

const SOURCE_DIRS = ["server", "lib", "components", "app", "prisma", "bench", "deploy", "scripts", "test/helpers"];
const SOURCE_EXT = /\.(ts|tsx|mjs|prisma|sql|conf|yml|json)$/;
const SKIP_DIRS = new Set(["node_modules", "generated", "out"]);

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(full, out);
    } else if (SOURCE_EXT.test(entry.name)) out.push(full);
  }
  return out;
}

const sources = new Map<string, string>(
  [...SOURCE_DIRS.flatMap((d) => walk(path.join(ROOT, d))), ...["Dockerfile", "docker-compose.yml", "package.json"].map((f) => path.join(ROOT, f))].map(
    (f) => [path.relative(ROOT, f), readFileSync(f, "utf8")],
  ),
);
const codeWords = new Set([...sources.values()].flatMap((s) => s.match(/[\w$]+/g) ?? []));

/**
 * Names the chapters explain that belong to the platform, not to this app: they are used by
 * the code or its deployment but declared by the browser, HTTP, Postgres, nginx or Linux.
 */
const PLATFORM = new Set(["EventSource", "Upgrade", "Origin", "BIGSERIAL", "curl", "HttpOnly", "Authorization", "worker_rlimit_nofile", "ip_local_port_range"]);
const MEDIA_TYPE = /^(text|application)\/[\w.+-]+$/;

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function declares(source: string, name: string): boolean {
  return new RegExp(`\\b(class|function|const|let|interface|type|enum|model)\\s+${escape(name)}\\b`).test(source);
}

function hasMember(source: string, name: string): boolean {
  return new RegExp(`(^|\\s)(private |public |protected |static |async |readonly |get |set |const |let )*${escape(name)}\\s*[(<=:?]`, "m").test(source);
}

/** The body of `class Name` / `interface Name` (braces matched), or null if it is something else. */
function classBody(source: string, name: string): string | null {
  const m = new RegExp(`\\b(class|interface)\\s+${escape(name)}\\b[^{]*\\{`).exec(source);
  if (!m) return null;
  let depth = 1;
  let i = m.index + m[0].length;
  for (; i < source.length && depth > 0; i++) {
    if (source[i] === "{") depth++;
    else if (source[i] === "}") depth--;
  }
  return source.slice(m.index, i);
}

/** The source files that declare `name`. */
const declaredIn = (name: string) => [...sources].filter(([, s]) => declares(s, name)).map(([f]) => f);

/** Does `member` belong to `symbol` in `file` (its class body when it is a class, else the file)? */
function memberOf(file: string, symbol: string | undefined, member: string): boolean {
  const source = sources.get(file) ?? readFileSync(path.join(ROOT, file), "utf8");
  const scope = (symbol && classBody(source, symbol)) ?? source;
  return hasMember(scope, member);
}

/** A path that may hold `<placeholder>` segments, e.g. prisma/migrations/<timestamp>_<name>/migration.sql. */
function pathExists(ref: string): boolean {
  if (!ref.includes("<")) return existsSync(path.join(ROOT, ref));
  const segments = ref.replace(/\/$/, "").split("/");
  const search = (dir: string, i: number): boolean => {
    if (i === segments.length) return true;
    const pattern = new RegExp(`^${segments[i]!.split(/<\w+>/).map(escape).join(".+")}$`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
    return readdirSync(dir).some((e) => pattern.test(e) && search(path.join(dir, e), i + 1));
  };
  return search(ROOT, 0);
}

// ---------------------------------------------------------------------------
// What the router serves. Building the routes runs no handler, so no dependency is touched (the
// limits only size their buckets).

const router = createApi({ limits: { sessionsPerAddressPerMinute: 60, roomsPerPersonBurst: 10, roomsPerPersonPerHour: 60 } } as ApiDeps);
const PAGES = (p: string) => existsSync(path.join(ROOT, "app", p, "page.tsx"));
const WS_PATH = "/ws";

function served(method: string, pathname: string): boolean {
  if (pathname === WS_PATH) return method === "GET" && /pathname === "\/ws"/.test(sources.get("server/app.ts")!);
  const route = router.match(method, pathname);
  if (route?.handler) return true;
  return method === "GET" && PAGES(pathname);
}

/** Method and path of a curl command line: -X wins, a body means POST, otherwise GET. */
function curlRequest(line: string): { method: string; pathname: string } | null {
  if (!/^\s*curl\s/.test(line)) return null;
  const url = /'?((?:https?:\/\/)?localhost:\d+\/[^\s']*)'?/.exec(line)?.[1];
  if (!url) return null;
  const method = /\s-X\s*(\w+)/.exec(line)?.[1] ?? (/\s(-d|--data[\w-]*)\s/.test(line) ? "POST" : "GET");
  return { method, pathname: new URL(url.startsWith("http") ? url : `http://${url}`).pathname };
}

// ---------------------------------------------------------------------------
// Reading a chapter.

const FENCE = /```(\w*)\n([\s\S]*?)```/g;
const KNOWN_EXT = /\.(ts|tsx|mjs|md|conf|prisma|sql|yml|json)$/;
const FILE = /^([\w.[\]<>-]+(?:\/[\w.[\]<>-]+)*\/?)(?:#(\w+))?$/;
/** Method names that follow a reference: "(`server/hub.ts#Hub`, `subscribe`)", "methods `a` and `b`". */
const FOLLOWING_METHODS = /^\s*(?:\(|,)?\s*(?:methods?\s+|in\s+)?`\w+`(?:\s+and\s+`\w+`)?\)?/;

type Check = { what: string; ok: boolean };

/** Every name an inline code span of the chapter quotes, with whether the code has it. */
function nameChecks(text: string): Check[] {
  const prose = text.replace(FENCE, (m) => m.replace(/[^\n]/g, " "));
  const checks: Check[] = [];
  const spans = [...prose.matchAll(/`([^`]+)`/g)].map((m) => ({ code: m[1]!.replace(/\s+/g, " "), end: m.index + m[0].length }));
  const consumed = new Set<number>();
  let lastHttp: { method: string; pathname: string } | null = null;

  spans.forEach(({ code, end }, i) => {
    if (consumed.has(i)) return;
    const after = prose.slice(end);
    const file = FILE.exec(code);
    const isFile = file && !code.startsWith("/") && !MEDIA_TYPE.test(code) && (code.includes("/") || KNOWN_EXT.test(file[1]!) || /^[A-Z]\w*file$/.test(code));

    if (isFile) {
      const [, ref, symbol] = file;
      checks.push({ what: `${ref} exists`, ok: pathExists(ref!) });
      if (symbol) checks.push({ what: `${ref} declares ${symbol}`, ok: declares(sources.get(ref!) ?? "", symbol) });
      const methods = FOLLOWING_METHODS.exec(after);
      if (methods && /\.(ts|tsx|mjs)$/.test(ref!)) {
        const names = [...methods[0].matchAll(/`(\w+)`/g)].map((m) => m[1]!);
        names.forEach((_, k) => consumed.add(i + 1 + k));
        for (const name of names) checks.push({ what: `${ref}${symbol ? `#${symbol}` : ""} has ${name}`, ok: memberOf(ref!, symbol, name) });
      }
      return;
    }

    const http = /^(GET|POST|PUT|PATCH|DELETE) (\/[^\s?]*)/.exec(code);
    if (http) {
      lastHttp = { method: http[1]!, pathname: http[2]! };
      checks.push({ what: `${code} is served`, ok: served(lastHttp.method, lastHttp.pathname) });
      return;
    }
    if (code.startsWith("…/") && lastHttp) {
      const pathname = lastHttp.pathname.replace(/\/[^/]*$/, code.slice(1));
      checks.push({ what: `${lastHttp.method} ${pathname} is served`, ok: served(lastHttp.method, pathname) });
      return;
    }
    if (/^\/[\w/-]*$/.test(code)) {
      checks.push({ what: `GET ${code} is served`, ok: served("GET", code) });
      return;
    }

    // `WsConnection`'s `inbox`: a member of that class.
    const possessive = /^'s\s+`(\w+)`/.exec(after);
    if (possessive && /^[A-Z]\w*$/.test(code)) {
      consumed.add(i + 1);
      const files = declaredIn(code);
      checks.push({ what: `${code} is declared`, ok: files.length > 0 });
      checks.push({ what: `${code} has ${possessive[1]}`, ok: files.some((f) => memberOf(f, code, possessive[1]!)) });
      return;
    }

    // `Presence.touch`: a class and its member.
    const dotted = /^([A-Z]\w*)\.(\w+)$/.exec(code);
    if (dotted) {
      const [, cls, member] = dotted;
      const files = declaredIn(cls!);
      checks.push({ what: `${cls} is declared`, ok: files.length > 0 });
      checks.push({ what: `${cls} has ${member}`, ok: files.some((f) => memberOf(f, cls, member!)) });
      return;
    }
    // `ws.send`, `room.created`, `rt.v1`: quoted as written somewhere in the code.
    if (/^[a-z]\w*(\.\w+)+$/.test(code)) {
      checks.push({ what: `${code} appears in the code`, ok: [...sources.values()].some((s) => s.includes(code)) });
      return;
    }

    if (/^[A-Za-z_]\w*$/.test(code)) {
      if (PLATFORM.has(code)) return;
      // Our types and classes are declared; other names (members, codes, SQL, env) are used.
      if (/^[A-Z][a-z]\w*$/.test(code) && /[a-z]/.test(code)) checks.push({ what: `${code} is declared`, ok: declaredIn(code).length > 0 });
      else checks.push({ what: `${code} appears in the code`, ok: codeWords.has(code) });
    }
  });
  return checks;
}

/**
 * The code an exercise tells the reader to find — "right after `x`", "move `x` below `y`",
 * "raise it from `x` to", "remove `x`", "change the line `x`", "change the default `x`", "delete the
 * line `x`", and what
 * a ```ts block's `// was:` comment says the line was — with those not found, as written, in
 * the files the exercise names or in the chapter's own code blocks (chapter 0's snippets).
 */
function exerciseAnchors(text: string): { anchors: string[]; missing: string[] } {
  const section = /^## Exercise: .+$([\s\S]*?)(?=^## |$(?![\s\S]))/m.exec(text)?.[1] ?? "";
  // The chapter's code outside the exercise: what chapter 0's exercise changes.
  const blocks = [...text.replace(section, "").matchAll(FENCE)].map((m) => m[2]!);
  const files = [...section.matchAll(/`([\w./-]+\.(?:ts|tsx))(?:#\w+)?`/g)].map((m) => sources.get(m[1]!) ?? "");
  const prose = section.replace(FENCE, " ").replace(/\s+/g, " ");
  const anchors = [
    ...[...prose.matchAll(/\b(?:after|below|[Rr]emove|move|delete the line|change the default|change the line)\s+`([^`]+)`|\bfrom\s+`([^`]+)`\s+to\b/g)].map((m) => (m[1] ?? m[2])!),
    ...[...section.matchAll(/\/\/ was: (.+)$/gm)].map((m) => m[1]!.trim()),
  ];
  const missing = anchors.filter((a) => ![...files, ...blocks].some((source) => source.includes(a)));
  return { anchors, missing };
}

/** Every shell command line of the chapter's ```sh blocks. */
function shellLines(text: string): string[] {
  return [...text.matchAll(FENCE)].filter((m) => m[1] === "sh").flatMap((m) => m[2]!.split("\n").filter((l) => l.trim()));
}

describe.each(chapters)("docs/tutorial/%s", (chapter) => {
  const text = readFileSync(path.join(DIR, chapter), "utf8");

  it("names only files, symbols, methods and names that exist", () => {
    const checks = nameChecks(text);
    if (chapter !== "README.md") expect(checks.length).toBeGreaterThan(0);
    expect(checks.filter((c) => !c.ok).map((c) => c.what)).toEqual([]);
  });

  it("shows only HTTP requests the app serves", () => {
    const requests = [
      ...shellLines(text).map(curlRequest),
      // Requests written out in plain code blocks: "GET /api/stream?streams=feed,user:me".
      ...[...text.matchAll(FENCE)]
        .filter((m) => m[1] !== "sh")
        .flatMap((m) => [...m[2]!.matchAll(/^(GET|POST|PUT|PATCH|DELETE) (\/[^\s?]*)/gm)].map((r) => ({ method: r[1]!, pathname: r[2]! }))),
    ].filter((r) => r !== null);
    for (const line of shellLines(text).filter((l) => /^\s*curl\s/.test(l))) expect(curlRequest(line), line).not.toBeNull();
    for (const r of requests) expect(served(r.method, r.pathname), `${r.method} ${r.pathname}`).toBe(true);
  });

  it("runs only npm scripts and test files that exist", () => {
    for (const line of shellLines(text)) {
      for (const m of line.matchAll(/npm run ([\w:-]+)/g)) expect(pkg.scripts[m[1]!], `npm run ${m[1]}`).toBeDefined();
      for (const m of line.matchAll(/\s((?:test|bench|e2e)\/[\w./-]+\.ts)/g)) expect(existsSync(path.join(ROOT, m[1]!)), m[1]).toBe(true);
    }
    for (const m of text.matchAll(/npm run ([\w:-]+)/g)) expect(pkg.scripts[m[1]!], `npm run ${m[1]}`).toBeDefined();
    for (const m of text.matchAll(/`npm (start|test)\b/g)) expect(pkg.scripts[m[1]!], `npm ${m[1]}`).toBeDefined();
  });

  it.runIf(chapter !== "README.md")("opens with what the reader will be able to do, and has an exercise that changes code, with the way back", () => {
    expect(text).toMatch(/^# .+\n\n\*\*What you will be able to do:\*\* /);
    const exercise = /^## Exercise: .+$([\s\S]*?)(?=^## |$(?![\s\S]))/m.exec(text);
    expect(exercise, "an ## Exercise: section").not.toBeNull();
    expect(exercise![1]).toMatch(/Way back:\s/);
  });

  it.runIf(chapter !== "README.md")("points its exercise at code that is there: what to find, move or change, as written", () => {
    const { anchors, missing } = exerciseAnchors(text);
    expect(anchors.length, "an exercise names the code it changes").toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });

  it("asks for a second person as a second browser or a private window, never as a second window", () => {
    // Two windows of one browser share the session cookie: they are one person.
    const prose = text.replace(/\s+/g, " ");
    expect(prose).not.toMatch(/\b(in|open|keep) two (browser )?windows\b/i);
    if (/\b(two people|another person|the other person)\b/.test(prose)) expect(prose).toContain("second browser or a private window");
  });

  it("links only to chapters that exist", () => {
    for (const m of text.matchAll(/\]\(([\w.-]+\.md)\)/g)) {
      expect(existsSync(path.join(DIR, m[1]!)) && statSync(path.join(DIR, m[1]!)).isFile(), m[1]).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------
// Numbers in the prose. Each row finds a phrase in a chapter and checks the number in it (the
// first capture) against the code. A rewritten phrase fails here until its row is updated.

const s = (ms: number) => ms / 1000;
/** MAX_CONNECTIONS_PER_ADDRESS when the environment does not set it (a secret given, so none is generated). */
const DEFAULT_PER_ADDRESS = loadConfig({ SESSION_SECRET: "x".repeat(32) }).maxConnectionsPerAddress;
const WORDS: Record<string, number> = { once: 1, twice: 2, three: 3, four: 4 };

type NumberRow = [chapter: string, phrase: RegExp, expected: number | ((n: number) => boolean)];

const NUMBERS: NumberRow[] = [
  ["02", /at most (\d+) KiB \(`maxPayload`/, MAX_FRAME_BYTES / 1024],
  ["02", /larger closes with `(\d+)`/, CloseCode.tooBig],
  ["02", /is closed with `(\d+)`/, CloseCode.policy],
  ["02", /limit `send` to (\d+)\/s/, SEND_LIMITS.send.rate],
  ["02", /\(burst (\d+)\)/, SEND_LIMITS.send.burst],
  ["02", /`typing` to (\d+)\/s/, SEND_LIMITS.typing.rate],
  ["02", /`cursor` to (\d+)\/s/, SEND_LIMITS.cursor.rate],
  ["02", /`join` (\d+)\/s \(burst \d+, so a reconnecting/, JOIN_RATE.perSecond],
  ["02", /`join` \d+\/s \(burst (\d+), so a reconnecting/, JOIN_RATE.burst],
  ["02", /at most (\d+) rooms \(`server\/commands\/limits.ts#MAX_ROOMS_PER_CONNECTION`/, MAX_ROOMS_PER_CONNECTION],
  ["02", /its WebSockets close with `(\d+)`/, CloseCode.sessionInvalid],
  ["02", /curl then gives up after (\d+) s/, (n) => n * 1000 < WS_PING_INTERVAL_MS],
  ["02", /no answer within (\d+) s, and the socket/, s(ANSWER_TIMEOUT_MS)],
  ["02", /more than (\d+) events were missed/, MAX_REPLAY],
  ["02", /`min\((\d+) s, \d+ s × 2\^attempt\)`/, s(BACKOFF_CAP_MS)],
  ["02", /`min\(\d+ s, (\d+) s × 2\^attempt\)`/, s(BACKOFF_BASE_MS)],
  ["02", /back within about (\d+) s of the server answering/, s(BACKOFF_CAP_MS)],

  ["03", /\*\*grace\*\* period \((\d+) s/, s(PRESENCE_GRACE_MS)],
  ["03", /a ping every (\d+) s/, s(WS_PING_INTERVAL_MS)],
  ["03", /not answered within (\d+) s/, s(WS_PONG_TIMEOUT_MS)],
  ["03", /a lapse of (\d+) s after its last poll/, s(POLL_PRESENCE_TTL_MS)],
  ["03", /at most every (\d+) s while they keep typing/, s(TYPING_RENEW_MS)],
  ["03", /marks them typing for (\d+) s from each renewal/, s(TYPING_TTL_MS)],
  ["03", /erase the text, or wait (\d+) s/, s(TYPING_TTL_MS)],
  ["03", /leaves the other after about (\d+) s/, s(PRESENCE_GRACE_MS)],
  ["03", /Why a ping every (\d+) s/, s(WS_PING_INTERVAL_MS)],
  ["03", /at 10,000 sockets a (\d+) s interval/, s(WS_PING_INTERVAL_MS)],
  ["03", /sockets a \d+ s interval is (\d+) pings a second/, (n) => n === Math.floor(10_000 / s(WS_PING_INTERVAL_MS))],
  ["03", /stays shown for up to (\d+) s plus the grace/, s(WS_PING_INTERVAL_MS + WS_PONG_TIMEOUT_MS)],
  ["03", /this chapter's "(\d+) s" is `PRESENCE_GRACE_MS`/, s(PRESENCE_GRACE_MS)],

  ["04", /≤ 1 per frame, ≤ (\d+) Hz/, CURSOR_WS_MAX_HZ],
  ["04", /\((\d+) Hz at most\)/, CURSOR_WS_MAX_HZ],
  ["04", /one frame per room every (\d+) ms, only what changed/, CURSOR_TICK_MS],
  ["04", /sends at most one every (\d+) ms/, CURSOR_WS_INTERVAL_MS],
  ["04", /Every (\d+) ms \(`lib\/protocol\/limits.ts#CURSOR_TICK_MS`\)/, CURSOR_TICK_MS],
  ["04", /or (\d+) s without movement/, s(CURSOR_IDLE_MS)],
  ["04", /closed with `(\d+)`/, CloseCode.tooSlow],
  ["04", /With a new position every (\d+) ms/, CURSOR_TICK_MS],
  ["04", /make (\d+) updates a second look/, 1000 / CURSOR_TICK_MS],

  ["05", /`retry: (\d+)`/, SSE_RETRY_MS],
  ["05", /`: ping` every (\d+) s/, s(SSE_PING_MS)],
  ["05", /The new leader listens for (\d+) ms/, GATHER_MS],
  ["11", /a new leader waits (\d+) ms \(`lib\/realtime\/tab-leader.ts#GATHER_MS`\)/, GATHER_MS],
  ["11", /capped at (\d+) s \(`lib\/realtime\/backoff.ts#BACKOFF_CAP_MS`\)/, s(BACKOFF_CAP_MS)],
  ["05", /each `@` offers up to (\w+) words/, (n) => mentionCandidates("@a b c d e f g h")[0]!.length === n],
  ["05", /this chapter says (\d+)\./, SSE_RETRY_MS],

  ["06", /&wait=(\d+)&/, POLL_MAX_WAIT_S],
  ["06", /at most every (\d+) ms per client/, POLL_STATE_INTERVAL_MS],
  ["06", /it waits up to (\d+) ms/, POLL_BATCH_MS],
  ["06", /one ends no sooner than (\d+) ms/, POLL_PACE_MS],
  ["06", /a poller asks at most (\d+) times a second/, 1000 / POLL_PACE_MS],
  ["06", /capped at (\d+) s/, POLL_MAX_WAIT_S],
  ["06", /below the (\d+)–60 s idle timeouts/, (n) => n > POLL_MAX_WAIT_S],
  ["06", /presence lapses (\d+) s after your last poll/, s(POLL_PRESENCE_TTL_MS)],
  ["06", /cannot open \((\d+) s timeout\), \w+/, s(WS_OPEN_TIMEOUT_MS)],
  ["06", /cannot open \(\d+ s timeout\), (\w+)/, FAILURES_BEFORE_FALLBACK],
  ["06", /LongPolling --> WebSocket: background retry every (\d+) s/, s(UPGRADE_RETRY_MS)],
  ["06", /LongPolling --> SSE: background retry every (\d+) s/, s(UPGRADE_RETRY_MS)],
  ["06", /no first byte within (\d+) s/, s(SSE_FIRST_BYTE_TIMEOUT_MS)],
  ["06", /within `SESSION_TRUST_MS` \((\d+) s\)/, s(SESSION_TRUST_MS)],

  ["07", /NOTIFY is limited to (\d+) bytes/, (n) => MAX_NOTIFY_BYTES < n],
  ["07", /not renewed within (\w+) heartbeats/, PEER_EXPIRY_HEARTBEATS],
  ["07", /WebSockets close with `(\d+)`/, CloseCode.restarting],
  ["07", /one cursor frame per (\d+) ms/, CURSOR_TICK_MS],
  ["07", /runs a cheap query every (\d+) s/, s(LISTEN_CHECK_MS)],
  ["07", /WebSockets close (\d+), each with its own reconnectAfterMs/, CloseCode.restarting],

  ["08", /draws the last (minute) of one instance/, (n) => n === 1 && (OPS_KEPT_SAMPLES * OPS_SAMPLE_MS) / 60_000 === 1],
  ["08", /sampling the same metrics (once) a second/, (n) => n === 1 && OPS_SAMPLE_MS === 1000],

  ["09", /typing expires (\d+) s after the last renewal/, s(TYPING_TTL_MS)],
  ["09", /\*expires (\d+) s after the last start or renew\*/, s(TYPING_TTL_MS)],

  ["10", /then closed with `(\d+)`/, CloseCode.tooSlow],
  ["10", /(\d+) addresses at `MAX_CONNECTIONS_PER_ADDRESS`/, FD_PLANNED_FULL_ADDRESSES],
  ["10", /`MAX_CONNECTIONS_PER_ADDRESS` plus (\d+) for itself/, FD_RESERVE],
  ["10", /at most (\d+) client addresses hold their whole cap/, FD_PLANNED_FULL_ADDRESSES],
  ["10", /raise `FD_PLANNED_FULL_ADDRESSES` from `(\d+)`/, FD_PLANNED_FULL_ADDRESSES],
  ["10", /`MAX_CONNECTIONS_PER_ADDRESS` of (\d+) it now plans/, DEFAULT_PER_ADDRESS],
  ["10", /from `\d+` to `(\d+)`, and start the server/, 100],
  // The exercise raises the planned addresses to 100: the plan is the code's formula with that.
  ["10", /it now plans ([\d,]+) handles/, (n) => n === plannedFileHandles({ perPerson: 1, perAddress: DEFAULT_PER_ADDRESS }) + (100 - FD_PLANNED_FULL_ADDRESSES) * DEFAULT_PER_ADDRESS],
  ["10", /sets `worker_connections` to (\d+)/, (n) => sources.get("deploy/nginx.conf")!.includes(`worker_connections ${n};`)],
  ["10", /to \d+: ([\d,]+) concurrent clients per nginx worker/, (n) => sources.get("deploy/nginx.conf")!.includes(`worker_connections ${n * 2};`)],
  ["10", /`deploy\/nginx.conf` sets (\d+) s\)/, (n) => sources.get("deploy/nginx.conf")!.includes(`proxy_read_timeout ${n}s;`)],
  ["10", /The WebSocket ping every (\d+) s/, s(WS_PING_INTERVAL_MS)],
  ["10", /`: ping` every (\d+) s/, s(SSE_PING_MS)],
  ["10", /hold of at most (\d+) s/, POLL_MAX_WAIT_S],
  ["15", /once per cursor tick — (\d+) ms/, CURSOR_TICK_MS],
  ["15", /at most one frame every (\d+) ms/, CANVAS_LIVE_INTERVAL_MS],
];

/**
 * Numbers with a unit the rows above do not cover, and why: they describe the world or a
 * benchmark's workload, not a setting of this app.
 */
const UNTIED: [chapter: string, phrase: RegExp][] = [
  ["04", /reports positions at 60–120 Hz/], // what a mouse does
  ["04", /50 people at 60 Hz/], // bench:cursors' workload (bench/cursors.ts)
  ["08", /50 people × 60 Hz/], // the same workload, in the benchmarks' table
  ["01", /PGlite \(about 20 s\)/], // how long the contract suite takes here
  ["03", /`proxy_read_timeout` defaults to 60 s/], // nginx's default, not ours
  ["03", /every 5 or every 120\?/], // intervals we did not choose
  ["03", /a 5 s one 2,000/], // the same, for comparison
  ["04", /50 people at 60 Hz into one room/], // bench:cursors' workload
  ["04", /\(about 30 s; it writes only/], // how long the quick bench takes here
  ["10", /50 people at 60 Hz/], // bench:cursors' workload, in the capacity table
  ["10", /\(its default 60 s;/], // nginx's default, not ours
  ["10", /has not begun within 2 s, and sixty/], // Prisma's default, not ours
];

/**
 * Figures quoted from the benchmarks: each row of a chapter's table whose last cell names a
 * section of bench/RESULTS.md (`*idle*`), and each phrase below, must find its numbers in that
 * section, so a new run that changes them fails here until the chapter says so.
 */
const RESULTS_PHRASES: [chapter: string, phrase: RegExp, section: string][] = [
  ["04", /coalescing sends ([\d.]+)× its frames/, "cursors"],
  ["04", /([\d.]+)× its payload bytes/, "cursors"],
  ["04", /at ([\d.]+)× its server CPU/, "cursors"],
  ["10", /machine allows ([\d,]+), which is why/, "idle"],
  ["10", /Long polling costs ([\d.]+)× WebSocket's CPU per delivery/, "transports"],
  ["10", /\*idle\* stops at ([\d,]+) connections/, "idle"],
  ["10", /allows [\d,]+, which is why \*idle\* stops/, "idle"],
  ["10", /those pauses \((\d+)–30 ms every ~0\.8 s here\)/, "event log in two round trips"],
  ["02", /up to (\d+) ms in which no one else's ack went out/, "frames counted per person before parsing"],
  ["06", /long polling reached ([\d.]+)× the WebSocket's deliveries/, "transports: long polls that carry on"],
  ["06", /deliveries at\s+([\d.]+) requests per delivery/, "transports: long polls that carry on"],
];

const UNIT = /\d[\d,.]*(?:–\d+)?\s?(?:ms|s|Hz|KiB|bytes|\/s)\b/g;

/** A chapter's text with every run of white space one space, so phrases may wrap. */
const flat = (chapter: string) => readFileSync(path.join(DIR, chapter), "utf8").replace(/\s+/g, " ");

function numberIn(match: RegExpExecArray): number {
  const raw = match[1]!;
  if (raw in WORDS) return WORDS[raw]!;
  if (raw === "minute") return 1;
  return Number(raw.replace(/,/g, ""));
}

/** `## name` sections of bench/RESULTS.md by name (and the bold table titles' rows with them). */
const RESULTS = (() => {
  const text = readFileSync(path.join(ROOT, "bench/RESULTS.md"), "utf8");
  const sections = new Map<string, string>();
  const heads = [...text.matchAll(/^#{2,3} (.+)$/gm)];
  heads.forEach((h, i) => sections.set(h[1]!.trim(), text.slice(h.index, heads[i + 1]?.index ?? text.length)));
  return sections;
})();

/** The figures of a text: digits not glued to a letter before them (p99's 99 is not a figure). */
const figures = (text: string) => [...text.matchAll(/(?<![\w.])\d[\d,]*(?:\.\d+)?/g)].map((m) => m[0].replace(/,$/, ""));

/** The figures of `quoted` that `section` does not hold. */
function figuresMissing(quoted: string, section: string): string[] {
  const have = new Set(figures(section));
  return figures(quoted).filter((f) => !have.has(f));
}

/** Rows of a chapter's tables that cite a RESULTS.md section in their last cell: the cells before it, and the section. */
function citedRows(chapter: string): Array<{ row: string; measured: string; section: string }> {
  const text = readFileSync(path.join(DIR, chapter), "utf8");
  return [...text.matchAll(/^\|(.*)\|\s*\*([\w ]+)\*(?:, [\w ]+)?\s*\|$/gm)].map((m) => {
    const cells = m[1]!.split("|");
    return { row: m[0], measured: cells.slice(1).join("|"), section: m[2]!.trim() };
  });
}

describe("numbers in the prose are the code's", () => {
  it.each(NUMBERS.map((row, i) => [`${row[0]}: ${row[1].source}`, i] as const))("%s", (_, i) => {
    const [prefix, phrase, expected] = NUMBERS[i]!;
    const chapter = chapters.find((c) => c.startsWith(`${prefix}-`))!;
    const match = phrase.exec(flat(chapter));
    expect(match, `${chapter} still says ${phrase}`).not.toBeNull();
    if (match!.length < 2) return;
    const n = numberIn(match!);
    if (typeof expected === "number") expect(n).toBe(expected);
    else expect(expected(n), `${n} in ${phrase}`).toBe(true);
  });

  it.each(chapters)("every number with a unit in %s is tied to the code or said not to be", (chapter) => {
    const text = flat(chapter);
    const covered: Array<[number, number]> = [];
    for (const [prefix, phrase] of [...NUMBERS, ...UNTIED, ...RESULTS_PHRASES]) {
      if (!chapter.startsWith(`${prefix}-`)) continue;
      const m = phrase.exec(text);
      if (m) covered.push([m.index, m.index + m[0].length]);
    }
    // A number beside the constant that holds it is checked against the constant below.
    for (const m of text.matchAll(POINTED)) covered.push([m.index, m.index + m[0].length]);
    // Table rows citing a benchmark section are checked against it below.
    for (const { row } of citedRows(chapter)) {
      const at = text.indexOf(row.replace(/\s+/g, " "));
      if (at >= 0) covered.push([at, at + row.length]);
    }
    const loose = [...text.matchAll(UNIT)].filter((m) => !covered.some(([a, b]) => m.index >= a && m.index < b));
    expect(loose.map((m) => `${m[0]} in "${text.slice(Math.max(0, m.index - 30), m.index + 20)}"`)).toEqual([]);
  });
});

// "a grace period (3 s, `lib/protocol/limits.ts#PRESENCE_GRACE_MS`)": the number is that
// constant's value, read from the module itself, in the unit the prose gives.
const POINTED = /(\d[\d,_]*(?:\.\d+)?)\s?(ms|s|Hz|KiB)?\b[^`\d]{0,24}?`([\w./-]+\.ts)#([A-Z][A-Z0-9_]+)`/g;

type Pointed = { quote: string; n: number; unit: string | undefined; file: string; name: string };

const pointedIn = (text: string): Pointed[] =>
  [...text.matchAll(POINTED)].map((m) => ({ quote: m[0], n: Number(m[1]!.replace(/[,_]/g, "")), unit: m[2], file: m[3]!, name: m[4]! }));

/** The values the constant holds, in the prose's unit: one number, or each number of an object (`JOIN_RATE`). */
async function pointedValues(p: Pointed): Promise<number[]> {
  const mod = (await import(path.join(ROOT, p.file))) as Record<string, unknown>;
  const value = mod[p.name];
  const values = typeof value === "number" ? [value] : Object.values((value ?? {}) as Record<string, unknown>).filter((v): v is number => typeof v === "number");
  return values.map((v) => (p.unit === "s" && p.name.endsWith("_MS") ? v / 1000 : v));
}

describe("numbers next to the constant that holds them", () => {
  const pointed = chapters.flatMap((chapter) => pointedIn(flat(chapter)).map((p) => ({ chapter, ...p })));

  it("are found (the check is not vacuous)", () => {
    expect(pointed.length).toBeGreaterThanOrEqual(6);
  });

  it.each(pointed.map((p) => [`${p.chapter}: ${p.quote}`, p] as const))("%s", async (_, p) => {
    const values = await pointedValues(p);
    expect(values.length, `${p.file} exports ${p.name} as a number or an object of numbers`).toBeGreaterThan(0);
    expect(values, p.quote).toContain(p.n);
  });
});

describe("figures quoted from bench/RESULTS.md are in the section cited", () => {
  const rows = chapters.flatMap((chapter) => citedRows(chapter).map((r) => ({ chapter, ...r })));

  it("are found (the check is not vacuous)", () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
  });

  it.each(rows.map((r) => [`${r.chapter}: ${r.row.slice(0, 80)}`, r] as const))("%s", (_, r) => {
    const section = RESULTS.get(r.section);
    expect(section, `bench/RESULTS.md has a section "${r.section}"`).toBeDefined();
    expect(figuresMissing(r.measured, section!)).toEqual([]);
  });

  it.each(RESULTS_PHRASES.map((row, i) => [`${row[0]}: ${row[1].source}`, i] as const))("%s", (_, i) => {
    const [prefix, phrase, name] = RESULTS_PHRASES[i]!;
    const chapter = chapters.find((c) => c.startsWith(`${prefix}-`))!;
    const match = phrase.exec(flat(chapter));
    expect(match, `${chapter} still says ${phrase}`).not.toBeNull();
    const section = RESULTS.get(name);
    expect(section, `bench/RESULTS.md has a section "${name}"`).toBeDefined();
    if (match!.length > 1) expect(figures(section!)).toContain(match![1]);
  });
});

it("the tutorial has its chapters, in order, and the index lists each", () => {
  const numbered = chapters.filter((c) => /^\d\d-/.test(c));
  expect(numbered.map((c) => Number(c.slice(0, 2)))).toEqual(numbered.map((_, i) => i));
  const index = readFileSync(path.join(DIR, "README.md"), "utf8");
  for (const c of numbered) expect(index, c).toContain(`](${c})`);
});

describe("the checks themselves", () => {
  // A check that passes on anything protects nothing: each kind must catch a wrong name.
  const failing = (md: string) => nameChecks(md).filter((c) => !c.ok).map((c) => c.what);

  it("catch a missing file, symbol, method, member or name", () => {
    expect(failing("`server/nope.ts`")).toEqual(["server/nope.ts exists"]);
    expect(failing("`Dockerfile` and `docker-compose.yml` and `Nopefile`")).toEqual(["Nopefile exists"]);
    expect(failing("`server/hub.ts#Hubb`")).toEqual(["server/hub.ts declares Hubb"]);
    expect(failing("(`server/hub.ts#Hub`, `subscribe`) and (`server/hub.ts#Hub`, `subscrib`)")).toEqual(["server/hub.ts#Hub has subscrib"]);
    expect(failing("(`server/transports/ws.ts`, `onRoomFrame`) (`server/transports/ws.ts`, `onRoomFrames`)")).toEqual([
      "server/transports/ws.ts has onRoomFrames",
    ]);
    expect(failing("`Presence.touch`, `Presence.touchy`")).toEqual(["Presence has touchy"]);
    expect(failing("`WsConnection`'s `inbox`; `WsConnection`'s `outbox`")).toEqual(["WsConnection has outbox"]);
    expect(failing("`ManualClock` `ManualClocks` `EventSource`")).toEqual(["ManualClocks is declared"]);
    expect(failing("`bad_json` `bad_jsonn` `room.created` `room.createdd`")).toEqual(["bad_jsonn appears in the code", "room.createdd appears in the code"]);
    expect(failing("`prisma/migrations/<timestamp>_<name>/migration.sql` `prisma/migrations/<t>/nope.sql`")).toEqual([
      "prisma/migrations/<t>/nope.sql exists",
    ]);
  });

  it("catch a number that is not the constant it names, and a figure not in the section cited", async () => {
    const [right, wrong, seconds] = pointedIn(
      "grace (3 s, `lib/protocol/limits.ts#PRESENCE_GRACE_MS`); grace (4 s, `lib/protocol/limits.ts#PRESENCE_GRACE_MS`); every 3000 ms (`lib/protocol/limits.ts#PRESENCE_GRACE_MS`)",
    );
    expect(await pointedValues(right!)).toContain(right!.n);
    expect(await pointedValues(wrong!)).not.toContain(wrong!.n);
    expect(await pointedValues(seconds!)).toContain(seconds!.n);
    expect(figuresMissing("**4.3 KiB** RSS, p99 12.0 ms", "| 4.3 (2.9–5.8) | p50 12.0 |")).toEqual([]);
    expect(figuresMissing("**4.4 KiB** RSS", "| 4.3 (2.9–5.8) |")).toEqual(["4.4"]);
    expect(citedRows("10-capacity.md").length).toBeGreaterThan(0);
  });

  it("catch an exercise that points at code that is not there", () => {
    const exercise = (body: string) => exerciseAnchors(`# x\n\n## Exercise: y\n\n${body}\n`);
    expect(exercise("In `server/state/typing.ts`, right after `const existing = users.get(actor.id);` add…").missing).toEqual([]);
    expect(exercise("In `server/state/typing.ts`, right after `const existing = users.get(actor.idd);` add…").missing).toEqual([
      "const existing = users.get(actor.idd);",
    ]);
    expect(exercise("In `server/eventlog.ts`:\n\n```ts\nconst earlier = null; // was: key && nothing\n```\n").missing).toEqual(["key && nothing"]);
  });

  it("catch a request the router does not serve", () => {
    expect(failing("`GET /api/ops` `POST /api/rooms/:id/messages`, `…/typing`, `…/typo` `/readyz` `/ops` `/ws` `/nope`")).toEqual([
      "POST /api/rooms/:id/typo is served",
      "GET /nope is served",
    ]);
    expect(failing("`DELETE /api/rooms`")).toEqual(["DELETE /api/rooms is served"]);
    expect(curlRequest("curl -s -b /tmp/jar -d '{}' localhost:3000/api/rooms/general/messages")).toEqual({ method: "POST", pathname: "/api/rooms/general/messages" });
    expect(curlRequest("curl -N -b /tmp/jar 'localhost:3000/api/stream?streams=feed'")).toEqual({ method: "GET", pathname: "/api/stream" });
    expect(served("GET", "/api/rooms/general/nothing")).toBe(false);
  });
});
