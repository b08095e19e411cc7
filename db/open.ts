/**
 * The one place that decides which database Latchkey uses and starts it: a PostgreSQL server when
 * a URL is given, otherwise the embedded PGlite database in the data folder, opened inside this
 * process. The server, `npm run db:migrate`, `npm run db:seed`, the tests and the benchmarks all
 * open it here, so they all get the same connection settings and the same migrations.
 */
import { connect, type Connection, type ConnectOptions } from "./client";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "./embedded";
import { runMigrations } from "./migrate";

export { DataDirInUseError } from "./embedded";

export interface DatabaseSettings {
  /** A postgres:// URL (DATABASE_URL); without one the embedded database in `dataDir` is used. */
  url?: string;
  /** The embedded database's folder (LATCHKEY_DATA_DIR), or "memory://" for one that is not kept. */
  dataDir: string;
  /** Connections in the pool (DATABASE_POOL_MAX). */
  poolMax?: number;
}

export interface OpenedDatabase {
  kind: "embedded" | "postgres";
  connection: Connection;
  /** The PostgreSQL URL (for LISTEN and health checks, which need connections of their own). */
  url?: string;
  /** The embedded database, to connect to it again in-process. */
  embedded?: EmbeddedDatabase;
  /** For logs: "the embedded database in <folder>" or "PostgreSQL at <host>" (never a password). */
  description: string;
  /** Ends the pool, then stops the embedded database (releasing its folder). */
  close(): Promise<void>;
}

export interface OpenOptions extends Pick<ConnectOptions, "onQuery"> {
  /** Apply the committed migrations first (default true). */
  migrate?: boolean;
}

export async function openDatabase(settings: DatabaseSettings, options: OpenOptions = {}): Promise<OpenedDatabase> {
  const embedded = settings.url ? undefined : await startEmbeddedDatabase(settings.dataDir);
  const connection = connect(embedded ?? settings.url!, { max: settings.poolMax, onQuery: options.onQuery });
  const close = async () => {
    try {
      await connection.sql.end({ timeout: 5 });
    } finally {
      await embedded?.stop();
    }
  };
  try {
    if (options.migrate !== false) await runMigrations(connection.db);
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return {
    kind: embedded ? "embedded" : "postgres",
    connection,
    url: settings.url,
    embedded,
    description: embedded ? `the embedded database in ${settings.dataDir}` : `PostgreSQL at ${describeUrl(settings.url!)}`,
    close,
  };
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}${parsed.pathname}`;
  } catch {
    return "DATABASE_URL";
  }
}
