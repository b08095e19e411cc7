/**
 * `npm run db:migrate`: applies the committed migrations to DATABASE_URL, or to the embedded
 * database in LATCHKEY_DATA_DIR (which must not be in use by a running Latchkey).
 * The app also applies them at every start, so this is only needed to migrate ahead of time.
 */
import { DataDirInUseError, openDatabase } from "../db/open";
import { databaseSettings, readEnv } from "../lib/config/env";

try {
  const database = await openDatabase(databaseSettings(readEnv()), { migrate: true });
  console.log(`[latchkey] migrations applied to ${database.description}`);
  await database.close();
} catch (error) {
  // A running Latchkey holds the folder: say so in one line, not a stack.
  if (error instanceof DataDirInUseError) console.error(`[latchkey] ${error.message}`);
  else console.error(`[latchkey] migration failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
