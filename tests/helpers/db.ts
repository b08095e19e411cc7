import { randomBytes } from "node:crypto";
import postgres from "postgres";
import type { Connection } from "@/db/client";
import { openDatabase } from "@/db/open";
import { setConnection, setServerSecret } from "@/lib/runtime";

export const TEST_SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

let queries = 0;
let currentUrl: string | undefined;

/**
 * Gives the test file a fresh, migrated database, opened the way the server opens it (db/open.ts)
 * and made the process's (lib/runtime.ts): an in-memory PGlite reached in-process, or a new
 * database on the PostgreSQL server, dropped afterwards.
 */
export async function setupTestDatabase(): Promise<() => Promise<void>> {
  setServerSecret(TEST_SECRET);
  let url: string | undefined;
  let drop = async () => {};
  if (process.env.TEST_DB === "postgres") {
    const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const name = `latchkey_test_${randomBytes(6).toString("hex")}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    const parsed = new URL(adminUrl);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    drop = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
  }
  const database = await openDatabase({ url, dataDir: "memory://", poolMax: 10 }, { onQuery: () => void queries++ }).catch(
    async (error) => {
      await drop();
      throw error;
    },
  );
  setConnection(database.connection);
  currentUrl = url;
  return async () => {
    currentUrl = undefined;
    setConnection(undefined);
    await database.close();
    await drop();
  };
}

/** The test database's URL on PostgreSQL (for LISTEN and probes, which connect on their own). */
export function testDatabaseUrl(): string {
  if (!currentUrl) throw new Error("No PostgreSQL test database: only TEST_DB=postgres has a URL.");
  return currentUrl;
}

/** How many queries the process's database answered while `fn` ran. */
export async function queriesDuring(fn: () => Promise<unknown>): Promise<number> {
  const before = queries;
  await fn();
  return queries - before;
}

/** Runs `fn` with the services pointed at `connection` (a broken or silent database), then back. */
export async function withConnection<T>(connection: Connection, fn: () => Promise<T>): Promise<T> {
  const previous = setConnection(connection);
  try {
    return await fn();
  } finally {
    setConnection(previous);
  }
}
