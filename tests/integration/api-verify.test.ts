/**
 * POST /api/v1/verify (SPEC §13) through the Hono app on a real database: every code it answers,
 * caller authentication (401 with its challenge), the body rules, revocation on the next call
 * (through the verification cache), a valid verification counted as a use of the verified key
 * (last use, rate limit), and that the key checked is never repeated.
 */
// First: the API's schemas extend zod (.openapi) before any other module builds one.
import { createApiApp, type ApiApp } from "@/server/api/app";
import { errorResponse, verifyResponse } from "@/server/api/schemas";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, auditLog, users } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { createApiKeyForServiceAccount } from "@/lib/keys/admin";
import { generateApiKey } from "@/lib/keys/format";
import { startKeyChangeListener, type KeyChangeListener } from "@/lib/keys/revocation";
import { createApiKey, deleteApiKey, regenerateApiKey, revokePreviousSecret, setOwnApiKeyStatus } from "@/lib/keys/service";
import { db, keyCache } from "@/lib/runtime";
import { createServiceAccount } from "@/lib/users/service-accounts";
import { WWW_AUTHENTICATE } from "@/server/api/errors";
import { serveApi } from "../helpers/api-server";
import { setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { keyRow, makeUser } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let listener: KeyChangeListener | undefined;
let app: ApiApp;
let caller: string;
let owner: Actor;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  // The cache as the server runs it: local on the embedded database, LISTEN-backed on PostgreSQL,
  // so "revoked on the next call" is tested through a warm cache.
  if (process.env.TEST_DB === "postgres") {
    listener = startKeyChangeListener(testDatabaseUrl(), { log: () => {} });
    expect(await listener.ready()).toBe(true);
  } else {
    keyCache().configure("local");
  }
  app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
  owner = await makeUser("owner", { name: "Olive Owner" });
  // The calling service: a Read-only key is enough to verify.
  caller = (await createApiKey(await makeUser("staff"), { name: "billing service", access_level: "read_only" })).secret;
});
afterAll(async () => {
  await listener?.stop();
  keyCache().configure("off");
  await teardown();
});

const BASE = "http://latchkey.test/api/v1";
let counter = 0;
const unique = (base = "key") => `${base} ${++counter}`;

interface VerifyOptions {
  as?: string | null;
  rawBody?: string;
  query?: string;
  ip?: string;
  target?: ApiApp;
}

async function verify(body: unknown, options: VerifyOptions = {}) {
  const headers: Record<string, string> = { "x-latchkey-client-ip": options.ip ?? "192.0.2.80", "content-type": "application/json" };
  const as = options.as === undefined ? caller : options.as;
  if (as) headers.authorization = `Basic ${Buffer.from(`${as}:`).toString("base64")}`;
  const response = await (options.target ?? app).request(`${BASE}/verify${options.query ?? ""}`, {
    method: "POST",
    headers,
    body: options.rawBody ?? JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

/** A 200 with a body matching the documented shape, and the code expected. */
async function expectCode(key: unknown, code: string, options: VerifyOptions = {}) {
  const result = await verify({ key }, options);
  expect(result.status, result.text).toBe(200);
  const body = verifyResponse.parse(result.json);
  expect(body.code).toBe(code);
  expect(body.valid).toBe(code === "valid");
  if (code !== "valid") expect(body).toEqual({ valid: false, code, key: null, user: null });
  // The key checked is never repeated, whatever the answer.
  if (typeof key === "string" && key.length > 8) expect(result.text).not.toContain(key);
  return body;
}

async function newKey(actor: Actor = owner, level: "read_only" | "read_write" = "read_write") {
  return createApiKey(actor, { name: unique(), access_level: level });
}

describe("POST /api/v1/verify answers every code", () => {
  it("valid: the key and its holder, JSON names as SPEC §13", async () => {
    const { key, secret } = await createApiKey(owner, {
      name: unique("checked"),
      access_level: "read_write",
      expires_at: new Date(Date.now() + 86_400_000),
    });
    const body = await expectCode(secret, "valid");
    expect(body).toEqual({
      valid: true,
      code: "valid",
      key: { id: key.id, name: key.name, access_level: "read_write", expires_at: key.expiresAt!.toISOString() },
      user: { id: owner.userId, email: owner.email, name: "Olive Owner", role: "owner", type: "person" },
    });
  });

  it.each([
    ["no key at all", undefined],
    ["null", null],
    ["a number", 42],
    ["an object", { key: "lk_" }],
    ["an array", [generateApiKey()]],
    ["an empty string", ""],
    ["text", "hello"],
    [
      "a key with a wrong checksum",
      (() => {
        const key = generateApiKey();
        return `${key.slice(0, -1)}${key.endsWith("a") ? "b" : "a"}`;
      })(),
    ],
    ["a key with a space", ` ${generateApiKey()}`],
    ["a very long string", `lk_${"a".repeat(10_000)}`],
  ])("malformed: %s (200, never a 422 or a 500)", async (_label, key) => {
    await expectCode(key, "malformed");
  });

  it("malformed: an empty object as the body", async () => {
    const result = await verify({});
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ valid: false, code: "malformed", key: null, user: null });
  });

  it("not_found: a well-formed key nobody has, and a deleted one", async () => {
    await expectCode(generateApiKey(), "not_found");
    const { key, secret } = await newKey();
    await expectCode(secret, "valid");
    await deleteApiKey(owner, key.id);
    await expectCode(secret, "not_found");
  });

  it("disabled: a disabled key, on the very next call after a warm cache; enabled again, valid", async () => {
    const { key, secret } = await newKey();
    await expectCode(secret, "valid");
    await expectCode(secret, "valid"); // served from the cache now
    await setOwnApiKeyStatus(owner, key.id, "disabled");
    await expectCode(secret, "disabled");
    await setOwnApiKeyStatus(owner, key.id, "active");
    await expectCode(secret, "valid");
  });

  it("disabled: a level its holder's role no longer allows (the gate refuses it too)", async () => {
    // A downgrade deletes such keys; a row left behind (written around the services) is refused all the same.
    const staff = await makeUser("staff");
    const { secret } = await newKey(staff, "read_write");
    await expectCode(secret, "valid");
    await db().update(users).set({ role: "read_only" }).where(eq(users.id, staff.userId));
    keyCache().clear();
    await expectCode(secret, "disabled");
    expect((await app.request(`${BASE}/ping`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  });

  it("expired: a key past its expires_at, also from a warm cache", async () => {
    const { key, secret } = await createApiKey(owner, {
      name: unique(),
      access_level: "read_only",
      expires_at: new Date(Date.now() + 1500),
    });
    await expectCode(secret, "valid");
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, key.expiresAt!.getTime() - Date.now() + 50)));
    await expectCode(secret, "expired");
    await db()
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 60_000) })
      .where(eq(apiKeys.id, key.id));
    keyCache().clear();
    await expectCode(secret, "expired");
  });

  it("a regenerated key: the old secret is not_found at once without grace; with grace valid until revoked", async () => {
    const { key, secret: first } = await newKey();
    const second = await regenerateApiKey(owner, key.id);
    await expectCode(first, "not_found");
    await expectCode(second.secret, "valid");
    const third = await regenerateApiKey(owner, key.id, { grace_period_seconds: 3600 });
    const old = await expectCode(second.secret, "valid");
    expect(old.key?.id).toBe(key.id);
    await expectCode(third.secret, "valid");
    await revokePreviousSecret(owner, key.id);
    await expectCode(second.secret, "not_found");
    await expectCode(third.secret, "valid");
  });

  it("a previous secret past its grace period is not_found, as the gate's 401 says", async () => {
    const { key } = await newKey();
    const { secret: current } = await regenerateApiKey(owner, key.id, { grace_period_seconds: 60 });
    const row = await keyRow(key.id);
    // The previous secret is not known to the test; make the current one the "previous" digest past its end.
    await db()
      .update(apiKeys)
      .set({ previousDigest: row!.digest, digest: `${row!.digest.slice(0, -4)}0000`, previousExpiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, key.id));
    keyCache().clear();
    await expectCode(current, "not_found");
    const gate = await app.request(`${BASE}/ping`, { headers: { authorization: `Bearer ${current}` } });
    expect(gate.status).toBe(401);
  });

  it("a service account's key: its user's email is null, its type service_account", async () => {
    const account = await createServiceAccount(owner, { name: unique("Nightly export"), role: "staff" });
    const { secret, key } = await createApiKeyForServiceAccount(owner, account.id, { name: unique(), access_level: "read_only" });
    const body = await expectCode(secret, "valid");
    expect(body.user).toEqual({ id: account.id, email: null, name: account.name, role: "staff", type: "service_account" });
    expect(body.key?.id).toBe(key.id);
  });
});

describe("a valid verification counts as a use of the verified key", () => {
  it("records its last use (at and from the caller's address); a refused one records nothing", async () => {
    const { key, secret } = await newKey();
    expect((await keyRow(key.id))!.lastUsedAt).toBeNull();
    await expectCode(secret, "valid", { ip: "198.51.100.7" });
    const row = await keyRow(key.id);
    expect(row!.lastUsedAt).not.toBeNull();
    expect(row!.lastUsedIp).toBe("198.51.100.7");

    const { key: disabled, secret: disabledSecret } = await newKey();
    await setOwnApiKeyStatus(owner, disabled.id, "disabled");
    await expectCode(disabledSecret, "disabled");
    expect((await keyRow(disabled.id))!.lastUsedAt).toBeNull();
  });

  it("counts against its per-key rate limit: over it, rate_limited (audited once), never the caller's 429", async () => {
    const limited = createApiApp({ keyRateLimit: 2, authFailureLimit: 0 });
    const { key, secret } = await newKey();
    // Three different callers, each within its own limit; the verified key is counted each time.
    const callers = await Promise.all([1, 2, 3].map(async () => (await newKey(await makeUser("staff"), "read_only")).secret));
    await expectCode(secret, "valid", { target: limited, as: callers[0] });
    await expectCode(secret, "valid", { target: limited, as: callers[1] });
    await expectCode(secret, "rate_limited", { target: limited, as: callers[2] });
    const audited = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, key.id), eq(auditLog.action, "api_key.rate_limited")));
    expect(audited).toHaveLength(1);
    // The verified key, used itself, is over its limit too: the same counter.
    const own = await limited.request(`${BASE}/ping`, { headers: { authorization: `Bearer ${secret}` } });
    expect(own.status).toBe(429);
  });
});

describe("the caller and the request", () => {
  it.each([
    ["no Authorization", null],
    ["an unknown key", generateApiKey()],
  ])("without a valid caller key: 401 with WWW-Authenticate (%s), whatever the body", async (_label, as) => {
    const { secret } = await newKey();
    const result = await verify({ key: secret }, { as });
    expect(result.status).toBe(401);
    expect(errorResponse.parse(result.json)).toEqual({ code: 401, message: "No valid API key provided", param: null });
    expect(result.headers.get("www-authenticate")).toBe(WWW_AUTHENTICATE);
    expect(result.text).not.toContain(secret);
  });

  it("a disabled caller key is a 401; an expired one its own 401", async () => {
    const { key, secret } = await newKey();
    await setOwnApiKeyStatus(owner, key.id, "disabled");
    expect((await verify({ key: caller }, { as: secret })).status).toBe(401);
    const expired = await createApiKey(owner, { name: unique(), access_level: "read_only", expires_at: new Date(Date.now() + 86_400_000) });
    await db()
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, expired.key.id));
    keyCache().clear();
    const result = await verify({ key: caller }, { as: expired.secret });
    expect(result.json).toEqual({ code: 401, message: "This API key has expired", param: null });
  });

  it.each([
    ["not JSON", "key=lk_abc", 400, null],
    ["a JSON array", "[]", 400, null],
    ["a JSON string", '"lk_abc"', 400, null],
    ["empty", "", 400, null],
    ["an unknown field", JSON.stringify({ key: "x", extra: 1 }), 422, "extra"],
    ["over 16 KB", JSON.stringify({ key: "x".repeat(17 * 1024) }), 413, null],
  ])("a body that is %s: %i", async (_label, rawBody, status, param) => {
    const result = await verify(undefined, { rawBody });
    expect(result.status).toBe(status);
    expect(errorResponse.parse(result.json)).toMatchObject({ code: status, param });
  });

  it("an unknown query parameter: 422 naming it", async () => {
    const result = await verify({ key: generateApiKey() }, { query: "?strict=1" });
    expect(result.status).toBe(422);
    expect(result.json).toEqual({ code: 422, message: "Unknown query parameter: strict.", param: "strict" });
  });

  it("keys that fail verification are not failed authentications of the caller", async () => {
    const strict = createApiApp({ keyRateLimit: 0, authFailureLimit: 2 });
    for (let i = 0; i < 5; i++) await expectCode(generateApiKey(), "not_found", { target: strict, ip: "203.0.113.9" });
    // The address's failure budget is untouched: a bad caller key is still its plain 401.
    const result = await verify({ key: generateApiKey() }, { target: strict, as: generateApiKey(), ip: "203.0.113.9" });
    expect(result.status).toBe(401);
  });

  it("verify changes nothing but the verified key's last use (no audit row)", async () => {
    const { secret } = await newKey();
    const count = async () => (await db().select({ id: auditLog.id }).from(auditLog)).length;
    const audited = await count();
    await expectCode(secret, "valid");
    await expectCode(generateApiKey(), "not_found");
    expect(await count()).toBe(audited);
  });
});

describe("over HTTP, the fast path (POST /api/v1/verify exactly) answers as the framework does", () => {
  let api: Awaited<ReturnType<typeof serveApi>>;
  let base: string;
  beforeAll(async () => {
    api = await serveApi({ keyRateLimit: 0, authFailureLimit: 0 });
    base = api.origin;
  });
  afterAll(() => api.close());

  async function post(path: string, body: string, authorization: string | null) {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { ...(authorization ? { authorization } : {}), "x-latchkey-client-ip": "192.0.2.81", "content-type": "application/json" },
      body,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as unknown };
  }

  it("for every code, every body rule and bad callers", async () => {
    const { key, secret } = await newKey();
    const { secret: disabled, key: disabledKey } = await newKey();
    await setOwnApiKeyStatus(owner, disabledKey.id, "disabled");
    const callerAuth = `Bearer ${caller}`;
    const cases: Array<[string, string | null]> = [
      [JSON.stringify({ key: secret }), callerAuth],
      [JSON.stringify({ key: disabled }), callerAuth],
      [JSON.stringify({ key: generateApiKey() }), callerAuth],
      [JSON.stringify({ key: "nope" }), callerAuth],
      [JSON.stringify({}), callerAuth],
      [JSON.stringify({ key: 1, other: 2 }), callerAuth],
      ["not json", callerAuth],
      ["[1]", callerAuth],
      ["", callerAuth],
      [JSON.stringify({ key: "x".repeat(20_000) }), callerAuth],
      [JSON.stringify({ key: secret }), null],
      [JSON.stringify({ key: secret }), `Bearer ${generateApiKey()}`],
      [JSON.stringify({ key: secret }), "Digest abc"],
    ];
    for (const [body, authorization] of cases) {
      const fast = await post("/api/v1/verify", body, authorization);
      // An empty query string: not the fast path's exact URL, and no parameter.
      const framework = await post("/api/v1/verify?", body, authorization);
      expect(fast.body, body.slice(0, 60)).toEqual(framework.body);
      expect(fast.status).toBe(framework.status);
      for (const header of ["content-type", "cache-control", "x-content-type-options", "www-authenticate", "connection"]) {
        expect(fast.headers.get(header)?.split(";")[0], header).toBe(framework.headers.get(header)?.split(";")[0]);
      }
    }
    expect((await post("/api/v1/verify", JSON.stringify({ key: secret }), callerAuth)).body).toMatchObject({
      valid: true,
      key: { id: key.id },
    });
  });
});
