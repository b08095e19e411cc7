import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import type { EmbeddedDatabase } from "./embedded";
import { EMBEDDED_URL } from "./embedded-socket";
import * as schema from "./schema";

/** The Drizzle database, and the driver under it (`$client`) for the few queries run on it directly. */
export type Database = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql };
/** A transaction handle: services pass it down so one operation and its audit row commit together. */
export type Tx = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbOrTx = Database | Tx;

/** A pool of connections and the Drizzle database over it. */
export interface Connection {
  sql: postgres.Sql;
  db: Database;
}

export interface ConnectOptions {
  /** Connections in the pool (DATABASE_POOL_MAX); the embedded database always has one. */
  max?: number;
  /** Called with every query's text (tests count queries with it). */
  onQuery?: (query: string) => void;
}

/**
 * A pool to a PostgreSQL server (a postgres:// URL) or to the embedded database opened in this
 * process (db/embedded.ts), which is reached in-process: no network, no SSL, one connection.
 * Nothing is sent until the first query.
 */
export function connect(target: string | EmbeddedDatabase, options: ConnectOptions = {}): Connection {
  const embedded = typeof target === "string" ? undefined : target.backend;
  const onQuery = options.onQuery;
  const sql = postgres(embedded ? EMBEDDED_URL : (target as string), {
    max: options.max ?? 10,
    idle_timeout: 30,
    // Short, so a request fails fast (503) while the database is unreachable; the API adds a deadline.
    connect_timeout: 2,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    ...(onQuery ? { debug: (_connection: number, query: string) => onQuery(query) } : {}),
    ...(embedded ? { max: 1, ssl: false, socket: () => embedded.socket() } : {}),
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  return { sql, db: drizzle(sql, { schema, casing: "snake_case" }) };
}
