/**
 * The REST API end to end through the Hono app (app.request), on a fresh database: every
 * endpoint x key access level x role, own and another user's key, the bad inputs, the response
 * shapes against the same zod schemas the OpenAPI document is generated from.
 */
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { db } from "@/lib/runtime";
import { apiKeys, auditLog, users, type AccessLevel, type Role } from "@/db/schema";
import { createApiApp, type ApiApp } from "@/server/api/app";
import {
  apiKeyListResponse,
  apiKeyResponse,
  apiKeyWithSecretResponse,
  errorResponse,
  pingResponse,
  whoamiResponse,
} from "@/server/api/schemas";
import type { Actor } from "@/lib/auth/actor";
import { keyCache } from "@/lib/runtime";
import { generateApiKey } from "@/lib/keys/format";
import { announceKeyChange, startKeyChangeListener, type KeyChangeListener } from "@/lib/keys/revocation";
import { createApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { queriesDuring, setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { countRows, makeUser } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let listener: KeyChangeListener | undefined;
let app: ApiApp;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  // The cache as the server runs it: local on the embedded database, LISTEN-backed on PostgreSQL.
  if (process.env.TEST_DB === "postgres") {
    listener = startKeyChangeListener(testDatabaseUrl(), { log: () => {} });
    expect(await listener.ready()).toBe(true);
  } else {
    keyCache().configure("local");
  }
  app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
});
afterAll(async () => {
  await listener?.stop();
  keyCache().configure("off");
  await teardown();
});

const BASE = "http://latchkey.test/api/v1";
let counter = 0;
const uniqueName = (base = "key") => `${base} ${++counter}`;

interface CallOptions {
  key?: string;
  bearer?: boolean;
  authorization?: string;
  body?: unknown;
  rawBody?: string;
  ip?: string;
  headers?: Record<string, string>;
}

async function call(target: ApiApp, method: string, path: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.key) {
    headers.authorization = options.bearer ? `Bearer ${options.key}` : `Basic ${Buffer.from(`${options.key}:`).toString("base64")}`;
  }
  headers["x-latchkey-client-ip"] = options.ip ?? "192.0.2.10";
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  const response = await target.request(`${BASE}${path}`, { method, headers, body });
  const text = await response.text();
  let json: unknown = null;
  if (text) json = JSON.parse(text); // every answer is JSON; this throws on HTML
  return { status: response.status, headers: response.headers, json: json as Record<string, unknown> };
}

const api = (method: string, path: string, options?: CallOptions) => call(app, method, path, options);

function expectShape<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`response does not match its schema: ${parsed.error.message}\n${JSON.stringify(value)}`);
  return parsed.data;
}

function expectError(result: { status: number; json: Record<string, unknown> }, status: number, param: string | null = null) {
  expect(result.status).toBe(status);
  const body = expectShape(errorResponse, result.json);
  expect(body.code).toBe(status);
  expect(body.param).toBe(param);
  expect(body.message).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
  return body;
}

async function keyOf(actor: Actor, level: AccessLevel) {
  return createApiKey(actor, { name: uniqueName(), access_level: level });
}

/** The keys and the audit log, to prove "no change" (a valid key's last use is bookkeeping, not a change). */
async function snapshot() {
  const rows = await db().select().from(apiKeys).orderBy(apiKeys.id);
  const keys = rows.map(({ lastUsedAt: _at, lastUsedIp: _ip, ...rest }) => (void _at, void _ip, rest));
  return { keys: JSON.stringify(keys), audit: await countRows("audit_log") };
}

async function auditRows(targetId: string) {
  return db().select().from(auditLog).where(eq(auditLog.targetId, targetId)).orderBy(auditLog.id);
}

const COMBOS: Array<[Exclude<Role, "lite">, AccessLevel]> = [
  ["owner", "read_only"],
  ["owner", "read_write"],
  ["admin", "read_only"],
  ["admin", "read_write"],
  ["staff", "read_only"],
  ["staff", "read_write"],
  ["read_only", "read_only"],
];

let owner: Actor;
beforeAll(async () => {
  owner = await makeUser("owner");
});
const userFor = (role: Exclude<Role, "lite">) => (role === "owner" ? Promise.resolve(owner) : makeUser(role));

describe.each(COMBOS)("a %s user's %s key", (role, level) => {
  let user: Actor;
  let secret: string;
  let keyId: string;
  let othersKeyId: string;
  const writes = level === "read_write";

  beforeAll(async () => {
    user = await userFor(role);
    const made = await keyOf(user, level);
    secret = made.secret;
    keyId = made.key.id;
    const other = await makeUser("staff");
    othersKeyId = (await keyOf(other, "read_write")).key.id;
  });

  it("GET /ping answers pong, with Basic or Bearer", async () => {
    for (const bearer of [false, true]) {
      const result = await api("GET", "/ping", { key: secret, bearer });
      expect(result.status).toBe(200);
      expect(expectShape(pingResponse, result.json)).toEqual({ data: "pong!" });
      expect(result.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("GET /whoami names the key and its user", async () => {
    const result = await api("GET", "/whoami", { key: secret });
    expect(result.status).toBe(200);
    const body = expectShape(whoamiResponse, result.json);
    expect(body).toMatchObject({ id: keyId, access_level: level, user: { email: user.email, name: user.name, role } });
    expect(body.last_used_at).not.toBeNull();
  });

  it("GET /api_keys lists the caller's own keys only, and GET /api_keys/{id} reads one", async () => {
    const list = await api("GET", "/api_keys", { key: secret });
    expect(list.status).toBe(200);
    const body = expectShape(apiKeyListResponse, list.json);
    expect(body.entries.map((e) => e.id)).toContain(keyId);
    expect(body.entries.map((e) => e.id)).not.toContain(othersKeyId);
    expect(JSON.stringify(body)).not.toContain(secret);

    const one = await api("GET", `/api_keys/${keyId}`, { key: secret });
    expect(one.status).toBe(200);
    expect(expectShape(apiKeyResponse, one.json)).toMatchObject({ id: keyId, access_level: level, status: "active" });
    expect(one.json).not.toHaveProperty("key");
  });

  it("another user's key is not found, for reads and writes alike", async () => {
    const before = await snapshot();
    expectError(await api("GET", `/api_keys/${othersKeyId}`, { key: secret }), 404);
    const patch = await api("PATCH", `/api_keys/${othersKeyId}`, { key: secret, body: { status: "disabled" } });
    const regenerate = await api("POST", `/api_keys/${othersKeyId}/regenerate`, { key: secret });
    const remove = await api("DELETE", `/api_keys/${othersKeyId}`, { key: secret });
    for (const result of [patch, regenerate, remove]) expectError(result, writes ? 404 : 403);
    expect(await snapshot()).toEqual(before);
  });

  it(
    writes
      ? "creates, renames, disables, regenerates and deletes, each audited with the key as actor"
      : "is refused every write with 403 and changes nothing",
    async () => {
      const before = await snapshot();
      const created = await api("POST", "/api_keys", { key: secret, body: { name: uniqueName("made by API") } });
      if (!writes) {
        expectError(created, 403);
        expectError(await api("PATCH", `/api_keys/${keyId}`, { key: secret, body: { name: "renamed" } }), 403);
        expectError(await api("POST", `/api_keys/${keyId}/regenerate`, { key: secret }), 403);
        expectError(await api("DELETE", `/api_keys/${keyId}`, { key: secret }), 403);
        expect(await snapshot()).toEqual(before);
        return;
      }
      expect(created.status).toBe(201);
      const made = expectShape(apiKeyWithSecretResponse, created.json);
      expect(made.access_level).toBe("read_only");
      expect(created.headers.get("cache-control")).toBe("no-store");

      // The new key works at once.
      expect((await api("GET", "/ping", { key: made.key })).status).toBe(200);

      const renamed = await api("PATCH", `/api_keys/${made.id}`, { key: secret, body: { name: "  Renamed by API  " } });
      expect(renamed.status).toBe(200);
      expect(expectShape(apiKeyResponse, renamed.json).name).toBe("Renamed by API");

      const disabled = await api("PATCH", `/api_keys/${made.id}`, { key: secret, body: { status: "disabled" } });
      expect(expectShape(apiKeyResponse, disabled.json).status).toBe("disabled");
      expectError(await api("GET", "/ping", { key: made.key }), 401);
      const enabled = await api("PATCH", `/api_keys/${made.id}`, { key: secret, body: { status: "active", name: "Both at once" } });
      expect(expectShape(apiKeyResponse, enabled.json)).toMatchObject({ status: "active", name: "Both at once" });
      expect((await api("GET", "/ping", { key: made.key })).status).toBe(200);

      const regenerated = await api("POST", `/api_keys/${made.id}/regenerate`, { key: secret });
      expect(regenerated.status).toBe(200);
      const fresh = expectShape(apiKeyWithSecretResponse, regenerated.json);
      expect(fresh.id).toBe(made.id);
      expect(fresh.key).not.toBe(made.key);
      expectError(await api("GET", "/ping", { key: made.key }), 401);
      expect((await api("GET", "/ping", { key: fresh.key })).status).toBe(200);

      const removed = await api("DELETE", `/api_keys/${made.id}`, { key: secret });
      expect(removed.status).toBe(204);
      expectError(await api("GET", "/ping", { key: fresh.key }), 401);
      expectError(await api("GET", `/api_keys/${made.id}`, { key: secret }), 404);

      const audit = await auditRows(made.id);
      expect(audit.map((a) => a.action)).toEqual([
        "api_key.created",
        "api_key.renamed",
        "api_key.disabled",
        "api_key.renamed",
        "api_key.enabled",
        "api_key.regenerated",
        "api_key.deleted",
      ]);
      for (const row of audit) {
        expect(row.actorUserId).toBe(user.userId);
        expect(row.actorKeyId).toBe(keyId);
        expect(row.actorLabel).toContain("API key");
        expect(row.ip).toBe("192.0.2.10");
      }
    },
  );

  it("access level on create follows the role, as in the UI", async () => {
    const result = await api("POST", "/api_keys", { key: secret, body: { name: uniqueName(), access_level: "read_write" } });
    if (!writes) expectError(result, 403);
    else {
      expect(result.status).toBe(201);
      expect(expectShape(apiKeyWithSecretResponse, result.json).access_level).toBe("read_write");
    }
  });
});

/** A well-shaped key whose checksum is wrong (its last character changed). */
function badChecksumKey(): string {
  const good = generateApiKey();
  return `${good.slice(0, -1)}${good.endsWith("A") ? "B" : "A"}`;
}

/** Whether the database answered any query while `fn` ran. */
async function databaseTouchedDuring(fn: () => Promise<void>): Promise<boolean> {
  return (await queriesDuring(fn)) > 0;
}

describe("keys that must not authenticate", () => {
  it("refuses a Lite user's leftover key, a disabled key, and a key whose role no longer allows its level", async () => {
    const staff = await makeUser("staff");
    const { secret, key } = await keyOf(staff, "read_write");
    expect((await api("GET", "/ping", { key: secret })).status).toBe(200); // now cached

    // A role downgrade announced for the user (as lib/users does) reaches the cache.
    await db().transaction(async (tx) => {
      await tx.update(users).set({ role: "read_only" }).where(eq(users.id, staff.userId));
      await announceKeyChange(tx, { userId: staff.userId });
    });
    expectError(await api("GET", "/ping", { key: secret }), 401);
    await db().update(users).set({ role: "lite" }).where(eq(users.id, staff.userId));
    await db().update(apiKeys).set({ accessLevel: "read_only" }).where(eq(apiKeys.id, key.id));
    expectError(await api("GET", "/ping", { key: secret }), 401);
  });

  it("a key disabled in the UI is refused on the very next request", async () => {
    const staff = await makeUser("staff");
    const { secret, key } = await keyOf(staff, "read_only");
    expect((await api("GET", "/whoami", { key: secret })).status).toBe(200);
    await setOwnApiKeyStatus(staff, key.id, "disabled");
    expectError(await api("GET", "/whoami", { key: secret }), 401);
  });

  it("an admin-disabled key cannot be enabled through the API, and a mixed PATCH changes nothing", async () => {
    const staff = await makeUser("staff");
    const { secret } = await keyOf(staff, "read_write");
    const { key: target } = await keyOf(staff, "read_only");
    await db().update(apiKeys).set({ status: "disabled", disabledByAdmin: true }).where(eq(apiKeys.id, target.id));
    const before = await snapshot();
    expectError(await api("PATCH", `/api_keys/${target.id}`, { key: secret, body: { name: "sneaky", status: "active" } }), 403);
    expect(await snapshot()).toEqual(before);
  });

  it("a duplicate name is a 409 with param name", async () => {
    const staff = await makeUser("staff");
    const { secret, key } = await keyOf(staff, "read_write");
    const before = await snapshot();
    expectError(await api("POST", "/api_keys", { key: secret, body: { name: key.name.toUpperCase() } }), 409, "name");
    expect(await snapshot()).toEqual(before);
  });
});

describe("bad input", () => {
  let secret: string;
  let roSecret: string;
  let keyId: string;
  beforeAll(async () => {
    const staff = await makeUser("staff");
    const made = await keyOf(staff, "read_write");
    secret = made.secret;
    keyId = made.key.id;
    roSecret = (await keyOf(staff, "read_only")).secret;
  });

  it.each([
    ["missing", undefined, 401],
    ["empty", "", 401],
    ["blank Bearer", "Bearer ", 401],
    ["non-base64 Basic", "Basic %%%not-base64%%%", 400],
    ["a Basic user that is not a key", `Basic ${Buffer.from("alice:secret").toString("base64")}`, 401],
    ["an unknown scheme", "Digest abc", 400],
  ])("Authorization %s: JSON error, no change", async (_label, authorization, status) => {
    const before = await snapshot();
    const result = await api("GET", "/ping", authorization === undefined ? {} : { authorization });
    expectError(result, status);
    if (status === 401) expect(result.json.message).toBe("No valid API key provided");
    expect(await snapshot()).toEqual(before);
  });

  it("a key with a bad checksum is refused without touching the database", async () => {
    const bad = badChecksumKey();
    const touched = await databaseTouchedDuring(async () => {
      expectError(await api("GET", "/ping", { key: bad }), 401);
      expectError(await api("GET", "/ping", { key: bad, bearer: true }), 401);
    });
    expect(touched).toBe(false);
    // The control: a well-formed key that is not ours is looked up, and that is counted.
    expect(await databaseTouchedDuring(async () => void expectError(await api("GET", "/ping", { key: generateApiKey() }), 401))).toBe(true);
  });

  it("a key in the query string is a 400, even with a valid header", async () => {
    expectError(await api("GET", `/ping?api_key=${secret}`, { key: secret }), 400, "api_key");
    expectError(await api("GET", `/api_keys?q=${secret}`, { key: secret }), 400, "q");
  });

  it.each([
    ["a key followed by other characters", (k: string) => `?a=${k}X`, "a"],
    ["a key after other characters", (k: string) => `?a=x${k}`, "a"],
    ["a key inside a longer value", (k: string) => `?per_page=2&filter=${encodeURIComponent(`name:${k};`)}`, "filter"],
    ["a known key parameter's name, whatever its value", () => "?Access_Token=nothing", "Access_Token"],
  ])("a query holding %s is a 400", async (_label, query, param) => {
    expectError(await api("GET", `/api_keys${query(secret)}`, { key: secret }), 400, param);
  });

  it("a query whose parameter name is a key is a 400 that does not echo the key", async () => {
    const refused = await api("GET", `/api_keys?${secret}=1`, { key: secret });
    expectError(refused, 400, null);
    expect(JSON.stringify(refused.json)).not.toContain(secret);
  });

  it.each([
    ["JSON that does not parse", '{"name": ', 400, null],
    ["an empty body", "", 400, null],
    ["a JSON array", "[]", 400, null],
    ["unknown fields", JSON.stringify({ name: "ok", colour: "red" }), 422, "colour"],
    ["a name of the wrong type", JSON.stringify({ name: 42 }), 422, "name"],
    ["an access level that does not exist", JSON.stringify({ name: "x", access_level: "admin" }), 422, "access_level"],
    ["a name with control characters", JSON.stringify({ name: "bad\u0007name" }), 422, "name"],
    ["a name of 101 characters", JSON.stringify({ name: "x".repeat(101) }), 422, "name"],
  ])("POST /api_keys with %s changes nothing", async (_label, rawBody, status, param) => {
    const before = await snapshot();
    expectError(await api("POST", "/api_keys", { key: secret, rawBody, headers: { "content-type": "application/json" } }), status, param);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ["unknown fields", { status: "disabled", access_level: "read_only" }, 422, "access_level"],
    ["a status of the wrong type", { status: true }, 422, "status"],
    ["no field at all", {}, 422, null],
  ])("PATCH /api_keys/{id} with %s changes nothing", async (_label, body, status, param) => {
    const before = await snapshot();
    expectError(await api("PATCH", `/api_keys/${keyId}`, { key: secret, body }), status, param);
    expect(await snapshot()).toEqual(before);
  });

  it("a 2 MB body is refused with 413", async () => {
    const before = await snapshot();
    const rawBody = JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) });
    expectError(await api("POST", "/api_keys", { key: secret, rawBody, headers: { "content-type": "application/json" } }), 413);
    expectError(await api("PATCH", `/api_keys/${keyId}`, { key: secret, rawBody, headers: { "content-type": "application/json" } }), 413);
    expect(await snapshot()).toEqual(before);
  });

  it("a Read-only key is refused a write before its body is even looked at", async () => {
    expectError(await api("POST", "/api_keys", { key: roSecret, rawBody: "not json" }), 403);
  });

  it("an id that is not an id is not found", async () => {
    const before = await snapshot();
    for (const id of ["123", "not-a-uuid", "00000000-0000-0000-0000-00000000000g", "%27%20or%201%3D1"]) {
      expectError(await api("GET", `/api_keys/${id}`, { key: secret }), 404);
      expectError(await api("PATCH", `/api_keys/${id}`, { key: secret, body: { name: "x" } }), 404);
      expectError(await api("DELETE", `/api_keys/${id}`, { key: secret }), 404);
      expectError(await api("POST", `/api_keys/${id}/regenerate`, { key: secret }), 404);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("bad list parameters are 422 with the parameter named", async () => {
    expectError(await api("GET", "/api_keys?per_page=0", { key: secret }), 422, "per_page");
    expectError(await api("GET", "/api_keys?per_page=abc", { key: secret }), 422, "per_page");
    expectError(await api("GET", "/api_keys?cursor=garbage", { key: secret }), 422, "cursor");
    expectError(await api("GET", "/api_keys?colour=red", { key: secret }), 422, "colour");
  });

  it("unknown paths and wrong methods answer JSON 404 and 405, never HTML", async () => {
    expectError(await api("GET", "/nope", { key: secret }), 404);
    expectError(await api("GET", "/api_keys/x/y/z", { key: secret }), 404);
    const wrong = await api("PUT", "/ping", { key: secret });
    expectError(wrong, 405);
    expect(wrong.headers.get("allow")).toBe("GET, HEAD");
    const wrongKeys = await api("PUT", `/api_keys/${keyId}`, { key: secret });
    expectError(wrongKeys, 405);
    expect(wrongKeys.headers.get("allow")).toBe("GET, PATCH, DELETE, HEAD");
    expectError(await api("GET", "/nope"), 401); // no key: 401 first, whatever the path
  });
});

describe("pagination", () => {
  it("pages through the caller's keys with has_more and cursor", async () => {
    const staff = await makeUser("staff");
    const { secret } = await keyOf(staff, "read_only");
    for (let i = 0; i < 4; i++) await keyOf(staff, "read_only");
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?per_page=2&cursor=${encodeURIComponent(cursor)}` : "?per_page=2";
      const page = expectShape(apiKeyListResponse, (await api("GET", `/api_keys${query}`, { key: secret })).json);
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.cursor;
      expect(page.has_more).toBe(cursor !== null);
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
  });
});

describe("rate limits", () => {
  it("blocks an address after too many failed authentications, with Retry-After, other addresses unaffected", async () => {
    const limited = createApiApp({ authFailureLimit: 3, keyRateLimit: 0 });
    const staff = await makeUser("staff");
    const { secret } = await keyOf(staff, "read_only");
    for (let i = 0; i < 3; i++) expectError(await call(limited, "GET", "/ping", { key: generateApiKey(), ip: "198.51.100.7" }), 401);
    const blocked = await call(limited, "GET", "/ping", { key: generateApiKey(), ip: "198.51.100.7" });
    expectError(blocked, 429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    // The limit slows failures only: a valid key from the same address is still served (SPEC §10),
    // and a failure after it is still refused with 429.
    for (let i = 0; i < 3; i++) expect((await call(limited, "GET", "/ping", { key: secret, ip: "198.51.100.7" })).status).toBe(200);
    expect((await call(limited, "GET", "/whoami", { key: secret, ip: "198.51.100.7" })).status).toBe(200);
    expectError(await call(limited, "GET", "/ping", { key: generateApiKey(), ip: "198.51.100.7" }), 429);
    // A request with no credentials is a request for the challenge, never a counted failure: even
    // from an address over the limit it gets the 401 and its WWW-Authenticate.
    const challenged = await call(limited, "GET", "/ping", { ip: "198.51.100.7" });
    expectError(challenged, 401);
    expect(challenged.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect((await call(limited, "GET", "/ping", { key: secret, ip: "198.51.100.8" })).status).toBe(200);
  });

  it("over the failure limit, a malformed key is still refused without touching the database", async () => {
    const limited = createApiApp({ authFailureLimit: 1, keyRateLimit: 0 });
    const ip = "198.51.100.9";
    expectError(await call(limited, "GET", "/ping", { key: generateApiKey(), ip }), 401);
    const bad = badChecksumKey();
    const touched = await databaseTouchedDuring(async () => {
      const refused = await call(limited, "GET", "/ping", { key: bad, ip });
      expectError(refused, 429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    });
    expect(touched).toBe(false);
  });

  it("limits requests per key, with Retry-After, and audits it once per window across instances", async () => {
    const staff = await makeUser("staff");
    const { secret, key } = await keyOf(staff, "read_only");
    const [a, b] = [createApiApp({ keyRateLimit: 5, authFailureLimit: 0 }), createApiApp({ keyRateLimit: 5, authFailureLimit: 0 })];
    // Far from a minute boundary, so the whole test is in one window.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 55_000) await new Promise((r) => setTimeout(r, 60_500 - intoWindow));
    for (let i = 0; i < 5; i++) expect((await call(a, "GET", "/ping", { key: secret })).status).toBe(200);
    const refused = await call(a, "GET", "/ping", { key: secret });
    expectError(refused, 429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expectError(await call(a, "GET", "/whoami", { key: secret }), 429);
    // A second instance counts its own requests, but the audit row is still one per window.
    for (let i = 0; i < 5; i++) expect((await call(b, "GET", "/ping", { key: secret })).status).toBe(200);
    for (let i = 0; i < 3; i++) expectError(await call(b, "GET", "/ping", { key: secret }), 429);
    const audit = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, key.id), eq(auditLog.action, "api_key.rate_limited")));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorKeyId: key.id, actorUserId: staff.userId, targetType: "api_key" });
    expect(audit[0]!.metadata).toMatchObject({ limit_per_minute: 5 });
    // Other keys are unaffected.
    const other = await keyOf(staff, "read_only");
    expect((await call(a, "GET", "/ping", { key: other.secret })).status).toBe(200);
  });
});

describe("last used", () => {
  it("records the time and address of the first use in a minute, and does not write again within it", async () => {
    const staff = await makeUser("staff");
    const { secret, key } = await keyOf(staff, "read_only");
    await api("GET", "/ping", { key: secret, ip: "203.0.113.5" });
    const [first] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(first!.lastUsedAt).not.toBeNull();
    expect(Date.now() - first!.lastUsedAt!.getTime()).toBeLessThan(5_000);
    expect(first!.lastUsedIp).toBe("203.0.113.5");
    for (let i = 0; i < 5; i++) await api("GET", "/ping", { key: secret, ip: "203.0.113.6" });
    const [second] = await db().select().from(apiKeys).where(eq(apiKeys.id, key.id));
    expect(second!.lastUsedAt!.getTime()).toBe(first!.lastUsedAt!.getTime());
    expect(second!.lastUsedIp).toBe("203.0.113.5");
    const whoami = expectShape(whoamiResponse, (await api("GET", "/whoami", { key: secret })).json);
    expect(whoami.last_used_at).toBe(first!.lastUsedAt!.toISOString());
  });
});
