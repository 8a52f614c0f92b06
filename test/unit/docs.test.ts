// The tutorial cannot rot: every file, symbol, method, npm script and test path a chapter
// names must exist in the code as named.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const DIR = path.join(ROOT, "docs/tutorial");
const chapters = readdirSync(DIR).filter((f) => f.endsWith(".md")).sort();
const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };

const FILE_REF = /^[\w.-]+(\/[\w.[\]-]+)*\/?(\.\w+)?$/;
const KNOWN_EXT = /\.(ts|tsx|mjs|md|conf|prisma|sql|yml|json)$/;

/** `path/file.ts#Symbol` references, with the method names that follow them in parentheses. */
function references(text: string) {
  const refs: Array<{ file: string; symbol?: string; methods: string[] }> = [];
  const re = /`([\w./[\]-]+)(?:#(\w+))?`((?:\s*(?:\(|,)?\s*(?:methods?\s+|in\s+)?`\w+`(?:\s+and\s+`\w+`)?\)?)?)/g;
  for (const m of text.matchAll(re)) {
    const file = m[1]!;
    if (!file.includes("/") || !(KNOWN_EXT.test(file) || file.endsWith("/"))) continue;
    const methods = m[2] && m[3] ? [...m[3].matchAll(/`(\w+)`/g)].map((x) => x[1]!) : [];
    refs.push({ file, symbol: m[2], methods });
  }
  return refs;
}

function declares(source: string, name: string): boolean {
  return new RegExp(`(class|function|const|let|interface|type|enum)\\s+${name}\\b`).test(source);
}

function hasMember(source: string, name: string): boolean {
  return new RegExp(`(^|\\s)(private |public |protected |static |async |readonly |get |set )*${name}\\s*[(<=:]`, "m").test(source);
}

describe.each(chapters)("docs/tutorial/%s", (chapter) => {
  const text = readFileSync(path.join(DIR, chapter), "utf8");

  it("names only files, symbols and methods that exist", () => {
    const refs = references(text);
    if (chapter !== "README.md") expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const file = path.join(ROOT, ref.file);
      expect(existsSync(file), `${ref.file} exists`).toBe(true);
      if (!ref.symbol) continue;
      const source = readFileSync(file, "utf8");
      expect(declares(source, ref.symbol), `${ref.file} declares ${ref.symbol}`).toBe(true);
      for (const method of ref.methods) expect(hasMember(source, method), `${ref.file} has ${method}`).toBe(true);
    }
  });

  it("runs only npm scripts and test files that exist", () => {
    for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const line of block[1]!.split("\n").filter(Boolean)) {
        for (const m of line.matchAll(/npm run ([\w:-]+)/g)) expect(pkg.scripts[m[1]!], `npm run ${m[1]}`).toBeDefined();
        for (const m of line.matchAll(/\s((?:test|bench|e2e)\/[\w./-]+\.ts)/g)) expect(existsSync(path.join(ROOT, m[1]!)), m[1]).toBe(true);
      }
    }
    for (const m of text.matchAll(/`npm run ([\w:-]+)`/g)) expect(pkg.scripts[m[1]!], `npm run ${m[1]}`).toBeDefined();
  });

  it("links only to chapters that exist", () => {
    for (const m of text.matchAll(/\]\(([\w.-]+\.md)\)/g)) {
      expect(existsSync(path.join(DIR, m[1]!)) && statSync(path.join(DIR, m[1]!)).isFile(), m[1]).toBe(true);
    }
  });
});

it("the tutorial has its eight chapters, in order", () => {
  expect(chapters.filter((c) => /^\d\d-/.test(c))).toHaveLength(8);
  expect(FILE_REF.test("server/eventlog.ts")).toBe(true);
});
