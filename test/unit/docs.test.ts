// The tutorial cannot rot: every file, symbol, method and name a chapter quotes must exist in
// the code as named, every HTTP call it shows must be served by the app's router, and every
// npm script and test path it runs must exist, and every number the prose states (timeouts,
// intervals, limits) must be the code's. test/integration/tutorial.test.ts runs the chapters'
// curl commands against a real server.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createApi, type ApiDeps } from "../../server/http/api";
import { LISTEN_CHECK_MS } from "../../server/db/database";
import { MAX_NOTIFY_BYTES } from "../../server/eventlog";
import { CURSOR_IDLE_MS, PEER_EXPIRY_HEARTBEATS } from "../../server/hub";
import { OPS_KEPT_SAMPLES, OPS_SAMPLE_MS } from "../../server/ops";
import { SEND_LIMITS } from "../../server/ratelimit";
import { POLL_STATE_INTERVAL_MS } from "../../server/transports/longpoll";
import { JOIN_RATE, WS_PING_INTERVAL_MS, WS_PONG_TIMEOUT_MS } from "../../server/transports/ws";
import {
  CloseCode,
  CURSOR_TICK_MS,
  MAX_FRAME_BYTES,
  MAX_REPLAY,
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
 * the code but declared by the browser, HTTP or Postgres.
 */
const PLATFORM = new Set(["EventSource", "Upgrade", "Origin", "BIGSERIAL", "curl"]);
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
  ["02", /`join` to (\d+)\/s/, JOIN_RATE.perSecond],
  ["02", /no answer within (\d+) s, and the socket/, s(ANSWER_TIMEOUT_MS)],
  ["02", /`join` to \d+\/s \(burst (\d+)\)/, JOIN_RATE.burst],
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

  ["04", /≤ 1 per frame, ≤ (\d+) Hz/, CURSOR_WS_MAX_HZ],
  ["04", /\((\d+) Hz at most\)/, CURSOR_WS_MAX_HZ],
  ["04", /one frame per room every (\d+) ms, only what changed/, CURSOR_TICK_MS],
  ["04", /sends at most one every (\d+) ms/, CURSOR_WS_INTERVAL_MS],
  ["04", /Every (\d+) ms \(`lib\/protocol\/limits.ts#CURSOR_TICK_MS`\)/, CURSOR_TICK_MS],
  ["04", /or (\d+) s without movement/, s(CURSOR_IDLE_MS)],
  ["04", /closed with `(\d+)`/, CloseCode.tooSlow],
  ["04", /With a new position every (\d+) ms/, CURSOR_TICK_MS],

  ["05", /`retry: (\d+)`/, SSE_RETRY_MS],
  ["05", /`: ping` every (\d+) s/, s(SSE_PING_MS)],
  ["05", /each `@` offers up to (\w+) words/, (n) => mentionCandidates("@a b c d e f g h")[0]!.length === n],

  ["06", /&wait=(\d+)&/, POLL_MAX_WAIT_S],
  ["06", /at most every (\d+) ms per client/, POLL_STATE_INTERVAL_MS],
  ["06", /capped at (\d+) s/, POLL_MAX_WAIT_S],
  ["06", /below the (\d+)–60 s idle timeouts/, (n) => n > POLL_MAX_WAIT_S],
  ["06", /presence lapses (\d+) s after your last poll/, s(POLL_PRESENCE_TTL_MS)],
  ["06", /cannot open \((\d+) s timeout\), \w+/, s(WS_OPEN_TIMEOUT_MS)],
  ["06", /cannot open \(\d+ s timeout\), (\w+)/, FAILURES_BEFORE_FALLBACK],
  ["06", /LongPolling --> WebSocket: background retry every (\d+) s/, s(UPGRADE_RETRY_MS)],
  ["06", /LongPolling --> SSE: background retry every (\d+) s/, s(UPGRADE_RETRY_MS)],
  ["06", /no first byte within (\d+) s/, s(SSE_FIRST_BYTE_TIMEOUT_MS)],

  ["07", /NOTIFY is limited to (\d+) bytes/, (n) => MAX_NOTIFY_BYTES < n],
  ["07", /not renewed within (\w+) heartbeats/, PEER_EXPIRY_HEARTBEATS],
  ["07", /WebSockets close with `(\d+)`/, CloseCode.restarting],
  ["07", /one cursor frame per (\d+) ms/, CURSOR_TICK_MS],
  ["07", /runs a cheap query every (\d+) s/, s(LISTEN_CHECK_MS)],

  ["08", /draws the last (minute) of one instance/, (n) => n === 1 && (OPS_KEPT_SAMPLES * OPS_SAMPLE_MS) / 60_000 === 1],
  ["08", /sampling the same metrics (once) a second/, (n) => n === 1 && OPS_SAMPLE_MS === 1000],
];

/**
 * Numbers with a unit the rows above do not cover, and why: they describe the world or a
 * benchmark's workload, not a setting of this app.
 */
const UNTIED: [chapter: string, phrase: RegExp][] = [
  ["04", /reports positions at 60–120 Hz/], // what a mouse does
  ["04", /50 people at 60 Hz/], // bench:cursors' workload (bench/cursors.ts)
  ["08", /50 people × 60 Hz/], // the same workload, in the benchmarks' table
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
    for (const [prefix, phrase] of [...NUMBERS, ...UNTIED]) {
      if (!chapter.startsWith(`${prefix}-`)) continue;
      const m = phrase.exec(text);
      if (m) covered.push([m.index, m.index + m[0].length]);
    }
    const loose = [...text.matchAll(UNIT)].filter((m) => !covered.some(([a, b]) => m.index >= a && m.index < b));
    expect(loose.map((m) => `${m[0]} in "${text.slice(Math.max(0, m.index - 30), m.index + 20)}"`)).toEqual([]);
  });
});

it("the tutorial has its eight chapters, in order", () => {
  expect(chapters.filter((c) => /^\d\d-/.test(c))).toHaveLength(8);
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
