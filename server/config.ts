// Configuration: read from the environment once, validated, with errors a person can act on.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("0.0.0.0"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL")
    .optional(),
  DATA_DIR: z.string().min(1).default("./.data"),
  /** The embedded database: "durable" acks a commit once fsynced; "relaxed" (tests, benches) does not wait. */
  EMBEDDED_DB_DURABILITY: z.enum(["durable", "relaxed"]).default("durable"),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "REDIS_URL must be a redis:// or rediss:// URL")
    .optional(),
  SESSION_SECRET: z.string().min(32, "SESSION_SECRET must be at least 32 characters").optional(),
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.url("ALLOWED_ORIGINS must be a comma-separated list of origins like https://app.example.com"))),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** How long a drain may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** An instance id for logs, metrics and cross-instance messages. */
  INSTANCE_ID: z.string().min(1).optional(),
  /** "false": serve only the API and realtime endpoints, no pages (a realtime-only tier, tests). */
  SERVE_PAGES: z.enum(["true", "false"]).default("true"),
  /** How often an instance re-announces its presence over Redis; others forget it after 3×. */
  PRESENCE_HEARTBEAT_MS: z.coerce.number().int().min(50).default(5_000),
  /** Proxies whose `X-Forwarded-For`/`-Proto`/`-Host` are believed: IPs or CIDR ranges. */
  TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean))
    .pipe(
      z.array(
        z.string().refine(isAddressOrRange, "TRUSTED_PROXIES must be a comma-separated list of IP addresses or CIDR ranges like 10.0.0.0/8"),
      ),
    ),
  /** Open WebSockets, event streams and held polls one person may have at once. */
  MAX_CONNECTIONS_PER_PERSON: z.coerce.number().int().min(1).default(20),
  /** The same, per client address (several people behind one NAT share it). */
  MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).default(200),
  /** Sign-ups (new sessions) one address may make: a burst of this many, then one a second. */
  SESSIONS_PER_ADDRESS_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  /** Rooms one person may create at once before the hourly rate applies. */
  ROOMS_PER_PERSON_BURST: z.coerce.number().int().min(1).default(10),
  /** Rooms one person may create per hour past the burst (60: one a minute). */
  ROOMS_PER_PERSON_PER_HOUR: z.coerce.number().int().min(1).default(60),
  /** Days a guest who can no longer sign in (every session expired or signed out) is kept. */
  GUEST_RETENTION_DAYS: z.coerce.number().positive().default(30),
  /** A separate port for `/metrics` (then not served on PORT); unset: served on PORT. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedDbDurability: Env["EMBEDDED_DB_DURABILITY"];
  redisUrl: string | undefined;
  sessionSecret: string;
  allowedOrigins: string[];
  logLevel: Env["LOG_LEVEL"];
  shutdownTimeoutMs: number;
  instanceId: string;
  servePages: boolean;
  presenceHeartbeatMs: number;
  trustedProxies: string[];
  maxConnectionsPerPerson: number;
  maxConnectionsPerAddress: number;
  sessionsPerAddressPerMinute: number;
  roomsPerPersonBurst: number;
  roomsPerPersonPerHour: number;
  guestRetentionDays: number;
  metricsPort: number | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the environment; throws a ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(emptyToUndefined(source));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir,
    embeddedDbDurability: e.EMBEDDED_DB_DURABILITY,
    redisUrl: e.REDIS_URL,
    sessionSecret: e.SESSION_SECRET ?? persistentSecret(dataDir),
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    instanceId: e.INSTANCE_ID ?? `i-${randomBytes(3).toString("hex")}`,
    servePages: e.SERVE_PAGES === "true",
    presenceHeartbeatMs: e.PRESENCE_HEARTBEAT_MS,
    trustedProxies: e.TRUSTED_PROXIES,
    maxConnectionsPerPerson: e.MAX_CONNECTIONS_PER_PERSON,
    maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
    sessionsPerAddressPerMinute: e.SESSIONS_PER_ADDRESS_PER_MINUTE,
    roomsPerPersonBurst: e.ROOMS_PER_PERSON_BURST,
    roomsPerPersonPerHour: e.ROOMS_PER_PERSON_PER_HOUR,
    guestRetentionDays: e.GUEST_RETENTION_DAYS,
    metricsPort: e.METRICS_PORT,
  };
}

function isAddressOrRange(entry: string): boolean {
  const [address, bits, ...rest] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

function emptyToUndefined(source: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(source)) out[k] = v === "" ? undefined : v;
  return out;
}

/** A secret generated on first start and kept in DATA_DIR, so sessions survive restarts. */
function persistentSecret(dataDir: string): string {
  const file = path.join(dataDir, "session-secret");
  try {
    const existing = readFileSync(file, "utf8").trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  // Owner-only: it holds this secret and the embedded database.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString("base64url");
  // `wx`: if another process won the race, keep its secret.
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
    throw err;
  }
}
