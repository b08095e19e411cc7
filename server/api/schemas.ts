import { z } from "@hono/zod-openapi";
import { ROLES } from "@/lib/auth/permissions";
import { USER_KIND_VALUES } from "@/db/enums";
import { MAX_GRACE_PERIOD_SECONDS } from "@/lib/keys/expiry";
import { AUDIT_ACTIONS } from "@/lib/audit/action-names";
import { adminSetKeyStatusSchema, KEY_STATE_FILTERS } from "@/lib/validation/admin";
import { accessLevel, createApiKeySchema, keyStatus, regenerateApiKeySchema, updateApiKeySchema } from "@/lib/validation/keys";

/**
 * The REST API's wire shapes, as zod schemas: requests reuse lib/validation's (the same ones the
 * server actions use); responses are declared here. The routes (routes.ts) name them, so the API
 * validates with them and the OpenAPI document is generated from them; the integration tests
 * check every response against them. `.openapi("Name")` makes a schema a named component.
 *
 * The enum lists (access levels, statuses, roles) come from the database's pgEnums, through
 * lib/validation and lib/auth/permissions: none is retyped here.
 */

/**
 * POST /api_keys: the Add API Key schema, with unknown fields refused. access_level may be left
 * out; the handler fills in read_only. The document says so in words rather than with `default`,
 * which generated clients (openapi-typescript) read as "required".
 */
export const createKeyRequest = createApiKeySchema
  .extend({ access_level: accessLevel.optional().meta({ description: "`read_only` when left out." }) })
  .strict()
  .openapi("CreateApiKeyRequest");
/** PATCH /api_keys/{id}: name, status and/or description, nothing else, and at least one of them. */
export const updateKeyRequest = updateApiKeySchema.openapi("UpdateApiKeyRequest", { minProperties: 1 });

/**
 * Every query string of a route that takes no query parameters: any parameter is unknown, a 422
 * naming it, as on every route (the one rule of docs/API.md).
 */
export const noQuery = z.strictObject({});

const GRACE_RANGE = `grace_period_seconds must be between 0 and ${MAX_GRACE_PERIOD_SECONDS} (7 days).`;

/**
 * POST /api_keys/{id}/regenerate's optional body: the Regenerate schema, with unknown fields
 * refused. The grace period must be a JSON number here: the shared field coerces (a form sends
 * text), which would read `true` as 1 second and `null`, `""` or `[]` as no grace at all.
 */
export const regenerateKeyRequest = regenerateApiKeySchema
  .extend({
    grace_period_seconds: z
      .number({ error: "grace_period_seconds must be a number of seconds." })
      .int("grace_period_seconds must be a whole number of seconds.")
      .min(0, GRACE_RANGE)
      .max(MAX_GRACE_PERIOD_SECONDS, GRACE_RANGE)
      .optional()
      .meta({
        description: "How long the old secret keeps working, in seconds (0, the default: it stops at once; at most 604800, 7 days).",
      }),
  })
  .openapi("RegenerateApiKeyRequest");

/** GET /api_keys's query string. Unknown parameters are refused (422). */
export const listQuery = z.strictObject({
  per_page: z.coerce
    .number({ error: "per_page must be a number." })
    .int("per_page must be a whole number.")
    .min(1, "per_page must be at least 1.")
    .max(200, "per_page must be at most 200.")
    .optional()
    .meta({ description: "Keys per page (1-200, default 50)." }),
  cursor: z
    .string()
    .max(200, "The cursor is not valid; use the one a previous page returned.")
    .optional()
    .meta({ description: "The `cursor` of the previous page." }),
});

/**
 * `{id}` in a key's path. Any text is accepted here, on purpose: an id that is not a UUID is a
 * key the caller does not have (404, like another user's key), not an invalid field (422).
 */
export const keyIdParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path", description: "The key's id." }, format: "uuid" }),
});

const timestamp = z.iso.datetime().meta({ description: "ISO 8601, UTC." });

// Both key shapes are built from these fields, not one from the other: a schema extended from a
// named one would be documented as an allOf of the two.
const apiKeyFields = {
  id: z.uuid(),
  name: z.string().meta({ description: "Unique among the user's keys (case-insensitive)." }),
  description: z.string().max(500).nullable().meta({ description: "Up to 500 characters; null if none." }),
  access_level: accessLevel,
  status: keyStatus.meta({ description: "`active` or `disabled`. An active key past its `expires_at` is refused as expired." }),
  masked_key: z.string().meta({ description: "The key's first 7 and last 4 characters.", example: "lk_AbCd••••••••wXyZ" }),
  created_at: timestamp,
  expires_at: timestamp.nullable().meta({ description: "When the key stops working; null: never." }),
  last_used_at: timestamp.nullable().meta({ description: "Current to the minute; null if never used." }),
  last_used_ip: z.string().nullable().meta({ description: "The address of that use; null if never used." }),
  previous_secret_expires_at: timestamp.nullable().meta({
    description: "After a regenerate with a grace period: until when the previous secret still works; null otherwise.",
  }),
};

export const apiKeyResponse = z.object(apiKeyFields).meta({ description: "An API key. The secret is never part of it." }).openapi("ApiKey");

export const apiKeyWithSecretResponse = z
  .object({
    ...apiKeyFields,
    key: z
      .string()
      .regex(/^lk_[0-9A-Za-z]{49}$/)
      .meta({ description: "The full secret. Only create and regenerate return it: store it now." }),
  })
  .meta({ description: "An API key with its secret, returned once." })
  .openapi("ApiKeyWithSecret");

export const apiKeyListResponse = z
  .object({
    entries: z.array(apiKeyResponse),
    has_more: z.boolean(),
    cursor: z.string().nullable().meta({ description: "Pass it as `cursor` for the next page; null on the last page." }),
  })
  .meta({ description: "A page of the caller's keys, oldest first." })
  .openapi("ApiKeyList");

export const whoamiResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    access_level: accessLevel,
    created_at: timestamp,
    expires_at: timestamp.nullable().meta({ description: "When the key stops working; null: never." }),
    last_used_at: timestamp.nullable(),
    user: z.object({
      email: z.string().nullable().meta({ description: "The person's email; null for a service account, which has none." }),
      name: z.string(),
      role: z.enum(ROLES),
      type: z.enum(USER_KIND_VALUES).meta({ description: "A person, or a service account (a key holder for a system, not a person)." }),
    }),
  })
  .meta({ description: "The key making the request and its user." })
  .openapi("WhoAmI");

/**
 * What POST /verify answers about a key. `rate_limited`: a real key, over its per-minute limit.
 */
export const VERIFY_CODES = ["valid", "malformed", "not_found", "disabled", "expired", "rate_limited"] as const;

/**
 * POST /verify's body. `key` is read as whatever it is: left out, not a string, or not shaped like a
 * key, it is "malformed" (a 200), never a 422, so a service can pass on whatever it was handed.
 */
export const verifyRequest = z
  .strictObject({
    key: z.unknown().optional().openapi({
      type: "string",
      description: "The key to check (`lk_...`). Left out, not a string or not shaped like a key: code `malformed`.",
      example: "lk_...",
    }),
  })
  .openapi("VerifyRequest");

export const verifyResponse = z
  .object({
    valid: z.boolean(),
    code: z.enum(VERIFY_CODES).meta({
      description:
        "`valid`; `malformed` (not a key: no key, not a string, or its checksum fails); `not_found` (unknown, deleted, or a " +
        "regenerated key's previous secret after its grace period); `disabled` (or a level its holder's role no longer " +
        "allows); `expired`; `rate_limited` (a real key over its per-minute limit).",
    }),
    key: z
      .object({ id: z.uuid(), name: z.string(), access_level: accessLevel, expires_at: timestamp.nullable() })
      .nullable()
      .meta({ description: "The key, when valid; null otherwise." }),
    user: z
      .object({
        id: z.uuid(),
        email: z.string().nullable().meta({ description: "The person's email; null for a service account." }),
        name: z.string(),
        role: z.enum(ROLES),
        type: z.enum(USER_KIND_VALUES),
      })
      .nullable()
      .meta({ description: "The key's holder, when valid; null otherwise." }),
  })
  .meta({ description: "Whether a key works, and whose it is. The key itself is never repeated." })
  .openapi("Verification");

// ---------------------------------------------------------------------------------------------
// The admin API (SPEC §13)

const userFields = {
  id: z.uuid(),
  name: z.string(),
  email: z.string().nullable().meta({ description: "The person's email; null for a service account." }),
  role: z.enum(ROLES),
  type: z.enum(USER_KIND_VALUES),
};

export const adminApiKeyResponse = z
  .object({
    // The key object every key route answers with (the same names, the same meaning), and then
    // what the Access Manager adds.
    ...apiKeyFields,
    state: z
      .enum(KEY_STATE_FILTERS)
      .meta({ description: "What the Access Manager shows: `active`, `disabled`, or `expired` (active, past its expiry)." }),
    disabled_by_admin: z.boolean().meta({ description: "Disabled by someone other than its holder (only an admin may enable it again)." }),
    disabled_reason: z.string().nullable().meta({ description: "Why a job disabled it (`unused`); null otherwise." }),
    over_policy: z.boolean().meta({ description: "It would live longer from now than the organisation's maximum key lifetime allows." }),
    user: z.object(userFields).meta({ description: "The key's holder." }),
  })
  .meta({ description: "A key as the API Access Manager shows it. Never its secret." })
  .openapi("AdminApiKey");

const cursorField = z.string().nullable().meta({ description: "Pass it as `cursor` for the next page; null on the last page." });

export const adminApiKeyListResponse = z
  .object({ entries: z.array(adminApiKeyResponse), has_more: z.boolean(), cursor: cursorField })
  .meta({ description: "A page of the organisation's keys, in the order asked." })
  .openapi("AdminApiKeyList");

export const adminUpdateKeyRequest = adminSetKeyStatusSchema.openapi("AdminUpdateApiKeyRequest");

export const auditEntryResponse = z
  .object({
    id: z.int(),
    created_at: timestamp,
    actor: z.string().meta({ description: "Who acted: an email, a key's holder, or a job." }),
    action: z.enum(AUDIT_ACTIONS),
    target_type: z.string().nullable(),
    target_id: z.string().nullable(),
    target_label: z.string().nullable(),
    ip: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({ description: "One audit log entry." })
  .openapi("AuditEntry");

export const auditLogListResponse = z
  .object({ entries: z.array(auditEntryResponse), has_more: z.boolean(), cursor: cursorField })
  .meta({ description: "A page of the audit log, newest first." })
  .openapi("AuditLogList");

/** What a list answers with `Accept: text/csv`: every matching row. */
export const csvResponse = z.string().meta({ description: "RFC 4180 CSV with a header row: every matching row, streamed." });

export const pingResponse = z.object({ data: z.literal("pong!") }).openapi("Pong");

export const errorResponse = z
  .object({
    code: z.int().meta({ description: "The HTTP status again." }),
    message: z.string(),
    param: z.string().nullable().meta({ description: "The field or parameter at fault, when there is one." }),
  })
  .meta({ description: "Every error, ChartMogul's shape." })
  .openapi("Error");

/** The OpenAPI document itself: any JSON object. */
export const openApiDocumentResponse = z.looseObject({});
