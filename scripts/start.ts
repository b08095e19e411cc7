/**
 * `npm start`: serves the production build, building it first when there is none.
 * Rebuild after changing the code with `npm run build`.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

(process.env as Record<string, string>).NODE_ENV = "production";

if (!fs.existsSync(path.join(process.cwd(), process.env.LATCHKEY_DIST_DIR ?? ".next", "BUILD_ID"))) {
  console.log("[latchkey] no production build yet: running `next build` (once)...");
  const result = spawnSync("npx", ["next", "build"], { stdio: "inherit", env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const { main } = await import("../server/main");
await main(false);
