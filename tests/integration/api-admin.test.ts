/**
 * The admin API (SPEC §13) through the Hono app on a real database: who may use it (every role x
 * every operation, on their own key and another's: 404 for anyone but Owners and Admins, nothing
 * changed, nothing audited), the Access Manager's rules on changes, filters and sorts answering
 * exactly what the Access Manager's page service answers, and cursors (every row once, stable
 * under inserts, bad ones a 422 naming `cursor`).
 */
// First: the API's schemas extend zod (.openapi) before any other module builds one.
import { createApiApp, type ApiApp } from "@/server/api/app";
import { adminApiKeyListResponse, adminApiKeyResponse, auditLogListResponse, errorResponse } from "@/server/api/schemas";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeys, type Role } from "@/db/schema";
import { listAuditLog } from "@/lib/audit/query";
import type { Actor } from "@/lib/auth/actor";
import { createKeyring } from "@/lib/config/keyring";
import { listApiKeysForAdmin } from "@/lib/keys/admin";
import { createApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { connection, db, keyCache } from "@/lib/runtime";
import { insertKeys, type KeySpec } from "@/lib/seed";
import { updateKeyPolicy } from "@/lib/settings/service";
import { createServiceAccount } from "@/lib/users/service-accounts";
import { parseAccessManagerQuery, parseAuditLogQuery } from "@/lib/validation/admin";
import { NO_SUCH_ENDPOINT } from "@/server/api/middleware";
import { setupTestDatabase, TEST_SECRET } from "../helpers/db";
import { auditSince, expectOnlyChanged, expectUnchanged, keyRow, makeUser, snapshot } from "../helpers/fixtures";

let teardown: () => Promise<void>;
let app: ApiApp;
let owner: Actor;
let admin: Actor;
const secrets: Partial<Record<Role, { rw?: string; ro: string }>> = {};

const BASE = "http://latchkey.test/api/v1";
const DAY = 86_400_000;

async function call(method: string, path: string, key: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await app.request(`${BASE}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      "x-latchkey-client-ip": "192.0.2.70",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const isJson = response.headers.get("content-type")?.startsWith("application/json");
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: (isJson && text ? JSON.parse(text) : null) as Record<string, unknown>,
  };
}

let counter = 0;
const unique = (base: string) => `${base} ${++counter}`;

/** A varied organisation: levels, statuses, expiries, last uses, roles, a service account, names that tie. */
async function seedOrganisation() {
  const people = {
    alpha: await makeUser("staff", { name: "Alpha Person" }),
    beta: await makeUser("read_only", { name: "beta person" }),
    gamma: await makeUser("admin", { name: "Gamma Person" }),
  };
  const account = await createServiceAccount(owner, { name: "Nightly export", role: "staff" });
  const now = Date.now();
  const specs: KeySpec[] = [];
  const holders = [people.alpha.userId, people.beta.userId, people.gamma.userId, account.id, owner.userId];
  for (let i = 0; i < 45; i++) {
    const userId = holders[i % holders.length]!;
    const readOnlyHolder = userId === people.beta.userId;
    specs.push({
      userId,
      // Names repeat across holders, so sorting by name needs its tie-breakers.
      name: `${["deploy", "Billing", "alpha sync", "=cmd", "zeta"][i % 5]} ${Math.floor(i / 5)}`,
      accessLevel: readOnlyHolder || i % 3 === 0 ? "read_only" : "read_write",
      status: i % 7 === 0 ? "disabled" : "active",
      disabledBy: i % 7 === 0 ? userId : null,
      // Some share a creation time, so (created_at, id) decides.
      createdAt: new Date(now - (i % 9) * DAY - (i % 2) * 1000),
      lastUsedAt: i % 4 === 0 ? null : new Date(now - (i % 11) * 10 * DAY),
    });
  }
  await insertKeys(connection().sql, createKeyring(TEST_SECRET), specs);
  // Expiries: some past, some within 7 or 30 days, some later, the rest never.
  const seeded = specs.map((spec) => spec.name);
  const rows = await db().select({ id: apiKeys.id }).from(apiKeys).where(inArray(apiKeys.name, seeded)).orderBy(apiKeys.name, apiKeys.id);
  const offsets = [-2 * DAY, 3 * DAY, 20 * DAY, 200 * DAY, null];
  for (const [i, row] of rows.entries()) {
    const offset = offsets[i % offsets.length];
    if (offset !== null && offset !== undefined) {
      await db()
        .update(apiKeys)
        .set({ expiresAt: new Date(now + offset) })
        .where(eq(apiKeys.id, row.id));
    }
  }
}

beforeAll(async () => {
  teardown = await setupTestDatabase();
  keyCache().configure("off");
  app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
  owner = await makeUser("owner", { name: "Olive Owner" });
  admin = await makeUser("admin", { name: "Adam Admin" });
  for (const [role, actor] of [
    ["owner", owner],
    ["admin", admin],
    ["staff", await makeUser("staff")],
    ["read_only", await makeUser("read_only")],
  ] as const) {
    secrets[role] = {
      ro: (await createApiKey(actor, { name: "reader", access_level: "read_only" })).secret,
      ...(role === "read_only" ? {} : { rw: (await createApiKey(actor, { name: "writer", access_level: "read_write" })).secret }),
    };
  }
  await seedOrganisation();
});
afterAll(() => teardown());

/** The id of a key the caller holds, and of one someone else holds. */
async function keyHeldBy(secret: string): Promise<string> {
  const who = await call("GET", "/whoami", secret);
  return who.json.id as string;
}

async function someoneElsesKey(): Promise<string> {
  const holder = await makeUser("staff");
  return (await createApiKey(holder, { name: unique("target"), access_level: "read_only" })).key.id;
}

describe("who may use the admin API", () => {
  const OPERATIONS = [
    ["list keys", "GET", "/admin/api_keys", undefined, {}],
    ["export keys", "GET", "/admin/api_keys", undefined, { accept: "text/csv" }],
    ["disable a key", "PATCH", "/admin/api_keys/{id}", { status: "disabled" }, {}],
    ["delete a key", "DELETE", "/admin/api_keys/{id}", undefined, {}],
    ["read the audit log", "GET", "/admin/audit_log", undefined, {}],
    ["export the audit log", "GET", "/admin/audit_log", undefined, { accept: "text/csv" }],
  ] as const;
  const CASES = (["staff", "read_only"] as const).flatMap((role) =>
    (["rw", "ro"] as const).flatMap((level) =>
      (["own", "another's"] as const).flatMap((whose) => OPERATIONS.map((op) => [role, level, whose, ...op] as const)),
    ),
  );

  it.each(CASES)(
    "%s (%s key), %s key: %s is the 404 of an unknown path; nothing changed, nothing audited",
    async (role, level, whose, _label, method, path, body, headers) => {
      const secret = secrets[role]![level];
      if (!secret) return; // a Read-only user holds no Read & Write key
      const id = whose === "own" ? await keyHeldBy(secret) : await someoneElsesKey();
      const before = await snapshot();
      const result = await call(method, path.replace("{id}", id), secret, body, headers);
      expect(result.status).toBe(404);
      expect(result.json).toEqual({ code: 404, message: NO_SUCH_ENDPOINT, param: null });
      expect(result.json).toEqual((await call("GET", "/admin/nothing", secret)).json);
      await expectUnchanged(before);
    },
  );

  it.each([
    ["owner", "rw"],
    ["owner", "ro"],
    ["admin", "rw"],
    ["admin", "ro"],
  ] as const)("%s (%s key): reads and exports; changes need a Read & Write key", async (role, level) => {
    const secret = secrets[role]![level]!;
    const listed = await call("GET", "/admin/api_keys?limit=5", secret);
    expect(listed.status, listed.text).toBe(200);
    expect((await call("GET", "/admin/audit_log?limit=5", secret)).status).toBe(200);
    for (const whose of ["own", "another's"]) {
      const id =
        whose === "own"
          ? (await createApiKey(role === "owner" ? owner : admin, { name: unique("mine"), access_level: "read_only" })).key.id
          : await someoneElsesKey();
      const before = await snapshot();
      const patched = await call("PATCH", `/admin/api_keys/${id}`, secret, { status: "disabled" });
      if (level === "ro") {
        expect(patched.status).toBe(403);
        expect((await call("DELETE", `/admin/api_keys/${id}`, secret)).status).toBe(403);
        await expectUnchanged(before);
        continue;
      }
      expect(patched.status).toBe(200);
      const key = adminApiKeyResponse.parse(patched.json);
      expect(key).toMatchObject({ id, status: "disabled", state: "disabled", disabled_by_admin: whose !== "own" });
      await expectOnlyChanged(before, { api_keys: [id] });
      const audited = await auditSince(before);
      expect(audited.map((row) => [row.action, row.targetId, row.actorKeyId !== null])).toEqual([["api_key.disabled", id, true]]);
      const deleted = await call("DELETE", `/admin/api_keys/${id}`, secret);
      expect(deleted.status).toBe(204);
      expect(await keyRow(id)).toBeUndefined();
    }
  });
});

describe("changes follow the Access Manager's rules", () => {
  it("a key an admin disabled is locked: its holder (an Admin) cannot enable it through the admin API, another Admin can", async () => {
    const holder = await makeUser("admin");
    const holderKey = (await createApiKey(holder, { name: "holder writer", access_level: "read_write" })).secret;
    const target = (await createApiKey(holder, { name: "locked one", access_level: "read_only" })).key.id;
    expect((await call("PATCH", `/admin/api_keys/${target}`, secrets.owner!.rw!, { status: "disabled" })).json).toMatchObject({
      disabled_by_admin: true,
    });
    await call("GET", "/whoami", holderKey); // its first use (last used at) is bookkeeping, not the change refused
    const before = await snapshot();
    const refused = await call("PATCH", `/admin/api_keys/${target}`, holderKey, { status: "active" });
    expect(refused.status).toBe(403);
    expect(errorResponse.parse(refused.json).message).toMatch(/^Someone else disabled this key/);
    await expectUnchanged(before);
    const enabled = await call("PATCH", `/admin/api_keys/${target}`, secrets.admin!.rw!, { status: "active" });
    expect(enabled.json).toMatchObject({ status: "active", disabled_by_admin: false });
  });

  it.each([
    ["an unknown status", { status: "paused" }, 422, "status"],
    ["no status", {}, 422, "status"],
    ["an unknown field", { status: "active", name: "x" }, 422, "name"],
  ])("PATCH with %s: %i, nothing changed", async (_label, body, status, param) => {
    const id = await someoneElsesKey();
    const before = await snapshot();
    const result = await call("PATCH", `/admin/api_keys/${id}`, secrets.admin!.rw!, body);
    expect(result.status).toBe(status);
    expect(result.json.param).toBe(param);
    await expectUnchanged(before);
  });

  it("an unknown or malformed id is a 404, as on the page", async () => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "not-an-id"]) {
      expect((await call("PATCH", `/admin/api_keys/${id}`, secrets.admin!.rw!, { status: "disabled" })).status).toBe(404);
      expect((await call("DELETE", `/admin/api_keys/${id}`, secrets.admin!.rw!)).status).toBe(404);
    }
  });

  it("an admin's key object is its holder's own, field for field (masked_key and description too), and more", async () => {
    const holder = await makeUser("staff", { name: "Same Object" });
    const holderKey = (await createApiKey(holder, { name: unique("holder writer"), access_level: "read_write" })).secret;
    const made = await createApiKey(holder, {
      name: unique("one object"),
      access_level: "read_only",
      description: "Seen the same by both",
    });
    await call("POST", `/api_keys/${made.key.id}/regenerate`, holderKey, { grace_period_seconds: 600 });
    const own = (await call("GET", `/api_keys/${made.key.id}`, holderKey)).json;
    const listed = adminApiKeyListResponse.parse(
      (await call("GET", `/admin/api_keys?q=${encodeURIComponent(made.key.name)}`, secrets.admin!.ro)).json,
    );
    const entry = listed.entries.find((candidate) => candidate.id === made.key.id) as Record<string, unknown> | undefined;
    expect(entry).toBeDefined();
    for (const [field, value] of Object.entries(own)) expect(entry![field], field).toEqual(value);
    expect(entry).toMatchObject({ description: "Seen the same by both", masked_key: expect.stringMatching(/^lk_.{4}•{8}.{4}$/) });
    expect(entry!.previous_secret_expires_at).not.toBeNull();
    const changed = (await call("PATCH", `/admin/api_keys/${made.key.id}`, secrets.admin!.rw!, { status: "disabled" })).json;
    expect(adminApiKeyResponse.parse(changed)).toMatchObject({ masked_key: own.masked_key, description: "Seen the same by both" });
  });

  it("a service account's key shows its holder with no email", async () => {
    const page = adminApiKeyListResponse.parse((await call("GET", "/admin/api_keys?q=nightly&limit=200", secrets.admin!.ro)).json);
    expect(page.entries.length).toBeGreaterThan(0);
    for (const entry of page.entries) expect(entry.user).toMatchObject({ name: "Nightly export", email: null, type: "service_account" });
  });
});

/** Every page of the API's list, following cursors; the ids in order. */
async function walkApi(query: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const qs = new URLSearchParams(query);
    qs.set("limit", String(limit));
    if (cursor) qs.set("cursor", cursor);
    const result = await call("GET", `/admin/api_keys?${qs}`, secrets.admin!.ro);
    expect(result.status, result.text).toBe(200);
    const page = adminApiKeyListResponse.parse(result.json);
    ids.push(...page.entries.map((entry) => entry.id));
    expect(page.has_more).toBe(page.cursor !== null);
    if (!page.cursor) return ids;
    cursor = page.cursor;
  }
  throw new Error("too many pages");
}

/** The Access Manager page service's answer for the same filters, every page. */
async function walkPages(params: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const result = await listApiKeysForAdmin(admin, parseAccessManagerQuery({ ...params, page: String(page), size: "100" }));
    ids.push(...result.rows.map((row) => row.id));
    if (page >= result.pageCount) return ids;
  }
}

describe("filters and sorts answer what the Access Manager answers", () => {
  const SORTS = ["created_at", "name", "access_level", "user", "role", "status", "last_used_at", "expires_at"] as const;
  const PAGE_SORT: Record<(typeof SORTS)[number], string> = {
    created_at: "createdAt",
    name: "name",
    access_level: "accessLevel",
    user: "user",
    role: "role",
    status: "status",
    last_used_at: "lastUsedAt",
    expires_at: "expiresAt",
  };

  it.each(SORTS.flatMap((sort) => [[sort, "asc"] as const, [sort, "desc"] as const]))(
    "sort %s %s, walked 7 at a time",
    async (sort, dir) => {
      const api = await walkApi(`sort=${dir === "desc" ? "-" : ""}${sort}`, 7);
      const page = await walkPages({ sort: PAGE_SORT[sort], dir });
      expect(page.length).toBeGreaterThan(40);
      expect(api).toEqual(page);
    },
  );

  it.each([
    ["q=alpha", { q: "alpha" }],
    ["q=BETA (a user's name, any case)", { q: "BETA" }],
    ["q=100% (LIKE's wildcards are literal)", { q: "100%" }],
    ["status=disabled", { status: "disabled" }],
    ["status=expired", { status: "expired" }],
    ["status=active&access_level=read_write", { status: "active", access_level: "read_write" }],
    ["role=staff", { role: "staff" }],
    ["role=read_only&sort=-name", { role: "read_only", sort: "-name" }],
    ["expires=7d", { expires: "7d" }],
    ["expires=30d", { expires: "30d" }],
    ["expires=expired", { expires: "expired" }],
    ["expires=never&sort=expires_at", { expires: "never", sort: "expires_at" }],
    ["last_used=never", { last_used: "never" }],
    ["last_used=30d&sort=-last_used_at", { last_used: "30d", sort: "-last_used_at" }],
    ["last_used=90d", { last_used: "90d" }],
    ["over_policy=true (a 30-day maximum key lifetime)", { over_policy: "true" }],
    ["over_policy=false (no filter)", { over_policy: "false" }],
  ])("%s", async (_label, filters) => {
    const { access_level, sort, over_policy, ...rest } = filters as Record<string, string>;
    const pageParams: Record<string, string> = {
      ...rest,
      ...(access_level ? { level: access_level } : {}),
      ...(over_policy === "true" ? { over_policy: "1" } : {}),
    };
    if (sort) {
      pageParams.sort = PAGE_SORT[sort.replace(/^-/, "") as keyof typeof PAGE_SORT];
      pageParams.dir = sort.startsWith("-") ? "desc" : "asc";
    }
    // Over policy needs a maximum key lifetime to measure against (without one it matches nothing).
    if (over_policy) await updateKeyPolicy(owner, { max_key_lifetime_days: 30, disable_unused_after_days: null });
    try {
      const api = await walkApi(new URLSearchParams(filters as Record<string, string>).toString(), 4);
      const page = await walkPages(pageParams);
      if (over_policy === "true") expect(page.length).toBeGreaterThan(5);
      expect(api).toEqual(page);
    } finally {
      if (over_policy) await updateKeyPolicy(owner, { max_key_lifetime_days: null, disable_unused_after_days: null });
    }
  });
});

describe("cursors", () => {
  it("walk every row exactly once, whatever the page size", async () => {
    const all = await walkPages({});
    for (const limit of [1, 3, 50, 200]) {
      const ids = await walkApi("", limit);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(all);
    }
  });

  it("stay stable while keys are added and removed between pages (keyset, not OFFSET)", async () => {
    const first = await call("GET", "/admin/api_keys?sort=name&limit=10", secrets.admin!.ro);
    const firstPage = adminApiKeyListResponse.parse(first.json);
    // Keys sorting before and after the cursor, and the cursor's own row deleted.
    const early = await createApiKey(owner, { name: "aaaa early", access_level: "read_only" });
    const late = await createApiKey(owner, { name: "zzzz late", access_level: "read_only" });
    await db()
      .delete(apiKeys)
      .where(eq(apiKeys.id, firstPage.entries.at(-1)!.id));
    const rest: string[] = [];
    let cursor = firstPage.cursor;
    while (cursor) {
      const page = adminApiKeyListResponse.parse(
        (await call("GET", `/admin/api_keys?sort=name&limit=10&cursor=${cursor}`, secrets.admin!.ro)).json,
      );
      rest.push(...page.entries.map((entry) => entry.id));
      cursor = page.cursor;
    }
    const seen = [...firstPage.entries.map((entry) => entry.id), ...rest];
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    expect(rest).toContain(late.key.id); // after the cursor: seen
    expect(rest).not.toContain(early.key.id); // before it: not, and nothing shifted
    const now = await walkPages({ sort: "name", dir: "asc" });
    expect(seen.filter((id) => id !== firstPage.entries.at(-1)!.id)).toEqual(now.filter((id) => id !== early.key.id));
  });

  const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  it.each([
    ["not base64 JSON", "%%%"],
    ["JSON of the wrong shape", forged({ hello: 1 })],
    ["another sort's cursor", null],
    ["too few values", forged({ o: "keys:createdAt:desc", v: ["2026-01-01 00:00:00+00"] })],
    [
      "a value that is not a time",
      forged({ o: "keys:createdAt:desc", v: ["yesterday'); drop table api_keys; --", "0b1c4f9e-6c1f-4a51-9c1e-3f0d7c1e2a9b"] }),
    ],
    ["a value that is not an id", forged({ o: "keys:createdAt:desc", v: ["2026-01-01 00:00:00+00", "not-a-uuid"] })],
    ["a number where text is", forged({ o: "keys:createdAt:desc", v: [1, 2] })],
  ])("a cursor that is %s: 422 naming cursor, nothing changed", async (_label, cursor) => {
    let value = cursor;
    if (value === null) {
      value = adminApiKeyListResponse.parse((await call("GET", "/admin/api_keys?sort=name&limit=1", secrets.admin!.ro)).json).cursor!;
    }
    const before = await snapshot();
    const result = await call("GET", `/admin/api_keys?cursor=${encodeURIComponent(value)}`, secrets.admin!.ro);
    expect(result.status).toBe(422);
    expect(errorResponse.parse(result.json).param).toBe("cursor");
    await expectUnchanged(before);
  });

  it.each([
    ["status=gone", "status"],
    ["access_level=admin", "access_level"],
    ["role=boss", "role"],
    ["expires=1d", "expires"],
    ["last_used=ever", "last_used"],
    ["over_policy=1", "over_policy"],
    ["over_policy=yes", "over_policy"],
    ["sort=colour", "sort"],
    ["sort=-", "sort"],
    ["limit=0", "limit"],
    ["limit=201", "limit"],
    ["limit=ten", "limit"],
    [`q=${"x".repeat(101)}`, "q"],
    ["q=a%00b", "q"],
    ["level=read_only", "level"],
    ["page=2", "page"],
  ])("a bad filter %s: 422 naming %s", async (query, param) => {
    const result = await call("GET", `/admin/api_keys?${query}`, secrets.admin!.ro);
    expect(result.status).toBe(422);
    expect(errorResponse.parse(result.json).param).toBe(param);
  });
});

describe("GET /api/v1/admin/audit_log", () => {
  async function walkAudit(query: string, limit: number) {
    const ids: number[] = [];
    let cursor: string | null = null;
    for (;;) {
      const qs = new URLSearchParams(query);
      qs.set("limit", String(limit));
      if (cursor) qs.set("cursor", cursor);
      const result = await call("GET", `/admin/audit_log?${qs}`, secrets.owner!.ro);
      expect(result.status, result.text).toBe(200);
      const page = auditLogListResponse.parse(result.json);
      ids.push(...page.entries.map((entry) => entry.id));
      if (!page.cursor) return ids;
      cursor = page.cursor;
    }
  }

  async function pageIds(params: Record<string, string>) {
    const ids: number[] = [];
    let before: number | null = null;
    for (;;) {
      const page = await listAuditLog(owner, parseAuditLogQuery({ ...params, size: "100", ...(before ? { before: String(before) } : {}) }));
      ids.push(...page.entries.map((entry) => entry.id));
      if (!page.older) return ids;
      before = page.older;
    }
  }

  it.each([
    ["no filter", {}],
    ["action", { action: "api_key.disabled" }],
    ["actor (contains, any case)", { actor: "OWNER-" }],
    ["actor (contains, in the middle)", { actor: "MIN-" }],
    ["target (contains, in the middle)", { target: "OCKED O" }],
  ])("%s: newest first, every entry once, as the Audit log page", async (_label, filters) => {
    const api = await walkAudit(new URLSearchParams(filters as Record<string, string>).toString(), 3);
    expect(api.length).toBeGreaterThan(0);
    expect(new Set(api).size).toBe(api.length);
    expect(api).toEqual(await pageIds(filters as Record<string, string>));
  });

  it("target: an exact id, as the Audit log page", async () => {
    const [entry] = (await listAuditLog(owner, parseAuditLogQuery({ target: "locked one" }))).entries;
    const filters = { target: entry!.targetId! };
    const api = await walkAudit(new URLSearchParams(filters).toString(), 3);
    expect(api.length).toBeGreaterThan(0);
    expect(api).toEqual(await pageIds(filters));
  });

  it("a cursor stays valid while entries are added (they are newer: never on a later page)", async () => {
    const first = auditLogListResponse.parse((await call("GET", "/admin/audit_log?limit=2", secrets.owner!.ro)).json);
    await setOwnApiKeyStatus(owner, (await createApiKey(owner, { name: unique("audited"), access_level: "read_only" })).key.id, "disabled");
    const next = auditLogListResponse.parse((await call("GET", `/admin/audit_log?limit=2&cursor=${first.cursor}`, secrets.owner!.ro)).json);
    expect(next.entries[0]!.id).toBeLessThan(first.entries[1]!.id);
  });

  it.each([
    ["action=nope", "action"],
    ["cursor=abc", "cursor"],
    ["limit=0", "limit"],
    ["before=3", "before"],
    [
      `cursor=${Buffer.from(JSON.stringify({ o: "audit:created_at:desc", v: ["2026-01-01 00:00:00+00", "1.5"] })).toString("base64url")}`,
      "cursor",
    ],
  ])("%s: 422 naming %s", async (query, param) => {
    const result = await call("GET", `/admin/audit_log?${query}`, secrets.owner!.ro);
    expect(result.status).toBe(422);
    expect(result.json.param).toBe(param);
  });

  it("entries are the page's, never a secret", async () => {
    const page = auditLogListResponse.parse((await call("GET", "/admin/audit_log?limit=200", secrets.owner!.ro)).json);
    const text = JSON.stringify(page);
    for (const secret of Object.values(secrets).flatMap((s) => [s.ro, s.rw])) if (secret) expect(text).not.toContain(secret);
    const ids = page.entries.map((entry) => entry.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  });
});
