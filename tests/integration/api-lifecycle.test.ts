/**
 * The key lifecycle through the REST API (SPEC §11): the new fields of a key (description,
 * expires_at, last_used_ip, previous_secret_expires_at), expiry and the organisation's policy on
 * create and regenerate, an expired key refused with its own message (verification cache hits
 * too, on the Hono routes and on ping's fast path), rotation with a grace period (both secrets
 * work, Sunset on the old one, Revoke old secret now, and what ends both), and every bad input as
 * a table: 422 naming the field, 400, 403 or 404, and nothing changed.
 */
import { createServer, type Server } from "node:http";
import { and, eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { apiKeys, auditLog, organisationSettings } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { latestAllowedExpiry } from "@/lib/keys/expiry";
import { startKeyChangeListener, type KeyChangeListener } from "@/lib/keys/revocation";
import { createApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { db, keyCache } from "@/lib/runtime";
import { changeRole } from "@/lib/users/roles";
import { createApiApp, type ApiApp } from "@/server/api/app";
import { createApiRequestListener } from "@/server/api/node";
import { apiKeyListResponse, apiKeyResponse, apiKeyWithSecretResponse, errorResponse, whoamiResponse } from "@/server/api/schemas";
import { queriesDuring, setupTestDatabase, testDatabaseUrl } from "../helpers/db";
import { auditSince, keyRow, makeUser, snapshot, type DbSnapshot } from "../helpers/fixtures";

const EXPIRED = "This API key has expired";
const NO_VALID_KEY = "No valid API key provided";
const DAY_MS = 24 * 60 * 60 * 1000;

let teardown: () => Promise<void>;
let listener: KeyChangeListener | undefined;
let app: ApiApp;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  // The cache as the server runs it, so that "on a cache hit" means what it says.
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface CallOptions {
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  ip?: string;
}

async function call(target: ApiApp, method: string, path: string, key: string | undefined, options: CallOptions = {}) {
  const headers: Record<string, string> = { "x-latchkey-client-ip": options.ip ?? "192.0.2.20" };
  if (key) headers.authorization = `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (options.contentType) headers["content-type"] = options.contentType;
  else if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await target.request(`${BASE}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

const api = (method: string, path: string, key: string | undefined, options?: CallOptions) => call(app, method, path, key, options);

function expectShape<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`response does not match its schema: ${parsed.error.message}\n${JSON.stringify(value)}`);
  return parsed.data;
}

function expectError(result: { status: number; json: Record<string, unknown> }, status: number, param: string | null = null) {
  expect(result.status, JSON.stringify(result.json)).toBe(status);
  const body = expectShape(errorResponse, result.json);
  expect(body.code).toBe(status);
  expect(body.param).toBe(param);
  return body;
}

/**
 * Nothing changed since `before`: no row of users, invites, sessions or api_keys, and no audit
 * row. The calling key's last use is bookkeeping, not a change, so last_used_at/_ip are left out.
 */
async function expectNothingChanged(before: DbSnapshot) {
  const strip = (s: DbSnapshot) => ({
    ...s.rows,
    api_keys: Object.fromEntries(
      Object.entries(s.rows.api_keys).map(([id, row]) => {
        const { last_used_at: _at, last_used_ip: _ip, ...rest } = row as Record<string, unknown>;
        void _at;
        void _ip;
        return [id, rest];
      }),
    ),
  });
  expect(strip(await snapshot())).toEqual(strip(before));
  expect(await auditSince(before)).toEqual([]);
}

async function setPolicy(maxKeyLifetimeDays: number | null) {
  await db().insert(organisationSettings).values({ id: 1, maxKeyLifetimeDays }).onConflictDoUpdate({
    target: organisationSettings.id,
    set: { maxKeyLifetimeDays },
  });
}
afterEach(() => setPolicy(null));

/** A user with a Read & Write key to call the API with. */
async function writer(role: "staff" | "admin" | "owner" = "staff"): Promise<{ user: Actor; secret: string; id: string }> {
  const user = await makeUser(role);
  const { key, secret } = await createApiKey(user, { name: uniqueName("writer"), access_level: "read_write", expires_at: null });
  return { user, secret, id: key.id };
}

/** Creates a key through the API and returns its JSON. */
async function createThroughApi(secret: string, body: Record<string, unknown>) {
  const result = await api("POST", "/api_keys", secret, { body: { name: uniqueName(), ...body } });
  expect(result.status, JSON.stringify(result.json)).toBe(201);
  return expectShape(apiKeyWithSecretResponse, result.json);
}

/** Waits until `at` has passed (a little after, so no clock rounding can keep it in the future). */
async function until(at: Date | string) {
  const wait = new Date(at).getTime() - Date.now() + 50;
  if (wait > 0) await sleep(wait);
}

describe("the new fields of a key", () => {
  it("create takes a description and an expires_at, and every key object carries them", async () => {
    const { secret, id: callerId } = await writer();
    const expiresAt = new Date(Date.now() + 10 * DAY_MS);
    const made = await createThroughApi(secret, {
      description: "  Deploys from CI.\nRotated monthly.  ",
      expires_at: expiresAt.toISOString(),
    });
    expect(made).toMatchObject({
      description: "Deploys from CI.\nRotated monthly.",
      expires_at: expiresAt.toISOString(),
      last_used_at: null,
      last_used_ip: null,
      previous_secret_expires_at: null,
    });
    const row = await keyRow(made.id);
    expect(row).toMatchObject({ description: "Deploys from CI.\nRotated monthly.", expiresAt });

    // An offset is understood, and stored as the same instant.
    const offset = await createThroughApi(secret, { expires_at: "2099-01-31T23:59:59+05:00" });
    expect(offset.expires_at).toBe("2099-01-31T18:59:59.000Z");

    // A use records the address; every read shows the same fields.
    expect((await api("GET", "/ping", made.key, { ip: "203.0.113.77" })).status).toBe(200);
    const one = expectShape(apiKeyResponse, (await api("GET", `/api_keys/${made.id}`, secret)).json);
    expect(one).toMatchObject({ description: made.description, expires_at: made.expires_at, last_used_ip: "203.0.113.77" });
    expect(one.last_used_at).not.toBeNull();
    const list = expectShape(apiKeyListResponse, (await api("GET", "/api_keys", secret)).json);
    expect(list.entries.find((entry) => entry.id === made.id)).toEqual(one);
    expect(list.entries.find((entry) => entry.id === callerId)).toMatchObject({ expires_at: null, last_used_ip: "192.0.2.20" });

    // whoami tells a key when it expires.
    const whoami = expectShape(whoamiResponse, (await api("GET", "/whoami", made.key)).json);
    expect(whoami.expires_at).toBe(expiresAt.toISOString());
    expect(expectShape(whoamiResponse, (await api("GET", "/whoami", secret)).json).expires_at).toBeNull();

    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, made.id), eq(auditLog.action, "api_key.created")));
    expect(audit!.metadata).toMatchObject({ expires_at: expiresAt.toISOString() });
  });

  it("expires_at left out is the policy's longest lifetime, or never without a policy", async () => {
    const { secret } = await writer();
    expect((await createThroughApi(secret, {})).expires_at).toBeNull();
    await setPolicy(30);
    const before = Date.now();
    const made = await createThroughApi(secret, {});
    const latest = latestAllowedExpiry(30, new Date(before))!;
    expect([latest.toISOString(), latestAllowedExpiry(30, new Date())!.toISOString()]).toContain(made.expires_at);
    // Null is "never", which a policy refuses (below); within it, an explicit date is kept as sent.
    const soon = new Date(Date.now() + 7 * DAY_MS);
    expect((await createThroughApi(secret, { expires_at: soon.toISOString() })).expires_at).toBe(soon.toISOString());
  });

  it("PATCH sets, changes and clears a description, audited as api_key.described", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, {});
    expect(made.description).toBeNull();
    const set = await api("PATCH", `/api_keys/${made.id}`, secret, { body: { description: "For Grafana" } });
    expect(expectShape(apiKeyResponse, set.json).description).toBe("For Grafana");
    const both = await api("PATCH", `/api_keys/${made.id}`, secret, { body: { name: "Grafana", description: "x".repeat(500) } });
    expect(expectShape(apiKeyResponse, both.json)).toMatchObject({ name: "Grafana", description: "x".repeat(500) });
    for (const cleared of [null, "   "]) {
      await api("PATCH", `/api_keys/${made.id}`, secret, { body: { description: "again" } });
      const result = await api("PATCH", `/api_keys/${made.id}`, secret, { body: { description: cleared } });
      expect(expectShape(apiKeyResponse, result.json).description).toBeNull();
      expect((await keyRow(made.id))!.description).toBeNull();
    }
    const actions = (await db().select().from(auditLog).where(eq(auditLog.targetId, made.id))).map((row) => row.action);
    expect(actions.filter((action) => action === "api_key.described")).toHaveLength(6);
  });
});

describe("bad input changes nothing", () => {
  let secret: string;
  let readOnlySecret: string;
  let keyId: string;
  let othersKeyId: string;
  beforeAll(async () => {
    const caller = await writer();
    secret = caller.secret;
    keyId = (await createApiKey(caller.user, { name: uniqueName("target"), access_level: "read_only", expires_at: null })).key.id;
    readOnlySecret = (await createApiKey(caller.user, { name: uniqueName("reader"), access_level: "read_only" })).secret;
    othersKeyId = (await writer()).id;
  });

  const past = () => new Date(Date.now() - 60_000).toISOString();
  const daysAhead = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();

  it.each([
    ["a past expires_at", () => ({ expires_at: past() }), null, "expires_at"],
    ["expires_at now", () => ({ expires_at: new Date().toISOString() }), null, "expires_at"],
    ["a date without a time", () => ({ expires_at: "2099-01-31" }), null, "expires_at"],
    ["a time without an offset", () => ({ expires_at: "2099-01-31T23:59:59" }), null, "expires_at"],
    ["a day that does not exist", () => ({ expires_at: "2099-02-30T00:00:00Z" }), null, "expires_at"],
    ["words", () => ({ expires_at: "next tuesday" }), null, "expires_at"],
    ["a number", () => ({ expires_at: Date.now() + DAY_MS }), null, "expires_at"],
    ["true", () => ({ expires_at: true }), null, "expires_at"],
    ["a date beyond the policy", () => ({ expires_at: daysAhead(45) }), 30, "expires_at"],
    ["null (never) under a policy", () => ({ expires_at: null }), 30, "expires_at"],
    ["a description of 501 characters", () => ({ description: "x".repeat(501) }), null, "description"],
    ["a description that is not text", () => ({ description: 42 }), null, "description"],
    ["a description with control characters", () => ({ description: "bell\u0007" }), null, "description"],
  ])("POST /api_keys with %s: 422", async (_label, body, policy, param) => {
    await setPolicy(policy);
    const before = await snapshot();
    const refused = expectError(await api("POST", "/api_keys", secret, { body: { name: uniqueName(), ...body() } }), 422, param);
    expect(refused.message.length).toBeGreaterThan(10);
    await expectNothingChanged(before);
  });

  it("the policy's message says what is allowed", async () => {
    await setPolicy(90);
    const over = expectError(
      await api("POST", "/api_keys", secret, { body: { name: uniqueName(), expires_at: daysAhead(120) } }),
      422,
      "expires_at",
    );
    expect(over.message).toBe("Your organisation allows keys to live at most 90 days: choose an earlier expiration.");
    const never = expectError(
      await api("POST", "/api_keys", secret, { body: { name: uniqueName(), expires_at: null } }),
      422,
      "expires_at",
    );
    expect(never.message).toBe("Your organisation requires keys to expire within 90 days: choose an expiration.");
    const inPast = expectError(
      await api("POST", "/api_keys", secret, { body: { name: uniqueName(), expires_at: past() } }),
      422,
      "expires_at",
    );
    expect(inPast.message).toBe("The expiration must be in the future.");
  });

  it.each([
    ["a description of 501 characters", { description: "x".repeat(501) }, "description"],
    ["a description that is not text", { description: ["a"] }, "description"],
    ["expires_at (not a PATCH field)", { expires_at: null }, "expires_at"],
    ["a valid name with a bad description", { name: "renamed", description: "x".repeat(501) }, "description"],
  ])("PATCH /api_keys/{id} with %s: 422", async (_label, body, param) => {
    const before = await snapshot();
    expectError(await api("PATCH", `/api_keys/${keyId}`, secret, { body }), 422, param);
    await expectNothingChanged(before);
  });

  it.each([
    ["a negative grace period", { grace_period_seconds: -1 }, "grace_period_seconds"],
    ["a grace period over 7 days", { grace_period_seconds: 604_801 }, "grace_period_seconds"],
    ["a fractional grace period", { grace_period_seconds: 1.5 }, "grace_period_seconds"],
    ["a grace period as text", { grace_period_seconds: "3600" }, "grace_period_seconds"],
    ["a grace period of true", { grace_period_seconds: true }, "grace_period_seconds"],
    ["a grace period of null", { grace_period_seconds: null }, "grace_period_seconds"],
    ["a past expires_at", { expires_at: "2001-01-01T00:00:00Z" }, "expires_at"],
    ["a malformed expires_at", { expires_at: "soon" }, "expires_at"],
    ["an unknown field", { grace: 3600 }, "grace"],
  ])("POST /api_keys/{id}/regenerate with %s: 422", async (_label, body, param) => {
    const before = await snapshot();
    expectError(await api("POST", `/api_keys/${keyId}/regenerate`, secret, { body }), 422, param);
    await expectNothingChanged(before);
  });

  it("regenerate beyond the policy is 422, and so is an expired key without a new expires_at", async () => {
    await setPolicy(30);
    let before = await snapshot();
    const over = { expires_at: daysAhead(31) };
    expectError(await api("POST", `/api_keys/${keyId}/regenerate`, secret, { body: over }), 422, "expires_at");
    await expectNothingChanged(before);

    await db()
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(apiKeys.id, keyId));
    before = await snapshot();
    for (const body of [undefined, {}, { grace_period_seconds: 3600 }]) {
      const refused = expectError(await api("POST", `/api_keys/${keyId}/regenerate`, secret, { body }), 422, "expires_at");
      expect(refused.message).toBe("This key has expired: choose a new expiration to regenerate it.");
    }
    expectError(await api("POST", `/api_keys/${keyId}/regenerate`, secret, { body: { expires_at: null } }), 422, "expires_at");
    await expectNothingChanged(before);
    await db().update(apiKeys).set({ expiresAt: null }).where(eq(apiKeys.id, keyId));
  });

  it("a grace period for a disabled key is refused (409 naming it) and changes nothing; without one it regenerates", async () => {
    const staff = await makeUser("staff");
    const made = await createApiKey(staff, { name: uniqueName("disabled"), access_level: "read_only" });
    const writer = (await createApiKey(staff, { name: uniqueName("writer"), access_level: "read_write" })).secret;
    await setOwnApiKeyStatus(staff, made.key.id, "disabled");
    const before = await snapshot();
    const refused = await api("POST", `/api_keys/${made.key.id}/regenerate`, writer, { body: { grace_period_seconds: 3600 } });
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({
      code: 409,
      message: "This key is disabled, so its old secret does not work and cannot keep working: regenerate it without a grace period.",
      param: "grace_period_seconds",
    });
    await expectNothingChanged(before);
    const regenerated = await api("POST", `/api_keys/${made.key.id}/regenerate`, writer, { body: { grace_period_seconds: 0 } });
    expect(regenerated.status).toBe(200);
    expect(expectShape(apiKeyWithSecretResponse, regenerated.json)).toMatchObject({ status: "disabled", previous_secret_expires_at: null });
  });

  it.each([
    ["JSON that does not parse", '{"grace_period_seconds": ', 400],
    ["a JSON array", "[3600]", 400],
    ["a JSON number", "3600", 400],
    ["null", "null", 400],
    ["a 20 KB body", JSON.stringify({ grace: "x".repeat(20 * 1024) }), 413],
  ])("regenerate with %s: %i", async (_label, rawBody, status) => {
    const before = await snapshot();
    expectError(await api("POST", `/api_keys/${keyId}/regenerate`, secret, { rawBody, contentType: "application/json" }), status);
    await expectNothingChanged(before);
  });

  it("a Read-only key is refused regenerate and revoke with 403, body or not", async () => {
    const before = await snapshot();
    expectError(await api("POST", `/api_keys/${keyId}/regenerate`, readOnlySecret, { body: { grace_period_seconds: 3600 } }), 403);
    expectError(await api("POST", `/api_keys/${keyId}/regenerate`, readOnlySecret, { rawBody: "not json" }), 403);
    expectError(await api("DELETE", `/api_keys/${keyId}/previous_secret`, readOnlySecret), 403);
    await expectNothingChanged(before);
  });

  it("DELETE previous_secret: 404 when there is none, for another user's key and for ids that are not ids", async () => {
    const before = await snapshot();
    const none = expectError(await api("DELETE", `/api_keys/${keyId}/previous_secret`, secret), 404);
    expect(none.message).toBe("This key has no previous secret that still works.");
    for (const id of [othersKeyId, "not-a-uuid", "00000000-0000-0000-0000-000000000000"]) {
      expectError(await api("DELETE", `/api_keys/${id}/previous_secret`, secret), 404);
    }
    await expectNothingChanged(before);
    const wrongMethod = await api("GET", `/api_keys/${keyId}/previous_secret`, secret);
    expectError(wrongMethod, 405);
    expect(wrongMethod.headers.get("allow")).toBe("DELETE");
  });

  it("another user's key cannot be regenerated with a grace period (404), nor its old secret revoked", async () => {
    const other = await writer();
    const theirs = await createThroughApi(other.secret, {});
    await api("POST", `/api_keys/${theirs.id}/regenerate`, other.secret, { body: { grace_period_seconds: 3600 } });
    const before = await snapshot();
    expectError(await api("POST", `/api_keys/${theirs.id}/regenerate`, secret, { body: { grace_period_seconds: 3600 } }), 404);
    expectError(await api("DELETE", `/api_keys/${theirs.id}/previous_secret`, secret), 404);
    await expectNothingChanged(before);
    expect((await api("GET", "/ping", theirs.key)).status).toBe(200); // the old secret still works
  });
});

describe("an expired key", () => {
  it("is refused with its own message once its time passes, on a cache hit too, without a query", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, { expires_at: new Date(Date.now() + 1_500).toISOString() });
    expect((await api("GET", "/ping", made.key)).status).toBe(200);
    const hits = keyCache().stats.hits;
    expect((await api("GET", "/whoami", made.key)).status).toBe(200);
    expect(keyCache().stats.hits).toBe(hits + 1); // it is served from the verification cache now

    await until(made.expires_at!);
    let refused: Awaited<ReturnType<typeof api>> | undefined;
    const queries = await queriesDuring(async () => {
      refused = await api("GET", "/ping", made.key);
    });
    expect(refused!.status).toBe(401);
    expect(refused!.json).toEqual({ code: 401, message: EXPIRED, param: null });
    expect(keyCache().stats.hits).toBe(hits + 2); // refused from the cache, not after a new lookup
    expect(queries).toBe(0);
    for (const [method, path] of [
      ["GET", "/whoami"],
      ["GET", "/api_keys"],
      ["POST", "/api_keys"],
    ] as const) {
      expect((await api(method, path, made.key, method === "POST" ? { body: { name: uniqueName() } } : {})).json).toEqual({
        code: 401,
        message: EXPIRED,
        param: null,
      });
    }

    // Its holder still sees it (status stays active; expires_at says it is past) ...
    const listed = expectShape(apiKeyResponse, (await api("GET", `/api_keys/${made.id}`, secret)).json);
    expect(listed).toMatchObject({ status: "active", expires_at: made.expires_at });
    // ... and a regenerate with a new expiry makes it work again. A grace period cannot keep a dead
    // secret working: asked for, it is refused (409 naming it), never dropped in silence.
    const expiresAt = new Date(Date.now() + 30 * DAY_MS).toISOString();
    const before = await snapshot();
    const graced = await api("POST", `/api_keys/${made.id}/regenerate`, secret, {
      body: { expires_at: expiresAt, grace_period_seconds: 3600 },
    });
    expect(graced.status).toBe(409);
    expect(graced.json).toEqual({
      code: 409,
      message: expect.stringMatching(/has expired.*without a grace period/),
      param: "grace_period_seconds",
    });
    await expectNothingChanged(before);
    const revived = await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { expires_at: expiresAt } });
    expect(revived.status).toBe(200);
    const fresh = expectShape(apiKeyWithSecretResponse, revived.json);
    expect(fresh).toMatchObject({ id: made.id, expires_at: expiresAt, previous_secret_expires_at: null });
    expect((await api("GET", "/ping", fresh.key)).status).toBe(200);
    expect((await api("GET", "/ping", made.key)).json).toMatchObject({ message: NO_VALID_KEY });
  });

  it("is refused without a cache too, and after its refusal its holder is not counted as a guesser", async () => {
    const limited = createApiApp({ keyRateLimit: 0, authFailureLimit: 2 });
    const staff = await makeUser("staff");
    const { key, secret } = await createApiKey(staff, { name: uniqueName("expiring"), access_level: "read_only" });
    await db()
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1_000) })
      .where(eq(apiKeys.id, key.id));
    const ip = "198.51.100.50";
    // Well past the failure limit: each answer is still the expired message, never a 429.
    for (let i = 0; i < 5; i++) {
      const refused = await call(limited, "GET", "/ping", secret, { ip });
      expect(refused.status).toBe(401);
      expect(refused.json.message).toBe(EXPIRED);
    }
    // Guesses from that address are counted from zero: two 401s, then 429.
    const { generateApiKey } = await import("@/lib/keys/format");
    expectError(await call(limited, "GET", "/ping", generateApiKey(), { ip }), 401);
    expectError(await call(limited, "GET", "/ping", generateApiKey(), { ip }), 401);
    expectError(await call(limited, "GET", "/ping", generateApiKey(), { ip }), 429);
    // The expired key's answer stays the expired message even with the address limited.
    expect((await call(limited, "GET", "/ping", secret, { ip })).json.message).toBe(EXPIRED);
  });
});

describe("rotation with a grace period", () => {
  it("keeps both secrets working until previous_secret_expires_at, Sunset only on the old one", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, {});
    expect((await api("GET", "/ping", made.key)).status).toBe(200); // cached
    const started = Date.now();
    const result = await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 3600 } });
    expect(result.status).toBe(200);
    const fresh = expectShape(apiKeyWithSecretResponse, result.json);
    expect(fresh.key).not.toBe(made.key);
    const end = new Date(fresh.previous_secret_expires_at!);
    expect(end.getTime()).toBeGreaterThanOrEqual(started + 3_600_000 - 1_000);
    expect(end.getTime()).toBeLessThanOrEqual(Date.now() + 3_600_000);
    expect((await keyRow(made.id))!.previousExpiresAt!.toISOString()).toBe(end.toISOString());
    const sunset = end.toUTCString();
    expect(sunset).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/); // an HTTP-date

    for (const [method, path] of [
      ["GET", "/ping"],
      ["GET", "/whoami"],
      ["GET", "/api_keys"],
      ["GET", `/api_keys/${made.id}`],
    ] as const) {
      const old = await api(method, path, made.key);
      expect(old.status, `${method} ${path} with the old secret`).toBe(200);
      expect(old.headers.get("sunset"), `${method} ${path}`).toBe(sunset);
      const current = await api(method, path, fresh.key);
      expect(current.status).toBe(200);
      expect(current.headers.get("sunset")).toBeNull();
    }
    // Errors answered to the old secret say it too.
    const missing = await api("GET", "/api_keys/00000000-0000-0000-0000-000000000000", made.key);
    expectError(missing, 404);
    expect(missing.headers.get("sunset")).toBe(sunset);
    // Both are the same key: whoami and the list show previous_secret_expires_at.
    const whoami = expectShape(whoamiResponse, (await api("GET", "/whoami", made.key)).json);
    expect(whoami.id).toBe(made.id);
    const shown = expectShape(apiKeyResponse, (await api("GET", `/api_keys/${made.id}`, secret)).json);
    expect(shown.previous_secret_expires_at).toBe(end.toISOString());

    const [audit] = await db()
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.targetId, made.id), eq(auditLog.action, "api_key.regenerated")));
    expect(audit!.metadata).toEqual({ grace_period_seconds: 3600 });
  });

  it("an empty or missing body regenerates without a grace period, as before", async () => {
    const { secret } = await writer();
    for (const options of [{}, { rawBody: "" }, { rawBody: "  \n", contentType: "application/json" }, { body: {} }]) {
      const made = await createThroughApi(secret, {});
      expect((await api("GET", "/ping", made.key)).status).toBe(200);
      const result = await api("POST", `/api_keys/${made.id}/regenerate`, secret, options);
      expect(result.status, JSON.stringify(options)).toBe(200);
      const fresh = expectShape(apiKeyWithSecretResponse, result.json);
      expect(fresh.previous_secret_expires_at).toBeNull();
      expectError(await api("GET", "/ping", made.key), 401);
      expect((await api("GET", "/ping", fresh.key)).status).toBe(200);
    }
  });

  it("reads the body as JSON whatever its Content-Type (curl -d)", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, {});
    const result = await api("POST", `/api_keys/${made.id}/regenerate`, secret, {
      rawBody: JSON.stringify({ grace_period_seconds: 60 }),
      contentType: "application/x-www-form-urlencoded",
    });
    expect(result.status).toBe(200);
    expect(result.json.previous_secret_expires_at).not.toBeNull();
    expect((await api("GET", "/ping", made.key)).status).toBe(200);
  });

  it("Revoke old secret now: 204, the old secret is refused at once (it was cached), the new one works", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, {});
    const fresh = expectShape(
      apiKeyWithSecretResponse,
      (await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 86_400 } })).json,
    );
    expect((await api("GET", "/ping", made.key)).status).toBe(200);
    expect((await api("GET", "/ping", made.key)).status).toBe(200); // a cache hit now
    const before = await snapshot();
    const revoked = await api("DELETE", `/api_keys/${made.id}/previous_secret`, secret);
    expect(revoked.status).toBe(204);
    expect(revoked.json).toBeNull();
    expect((await api("GET", "/ping", made.key)).json).toEqual({ code: 401, message: NO_VALID_KEY, param: null });
    expect((await api("GET", "/ping", fresh.key)).status).toBe(200);
    const row = await keyRow(made.id);
    expect(row).toMatchObject({ previousDigest: null, previousExpiresAt: null });
    const audit = await auditSince(before);
    expect(audit.map((a) => [a.action, a.targetId])).toEqual([["api_key.previous_secret_revoked", made.id]]);
    expect(expectShape(apiKeyResponse, (await api("GET", `/api_keys/${made.id}`, secret)).json).previous_secret_expires_at).toBeNull();
    // There is none left to revoke.
    expectError(await api("DELETE", `/api_keys/${made.id}/previous_secret`, secret), 404);
  });

  it("the old secret stops by itself when the grace ends, on a cache hit too", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, {});
    const fresh = expectShape(
      apiKeyWithSecretResponse,
      (await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 1 } })).json,
    );
    expect((await api("GET", "/ping", made.key)).status).toBe(200);
    await until(fresh.previous_secret_expires_at!);
    expect((await api("GET", "/ping", made.key)).json).toMatchObject({ code: 401, message: NO_VALID_KEY });
    expect((await api("GET", "/ping", fresh.key)).status).toBe(200);
    expect(expectShape(apiKeyResponse, (await api("GET", `/api_keys/${made.id}`, secret)).json).previous_secret_expires_at).toBeNull();
    expectError(await api("DELETE", `/api_keys/${made.id}/previous_secret`, secret), 404);
  });

  it("a second regenerate ends the first old secret; without a grace it ends the second too", async () => {
    const { secret } = await writer();
    const first = await createThroughApi(secret, {});
    const regenerate = async (body?: unknown) =>
      expectShape(apiKeyWithSecretResponse, (await api("POST", `/api_keys/${first.id}/regenerate`, secret, { body })).json);
    const second = await regenerate({ grace_period_seconds: 3600 });
    const third = await regenerate({ grace_period_seconds: 3600 });
    expectError(await api("GET", "/ping", first.key), 401);
    const old = await api("GET", "/ping", second.key);
    expect(old.status).toBe(200);
    expect(old.headers.get("sunset")).toBe(new Date(third.previous_secret_expires_at!).toUTCString());
    expect((await api("GET", "/ping", third.key)).status).toBe(200);
    const fourth = await regenerate();
    expect(fourth.previous_secret_expires_at).toBeNull();
    for (const gone of [first.key, second.key, third.key]) expectError(await api("GET", "/ping", gone), 401);
    expect((await api("GET", "/ping", fourth.key)).status).toBe(200);
  });

  it("a disabled key's old secret is not kept by a regenerate: a grace period is refused, and without one it is gone", async () => {
    const { user, secret } = await writer();
    const made = await createThroughApi(secret, {});
    await setOwnApiKeyStatus(user, made.id, "disabled");
    const graced = await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 3600 } });
    expectError(graced, 409, "grace_period_seconds");
    const result = await api("POST", `/api_keys/${made.id}/regenerate`, secret);
    expect(expectShape(apiKeyWithSecretResponse, result.json)).toMatchObject({ status: "disabled", previous_secret_expires_at: null });
    await setOwnApiKeyStatus(user, made.id, "active");
    expectError(await api("GET", "/ping", made.key), 401);
    expect((await api("GET", "/ping", result.json.key as string)).status).toBe(200);
  });

  it("a rate-limited answer to the old secret carries Sunset too", async () => {
    const limited = createApiApp({ keyRateLimit: 1, authFailureLimit: 0 });
    const { secret } = await writer();
    const made = await createThroughApi(secret, {});
    const fresh = expectShape(
      apiKeyWithSecretResponse,
      (await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 600 } })).json,
    );
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 58_000) await sleep(60_200 - intoWindow);
    expect((await call(limited, "GET", "/ping", made.key)).status).toBe(200);
    const refused = await call(limited, "GET", "/ping", made.key);
    expectError(refused, 429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(refused.headers.get("sunset")).toBe(new Date(fresh.previous_secret_expires_at!).toUTCString());
  });

  it.each([
    ["disabling (through the API)", "disable"],
    ["disabling (in the app)", "disable-app"],
    ["deleting", "delete"],
    ["a downgrade that deletes the key", "downgrade"],
  ] as const)("%s ends both secrets", async (_label, how) => {
    const { user, secret } = await writer();
    const made = await createThroughApi(secret, { access_level: "read_write" });
    const fresh = expectShape(
      apiKeyWithSecretResponse,
      (await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 604_800 } })).json,
    );
    expect((await api("GET", "/ping", made.key)).status).toBe(200);
    expect((await api("GET", "/ping", fresh.key)).status).toBe(200);
    if (how === "disable") expect((await api("PATCH", `/api_keys/${made.id}`, secret, { body: { status: "disabled" } })).status).toBe(200);
    else if (how === "disable-app") await setOwnApiKeyStatus(user, made.id, "disabled");
    else if (how === "delete") expect((await api("DELETE", `/api_keys/${made.id}`, fresh.key)).status).toBe(204);
    else await changeRole(await makeUser("owner"), { userId: user.userId, role: "read_only" });
    for (const key of [made.key, fresh.key])
      expect((await api("GET", "/ping", key)).json).toMatchObject({ code: 401, message: NO_VALID_KEY });
    if (how === "disable" || how === "disable-app") {
      // Enabling again brings back the new secret only: the grace ended with the disable.
      await setOwnApiKeyStatus(user, made.id, "active");
      expect((await api("GET", "/ping", fresh.key)).status).toBe(200);
      expectError(await api("GET", "/ping", made.key), 401);
      expect((await keyRow(made.id))!.previousDigest).toBeNull();
    } else {
      expect(await keyRow(made.id)).toBeUndefined();
    }
  });
});

// One port per vitest project (they run side by side), outside the ranges the other suites use.
const PORT = process.env.TEST_DB === "postgres" ? 3476 : 3471;

describe("ping's fast path (server/api/node.ts)", () => {
  let server: Server;
  const base = `http://127.0.0.1:${PORT}`;
  beforeAll(async () => {
    server = createServer(createApiRequestListener({ keyRateLimit: 0, authFailureLimit: 0 }));
    await new Promise<void>((resolve) => server.listen(PORT, "127.0.0.1", resolve));
  });
  afterAll(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

  const get = async (path: string, key: string) => {
    const response = await fetch(`${base}${path}`, {
      headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}`, "x-latchkey-client-ip": "192.0.2.21" },
    });
    return { status: response.status, sunset: response.headers.get("sunset"), body: await response.json() };
  };

  it("answers an old secret with Sunset and an expired key with the expired message, like the framework", async () => {
    const { secret } = await writer();
    const made = await createThroughApi(secret, { expires_at: new Date(Date.now() + 1_500).toISOString() });
    const fresh = expectShape(
      apiKeyWithSecretResponse,
      (await api("POST", `/api_keys/${made.id}/regenerate`, secret, { body: { grace_period_seconds: 3600 } })).json,
    );
    const sunset = new Date(fresh.previous_secret_expires_at!).toUTCString();
    for (const path of ["/api/v1/ping", "/api/v1/ping?"]) {
      expect(await get(path, made.key), path).toEqual({ status: 200, sunset, body: { data: "pong!" } });
      expect(await get(path, fresh.key), path).toEqual({ status: 200, sunset: null, body: { data: "pong!" } });
    }
    await until(made.expires_at!);
    const expired = { status: 401, sunset: null, body: { code: 401, message: EXPIRED, param: null } };
    for (const path of ["/api/v1/ping", "/api/v1/ping?"]) {
      expect(await get(path, fresh.key), path).toEqual(expired);
      // The old secret of an expired key is expired too (it is the same key).
      expect((await get(path, made.key)).body, path).toEqual(expired.body);
    }
  });
});
