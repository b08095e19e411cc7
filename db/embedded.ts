import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { acquireDataDirLock, tightenModes } from "./embedded-lock";
import { createEmbeddedBackend, type EmbeddedBackend } from "./embedded-socket";

export { DataDirInUseError } from "./embedded-lock";

export interface EmbeddedDatabase {
  /** Where connections come from: `connect(embedded)` (db/client.ts) reaches it in-process. */
  backend: EmbeddedBackend;
  stop(): Promise<void>;
}

/**
 * PostgreSQL's memory settings inside PGlite, sized for one process with one connection: PGlite's
 * defaults (shared_buffers 160 MB, wal_buffers 5 MB, temp_buffers 10 MB) are a server's, and its
 * WebAssembly memory grows to hold them. 16 MB of shared buffers hold the hot pages of a
 * keys-and-audit database of tens of thousands of keys; the operating system's page cache holds
 * the rest of the folder. See bench/memory.
 */
export const EMBEDDED_POSTGRES_SETTINGS = ["shared_buffers = 16MB", "wal_buffers = 1MB", "temp_buffers = 2MB"];

/** PGlite's options, shared by the initdb child (as JSON) and every open here (which adds the extensions). */
const pgliteOptions = (): PGliteOptions => ({ postgresqlconf: EMBEDDED_POSTGRES_SETTINGS });

/**
 * Creates a new database folder (PostgreSQL's initdb) in a child process. initdb runs in a
 * WebAssembly instance of its own that leaves about 400 MB of garbage behind, which an idle
 * server would carry until a garbage collection that may never come; in a child it is gone when
 * the child exits. The child inherits the umask, and this process holds the folder's lock.
 */
async function initialiseInChildProcess(pgdata: string): Promise<void> {
  const code = [
    `const { PGlite } = await import("@electric-sql/pglite");`,
    `const pg = await PGlite.create(${JSON.stringify(pgdata)}, ${JSON.stringify(pgliteOptions())});`,
    `await pg.query("select 1");`,
    `await pg.close();`,
  ].join("\n");
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  if (exitCode !== 0) throw new Error(`could not create the embedded database: ${stderr.trim().split("\n").at(-1) ?? exitCode}`);
}

/**
 * Opens the embedded PGlite database in `dir` (or in memory with "memory://") inside this process.
 * The app reaches it through `postgres` as usual, over an in-process socket (db/embedded-socket.ts):
 * nothing listens, so no other process can connect. The folder is locked to this process and
 * readable by its owner only: folders 0700, files 0600 (older, looser files are tightened).
 */
export async function startEmbeddedDatabase(dir: string): Promise<EmbeddedDatabase> {
  const inMemory = dir === "memory://";
  let release = () => {};
  if (!inMemory) {
    // Before anything is created: PGlite asks for 0666 files and 0777 folders.
    process.umask(0o077);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    release = acquireDataDirLock(dir);
  }
  let pg: PGlite | undefined;
  try {
    if (!inMemory) tightenModes(dir);
    const pgdata = path.join(dir, "pgdata");
    if (!inMemory && !fs.existsSync(path.join(pgdata, "PG_VERSION"))) await initialiseInChildProcess(pgdata);
    // pg_trgm: the search indexes (migration 0006).
    pg = await PGlite.create(inMemory ? undefined : pgdata, { ...pgliteOptions(), extensions: { pg_trgm } });
    // PGlite sets the modes of the files it unpacks at its first start itself (0666): tighten them.
    if (!inMemory) tightenModes(dir);
  } catch (error) {
    await pg?.close().catch(() => {});
    release();
    throw error;
  }
  const opened = pg;
  const backend = createEmbeddedBackend(opened);
  let stopped = false;
  return {
    backend,
    async stop() {
      if (stopped) return;
      stopped = true;
      backend.close();
      try {
        await opened.close();
      } finally {
        release();
      }
    },
  };
}
