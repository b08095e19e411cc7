import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { embeddedSocket, isEmbeddedUrl } from "./embedded-socket";
import * as schema from "./schema";

export type Database = PostgresJsDatabase<typeof schema>;
/** A transaction handle: services pass it down so one operation and its audit row commit together. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbOrTx = Database | Tx;

interface Connection {
  sql: postgres.Sql;
  db: Database;
}

// One pool per process, shared by every copy of this module (Next bundles its own copy next to
// the custom server's), so it lives on globalThis.
const slot = Symbol.for("latchkey.db");
type Holder = typeof globalThis & { [slot]?: Connection };

export function connect(url: string, options: { max?: number } = {}): Connection {
  const sql = postgres(url, {
    max: options.max ?? Number(process.env.DATABASE_POOL_MAX ?? 10),
    idle_timeout: 30,
    // Short, so a request fails fast (503) while the database is unreachable; the API adds a deadline.
    connect_timeout: 2,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    // The embedded database is reached in-process (no network, no SSL), one connection at a time.
    ...(isEmbeddedUrl(url) ? { max: 1, ssl: false, socket: embeddedSocket } : {}),
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  return { sql, db: drizzle(sql, { schema, casing: "snake_case" }) };
}

/**
 * The database, opened lazily on first use (never at import, so `next build` never connects).
 * DATABASE_URL is a real PostgreSQL, or the embedded server that server/main.ts started.
 */
export function getConnection(): Connection {
  const holder = globalThis as Holder;
  if (!holder[slot]) {
    const url = process.env.DATABASE_URL;
    if (!url) {
      throw new Error(
        "No database: DATABASE_URL is not set. Start Latchkey with `npm start` or `npm run dev`, " +
          "which start the embedded database when DATABASE_URL is unset.",
      );
    }
    holder[slot] = connect(url);
  }
  return holder[slot];
}

export function db(): Database {
  return getConnection().db;
}

export async function closeDb(): Promise<void> {
  const holder = globalThis as Holder;
  const conn = holder[slot];
  holder[slot] = undefined;
  await conn?.sql.end({ timeout: 5 });
}
