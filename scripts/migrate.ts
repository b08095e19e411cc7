/**
 * `npm run db:migrate`: applies the committed migrations to DATABASE_URL, or to the embedded
 * database in LATCHKEY_DATA_DIR (which must not be in use by a running Latchkey).
 * The app also applies them at every start, so this is only needed to migrate ahead of time.
 */
import { closeDb, getConnection } from "../db/client";
import { DataDirInUseError, startEmbeddedDatabase, type EmbeddedDatabase } from "../db/embedded";
import { runMigrations } from "../db/migrate";
import { dataDir, readEnv } from "../lib/config/env";

const env = readEnv();
let embedded: EmbeddedDatabase | undefined;
try {
  embedded = env.DATABASE_URL ? undefined : await startEmbeddedDatabase(dataDir(env));
} catch (error) {
  // A running Latchkey holds the folder: say so in one line, not a stack.
  if (!(error instanceof DataDirInUseError)) throw error;
  console.error(`[latchkey] ${error.message}`);
  process.exit(1);
}
if (embedded) process.env.DATABASE_URL = embedded.url;
try {
  await runMigrations(getConnection().db);
  console.log(`[latchkey] migrations applied to ${embedded ? `the embedded database in ${dataDir(env)}` : "DATABASE_URL"}`);
} catch (error) {
  console.error(`[latchkey] migration failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await closeDb();
  await embedded?.stop();
}
