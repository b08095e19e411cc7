/**
 * Latchkey's process entry point (`npm start`, `npm run dev`). It owns everything that must exist
 * once per process before a request is served: the configuration, the server secret, the
 * embedded database (the only opener of its folder), and the migrations. Then it serves Next.js.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { closeDb, getConnection } from "./db/client";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "./db/embedded";
import { runMigrations } from "./db/migrate";
import { dataDir, readEnv } from "./lib/config/env";
import { resolveServerSecret } from "./lib/config/secret";
import { CLIENT_IP_HEADER, resolveClientIp } from "./lib/http/client-ip";

export interface StartedServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(options: { dev: boolean }): Promise<StartedServer> {
  const env = readEnv();
  const dir = dataDir(env);
  let embedded: EmbeddedDatabase | undefined;
  if (!env.DATABASE_URL) {
    embedded = await startEmbeddedDatabase(dir);
    process.env.DATABASE_URL = embedded.url;
    process.env.LATCHKEY_EMBEDDED = "1";
    console.log(`[latchkey] embedded database in ${dir}`);
  }
  try {
    process.env.LATCHKEY_SECRET = resolveServerSecret({
      secret: env.LATCHKEY_SECRET,
      secretFile: env.LATCHKEY_SECRET_FILE,
      dataDir: dir,
      allowGenerate: Boolean(embedded) || env.NODE_ENV !== "production",
    });
    await runMigrations(getConnection().db);
    // next-auth builds its callback URLs from the request's host unless NEXTAUTH_URL pins one.
    if (!process.env.NEXTAUTH_URL) process.env.AUTH_TRUST_HOST = "true";

    const app = next({ dev: options.dev, hostname: env.HOST, port: env.PORT });
    const handle = app.getRequestHandler();
    await app.prepare();
    const trustProxy = process.env.LATCHKEY_TRUST_PROXY === "1";

    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      // Code behind this point reads the client's address from this header only; whatever a
      // client sent under the same name is replaced.
      const ip = resolveClientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], trustProxy);
      if (ip) req.headers[CLIENT_IP_HEADER] = ip;
      else delete req.headers[CLIENT_IP_HEADER];
      void handle(req, res);
    });
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
        await app.close?.();
        await closeDb();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await closeDb().catch(() => {});
    await embedded?.stop().catch(() => {});
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
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

// `tsx server.ts --dev` runs it directly; scripts/start.ts imports it for production.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dev = process.argv.includes("--dev");
  if (!dev) (process.env as Record<string, string>).NODE_ENV ??= "production";
  void main(dev);
}
