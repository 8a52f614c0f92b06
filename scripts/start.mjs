// `npm start`: the production app on one port. Builds the pages first when no build exists (or
// the pages changed since it was made), then runs the server in this same process (signals
// reach it directly).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
process.env.NODE_ENV ??= "production";
process.env.NEXT_TELEMETRY_DISABLED = "1";

/** The newest modification time under the page sources (what `next build` compiles). */
function newestSource() {
  let newest = 0;
  const walk = (p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ["app", "components", "lib", "public", "proxy.ts", "next.config.mjs", "postcss.config.mjs", "tsconfig.json", "package.json"]) walk(p);
  return newest;
}

const build = statSync(".next/BUILD_ID", { throwIfNoEntry: false });
const stale = build && newestSource() > build.mtimeMs;
if (process.env.NODE_ENV === "production" && process.env.SERVE_PAGES !== "false" && (!build || stale)) {
  console.log(stale ? "The pages changed since the last build: building again (next build)…" : "No production build yet: building the pages once (next build)…");
  const result = spawnSync(process.execPath, ["node_modules/next/dist/bin/next", "build"], { stdio: "inherit", env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const { register } = await import("tsx/esm/api");
register();
await import("../server/index.ts");
