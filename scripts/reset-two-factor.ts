/**
 * `npm run user:reset-2fa -- <email>`: turns off two-factor authentication for one person, for an
 * Owner (or anyone) who lost both their phone and their recovery codes. Deletes their TOTP secret
 * and recovery codes and ends all their sessions; audited as user.two_factor_reset by "Server
 * command". They then sign in with their password alone, and set it up again (the organisation's
 * policy, if any, sends them to).
 *
 * Runs against DATABASE_URL, or opens the embedded database in LATCHKEY_DATA_DIR when it is unset
 * (which only works while Latchkey is stopped: the embedded folder has one opener at a time).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DataDirInUseError, openDatabase, type OpenedDatabase } from "../db/open";
import { resetTwoFactorByEmail } from "../lib/auth/two-factor-reset";
import { databaseSettings, readEnv } from "../lib/config/env";
import { describeError } from "../lib/log";
import { setConnection } from "../lib/runtime";

function usage(): string {
  return [
    "Usage: npm run user:reset-2fa -- <email>",
    "",
    "Turns off two-factor authentication for the person with this email and signs them out",
    "everywhere. Uses DATABASE_URL, or the embedded database in LATCHKEY_DATA_DIR (default ./data)",
    "when it is unset; the embedded database can only be changed while Latchkey is stopped.",
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(usage());
    return 0;
  }
  const [email, ...rest] = args;
  if (!email || rest.length > 0 || !email.includes("@")) {
    console.error(usage());
    return 2;
  }
  let database: OpenedDatabase;
  try {
    database = await openDatabase({ ...databaseSettings(readEnv()), poolMax: 1 });
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      console.error(`${error.message}\nThe embedded database can only be changed while Latchkey is stopped (or set DATABASE_URL).`);
      return 1;
    }
    console.error(`[latchkey] could not open the database: ${describeError(error)}`);
    return 1;
  }
  setConnection(database.connection);
  try {
    const result = await resetTwoFactorByEmail(email);
    if (!result.found) {
      console.error(`No person with the email ${email}. Nothing changed.`);
      return 1;
    }
    const sessions = `${result.sessionsEnded} ${result.sessionsEnded === 1 ? "session" : "sessions"} ended`;
    console.log(
      result.hadTwoFactor
        ? `Two-factor authentication is off for ${result.email} (${sessions}). They can sign in with their password and set it up again.`
        : `${result.email} did not have two-factor authentication on (${sessions}).`,
    );
    return 0;
  } catch (error) {
    console.error(`[latchkey] reset failed: ${describeError(error)}`); // never a failed query's parameters
    return 1;
  } finally {
    setConnection(undefined);
    await database.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
