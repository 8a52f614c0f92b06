// The tutorial cannot rot: every file, symbol, method and name a chapter quotes must exist in
// the code as named, every HTTP call it shows must be served by the app's router, and every
// npm script and test path it runs must exist. (test/integration/tutorial.test.ts runs the
// chapters' curl commands against a real server; the numbers the prose states are tied to the
// code's constants further down.)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createApi, type ApiDeps } from "../../server/http/api";

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, "docs/tutorial");
const chapters = readdirSync(DIR).filter((f) => f.endsWith(".md")).sort();
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

// ---------------------------------------------------------------------------
// The code a chapter may quote: the app's own sources, never generated or installed code.

const SOURCE_DIRS = ["server", "lib", "components", "app", "prisma", "bench", "deploy", "scripts"];
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
// What the router serves. Building the routes runs no handler, so no dependency is touched.

const router = createApi({} as ApiDeps);
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
