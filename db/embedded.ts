import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { acquireDataDirLock, tightenModes } from "./embedded-lock";
import { EMBEDDED_URL, registerEmbeddedDatabase, unregisterEmbeddedDatabase } from "./embedded-socket";

export { DataDirInUseError } from "./embedded-lock";

export interface EmbeddedDatabase {
  /** The DATABASE_URL to use: a marker that db/client.ts connects in-process, not an address. */
  url: string;
  stop(): Promise<void>;
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
    pg = await PGlite.create(inMemory ? undefined : path.join(dir, "pgdata"));
    // PGlite sets the modes of the files it unpacks at its first start itself (0666): tighten them.
    if (!inMemory) tightenModes(dir);
    registerEmbeddedDatabase(pg);
  } catch (error) {
    await pg?.close().catch(() => {});
    release();
    throw error;
  }
  const opened = pg;
  let stopped = false;
  return {
    url: EMBEDDED_URL,
    async stop() {
      if (stopped) return;
      stopped = true;
      unregisterEmbeddedDatabase(opened);
      try {
        await opened.close();
      } finally {
        release();
      }
    },
  };
}
