/**
 * `npm start`: serves the production build with plain `node`: the Next.js build and the compiled
 * server (scripts/build-server.mjs), making whichever is missing first. Rebuild both after changing
 * the code with `npm run build`.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { buildServer, serverBundlePath } from "./build-server.mjs";

process.env.NODE_ENV = "production";
const distDir = process.env.LATCHKEY_DIST_DIR ?? ".next";

if (!fs.existsSync(path.join(process.cwd(), distDir, "BUILD_ID"))) {
  console.log("[latchkey] no production build yet: running `npm run build` (once)...");
  const result = spawnSync("npm", ["run", "build"], { stdio: "inherit", env: process.env });
  if (result.status !== 0) process.exit(result.status ?? 1);
} else if (!fs.existsSync(serverBundlePath(distDir))) {
  await buildServer(distDir);
}

const { main } = await import(pathToFileURL(serverBundlePath(distDir)).href);
await main(false);
