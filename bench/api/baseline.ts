/**
 * The baselines for bench/api, one bare node:http server:
 * - `/pong`: a constant answer with no authentication, the ceiling of this machine for an HTTP
 *   server in Node.js;
 * - `/pong/batched`: the same, its answers written together once per turn of the event loop, as
 *   our server writes its fast paths' answers (server/http/answer-batch.ts): how much of our
 *   fast paths' ratio to the ceiling the batching gives;
 * - `/memory/ping` and `POST /memory/verify`: ping's and verify's work done from memory and nothing
 *   else ("the bare in-memory server"): the key's checksum and HMAC-SHA256 digest, a Map from digest
 *   to the key and its holder (filled by one lookup the first time), for verify the JSON body and a
 *   second key checked the same way, and the same answers. No framework, no expiry, no rate limits,
 *   no last-used bookkeeping: the least a Node.js server can do for these answers;
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
import { createAnswerBatch } from "@/server/http/answer-batch";

const ring = createKeyring(process.env.LATCHKEY_SECRET!);
const sql = postgres(process.env.DATABASE_URL!, { max: Number(process.env.DATABASE_POOL_MAX ?? 10), onnotice: () => {} });
const PONG = JSON.stringify({ data: "pong!" });
const PONG_HEADERS = ["content-type", "application/json", "content-length", Buffer.byteLength(PONG)];
const batch = createAnswerBatch();
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

interface Known {
  status: string;
  body: { id: string; name: string; access_level: string; expires_at: string | null };
  user: { id: string; email: string | null; name: string; role: string; type: string };
}
const known = new Map<string, Known | null>();

/** The key with this digest, from memory (looked up once). */
async function lookUp(digest: string): Promise<Known | null> {
  if (known.has(digest)) return known.get(digest)!;
  interface Row {
    status: string;
    id: string;
    name: string;
    level: string;
    expires: Date | null;
    uid: string;
    email: string;
    uname: string;
    role: string;
    kind: string;
  }
  const [row] = await sql<Row[]>`
    select k.status, k.id, k.name, k.access_level as level, k.expires_at as expires,
           u.id as uid, u.email, u.name as uname, u.role, u.kind
    from api_keys k join users u on u.id = k.user_id where k.digest = ${digest} limit 1`;
  const value = row
    ? {
        status: row.status,
        body: { id: row.id, name: row.name, access_level: row.level, expires_at: row.expires?.toISOString() ?? null },
        user: { id: row.uid, email: row.kind === "person" ? row.email : null, name: row.uname, role: row.role, type: row.kind },
      }
    : null;
  known.set(digest, value);
  return value;
}

/** A presented key's entry, from memory once seen: null when it is not a working key. */
function fromMemory(key: string | null): Known | null | Promise<Known | null> {
  if (!key || !isWellFormedApiKey(key)) return null;
  const digest = digestApiKey(key, ring);
  const entry = known.get(digest);
  if (entry !== undefined) return entry?.status === "active" ? entry : null;
  return lookUp(digest).then((found) => (found?.status === "active" ? found : null));
}

function answer(res: import("node:http").ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = createServer(async (req, res) => {
  if (req.url === "/memory/ping") {
    const caller = await fromMemory(presented(req.headers.authorization));
    answer(res, caller ? 200 : 401, caller ? PONG : REFUSED);
    return;
  }
  if (req.url === "/memory/verify") {
    const caller = await fromMemory(presented(req.headers.authorization));
    if (!caller) return answer(res, 401, REFUSED);
    const text = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    const parsed = JSON.parse(text) as { key?: unknown };
    const key = typeof parsed === "object" && parsed && typeof parsed.key === "string" ? parsed.key : null;
    const found = await fromMemory(key);
    const body = found
      ? { valid: true, code: "valid", key: found.body, user: found.user }
      : { valid: false, code: "not_found", key: null, user: null };
    answer(res, 200, JSON.stringify(body));
    return;
  }
  if (req.url === "/pong/batched") return batch.send(res, 200, PONG_HEADERS, PONG);
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
