// `npm start`: the production app on one port. Builds the pages first when no build exists,
// then runs the server in this same process (signals reach it directly).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
process.env.NODE_ENV ??= "production";
process.env.NEXT_TELEMETRY_DISABLED = "1";

if (process.env.NODE_ENV === "production" && process.env.SERVE_PAGES !== "false" && !existsSync(".next/BUILD_ID")) {
  console.log("No production build yet: building the pages once (next build)…");
  const build = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env: process.env });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const { register } = await import("tsx/esm/api");
register();
await import("../server/index.ts");
