/**
 * `npm run db:seed`: demo users of every role with a few API keys, and their password.
 * `npm run db:seed -- --keys 100000`: also a large organisation (bulk users and that many keys).
 *
 * Runs against DATABASE_URL, or opens the embedded database itself when DATABASE_URL is unset
 * (which only works while Latchkey is stopped: the embedded folder has one opener at a time).
 * Keys are sealed with the same server secret the app resolves, so they work in the app.
 * The data itself is lib/seed.ts.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DataDirInUseError, openDatabase, type OpenedDatabase } from "../db/open";
import { ROLE_LABELS } from "../lib/auth/permissions";
import { databaseSettings, dataDir, readEnv } from "../lib/config/env";
import { createKeyring } from "../lib/config/keyring";
import { resolveServerSecret } from "../lib/config/secret";
import { describeError } from "../lib/log";
import { seed } from "../lib/seed";

function usage(): string {
  return [
    "Usage: npm run db:seed -- [--keys N] [--password PASSWORD]",
    "",
    "  --keys N             also create a large organisation with N keys (0 to 1000000)",
    "  --password PASSWORD  the demo users' password (default: a random one, printed)",
    "",
    "Uses DATABASE_URL, or the embedded database in LATCHKEY_DATA_DIR (default ./data) when it is",
    "unset; the embedded database can only be seeded while Latchkey is stopped.",
  ].join("\n");
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { keys: { type: "string" }, password: { type: "string" }, help: { type: "boolean", short: "h" } } }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (args.help) {
    console.log(usage());
    return 0;
  }
  const keys = Number(args.keys ?? 0);
  if (!Number.isInteger(keys) || keys < 0 || keys > 1_000_000) {
    console.error(`--keys must be a whole number from 0 to 1000000.\n\n${usage()}`);
    return 2;
  }
  const password = args.password ?? randomBytes(12).toString("base64url");
  if (password.length < 8) {
    console.error("--password must be at least 8 characters.");
    return 2;
  }

  const env = readEnv();
  let database: OpenedDatabase;
  try {
    database = await openDatabase({ ...databaseSettings(env), poolMax: 1 });
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      console.error(`${error.message}\nThe embedded database can only be seeded while Latchkey is stopped (or set DATABASE_URL).`);
      return 1;
    }
    throw error;
  }
  console.log(`[seed] ${database.description}`);
  try {
    // The same secret the server resolves (server/main.ts), or the keys would not open in the app.
    const secret = resolveServerSecret({
      secret: env.LATCHKEY_SECRET,
      secretFile: env.LATCHKEY_SECRET_FILE,
      dataDir: dataDir(env),
      allowGenerate: database.kind === "embedded" || env.NODE_ENV !== "production",
    });
    const started = Date.now();
    const report = await seed(database.connection.sql, createKeyring(secret), { keys, password });
    console.log("\nDemo accounts (sign in at /sign-in):");
    for (const account of report.accounts) {
      const note = account.created ? `password: ${report.password}` : "already existed, password unchanged";
      console.log(`  ${ROLE_LABELS[account.role].padEnd(10)} ${account.email.padEnd(32)} ${note}`);
    }
    if (report.bulk) {
      console.log(`\nBulk organisation: ${report.bulk.users} users and ${report.bulk.keys} keys (password: ${report.password}).`);
    }
    console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  } catch (error) {
    console.error(`[seed] failed: ${describeError(error)}`); // never a failed query's parameters
    return 1;
  } finally {
    await database.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
