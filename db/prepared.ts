import { DrizzleQueryError, fillPlaceholders, type Column, type Query } from "drizzle-orm";
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

/** A select of plain columns, ready to run with its placeholders' values. */
export interface PreparedRows<TRow> {
  execute(values: Record<string, unknown>): Promise<TRow[]>;
}

/**
 * A select of plain columns (`columns`, each a table's column), prepared once per database like
 * `prepared`, that runs straight on the driver: the SQL text and parameters Drizzle built for it,
 * sent as a named prepared statement, and each row decoded by its column as Drizzle decodes it.
 * Drizzle's own execute wraps every call in several promises, tracing hooks and a generic row
 * mapper; for the API's busiest queries that was a tenth of a request's CPU. Errors are Drizzle's
 * (DrizzleQueryError, its cause the driver's), as from Drizzle's execute.
 */
export function preparedRows<TColumns extends Record<string, Column>, TRow>(
  database: Database,
  name: string,
  columns: TColumns,
  build: (database: Database, columns: TColumns) => { toSQL(): Query; execute(): Promise<TRow[]> },
): PreparedRows<TRow> {
  return prepared(database, name, () => {
    const { sql: text, params } = build(database, columns).toSQL();
    // Drizzle selects a flat selection's columns in its keys' order (orderSelectedFields).
    const names = Object.keys(columns);
    const decoders = Object.values(columns);
    const client = database.$client;
    const decode = (row: unknown[]) => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) {
        const value = row[i];
        out[names[i]!] = value === null ? null : decoders[i]!.mapFromDriverValue(value);
      }
      return out as TRow;
    };
    return {
      async execute(values) {
        const bound = fillPlaceholders(params, values);
        let rows: unknown[][];
        try {
          rows = await client.unsafe(text, bound as never[], { prepare: true }).values();
        } catch (error) {
          throw new DrizzleQueryError(text, bound, error as Error);
        }
        return rows.map(decode);
      },
    };
  });
}
