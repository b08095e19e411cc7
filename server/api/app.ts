import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import Negotiator from "negotiator";
import type { z } from "zod";
import { ServiceError } from "@/lib/errors";
import type { ApiKeyDto } from "@/lib/keys/dto";
import type { AuthenticatedKey, KeyPage } from "@/lib/keys/service";
import { clientIpFrom } from "@/lib/auth/client-ip";
import { databaseHealth, DeadlineExceededError, type DatabaseHealth } from "@/server/http/database-health";
import {
  createApiKey,
  deleteApiKey,
  getOwnApiKey,
  listOwnApiKeysPage,
  regenerateApiKey,
  revokePreviousSecret,
  updateOwnApiKey,
} from "@/lib/keys/service";
import { logError } from "@/lib/log";
import type { AuditEntryDto } from "@/lib/audit/query";
import { listAuditLogByCursor } from "@/lib/audit/query";
import { csvDownloadHeaders, exportApiKeysCsv, exportAuditLogCsv, type CsvExport } from "@/lib/export/csv";
import {
  deleteApiKeyAsAdmin,
  getApiKeyForAdmin,
  listApiKeysForAdminByCursor,
  setApiKeyStatusAsAdmin,
  type AdminKeyRow,
} from "@/lib/keys/admin";
import { accessManagerQueryOf, API_LIST_DEFAULT, auditLogQueryOf } from "@/lib/validation/admin";
import { apiSettings } from "@/lib/config/env";
import { ApiError, databaseUnavailable, SERVICE_STATUS, statusHeaders } from "./errors";
import { ApiGate, sunsetHeaders, type GateOptions, type KeyCheck } from "./gate";
import { NO_SUCH_ENDPOINT, type ApiEnv } from "./middleware";
import { buildOpenApiDocument, registerSecuritySchemes } from "./openapi";
import * as routes from "./routes";

export { MAX_BODY_BYTES } from "./middleware";

export const API_BASE = "/api/v1";

/** GET /api_keys's page size when per_page is left out. */
export const DEFAULT_PER_PAGE = 50;

/** Every route (method and OpenAPI path), from the declarations the app registers: for 405 answers. */
export const API_ROUTES = routes.API_ROUTE_DECLARATIONS.map((route) => ({ method: route.method.toUpperCase(), path: route.path }));

const ROUTE_PATTERNS = API_ROUTES.map((route) => ({
  ...route,
  regex: new RegExp(`^${API_BASE}${route.path.replaceAll(".", "\\.").replace(/\{[^/}]+\}/g, "[^/]+")}$`),
}));

/** HEAD requests made as GET (node.ts measures the answer GET would give): their refusals still name HEAD. */
const headRequests = new WeakSet<Request>();

/** A HEAD request as the GET whose answer it takes the headers of. */
export function headAsGet(request: Request): Request {
  const get = new Request(request.url, { method: "GET", headers: request.headers });
  headRequests.add(get);
  return get;
}

/** The methods an API path answers (HEAD wherever GET), for 405's `Allow`; none for a path the API does not serve. */
export function allowedApiMethods(path: string): string[] {
  const allowed = ROUTE_PATTERNS.filter((route) => route.regex.test(path)).map((route) => route.method as string);
  if (allowed.includes("GET")) allowed.push("HEAD");
  return allowed;
}

/** Headers on every answer that carries key data (all but the OpenAPI document). */
export const API_HEADERS = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" } as const;

/** The JSON shape of a key (snake_case, as ChartMogul). */
export function serializeKey(key: ApiKeyDto) {
  return {
    id: key.id,
    name: key.name,
    description: key.description,
    access_level: key.accessLevel,
    status: key.status,
    masked_key: key.maskedKey,
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    last_used_ip: key.lastUsedIp,
    previous_secret_expires_at: key.previousSecretExpiresAt?.toISOString() ?? null,
  };
}

/** A key as the admin API shows it (the Access Manager's row): the key object, and what the Access Manager adds. */
export function serializeAdminKey(row: AdminKeyRow) {
  return {
    ...serializeKey(row),
    state: row.state,
    disabled_by_admin: row.disabledByAdmin,
    disabled_reason: row.disabledReason,
    over_policy: row.overPolicy,
    user: {
      id: row.user.id,
      name: row.user.name,
      // A service account's stored address is an internal placeholder, never shown as an email.
      email: row.user.kind === "person" ? row.user.email : null,
      role: row.user.role,
      type: row.user.kind,
    },
  };
}

export function serializeAuditEntry(entry: AuditEntryDto) {
  return {
    id: entry.id,
    created_at: entry.createdAt.toISOString(),
    actor: entry.actorLabel,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    target_label: entry.targetLabel,
    ip: entry.ip,
    metadata: entry.metadata,
  };
}

/** What a list can answer with: JSON first, so that an Accept of any type, or none, gives JSON. */
const LIST_MEDIA_TYPES = ["application/json", "text/csv; charset=utf-8"];

/**
 * Whether a list is asked for as CSV: `Accept` negotiated as RFC 9110 §12.5.1 says (q-values,
 * specificity; `text/csv;q=0` refuses CSV), by negotiator. Then every matching row, never a page.
 * An Accept that allows neither type gets JSON, as it always has.
 */
function wantsCsv(c: Context): boolean {
  const accept = c.req.header("accept");
  if (!accept || new Negotiator({ headers: { accept } }).mediaType(LIST_MEDIA_TYPES) !== LIST_MEDIA_TYPES[1]) return false;
  const url = new URL(c.req.url);
  for (const name of ["cursor", "limit"]) {
    if (url.searchParams.has(name)) throw new ApiError(422, `A CSV export has every matching row: leave out ${name}.`, name);
  }
  return true;
}

/** The filters of a list without its paging, for an export's audit row. */
function withoutPaging<Q extends { cursor?: string; limit?: number }>(query: Q): Omit<Q, "cursor" | "limit"> {
  const { cursor: _cursor, limit: _limit, ...filters } = query;
  void _cursor;
  void _limit;
  return filters;
}

/** A CSV export's streamed answer, as a download. */
function csvAnswer(exported: CsvExport): Response {
  return new Response(exported.stream, { status: 200, headers: { ...API_HEADERS, ...csvDownloadHeaders(exported.filename) } });
}

/** GET /api_keys's answer: a page of the caller's keys. */
export function keyListBody(page: KeyPage) {
  return { entries: page.entries.map(serializeKey), has_more: page.hasMore, cursor: page.cursor };
}

/** GET /whoami's answer: the key a request was made with, and its holder. */
export function whoamiBody({ key, user }: AuthenticatedKey) {
  return {
    id: key.id,
    name: key.name,
    access_level: key.accessLevel,
    created_at: key.createdAt.toISOString(),
    expires_at: key.expiresAt?.toISOString() ?? null,
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    // A service account's stored address is an internal placeholder, never shown as an email.
    user: { email: user.kind === "person" ? user.email : null, name: user.name, role: user.role, type: user.kind },
  };
}

/** POST /verify's answer: the key and its holder only when it works; never the key itself. */
export function verificationBody(check: KeyCheck) {
  if (!check.valid) return { valid: false, code: check.code, key: null, user: null };
  const { key, user } = check.found;
  return {
    valid: true,
    code: check.code,
    key: { id: key.id, name: key.name, access_level: key.accessLevel, expires_at: key.expiresAt?.toISOString() ?? null },
    // A service account's stored address is an internal placeholder, never shown as an email.
    user: { id: user.id, email: user.kind === "person" ? user.email : null, name: user.name, role: user.role, type: user.kind },
  };
}

/** A request that fails its schema, as the API's own 422 naming the field (or the unknown one). */
export function zodToApiError(error: z.ZodError, target?: string): ApiError {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    const path = issue.path.length ? `${issue.path.join(".")}.` : "";
    const what = target === "query" ? "query parameter" : "field";
    return new ApiError(422, `Unknown ${what}: ${issue.keys.join(", ")}.`, `${path}${issue.keys[0] ?? ""}` || null);
  }
  const param = issue?.path.length ? issue.path.join(".") : null;
  return new ApiError(422, issue?.message ?? "Invalid request.", param);
}

/** The API's own answer to a request that fails its route's zod schema: 422 naming the field. */
const validationHook: Hook<unknown, ApiEnv, string, unknown> = (result) => {
  if (!result.success) throw zodToApiError(result.error, result.target);
};

export interface ApiAppOptions extends GateOptions {
  /** The caller's address; by default the header the Latchkey server sets (see server/http/client-ip). */
  clientIp?: (c: Context) => string | null;
  /** The front door to share with another transport (server/api/node.ts's fast path for ping). */
  gate?: ApiGate;
  /** The database circuit breaker; by default the process's. */
  health?: DatabaseHealth;
  /** Longest a request may take before it is answered 503. Default: LATCHKEY_API_DEADLINE_MS, else 1500. */
  deadlineMs?: number;
}

/**
 * Settles with `work`, or rejects with DeadlineExceededError after `ms`: a request answers in
 * bounded time even if a database connection hangs (the work itself runs on, unanswered). A
 * failure of `work` after the deadline goes to `late`, when given (nobody awaits it any more).
 */
export function withDeadline<T>(work: Promise<T>, ms: number, late?: (error: unknown) => void): Promise<T> {
  // One promise and one timer, not a race: this wraps every request that waits.
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new DeadlineExceededError(ms));
    }, ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (expired) late?.(error);
        else reject(error);
      },
    );
  });
}

/** The REST API (`/api/v1`): parse, authenticate the key, call the same services as the UI. */
export function createApiApp(options: ApiAppOptions = {}) {
  const ipOf = options.clientIp ?? ((c: Context) => clientIpFrom(c.req.raw.headers));
  const gate = options.gate ?? new ApiGate(options);
  const health = options.health ?? databaseHealth();
  const deadlineMs = options.deadlineMs ?? apiSettings().deadlineMs;
  let openApiDocument: ReturnType<typeof buildOpenApiDocument> | undefined;

  const app = new OpenAPIHono<ApiEnv>({ defaultHook: validationHook }).basePath(API_BASE);
  registerSecuritySchemes(app);

  // While the database is known to be down, 503 at once; otherwise a deadline on every request.
  app.use("*", async (c, next) => {
    if (c.req.path === `${API_BASE}/openapi.json`) return next();
    if (!health.available) throw databaseUnavailable();
    await withDeadline(next(), deadlineMs);
  });

  // Public, so tools can fetch it without a key (registered before the gate). Generated from the
  // routes below on first use, when all are registered.
  app.openapi(routes.openApi, (c) => {
    openApiDocument ??= buildOpenApiDocument(app, API_BASE);
    c.header("Cache-Control", "public, max-age=300");
    return c.json(openApiDocument, 200, { "Content-Type": "application/json; charset=utf-8" });
  });

  // Authentication and rate limits, in front of every other route (unknown ones too).
  app.use("*", async (c, next) => {
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
    const { found, actor } = await gate.admit(c.req.header("authorization"), c.req.url, ipOf(c));
    // A request made with a regenerated key's previous secret: every answer says when it stops working.
    for (const [name, value] of Object.entries(sunsetHeaders(found))) c.header(name, value);
    c.set("keyInfo", found);
    c.set("actor", actor);
    await next();
  });

  // Each route's declaration (routes.ts) carries its validation, its middleware (a Read & Write
  // key for writes, a bounded JSON body) and its documentation; a handler only calls the service.
  app.openapi(routes.ping, (c) => c.json({ data: "pong!" as const }, 200));

  app.openapi(routes.whoami, (c) => c.json(whoamiBody(c.get("keyInfo")), 200));

  app.openapi(routes.verify, async (c) => {
    const check = await gate.verify(c.req.valid("json").key, ipOf(c));
    return c.json(verificationBody(check), 200);
  });

  app.openapi(routes.listApiKeys, async (c) => {
    const query = c.req.valid("query");
    const page = await listOwnApiKeysPage(c.get("actor"), { cursor: query.cursor, limit: query.per_page ?? DEFAULT_PER_PAGE });
    return c.json(keyListBody(page), 200);
  });

  app.openapi(routes.createApiKey, async (c) => {
    const body = c.req.valid("json");
    const { key, secret } = await createApiKey(c.get("actor"), { ...body, access_level: body.access_level ?? "read_only" });
    return c.json({ ...serializeKey(key), key: secret }, 201);
  });

  app.openapi(routes.getApiKey, async (c) => c.json(serializeKey(await getOwnApiKey(c.get("actor"), c.req.valid("param").id)), 200));

  app.openapi(routes.updateApiKey, async (c) => {
    const key = await updateOwnApiKey(c.get("actor"), c.req.valid("param").id, c.req.valid("json"));
    return c.json(serializeKey(key), 200);
  });

  app.openapi(routes.regenerateApiKey, async (c) => {
    const { key, secret } = await regenerateApiKey(c.get("actor"), c.req.valid("param").id, c.req.valid("json"));
    return c.json({ ...serializeKey(key), key: secret }, 200);
  });

  app.openapi(routes.revokePreviousSecret, async (c) => {
    await revokePreviousSecret(c.get("actor"), c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(routes.deleteApiKey, async (c) => {
    await deleteApiKey(c.get("actor"), c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(routes.listAdminApiKeys, async (c) => {
    const query = c.req.valid("query");
    const filters = accessManagerQueryOf(query);
    if (wantsCsv(c)) return csvAnswer(await exportApiKeysCsv(c.get("actor"), filters, withoutPaging(query)));
    const page = await listApiKeysForAdminByCursor(c.get("actor"), filters, {
      cursor: query.cursor,
      limit: query.limit ?? API_LIST_DEFAULT,
    });
    return c.json({ entries: page.rows.map(serializeAdminKey), has_more: page.cursor !== null, cursor: page.cursor }, 200);
  });

  app.openapi(routes.updateAdminApiKey, async (c) => {
    const { id } = c.req.valid("param");
    await setApiKeyStatusAsAdmin(c.get("actor"), id, c.req.valid("json").status);
    return c.json(serializeAdminKey(await getApiKeyForAdmin(c.get("actor"), id)), 200);
  });

  app.openapi(routes.deleteAdminApiKey, async (c) => {
    await deleteApiKeyAsAdmin(c.get("actor"), c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(routes.listAuditLog, async (c) => {
    const query = c.req.valid("query");
    const filters = auditLogQueryOf(query);
    if (wantsCsv(c)) return csvAnswer(await exportAuditLogCsv(c.get("actor"), filters));
    const page = await listAuditLogByCursor(c.get("actor"), filters, { cursor: query.cursor, limit: query.limit ?? API_LIST_DEFAULT });
    return c.json({ entries: page.entries.map(serializeAuditEntry), has_more: page.cursor !== null, cursor: page.cursor }, 200);
  });

  app.notFound((c) => {
    const allowed = allowedApiMethods(c.req.path);
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
    if (allowed.length) {
      c.header("Allow", allowed.join(", "));
      const method = headRequests.has(c.req.raw) ? "HEAD" : c.req.method;
      return c.json(new ApiError(405, `Method ${method} is not allowed here. Allowed: ${allowed.join(", ")}.`).body(), 405);
    }
    return c.json(new ApiError(404, NO_SUCH_ENDPOINT).body(), 404);
  });

  app.onError((error, c) => {
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return c.json(error.body(), error.status as 400);
    }
    if (error instanceof HTTPException) {
      // The framework's own refusals (none is expected: the routes' middleware answers first), in our shape.
      for (const [name, value] of Object.entries(statusHeaders(error.status))) c.header(name, value);
      return c.json(new ApiError(error.status, error.message || "Bad request.").body(), error.status);
    }
    if (error instanceof ServiceError) {
      if (error.retryAfterSeconds) c.header("Retry-After", String(error.retryAfterSeconds));
      const status = SERVICE_STATUS[error.code];
      for (const [name, value] of Object.entries(statusHeaders(status))) c.header(name, value);
      return c.json({ code: status, message: error.message, param: error.field }, status as 400);
    }
    if (error instanceof DeadlineExceededError || health.report(error)) {
      const unavailable = databaseUnavailable();
      for (const [name, value] of Object.entries(unavailable.headers)) c.header(name, value);
      return c.json(unavailable.body(), 503);
    }
    logError("API error", error);
    return c.json({ code: 500, message: "Internal server error.", param: null }, 500);
  });

  return app;
}

export type ApiApp = ReturnType<typeof createApiApp>;
