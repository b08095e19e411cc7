import type { Database } from "./client";

/**
 * Statements built once per database and reused: Drizzle builds a query's SQL text from its
 * objects on every call (for a small query that is most of its cost), a prepared one only fills
 * in its placeholders. Keyed by the Drizzle database, so a new connection (tests, a restart of the
 * embedded database) prepares its own.
 */
const statements = new WeakMap<Database, Map<string, unknown>>();

export function prepared<T>(database: Database, name: string, build: (database: Database) => T): T {
  let byName = statements.get(database);
  if (!byName) statements.set(database, (byName = new Map()));
  let statement = byName.get(name) as T | undefined;
  if (statement === undefined) byName.set(name, (statement = build(database)));
  return statement;
}
