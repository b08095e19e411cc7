import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export class DataDirInUseError extends Error {}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the data folder's lock file. PGlite corrupts its folder when two processes open it, so
 * only the process holding this lock ever does; a second start fails with a clear message.
 */
function acquireLock(dir: string): () => void {
  const lockFile = path.join(dir, "latchkey.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      return () => {
        try {
          if (fs.readFileSync(lockFile, "utf8") === String(process.pid)) fs.unlinkSync(lockFile);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(fs.readFileSync(lockFile, "utf8"));
      if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) {
        throw new DataDirInUseError(
          `The data folder ${dir} is in use by another Latchkey process (pid ${holder}). ` +
            "Stop it first, or set LATCHKEY_DATA_DIR to another folder.",
        );
      }
      fs.unlinkSync(lockFile); // stale: its process is gone
    }
  }
  throw new DataDirInUseError(`Could not lock the data folder ${dir}.`);
}

/**
 * Opens the embedded PGlite database in `dir` (or in memory with "memory://") and serves it over
 * the Postgres protocol on a loopback port, so the app always talks to it through `postgres`.
 */
export async function startEmbeddedDatabase(dir: string): Promise<EmbeddedDatabase> {
  const inMemory = dir === "memory://";
  let release = () => {};
  if (!inMemory) {
    fs.mkdirSync(dir, { recursive: true });
    release = acquireLock(dir);
  }
  try {
    const pg = await PGlite.create(inMemory ? undefined : path.join(dir, "pgdata"));
    const server = new PGLiteSocketServer({ db: pg, host: "127.0.0.1", port: 0, maxConnections: 1 });
    await server.start();
    const conn = server.getServerConn(); // "127.0.0.1:PORT"
    return {
      url: `postgres://postgres@${conn}/postgres`,
      async stop() {
        await server.stop();
        await pg.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}
