import type { IncomingMessage, ServerResponse } from "node:http";
import postgres from "postgres";

/** Seconds a client is told to wait (`Retry-After`) while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 2;
export const DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable. Try again shortly.";

/** Thrown when a request ran past its deadline (server/api.s); answered like an unreachable database. */
export class DeadlineExceededError extends Error {
  readonly code = "DEADLINE_EXCEEDED";
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

// Errors that say "the database cannot be reached now", not "this query is wrong": network errors,
// postgres.js's own connection codes, SQLSTATE class 08 (connection exception), 57P01-57P03
// (shutting down, crashed, starting up) and 53300 (too many connections).
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "DEADLINE_EXCEEDED",
  "57P01",
  "57P02",
  "57P03",
  "53300",
]);

/** Whether an error (or one of its causes, as drizzle wraps the driver's) means the database is unreachable. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== "object" || depth > 5) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // Connecting to "localhost" tries ::1 and 127.0.0.1: Node reports both refusals together.
  if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}

export interface DatabaseHealthOptions {
  /** Without a monitor, how long one unreachable-database error keeps requests refused. */
  cooldownMs?: number;
}

export interface MonitorOptions {
  /** How often the database is checked while it answers. */
  heartbeatMs?: number;
  /** How often it is checked while it does not (recovery is noticed this fast). */
  retryMs?: number;
  /** A check that takes longer than this counts as a failure. */
  timeoutMs?: number;
}

/**
 * A circuit breaker in front of the database, so that while it is down requests are answered
 * 503 at once instead of each waiting for a connection that will not come. It opens on any
 * unreachable-database error a request reports, or when the monitor's check fails; with a
 * monitor it closes when a check succeeds again (every `retryMs`), without one after `cooldownMs`.
 */
export class DatabaseHealth {
  private downSince: number | null = null;
  private probe: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private monitor: Required<MonitorOptions> = { heartbeatMs: 1_000, retryMs: 250, timeoutMs: 1_000 };
  private readonly cooldownMs: number;
  private onChange: ((up: boolean) => void) | undefined;

  constructor(options: DatabaseHealthOptions = {}) {
    this.cooldownMs = options.cooldownMs ?? 1_000;
  }

  /** Whether requests that need the database should be let through. */
  get available(): boolean {
    if (this.downSince === null) return true;
    if (!this.probe && Date.now() - this.downSince >= this.cooldownMs) {
      this.downSince = null;
      return true;
    }
    return false;
  }

  /** Reports a request's error; returns whether it meant the database is unreachable (then: open). */
  report(error: unknown): boolean {
    if (!isDatabaseUnavailable(error)) return false;
    this.markDown();
    return true;
  }

  private markDown(): void {
    if (this.downSince === null) {
      this.downSince = Date.now();
      this.onChange?.(false);
      if (this.probe) this.schedule(0);
    }
  }

  private markUp(): void {
    if (this.downSince !== null) {
      this.downSince = null;
      this.onChange?.(true);
    }
  }

  /** Checks the database on a schedule (PostgreSQL only: the embedded one lives in this process). */
  startMonitor(probe: () => Promise<void>, options: MonitorOptions & { onChange?: (up: boolean) => void } = {}): void {
    this.stopMonitor();
    this.probe = probe;
    this.onChange = options.onChange;
    this.monitor = { ...this.monitor, ...options };
    this.schedule(this.monitor.heartbeatMs);
  }

  stopMonitor(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.probe = undefined;
    this.onChange = undefined;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  private async check(): Promise<void> {
    const probe = this.probe;
    if (!probe) return;
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new DeadlineExceededError(this.monitor.timeoutMs)), this.monitor.timeoutMs);
        }),
      ]);
      this.markUp();
    } catch {
      // Any failed check, whatever its error: the database does not answer this process.
      this.markDown();
    } finally {
      clearTimeout(timeout);
    }
    if (this.probe === probe) this.schedule(this.downSince === null ? this.monitor.heartbeatMs : this.monitor.retryMs);
  }
}

const processHealth = new DatabaseHealth();

/** The process's breaker (only the custom server's code uses it: Next.js never loads server/). */
export function databaseHealth(): DatabaseHealth {
  return processHealth;
}

/**
 * A check of a PostgreSQL server on a connection of its own (the pool may be full of waiting
 * queries): `select 1`. A failed check drops the connection so the next one starts afresh.
 */
export function postgresProbe(url: string): { probe: () => Promise<void>; close: () => Promise<void> } {
  let client: postgres.Sql | undefined;
  const drop = async () => {
    const old = client;
    client = undefined;
    await old?.end({ timeout: 0 }).catch(() => {});
  };
  return {
    async probe() {
      client ??= postgres(url, {
        max: 1,
        connect_timeout: 1,
        idle_timeout: 0,
        max_lifetime: null,
        onnotice: () => {},
        connection: { application_name: "latchkey-health" },
      });
      try {
        await client`select 1`;
      } catch (error) {
        void drop();
        throw error;
      }
    },
    close: drop,
  };
}

/** What the custom server answers for a page or server action while the database is down. */
export function answerDatabaseUnavailable(req: IncomingMessage, res: ServerResponse): void {
  const wantsJson = Boolean(req.headers["next-action"]) || /json/i.test(String(req.headers.accept ?? ""));
  const body = wantsJson
    ? JSON.stringify({ code: 503, message: DATABASE_UNAVAILABLE_MESSAGE, param: null })
    : '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Latchkey is unavailable</title>' +
      "<p>Latchkey cannot reach its database right now. This page tries again by itself in a few seconds.</p>";
  res.writeHead(503, {
    "Content-Type": wantsJson ? "application/json" : "text/html; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS),
  });
  res.end(body);
}

/** Paths that never need the database (Next.js's static files), served even while it is down. */
export function needsDatabase(url: string | undefined): boolean {
  return !(url?.startsWith("/_next/static/") || url?.startsWith("/icons/") || STATIC_FILES.has(url ?? ""));
}

/** The app's icons and manifest (app/, public/): served from the build, whatever the database does. */
const STATIC_FILES = new Set(["/favicon.ico", "/icon.svg", "/apple-icon.png", "/manifest.webmanifest"]);
