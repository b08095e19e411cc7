/**
 * The app under test: the production build, on a fresh PostgreSQL database (created here and
 * dropped on exit) when the test server is reachable, otherwise on a fresh embedded database.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { serverLogPath } from "./server-log";

const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
let dropDatabase = async () => {};
let tempDir: string | undefined;

async function createPostgresDatabase(): Promise<boolean> {
  if (process.env.E2E_DATABASE === "pglite") return false;
  const admin = postgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    const name = `latchkey_e2e_${randomBytes(5).toString("hex")}`;
    await admin.unsafe(`create database ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    process.env.DATABASE_URL = url.toString();
    dropDatabase = async () => {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    };
    console.log(`[e2e] PostgreSQL database ${name}`);
    return true;
  } catch (error) {
    await admin.end().catch(() => {});
    if (process.env.E2E_DATABASE === "postgres") throw error;
    return false;
  }
}

if (!(await createPostgresDatabase())) {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "latchkey-e2e-"));
  process.env.LATCHKEY_DATA_DIR = tempDir;
  delete process.env.DATABASE_URL;
  console.log("[e2e] embedded database");
}
process.env.LATCHKEY_SECRET = "e2e-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
process.env.PORT = process.env.E2E_PORT ?? "3100";

// Single sign-on against a real OpenID provider on a free local port (e2e/sso.spec.ts).
const { startTestIdentityProvider } = await import("../tests/helpers/oidc-provider");
const identityProvider = await startTestIdentityProvider({
  redirectUri: `http://127.0.0.1:${process.env.PORT}/api/auth/callback/oidc`,
  accounts: Object.values((await import("./sso")).SSO_ACCOUNTS),
});
process.env.OIDC_ISSUER = identityProvider.issuer;
process.env.OIDC_CLIENT_ID = identityProvider.clientId;
process.env.OIDC_CLIENT_SECRET = identityProvider.clientSecret;
console.log(`[e2e] OpenID provider ${identityProvider.issuer}`);
process.env.HOST = "127.0.0.1";
(process.env as Record<string, string>).NODE_ENV = "production";

// What the server prints, and every answer of 400 or more to a page (with the browser that asked),
// go to a log file beside the test results: the cross-browser journeys read it for 404s, 5xx and
// CSP violation reports from their engine (e2e/journeys).
const logFile = serverLogPath(process.env.PORT);
fs.mkdirSync(path.dirname(logFile), { recursive: true });
fs.writeFileSync(logFile, "");
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    fs.appendFileSync(logFile, chunk);
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
const writeHead = http.ServerResponse.prototype.writeHead;
http.ServerResponse.prototype.writeHead = function (this: http.ServerResponse, statusCode: number, ...rest: unknown[]) {
  if (statusCode >= 400 && this.req) {
    const line = { status: statusCode, method: this.req.method, url: this.req.url, ua: this.req.headers["user-agent"] ?? "" };
    fs.appendFileSync(logFile, `[e2e] answer ${JSON.stringify(line)}\n`);
  }
  return (writeHead as (...args: unknown[]) => http.ServerResponse).call(this, statusCode, ...rest);
} as typeof writeHead;

const { startServer } = await import("../server/main");
const server = await startServer({ dev: false }).catch(async (error: Error) => {
  console.error("[e2e] could not start:", error.message, (error.cause as Error)?.stack ?? "", process.env.DATABASE_URL);
  await dropDatabase().catch(() => {});
  process.exit(1);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => {});
  await identityProvider.close().catch(() => {});
  await dropDatabase().catch(() => {});
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
