import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { acquireDataDirLock, tightenModes } from "./embedded-lock";
import { createEmbeddedBackend, type EmbeddedBackend } from "./embedded-socket";

export { DataDirInUseError } from "./embedded-lock";

export interface EmbeddedDatabase {
  /** Where connections come from: `connect(embedded)` (db/client.ts) reaches it in-process. */
  backend: EmbeddedBackend;
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
