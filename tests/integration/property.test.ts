/**
 * Property-based tests (fast-check) over every REST API body, query parameter and path id, and
 * every server action's fields: whatever arrives, the answer is never a 500 or an exception, and
 * a refused call changes nothing (the keys and the audit log are compared before and after).
 * Runs are bounded so the file takes seconds on both databases.
 */
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/runtime";
import { createApiApp, type ApiApp } from "@/server/api/app";
import type { Actor } from "@/lib/auth/actor";
import { getActor } from "@/lib/auth/session";
import { setApiKeyStatusAsAdmin } from "@/lib/keys/admin";
import { createApiKey, deleteApiKey, regenerateApiKey, renameApiKey, revealApiKey, setOwnApiKeyStatus } from "@/lib/keys/service";
import { BAD_REQUEST_STATE, validatedAction, validatedActionWithActor, type ActionState } from "@/lib/safe-action";
import {
  accessManagerQuerySchema,
  auditLogQuerySchema,
  changeRoleSchema,
  previewRoleChangeSchema,
  userIdSchema,
} from "@/lib/validation/admin";
import {
  apiKeyIdSchema,
  createApiKeySchema,
  renameApiKeySchema,
  revealApiKeySchema,
  setApiKeyStatusSchema,
  updateApiKeySchema,
} from "@/lib/validation/keys";
import { acceptInviteSchema, changePasswordSchema, inviteSchema, setupSchema, signInSchema } from "@/lib/validation/users";
import { setupTestDatabase } from "../helpers/db";
import { makeUser } from "../helpers/fixtures";

// The session lookup needs a Next.js request; here the signed-in person is whoever the test says.
vi.mock("@/lib/auth/session", () => ({ getActor: vi.fn() }));

const RUNS = { numRuns: 100 };
const BASE = "http://latchkey.test/api/v1";

let teardown: () => Promise<void>;
let app: ApiApp;
let staff: Actor;
let admin: Actor;
/** A Read & Write key of `staff` that the properties authenticate with (never changed by them). */
let writeSecret: string;
let readSecret: string;
/** A key of `staff` the properties may rename, disable and regenerate. */
let targetId: string;
let otherUsersKeyId: string;

beforeAll(async () => {
  teardown = await setupTestDatabase();
  app = createApiApp({ keyRateLimit: 0, authFailureLimit: 0 });
  staff = await makeUser("staff");
  admin = await makeUser("admin");
  writeSecret = (await createApiKey(staff, { name: "property: write", access_level: "read_write" })).secret;
  readSecret = (await createApiKey(staff, { name: "property: read", access_level: "read_only" })).secret;
  targetId = (await createApiKey(staff, { name: "property: target", access_level: "read_only" })).key.id;
  otherUsersKeyId = (await createApiKey(admin, { name: "property: admin's", access_level: "read_only" })).key.id;
  vi.mocked(getActor).mockResolvedValue(staff);
});
afterAll(() => teardown());

/** What a refused call must leave as it was: every key's visible state and the audit log. */
async function snapshot(): Promise<string> {
  const keys = await db().execute(
    sql`select id, user_id, name, status, access_level, disabled_by_admin, digest, updated_at::text as updated_at
        from api_keys order by id`,
  );
  const audit = await db().execute(sql`select count(*)::int as n, coalesce(max(id), 0)::text as last from audit_log`);
  const users = await db().execute(sql`select id, name, email, role, password_hash from users order by id`);
  return JSON.stringify({ keys: [...keys], audit: [...audit], users: [...users] });
}

// ---------------------------------------------------------------------------------------------
// Inputs: mostly near-valid values (so the properties reach past the first check), and anything.

const nameLike = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }), // any code point, lone surrogates included
  fc.constantFrom(
    "",
    " ",
    "\u200b\u200b",
    "evil\u202egnp.exe",
    "a\u0000b",
    "\ud800",
    "x".repeat(101),
    "property: write",
    "PROPERTY: TARGET",
  ),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const fieldValue = fc.oneof(nameLike, anyJson, fc.constantFrom("read_only", "read_write", "active", "disabled", "admin"));
const keyId = () =>
  fc.oneof(
    fc.constant(targetId),
    fc.constant(otherUsersKeyId),
    fc.uuid(),
    fc.string({ maxLength: 60 }),
    fc.constantFrom("", "%", "..", "'; drop table api_keys; --"),
  );

async function call(method: string, path: string, options: { key?: string; body?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.key ?? writeSecret}`,
    "x-latchkey-client-ip": "192.0.2.77",
  };
  if (options.contentType) headers["content-type"] = options.contentType;
  const response = await app.request(`${BASE}${path}`, { method, headers, body: options.body });
  const text = await response.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // asserted below: every answer is JSON
  }
  return { status: response.status, text, json };
}

function expectCleanAnswer(result: { status: number; text: string; json: unknown }, allowed: number[]) {
  expect(allowed, `unexpected ${result.status}: ${result.text.slice(0, 300)}`).toContain(result.status);
  if (result.status !== 204) expect(result.json, result.text.slice(0, 200)).toBeTypeOf("object");
  if (result.status >= 400) expect(result.json).toMatchObject({ code: result.status, message: expect.any(String) });
}

const encode = (segment: string) => encodeURIComponent(segment);

describe("the REST API never answers 500, and a refusal changes nothing", () => {
  it("POST /api_keys with any body", async () => {
    let made = 0;
    const body = fc.oneof(
      fc.record({ name: nameLike, access_level: fieldValue }, { requiredKeys: [] }),
      fc.dictionary(
        fc.oneof(fc.constantFrom("name", "access_level", "status", "user_id", "__proto__"), fc.string({ maxLength: 10 })),
        fieldValue,
        {
          maxKeys: 4,
        },
      ),
      anyJson,
    );
    const raw = fc.oneof(
      body.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 50 }),
      fc.constantFrom("", "{", "null", "[]", '{"name":"a"'),
    );
    await fc.assert(
      fc.asyncProperty(raw, fc.constantFrom("application/json", "text/plain", undefined), async (text, contentType) => {
        const before = await snapshot();
        const result = await call("POST", "/api_keys", { body: text, contentType });
        expectCleanAnswer(result, [201, 400, 409, 413, 415, 422]);
        if (result.status === 201) made++;
        else expect(await snapshot()).toBe(before);
      }),
      RUNS,
    );
    expect(made).toBeLessThan(RUNS.numRuns); // some were refused: the property looked at refusals
  });

  it("PATCH /api_keys/{id} with any id and body", async () => {
    const body = fc.oneof(
      fc.record({ name: nameLike, status: fieldValue }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
      anyJson.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 40 }),
    );
    await fc.assert(
      fc.asyncProperty(keyId(), body, async (id, text) => {
        const before = await snapshot();
        const result = await call("PATCH", `/api_keys/${encode(id)}`, { body: text, contentType: "application/json" });
        expectCleanAnswer(result, [200, 400, 404, 405, 409, 413, 422]);
        if (result.status !== 200) expect(await snapshot()).toBe(before);
      }),
      RUNS,
    );
  });

  it("POST /api_keys/{id}/regenerate, GET and DELETE /api_keys/{id} with any id", async () => {
    await fc.assert(
      fc.asyncProperty(keyId(), fc.constantFrom("POST", "GET", "DELETE"), fc.boolean(), async (id, method, readOnly) => {
        // Never the target itself for DELETE: the other properties keep using it.
        if (method === "DELETE" && id === targetId) return;
        const before = await snapshot();
        const path = method === "POST" ? `/api_keys/${encode(id)}/regenerate` : `/api_keys/${encode(id)}`;
        const result = await call(method, path, { key: readOnly ? readSecret : writeSecret });
        expectCleanAnswer(result, [200, 204, 403, 404, 405]);
        if (result.status >= 400 || method === "GET") expect(await snapshot()).toBe(before);
      }),
      RUNS,
    );
  });

  it("GET /api_keys with any query", async () => {
    const param = fc.oneof(fc.constantFrom("per_page", "cursor", "page", "q"), fc.string({ maxLength: 8 }));
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.integer().map(String),
      fc.constantFrom("0", "-1", "201", "1e3", "NaN", "2.5", " 7", ""),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(param, value), { maxLength: 4 }), async (pairs) => {
        const before = await snapshot();
        const query = new URLSearchParams(pairs).toString();
        const result = await call("GET", `/api_keys${query ? `?${query}` : ""}`);
        expectCleanAnswer(result, [200, 400, 422]);
        expect(await snapshot()).toBe(before);
      }),
      RUNS,
    );
  });
});

describe("look-alike names through the API (SPEC §10)", () => {
  it.each(["evil\u202egnp.exe", "\u200b\u200b", "\u2066name\u2069", "bo\ufeffm", "\u3164"])(
    "refuses %j with 422 and param name, creating and renaming nothing",
    async (name) => {
      const before = await snapshot();
      const created = await call("POST", "/api_keys", { body: JSON.stringify({ name }), contentType: "application/json" });
      expect(created.status).toBe(422);
      expect(created.json).toMatchObject({ code: 422, param: "name", message: expect.stringMatching(/invisible|visible character/) });
      const renamed = await call("PATCH", `/api_keys/${targetId}`, { body: JSON.stringify({ name }), contentType: "application/json" });
      expect(renamed.status).toBe(422);
      expect(renamed.json).toMatchObject({ param: "name" });
      expect(await snapshot()).toBe(before);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Server actions: the one wrapper (lib/safe-action.ts) around the same services the actions call.

const FIELD_NAMES = [
  "id",
  "name",
  "access_level",
  "status",
  "purpose",
  "email",
  "password",
  "current_password",
  "new_password",
  "userId",
  "role",
  "token",
  "$ACTION_ID_x",
];

/**
 * Any form: usually the fields the key actions read, with near-valid or arbitrary values (so
 * many calls reach the services), plus unknown fields, repeated fields and files.
 */
const anyForm = fc
  .tuple(
    fc.record(
      {
        id: keyId(),
        name: nameLike,
        access_level: fc.constantFrom("read_only", "read_write", "READ_WRITE", ""),
        status: fc.constantFrom("active", "disabled", "deleted"),
        purpose: fc.constantFrom("reveal", "copy", "qr", "steal"),
      },
      { requiredKeys: [] },
    ),
    fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 10 })),
        fc.oneof(
          fieldValue.map((value) => (typeof value === "string" ? value : JSON.stringify(value))),
          keyId(),
          fc.constant(new Blob(["file"])),
        ),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([known, extra]) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(known)) form.append(name, value);
    for (const [name, value] of extra) form.append(name, value);
    return form;
  });

const ACTIONS = {
  create: validatedActionWithActor(createApiKeySchema, async (input, actor) => (await createApiKey(actor, input), { ok: true })),
  rename: validatedActionWithActor(
    renameApiKeySchema,
    async (input, actor) => (await renameApiKey(actor, input.id, input.name), { ok: true }),
  ),
  setStatus: validatedActionWithActor(
    setApiKeyStatusSchema,
    async (input, actor) => (await setOwnApiKeyStatus(actor, input.id, input.status), { ok: true }),
  ),
  reveal: validatedActionWithActor(
    revealApiKeySchema,
    async (input, actor) => (await revealApiKey(actor, input.id, input.purpose), { ok: true }),
  ),
  regenerate: validatedActionWithActor(apiKeyIdSchema, async (input, actor) => (await regenerateApiKey(actor, input.id), { ok: true })),
  remove: validatedActionWithActor(apiKeyIdSchema, async (input, actor) => {
    // The keys the API properties authenticate with stay.
    if (input.id === targetId) return { ok: false, message: "kept" };
    await deleteApiKey(actor, input.id);
    return { ok: true };
  }),
  adminStatus: validatedActionWithActor(
    setApiKeyStatusSchema,
    async (input, actor) => (await setApiKeyStatusAsAdmin(actor, input.id, input.status), { ok: true }),
  ),
} satisfies Record<string, (prev: ActionState, form: FormData) => Promise<ActionState<unknown>>>;

describe("server actions never throw, and a refusal changes nothing", () => {
  it("every key action, for a Staff member and an Admin, with any form", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...(Object.keys(ACTIONS) as (keyof typeof ACTIONS)[])),
        fc.boolean(),
        anyForm,
        async (name, asAdmin, form) => {
          vi.mocked(getActor).mockResolvedValue(asAdmin ? admin : staff);
          const before = await snapshot();
          const state = await ACTIONS[name](null, form);
          expect(state).toMatchObject({ ok: expect.any(Boolean) });
          if (!state!.ok) {
            expect(state!.message).not.toBe("Something went wrong. Please try again."); // an unexpected exception
            expect(await snapshot()).toBe(before);
          }
        },
      ),
      RUNS,
    );
    vi.mocked(getActor).mockResolvedValue(staff);
  });

  it("any arguments that are not (state, FormData) get a bad-request state, signed in or not", async () => {
    const notAForm = fc.oneof(anyJson, fc.constant(undefined), fc.constant(new Blob(["x"])), fc.constant(new URLSearchParams("name=x")));
    const anonymous = validatedAction(createApiKeySchema, async () => ({ ok: true }));
    await fc.assert(
      fc.asyncProperty(fc.anything(), notAForm, fc.boolean(), async (prev, args, signedIn) => {
        vi.mocked(getActor).mockResolvedValue(signedIn ? staff : null);
        const before = await snapshot();
        // React passes whatever the request body decoded to.
        const loose = ACTIONS.create as unknown as (...args: unknown[]) => Promise<ActionState>;
        expect(await loose(prev, args)).toEqual(BAD_REQUEST_STATE);
        expect(await (anonymous as unknown as (...args: unknown[]) => Promise<ActionState>)(prev, args)).toEqual(BAD_REQUEST_STATE);
        expect(await loose()).toEqual(BAD_REQUEST_STATE);
        expect(await snapshot()).toBe(before);
      }),
      { numRuns: 60 },
    );
    vi.mocked(getActor).mockResolvedValue(staff);
  });

  it("every action and URL schema parses any object without throwing", () => {
    const schemas = [
      createApiKeySchema,
      renameApiKeySchema,
      setApiKeyStatusSchema,
      revealApiKeySchema,
      apiKeyIdSchema,
      updateApiKeySchema,
      setupSchema,
      signInSchema,
      inviteSchema,
      acceptInviteSchema,
      changePasswordSchema,
      changeRoleSchema,
      previewRoleChangeSchema,
      userIdSchema,
    ];
    const input = fc.oneof(
      fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES, "confirmedKeyIds"), fc.string({ maxLength: 8 })), fieldValue, { maxKeys: 6 }),
      fc.anything(),
    );
    fc.assert(
      fc.property(input, (value) => {
        for (const schema of schemas) schema.safeParse(value);
        // URL state (a record of search params) never fails: any value falls back to a default.
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
          expect(() => accessManagerQuerySchema.parse(value)).not.toThrow();
          expect(() => auditLogQuerySchema.parse(value)).not.toThrow();
        }
      }),
      { numRuns: 300 },
    );
  });
});
