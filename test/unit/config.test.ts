// Configuration: defaults, validation with messages a person can act on, and the session
// secret generated once and kept.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../server/config";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), "rt-config-"));
  dirs.push(d);
  return d;
};

describe("loadConfig", () => {
  it("defaults to port 3000, embedded database in ./.data, and a generated secret kept in DATA_DIR", () => {
    const dir = tempDir();
    const c = loadConfig({ DATA_DIR: dir });
    expect(c.port).toBe(3000);
    expect(c.host).toBe("0.0.0.0");
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.dataDir).toBe(path.resolve(dir));
    expect(c.sessionSecret.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir, "session-secret");
    expect(readFileSync(file, "utf8").trim()).toBe(c.sessionSecret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // The same secret on the next start, so sessions survive restarts.
    expect(loadConfig({ DATA_DIR: dir }).sessionSecret).toBe(c.sessionSecret);
    // The default directory, without writing a secret into the working tree: one is given.
    expect(loadConfig({ SESSION_SECRET: "s".repeat(40) }).dataDir).toBe(path.resolve(".data"));
  });

  it("takes every variable from the environment", () => {
    const c = loadConfig({
      PORT: "8080",
      HOST: "127.0.0.1",
      DATABASE_URL: "postgres://u@db:5432/app",
      REDIS_URL: "redis://cache:6379",
      SESSION_SECRET: "s".repeat(40),
      ALLOWED_ORIGINS: "https://a.example.com, https://b.example.com",
      DATA_DIR: tempDir(),
    });
    expect(c).toMatchObject({
      port: 8080,
      host: "127.0.0.1",
      databaseUrl: "postgres://u@db:5432/app",
      redisUrl: "redis://cache:6379",
      sessionSecret: "s".repeat(40),
      allowedOrigins: ["https://a.example.com", "https://b.example.com"],
    });
  });

  it("treats empty variables as unset", () => {
    const c = loadConfig({ DATABASE_URL: "", REDIS_URL: "", PORT: "", DATA_DIR: tempDir() });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.port).toBe(3000);
  });

  it("names every bad variable in one clear error", () => {
    let err: unknown;
    try {
      loadConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", REDIS_URL: "http://x", SESSION_SECRET: "short", ALLOWED_ORIGINS: "not a url" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^Invalid configuration/);
    for (const name of ["PORT", "DATABASE_URL", "REDIS_URL", "SESSION_SECRET", "ALLOWED_ORIGINS"]) expect(msg).toContain(name);
    expect(msg).toMatch(/postgres:\/\//);
    expect(msg).toMatch(/at least 32/);
  });
});
