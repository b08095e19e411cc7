import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { adminApiKeysQuerySchema, adminAuditLogQuerySchema } from "@/lib/validation/admin";
import { adminOnly, jsonObjectBody, limitedBody, MAX_BODY_BYTES, noBody, optionalJsonObjectBody, writeKey } from "./middleware";
import {
  adminApiKeyListResponse,
  adminApiKeyResponse,
  adminUpdateKeyRequest,
  auditLogListResponse,
  csvResponse,
  apiKeyListResponse,
  apiKeyResponse,
  apiKeyWithSecretResponse,
  createKeyRequest,
  errorResponse,
  keyIdParams,
  listQuery,
  noQuery,
  openApiDocumentResponse,
  pingResponse,
  regenerateKeyRequest,
  updateKeyRequest,
  verifyRequest,
  verifyResponse,
  whoamiResponse,
} from "./schemas";

/**
 * Every route of the REST API, declared once: app.ts registers each with its handler
 * (`app.openapi(route, handler)`), which validates the request with these schemas, and the
 * OpenAPI document is generated from the same declarations, so a route and its documentation
 * cannot drift. Paths are relative to /api/v1.
 */

type Responses = RouteConfig["responses"];

const json = <S>(schema: S) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json(errorResponse) });

/** Every authenticated answer made with a regenerated key's previous secret carries its end. */
const sunset = {
  Sunset: {
    description:
      "Only when the request used a regenerated key's previous secret (RFC 8594): the HTTP-date its grace period ends, " +
      "after which it stops working. Switch to the new secret before then.",
    schema: { type: "string" as const, example: "Sat, 05 Dec 2026 10:00:00 GMT" },
  },
};
const ok = <S>(description: string, schema: S) => ({ description, content: json(schema), headers: sunset });

/**
 * Responses any request can get before or beside its operation: another method on the path (405,
 * with `Allow`), headers that arrive too slowly (408) or too large (431); the last two are
 * answered by the HTTP server itself, with `Connection: close`.
 */
const transport = {
  405: {
    ...error("The path exists, but not with this method."),
    headers: { Allow: { description: "The methods the path answers, e.g. `GET, HEAD`.", schema: { type: "string" as const } } },
  },
  408: error("The request's headers did not arrive in time; the connection is closed."),
  431: error("The request's headers (the URL included) are larger than 16 KB; the connection is closed."),
} satisfies Responses;

// Responses every authenticated operation can give.
const common = {
  ...transport,
  400: error(
    "Bad request: malformed Authorization header, a key in the query string, or a body that is not a JSON object " +
      "(on an endpoint that takes none: any body).",
  ),
  401: {
    ...error(
      "No valid API key: missing, unknown, disabled, deleted or regenerated (`No valid API key provided`), " +
        "or past its expires_at (`This API key has expired`).",
    ),
    headers: {
      "WWW-Authenticate": {
        description: 'The schemes the API accepts (RFC 9110): `Basic realm="Latchkey API", charset="UTF-8", Bearer realm="Latchkey API"`.',
        schema: { type: "string" as const },
      },
    },
  },
  413: error(`The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`),
  422: error("An unknown query parameter (or an invalid one); `param` names it."),
  429: {
    ...error("Rate limited: too many requests for this key, or too many failed authentications from this address."),
    headers: { "Retry-After": { description: "Seconds until the limit resets.", schema: { type: "integer" as const } } },
  },
  503: {
    ...error("The database cannot be reached, or the request ran past its deadline (LATCHKEY_API_DEADLINE_MS). Try again."),
    headers: { "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer" as const } } },
  },
} satisfies Responses;
const write = {
  403: error("The key is Read-only (writes need a Read & Write key), or the user's role forbids the change."),
} satisfies Responses;
const byId = { 404: error("No key with this id among the caller's keys (another user's key is not found either).") } satisfies Responses;
const withBody = {
  422: error("A field or query parameter is invalid or unknown; `param` names it."),
} satisfies Responses;

const jsonBody = <S>(schema: S) => ({ required: true, content: json(schema) });

/** A write with a JSON body: a Read & Write key first (before the body is read), then a bounded JSON object. */
const writeWithBody = [writeKey, limitedBody, jsonObjectBody];
/** A write without a body (DELETE): a Read & Write key, then no body. */
const writeWithoutBody = [writeKey, noBody];
/** The same for a body that may be left out (read as `{}`). */
const writeWithOptionalBody = [writeKey, limitedBody, optionalJsonObjectBody];

export const ping = createRoute({
  method: "get",
  path: "/ping",
  operationId: "ping",
  tags: ["Utility"],
  summary: "Check that a key works",
  middleware: noBody,
  request: { query: noQuery },
  responses: { 200: ok("The key is valid and active.", pingResponse), ...common },
});

export const whoami = createRoute({
  method: "get",
  path: "/whoami",
  operationId: "whoami",
  tags: ["Utility"],
  summary: "The calling key and its user",
  middleware: noBody,
  request: { query: noQuery },
  responses: { 200: ok("The key and its user.", whoamiResponse), ...common },
});

export const listApiKeys = createRoute({
  method: "get",
  path: "/api_keys",
  operationId: "listApiKeys",
  tags: ["Keys"],
  summary: "List the caller's keys",
  middleware: noBody,
  request: { query: listQuery },
  responses: { 200: ok("A page of keys.", apiKeyListResponse), ...common, 422: error("per_page or cursor is invalid.") },
});

export const createApiKey = createRoute({
  method: "post",
  path: "/api_keys",
  operationId: "createApiKey",
  tags: ["Keys"],
  summary: "Create a key",
  description:
    "Needs a Read & Write key. Read-only users can only create Read-only keys. The secret is returned once. " +
    "`expires_at` left out: the organisation's maximum key lifetime from now, or never without one; " +
    "a past date, or one beyond that maximum (null included, when there is one), is a 422 with param expires_at.",
  middleware: writeWithBody,
  request: { query: noQuery, body: jsonBody(createKeyRequest) },
  responses: {
    201: ok("The new key, with its secret.", apiKeyWithSecretResponse),
    ...common,
    ...write,
    409: error("The caller already has a key with this name."),
    ...withBody,
    422: error("A field is invalid or unknown, or expires_at is past or beyond the organisation's policy; `param` names it."),
  },
});

export const getApiKey = createRoute({
  method: "get",
  path: "/api_keys/{id}",
  operationId: "getApiKey",
  tags: ["Keys"],
  summary: "Get one of the caller's keys",
  middleware: noBody,
  request: { params: keyIdParams, query: noQuery },
  responses: { 200: ok("The key.", apiKeyResponse), ...common, ...byId },
});

export const updateApiKey = createRoute({
  method: "patch",
  path: "/api_keys/{id}",
  operationId: "updateApiKey",
  tags: ["Keys"],
  summary: "Rename, describe, disable or enable a key",
  description:
    "Needs a Read & Write key. Each field is optional but one is required; the change is all or nothing. " +
    "Disabling ends a previous secret still in its grace period too. " +
    "A key an admin disabled can only be enabled by an admin, in the app.",
  middleware: writeWithBody,
  request: { params: keyIdParams, query: noQuery, body: jsonBody(updateKeyRequest) },
  responses: {
    200: ok("The updated key.", apiKeyResponse),
    ...common,
    ...write,
    ...byId,
    409: error("The caller already has a key with this name."),
    ...withBody,
  },
});

export const deleteApiKey = createRoute({
  method: "delete",
  path: "/api_keys/{id}",
  operationId: "deleteApiKey",
  tags: ["Keys"],
  summary: "Delete a key",
  description: "Needs a Read & Write key. Permanent: the key stops working at once, on every instance.",
  middleware: writeWithoutBody,
  request: { params: keyIdParams, query: noQuery },
  responses: { 204: { description: "Deleted.", headers: sunset }, ...common, ...write, ...byId },
});

export const regenerateApiKey = createRoute({
  method: "post",
  path: "/api_keys/{id}/regenerate",
  operationId: "regenerateApiKey",
  tags: ["Keys"],
  summary: "Give a key a new secret",
  description:
    "Needs a Read & Write key. The body is optional: without one (or with `grace_period_seconds` 0) the old secret " +
    "stops working at once; with a grace period it keeps working until `previous_secret_expires_at`, and answers to " +
    "it carry a `Sunset` header. id, name and level stay. An expired key needs a new `expires_at`, which makes it " +
    "work again; `expires_at` left out keeps the key's expiry.",
  middleware: writeWithOptionalBody,
  request: { params: keyIdParams, query: noQuery, body: { required: false, content: json(regenerateKeyRequest) } },
  responses: {
    200: ok("The key with its new secret, and until when the old one still works.", apiKeyWithSecretResponse),
    ...common,
    ...write,
    ...byId,
    409: error(
      "A grace period was asked for a key that is disabled or expired: its old secret does not work, so it cannot keep " +
        "working; `param` is grace_period_seconds. Regenerate without one.",
    ),
    ...withBody,
    422: error(
      "grace_period_seconds is out of range, expires_at is malformed, past or beyond the policy, " +
        "or the key has expired and no expires_at was given; `param` names the field.",
    ),
  },
});

export const revokePreviousSecret = createRoute({
  method: "delete",
  path: "/api_keys/{id}/previous_secret",
  operationId: "revokePreviousSecret",
  tags: ["Keys"],
  summary: "Revoke the old secret now",
  description:
    "Needs a Read & Write key. Ends a regenerate's grace period at once: the previous secret stops working, on every " +
    "instance; the current one is untouched.",
  middleware: writeWithoutBody,
  request: { params: keyIdParams, query: noQuery },
  responses: {
    204: { description: "Revoked.", headers: sunset },
    ...common,
    ...write,
    404: error("No key with this id among the caller's keys, or the key has no previous secret that still works."),
  },
});

export const verify = createRoute({
  method: "post",
  path: "/verify",
  operationId: "verify",
  tags: ["Utility"],
  summary: "Check a key you were handed",
  description:
    "For a service that accepts Latchkey keys: call it with your own key (any active key), the key to check in the body. " +
    "Always 200 once you are authenticated: `valid` says whether the key works, `code` why not. A valid key counts as " +
    "used (its last use is recorded, with your address, and its per-minute rate limit counted: over it, `rate_limited`). " +
    "Revocation takes effect on the next call, as for the API itself. The key is never repeated in the answer.",
  middleware: [limitedBody, jsonObjectBody],
  request: { query: noQuery, body: jsonBody(verifyRequest) },
  responses: {
    200: ok("What the key is: valid, or why not; with its holder when valid.", verifyResponse),
    ...common,
    ...withBody,
  },
});

// ---------------------------------------------------------------------------------------------
// The admin API (SPEC §13): Owners and Admins; anyone else gets a 404, as the pages answer them.

const notAdmin = "Not an Owner or Admin (the same 404 as an unknown path), or no such key.";
const adminKeyId = { 404: error(notAdmin) } satisfies Responses;
const adminList = { 404: error("Not an Owner or Admin: the same 404 as an unknown path.") } satisfies Responses;
const csvHeaders = {
  "Content-Disposition": {
    description: 'With `Accept: text/csv`: `attachment; filename="latchkey-api-keys-2026-11-28.csv"` (the day of the export).',
    schema: { type: "string" as const },
  },
};
const listOrCsv = <S>(description: string, schema: S) => ({
  description:
    `${description} With \`Accept: text/csv\`, every matching row instead (no cursor or limit), as RFC 4180 CSV with a ` +
    "header row, streamed; cells that a spreadsheet would read as a formula get a leading `'`; the export is audited.",
  content: { ...json(schema), "text/csv": { schema: csvResponse } },
  headers: { ...sunset, ...csvHeaders },
});
const listRefusals = {
  422: error("A filter, sort, limit or cursor is invalid or unknown (`param` names it), or a cursor or limit with `Accept: text/csv`."),
} satisfies Responses;

export const listAdminApiKeys = createRoute({
  method: "get",
  path: "/admin/api_keys",
  operationId: "listAdminApiKeys",
  tags: ["Admin"],
  summary: "Every key in the organisation (the API Access Manager)",
  description:
    "Owners and Admins. The Access Manager's search, filters and sorts, a page at a time by cursor (stable while keys " +
    "are added or removed). Never a secret.",
  middleware: [adminOnly("keys.manageAll"), noBody],
  request: { query: adminApiKeysQuerySchema },
  responses: { 200: listOrCsv("A page of keys.", adminApiKeyListResponse), ...common, ...adminList, ...listRefusals },
});

export const updateAdminApiKey = createRoute({
  method: "patch",
  path: "/admin/api_keys/{id}",
  operationId: "updateAdminApiKey",
  tags: ["Admin"],
  summary: "Disable or enable any key",
  description:
    "Owners and Admins, with a Read & Write key. The Access Manager's Disable and Enable, with its rules: a key disabled " +
    "by someone other than its holder is locked (its holder cannot enable it again, unless an Owner), and only an Owner " +
    "or another Admin may enable a locked key. The holder is notified; audited.",
  middleware: [adminOnly("keys.manageAll"), ...writeWithBody],
  request: { params: keyIdParams, query: noQuery, body: jsonBody(adminUpdateKeyRequest) },
  responses: {
    200: ok("The key as it is now.", adminApiKeyResponse),
    ...common,
    ...write,
    ...adminKeyId,
    ...withBody,
  },
});

export const deleteAdminApiKey = createRoute({
  method: "delete",
  path: "/admin/api_keys/{id}",
  operationId: "deleteAdminApiKey",
  tags: ["Admin"],
  summary: "Delete any key",
  description: "Owners and Admins, with a Read & Write key. Permanent: the key stops working at once. The holder is notified; audited.",
  middleware: [adminOnly("keys.manageAll"), ...writeWithoutBody],
  request: { params: keyIdParams, query: noQuery },
  responses: { 204: { description: "Deleted.", headers: sunset }, ...common, ...write, ...adminKeyId },
});

export const listAuditLog = createRoute({
  method: "get",
  path: "/admin/audit_log",
  operationId: "listAuditLog",
  tags: ["Admin"],
  summary: "The audit log, newest first",
  description: "Owners and Admins. The Audit log page's filters, a page at a time by cursor (stable while entries are added).",
  middleware: [adminOnly("audit.read"), noBody],
  request: { query: adminAuditLogQuerySchema },
  responses: { 200: listOrCsv("A page of entries.", auditLogListResponse), ...common, ...adminList, ...listRefusals },
});

export const openApi = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "openapi",
  tags: ["Utility"],
  summary: "This document",
  security: [],
  middleware: noBody,
  request: { query: noQuery },
  responses: {
    200: { description: "The OpenAPI 3.1 document.", content: json(openApiDocumentResponse) },
    ...transport,
    400: error("A request body (this endpoint takes none)."),
    413: error(`The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`),
    422: error("An unknown query parameter; `param` names it."),
  },
});

/** Every route, as registered. */
export const API_ROUTE_DECLARATIONS = [
  ping,
  whoami,
  verify,
  openApi,
  listApiKeys,
  createApiKey,
  getApiKey,
  updateApiKey,
  deleteApiKey,
  regenerateApiKey,
  revokePreviousSecret,
  listAdminApiKeys,
  updateAdminApiKey,
  deleteAdminApiKey,
  listAuditLog,
] as const;
