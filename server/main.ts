/**
 * Latchkey's process entry point (`npm start`, `npm run dev`). It owns everything that must exist
 * once per process before a request is served: the configuration, the server secret, the
 * embedded database (the only opener of its folder), the migrations, and the key-change listener
 * that keeps the API's verification cache honest, and the scheduler of the jobs (lib/jobs). Then it serves: /api/v1 straight to the REST
 * API's Hono app (no Next.js router on the hot path), everything else to Next.js.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { openDatabase, type OpenedDatabase } from "@/db/open";
import { apiSettings, databaseSettings, dataDir, jobSettings, proxyTrust, readEnv } from "@/lib/config/env";
import { resolveServerSecret } from "@/lib/config/secret";
import { scheduledJobs, startScheduler, type Scheduler } from "@/lib/jobs";
import { startKeyChangeListener, type KeyChangeListener } from "@/lib/keys/revocation";
import { logError } from "@/lib/log";
import { createMailer, type Mailer } from "@/lib/mail/mailer";
import { db, keyCache, setConnection, setServerSecret } from "@/lib/runtime";
import { allowedApiMethods } from "@/server/api/app";
import { createApiRequestListener, isApiPath } from "@/server/api/node";
import { setSharedCounter } from "@/server/api/rate-limit";
import { startRedisCounter, type RedisWindowCounter } from "@/server/api/redis";
import { CLIENT_IP_HEADER, clientIpResolver } from "@/server/http/client-ip";
import { answerDatabaseUnavailable, databaseHealth, needsDatabase, postgresProbe } from "@/server/http/database-health";
import { CSP_REPORT_PATH, createCspReportHandler } from "@/server/http/csp-report";
import { createHttpServer } from "@/server/http/http-server";
import { createServerActionGuard, loadServerActionIds } from "@/server/http/server-actions";

export interface StartedServer {
  url: string;
  close(): Promise<void>;
}

export interface ServerOptions {
  dev: boolean;
  /** Serve only the REST API (no Next.js): for tests of several instances. */
  apiOnly?: boolean;
}

export async function startServer(options: ServerOptions): Promise<StartedServer> {
  const env = readEnv();
  const api = apiSettings(env);
  const jobs = jobSettings(env);
  let database: OpenedDatabase | undefined;
  let keyListener: KeyChangeListener | undefined;
  let scheduler: Scheduler | undefined;
  let mailer: Mailer | undefined;
  let healthProbe: ReturnType<typeof postgresProbe> | undefined;
  let redis: RedisWindowCounter | undefined;
  try {
    // The database first: it takes the data folder's lock, so only its holder reads or writes the
    // secret file kept beside the embedded database.
    database = await openDatabase(databaseSettings(env));
    setConnection(database.connection);
    console.log(`[latchkey] ${database.description}`);
    setServerSecret(
      resolveServerSecret({
        secret: env.LATCHKEY_SECRET,
        secretFile: env.LATCHKEY_SECRET_FILE,
        dataDir: dataDir(env),
        allowGenerate: database.kind === "embedded" || env.NODE_ENV !== "production",
      }),
    );

    // The API's verification cache. Embedded: this is the only instance, invalidation is local.
    // PostgreSQL: other instances may share it, so the cache serves only while LISTEN is up.
    const cacheSettings = { ttlMs: api.cacheTtlMs, maxEntries: api.cacheSize };
    if (database.kind === "embedded") keyCache().configure("local", cacheSettings);
    else {
      keyCache().configure("off", cacheSettings);
      keyListener = startKeyChangeListener(database.url!);
      if (!(await keyListener.ready(5_000)))
        console.warn("[latchkey] key-change listener not connected yet; the key cache stays off until it is");
      // The database circuit breaker: checked every second (four times a second while it is down),
      // and while it does not answer every request gets 503 at once instead of waiting on it.
      healthProbe = postgresProbe(database.url!);
      databaseHealth().startMonitor(healthProbe.probe, {
        onChange: (up) =>
          console.warn(up ? "[latchkey] database reachable again" : "[latchkey] database unreachable: answering 503 until it returns"),
      });
    }

    // The jobs (expiry notices, the unused-key policy, pruning, email): every instance runs the
    // scheduler; an advisory lock per job makes one of them do each run.
    if (jobs.intervalMs > 0) {
      mailer = jobs.mail ? createMailer(jobs.mail) : undefined;
      scheduler = startScheduler({
        database: db,
        intervalMs: jobs.intervalMs,
        jobs: scheduledJobs({ mailer, appUrl: process.env.NEXTAUTH_URL }),
        available: () => databaseHealth().available,
      });
    }

    // next-auth reads its settings from the environment: it builds its callback URLs from the
    // request's host unless NEXTAUTH_URL pins one. (The one environment write left: a library's.)
    if (!process.env.NEXTAUTH_URL) process.env.AUTH_TRUST_HOST = "true";

    // The API's limits, shared by every instance through Redis when REDIS_URL is set. Redis down
    // (at start or later) stops nothing: the limits are counted per instance until it is back.
    if (api.redisUrl) {
      redis = await startRedisCounter(api.redisUrl, {
        onChange: (up) =>
          console.warn(
            up
              ? "[latchkey] Redis reachable: API rate limits are counted in Redis, shared by every instance"
              : "[latchkey] Redis unreachable: API rate limits are counted per instance until it returns",
          ),
      });
      setSharedCounter(redis);
    }

    const app = options.apiOnly ? undefined : next({ dev: options.dev, hostname: env.HOST, port: env.PORT });
    const handle = app?.getRequestHandler();
    await app?.prepare();
    const apiListener = createApiRequestListener({
      deadlineMs: api.deadlineMs,
      keyRateLimit: api.keyRateLimit,
      authFailureLimit: api.authFailureLimit,
    });
    // Malformed, oversized or cross-origin server actions get 400/413/403 here, not a 500 from Next.js.
    const guardServerAction = createServerActionGuard({
      publicUrl: process.env.NEXTAUTH_URL,
      actionIds: options.dev ? undefined : loadServerActionIds(),
    });
    const clientIpOf = clientIpResolver(proxyTrust(env));
    const cspReports = createCspReportHandler();

    const server = createHttpServer(
      (req: IncomingMessage, res: ServerResponse) => {
        // Code behind this point reads the client's address from this header only; whatever a
        // client sent under the same name is replaced.
        const ip = clientIpOf(req);
        if (ip) req.headers[CLIENT_IP_HEADER] = ip;
        else delete req.headers[CLIENT_IP_HEADER];
        if (isApiPath(req.url) || !handle) apiListener(req, res);
        else if (req.url === CSP_REPORT_PATH) cspReports(req, res);
        else if (!databaseHealth().available && needsDatabase(req.url)) answerDatabaseUnavailable(req, res);
        else guardServerAction(req, res, (request) => void handle(request, res));
      },
      { allowedMethods: allowedApiMethods },
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(env.PORT, env.HOST, resolve);
    });
    const shownHost = env.HOST === "0.0.0.0" ? "localhost" : env.HOST;
    const url = `http://${shownHost}:${env.PORT}`;
    console.log(`[latchkey] ready on ${url} (${options.dev ? "development" : "production"})`);

    return {
      url,
      async close() {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await app?.close?.();
        await scheduler?.stop();
        mailer?.close();
        await keyListener?.stop();
        databaseHealth().stopMonitor();
        await healthProbe?.close();
        setSharedCounter(undefined);
        await redis?.close();
        setConnection(undefined);
        await database?.close();
      },
    };
  } catch (error) {
    await scheduler?.stop().catch(() => {});
    mailer?.close();
    await keyListener?.stop().catch(() => {});
    databaseHealth().stopMonitor();
    await healthProbe?.close();
    setSharedCounter(undefined);
    await redis?.close().catch(() => {});
    setConnection(undefined);
    await database?.close().catch(() => {});
    throw error;
  }
}

export async function main(dev: boolean): Promise<void> {
  let started: StartedServer;
  try {
    started = await startServer({ dev });
  } catch (error) {
    const cause = (error as Error).cause as Error | undefined;
    console.error(`[latchkey] could not start: ${(error as Error).message}${cause ? ` (${cause.message})` : ""}`);
    process.exit(1);
  }
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`[latchkey] ${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    started.close().then(
      () => process.exit(0),
      (error) => {
        logError("shutdown failed", error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

// `tsx server/main.ts --dev` runs it directly; for production, `npm run build` compiles it and
// scripts/start.mjs imports the compiled module.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dev = process.argv.includes("--dev");
  if (!dev) (process.env as Record<string, string>).NODE_ENV ??= "production";
  void main(dev);
}
