/**
 * The baselines for bench/api, one bare node:http server:
 * - `/pong`: a constant answer with no authentication, the ceiling of this machine for an HTTP
 *   server in Node.js;
 * - anything else: the same verification as the API's GET /ping (checksum, HMAC-SHA256 digest,
 *   one indexed PostgreSQL lookup through `postgres`), with nothing else: no framework, no cache,
 *   no rate limits, no last-used bookkeeping ("the bare one-lookup server").
 * Lives in bench/ only. PORT, DATABASE_URL and LATCHKEY_SECRET come from bench/api/run.ts.
 */
import { createServer } from "node:http";
import postgres from "postgres";
import { createKeyring } from "@/lib/config/keyring";
import { digestApiKey } from "@/lib/keys/crypto";
import { isWellFormedApiKey } from "@/lib/keys/format";

const ring = createKeyring(process.env.LATCHKEY_SECRET!);
const sql = postgres(process.env.DATABASE_URL!, { max: Number(process.env.DATABASE_POOL_MAX ?? 10), onnotice: () => {} });
const PONG = JSON.stringify({ data: "pong!" });
const REFUSED = JSON.stringify({ code: 401, message: "No valid API key provided", param: null });

function presented(header: string | undefined): string | null {
  if (!header) return null;
  if (header.startsWith("Bearer ")) return header.slice(7).trim();
  if (header.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon === -1 ? decoded : decoded.slice(0, colon);
  }
  return null;
}

const server = createServer(async (req, res) => {
  if (req.url === "/pong") {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(PONG) });
    res.end(PONG);
    return;
  }
  const key = presented(req.headers.authorization);
  let ok = false;
  if (key && isWellFormedApiKey(key)) {
    const digest = digestApiKey(key, ring);
    const [row] = await sql<{ status: string }[]>`
      select k.status from api_keys k join users u on u.id = k.user_id where k.digest = ${digest} limit 1`;
    ok = row?.status === "active";
  }
  const body = ok ? PONG : REFUSED;
  res.writeHead(ok ? 200 : 401, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log(`READY baseline on ${process.env.PORT}`));
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void sql.end({ timeout: 1 }).then(() => process.exit(0));
});
