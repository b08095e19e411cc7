import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { closeDb, getConnection } from "@/db/client";
import { startEmbeddedDatabase } from "@/db/embedded";
import { runMigrations } from "@/db/migrate";

export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/**
 * Gives the test file a fresh, migrated database: an in-memory PGlite reached in-process over the
 * Postgres protocol (as the app runs it), or a new database on the PostgreSQL server, dropped afterwards.
 * Both are reached through the app's own client.
 */
export async function setupTestDatabase(): Promise<() => Promise<void>> {
  process.env.LATCHKEY_SECRET = TEST_SECRET;
  let cleanup: () => Promise<void>;
  if (process.env.TEST_DB === "postgres") {
    const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const name = `latchkey_test_${randomBytes(6).toString("hex")}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    process.env.DATABASE_URL = url.toString();
    cleanup = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  } else {
    const embedded = await startEmbeddedDatabase("memory://");
    process.env.DATABASE_URL = embedded.url;
    cleanup = () => embedded.stop();
  }
  await runMigrations(getConnection().db);
  return async () => {
    await closeDb();
    await cleanup();
  };
}
