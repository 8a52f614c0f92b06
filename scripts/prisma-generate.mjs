// Generates the Prisma client into server/db/generated after `npm install`.
// `prisma generate` only needs the schema engine's path to exist, not the engine itself
// (the client it writes is TypeScript plus a WASM query compiler), so where no engine
// binary was downloaded we point it at this file.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const prisma = new URL("../node_modules/.bin/prisma", import.meta.url);
if (!existsSync(prisma)) {
  console.warn("prisma CLI not installed; skipping client generation");
  process.exit(0);
}
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = fileURLToPath(import.meta.url);
}
const result = spawnSync(fileURLToPath(prisma), ["generate"], { cwd: root, env, stdio: "inherit" });
process.exit(result.status ?? 1);
