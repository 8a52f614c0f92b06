// The server's layers, checked by reading its imports: only the entry and routing
// (server/index.ts, server/app.ts, server/http/) and the transports themselves may import a
// transport. Everything below them (the command executor, the hub, the workspace, the log)
// works the same whichever transport carries the frames.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SERVER = path.join(ROOT, "server");

/**
 * Imports still to be removed: the hub builds each transport's wire encoding of an event once
 * for all subscribers. Issue 14's hub split has each transport supply its encoder instead; this
 * list only shrinks.
 */
const PENDING: ReadonlySet<string> = new Set(["server/hub.ts -> server/transports/sse-frame.ts", "server/hub.ts -> server/transports/ws-frame.ts"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" ? [] : sourceFiles(full);
    return /\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Every relative module a file imports or re-exports (type-only ones too), as repo paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+["']([^"']+)["']/g)].map((m) => m[1]!);
  specs.push(...[...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!));
  return specs.filter((s) => s.startsWith(".")).map((s) => path.relative(ROOT, path.resolve(path.dirname(file), s)).replace(/(\.ts)?$/, ".ts"));
}

const mayImportTransports = (file: string) =>
  file === "server/index.ts" || file === "server/app.ts" || file.startsWith("server/http/") || file.startsWith("server/transports/");

describe("server layering", () => {
  it("no module below the transports imports one", () => {
    const offending: string[] = [];
    for (const full of sourceFiles(SERVER)) {
      const file = path.relative(ROOT, full);
      if (mayImportTransports(file)) continue;
      for (const target of importsOf(full)) {
        if (target.startsWith("server/transports/") && !PENDING.has(`${file} -> ${target}`)) offending.push(`${file} -> ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it("reads imports, type-only and re-exports included (the check itself)", () => {
    const sample = path.join(SERVER, "commands", "executor.ts");
    expect(importsOf(sample)).toContain("server/commands/context.ts");
    expect(importsOf(path.join(SERVER, "transports", "ws.ts"))).toContain("server/commands/limits.ts");
  });
});
