// The server's layers, checked from its sources: only the entry and the routing reach into the
// transports, and nothing below the transports knows a wire format — the hub hands out events
// and each transport brings its own encoder.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SERVER = path.resolve(__dirname, "../../server");

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "generated") sources(full, out);
    } else if (entry.name.endsWith(".ts")) out.push(full);
  }
  return out;
}

/** Every module a source file imports, resolved to a path relative to server/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)[^;]*?from\s+"(\.[^"]+)"/g)].map((m) =>
    path.relative(SERVER, path.resolve(path.dirname(file), m[1]!)),
  );
}

const files = sources(SERVER).map((f) => ({ name: path.relative(SERVER, f), imports: importsOf(f) }));
const MAY_USE_TRANSPORTS = (name: string) =>
  name === "index.ts" || name === "app.ts" || name.startsWith("http/") || name.startsWith("transports/");

describe("server layers", () => {
  it("finds the server's modules and their imports", () => {
    expect(files.find((f) => f.name === "hub.ts")?.imports).toContain("hub/fanout");
  });

  it("only the entry, the routing and the transports import from server/transports/", () => {
    const leaks = files.filter((f) => !MAY_USE_TRANSPORTS(f.name)).flatMap((f) => f.imports.filter((i) => i.startsWith("transports/")).map((i) => `${f.name} → ${i}`));
    expect(leaks).toEqual([]);
  });

  it("no module but a transport imports a wire format (WebSocket or SSE framing)", () => {
    const wire = new Set(["transports/ws-frame", "transports/sse-frame"]);
    const leaks = files.filter((f) => !f.name.startsWith("transports/")).flatMap((f) => f.imports.filter((i) => wire.has(i)).map((i) => `${f.name} → ${i}`));
    expect(leaks).toEqual([]);
  });
});
