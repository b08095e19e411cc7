/**
 * `npm run build`'s second half: compiles the custom server (server/main.ts and everything it
 * imports from db/, lib/ and server/) into one plain-JavaScript module beside the Next.js build,
 * `<LATCHKEY_DIST_DIR or .next>/latchkey/server.mjs`, so that `npm start` runs it with plain
 * `node`: no TypeScript transpiler in the production process (and no esbuild helper process).
 * Packages stay in node_modules (imported, not bundled). Plain JavaScript itself, so it needs
 * nothing but esbuild to run.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Where the compiled server lives for a build folder (scripts/start.mjs reads it from here). */
export function serverBundlePath(distDir = process.env.LATCHKEY_DIST_DIR ?? ".next") {
  return path.resolve(root, distDir, "latchkey", "server.mjs");
}

export async function buildServer(distDir) {
  const outfile = serverBundlePath(distDir);
  await build({
    absWorkingDir: root,
    entryPoints: ["server/main.ts"],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Every package is imported from node_modules at run time, as under tsx.
    packages: "external",
    tsconfig: "tsconfig.json",
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outfile = await buildServer();
  console.log(`[latchkey] server compiled to ${path.relative(root, outfile)}`);
}
