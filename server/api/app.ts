import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { ServiceError } from "@/lib/errors";
import type { ApiKeyDto } from "@/lib/keys/dto";
import { READ_ONLY_KEY_MESSAGE } from "@/lib/keys/messages";
import { clientIpFrom } from "@/lib/auth/client-ip";
import { databaseHealth, DeadlineExceededError, type DatabaseHealth } from "@/server/http/database-health";
import {
  createApiKey,
  deleteApiKey,
  getOwnApiKey,
  listOwnApiKeysPage,
  regenerateApiKey,
  updateOwnApiKey,
  type AuthenticatedKey,
} from "@/lib/keys/service";
import { logError } from "@/lib/log";
import { apiSettings } from "@/lib/config/env";
import { ApiError, databaseUnavailable, SERVICE_STATUS } from "./errors";
import { ApiGate, type GateOptions } from "./gate";
import { buildOpenApiDocument } from "./openapi";
import { createKeyRequest, listQuery, updateKeyRequest } from "./schemas";

type Env = { Variables: { actor: Actor; keyInfo: AuthenticatedKey } };

export const API_BASE = "/api/v1";

/** Every route, for 405 answers (and the tests that check the OpenAPI document lists them all). */
export const API_ROUTES = [
  { method: "GET", path: "/ping" },
  { method: "GET", path: "/whoami" },
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/api_keys" },
  { method: "POST", path: "/api_keys" },
  { method: "GET", path: "/api_keys/{id}" },
  { method: "PATCH", path: "/api_keys/{id}" },
  { method: "DELETE", path: "/api_keys/{id}" },
  { method: "POST", path: "/api_keys/{id}/regenerate" },
] as const;

const ROUTE_PATTERNS = API_ROUTES.map((route) => ({
  ...route,
  regex: new RegExp(`^${API_BASE}${route.path.replace("{id}", "[^/]+").replace(".", "\\.")}$`),
}));

export const MAX_BODY_BYTES = 16 * 1024;

/** Headers on every answer that carries key data (all but the OpenAPI document). */
export const API_HEADERS = { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" } as const;

/** The JSON shape of a key (snake_case, as ChartMogul). */
export function serializeKey(key: ApiKeyDto) {
  return {
    id: key.id,
    name: key.name,
    access_level: key.accessLevel,
    status: key.status,
    masked_key: key.maskedKey,
    created_at: key.createdAt.toISOString(),
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
  };
}

function zodToApiError(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  if (issue?.code === "unrecognized_keys") {
    const path = issue.path.length ? `${issue.path.join(".")}.` : "";
    return new ApiError(422, `Unknown field: ${issue.keys.join(", ")}.`, `${path}${issue.keys[0] ?? ""}` || null);
  }
  const param = issue?.path.length ? issue.path.join(".") : null;
  return new ApiError(422, issue?.message ?? "Invalid request.", param);
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (!text.trim()) throw new ApiError(400, "The request body is empty; send a JSON object.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, "The request body is not valid JSON.");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodToApiError(parsed.error);
  return parsed.data;
}

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
 * bounded time even if a database connection hangs (the work itself runs on, unanswered).
 */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(ms)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** The REST API (`/api/v1`): parse, authenticate the key, call the same services as the UI. */
export function createApiApp(options: ApiAppOptions = {}) {
  const ipOf = options.clientIp ?? ((c: Context) => clientIpFrom(c.req.raw.headers));
  const gate = options.gate ?? new ApiGate(options);
  const health = options.health ?? databaseHealth();
  const deadlineMs = options.deadlineMs ?? apiSettings().deadlineMs;
  let openApiJson: string | undefined;

  const app = new Hono<Env>().basePath(API_BASE);

  // While the database is known to be down, 503 at once; otherwise a deadline on every request.
  app.use("*", async (c, next) => {
    if (c.req.path === `${API_BASE}/openapi.json`) return next();
    if (!health.available) throw databaseUnavailable();
    await withDeadline(next(), deadlineMs);
  });

  // Public, so tools can fetch it without a key.
  app.get("/openapi.json", (c) => {
    openApiJson ??= JSON.stringify(buildOpenApiDocument(API_BASE));
    c.header("Cache-Control", "public, max-age=300");
    return c.body(openApiJson, 200, { "Content-Type": "application/json; charset=utf-8" });
  });

  // Authentication and rate limits, in front of every other route (unknown ones too).
  app.use("*", async (c, next) => {
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
    const { found, actor } = await gate.admit(c.req.header("authorization"), c.req.url, ipOf(c));
    c.set("keyInfo", found);
    c.set("actor", actor);
    await next();
  });

  // Writes: a Read & Write key first (before the body is even read), then a bounded body.
  const writeKey: MiddlewareHandler<Env> = async (c, next) => {
    if (c.get("actor").apiKey?.accessLevel !== "read_write") {
      throw new ApiError(403, READ_ONLY_KEY_MESSAGE);
    }
    await next();
  };
  const limitedBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      // The rest of the body is never read, so the connection cannot carry another request: say
      // so, rather than promise keep-alive and then drop it (the client retries on a new one).
      throw new ApiError(413, `The request body is too large (${MAX_BODY_BYTES / 1024} KB at most).`, null, { Connection: "close" });
    },
  });

  app.get("/ping", (c) => c.json({ data: "pong!" }));

  app.get("/whoami", (c) => {
    const { key, user } = c.get("keyInfo");
    return c.json({
      id: key.id,
      name: key.name,
      access_level: key.accessLevel,
      created_at: key.createdAt.toISOString(),
      last_used_at: key.lastUsedAt?.toISOString() ?? null,
      user: { email: user.email, name: user.name, role: user.role },
    });
  });

  app.get("/api_keys", async (c) => {
    const query = parse(listQuery, c.req.query());
    const page = await listOwnApiKeysPage(c.get("actor"), { cursor: query.cursor, limit: query.per_page });
    return c.json({ entries: page.entries.map(serializeKey), has_more: page.hasMore, cursor: page.cursor });
  });

  app.post("/api_keys", writeKey, limitedBody, async (c) => {
    const input = parse(createKeyRequest, await jsonBody(c));
    const { key, secret } = await createApiKey(c.get("actor"), input);
    return c.json({ ...serializeKey(key), key: secret }, 201);
  });

  app.get("/api_keys/:id", async (c) => c.json(serializeKey(await getOwnApiKey(c.get("actor"), c.req.param("id")))));

  app.patch("/api_keys/:id", writeKey, limitedBody, async (c) => {
    const input = parse(updateKeyRequest, await jsonBody(c));
    return c.json(serializeKey(await updateOwnApiKey(c.get("actor"), c.req.param("id"), input)));
  });

  app.post("/api_keys/:id/regenerate", writeKey, async (c) => {
    const { key, secret } = await regenerateApiKey(c.get("actor"), c.req.param("id"));
    return c.json({ ...serializeKey(key), key: secret });
  });

  app.delete("/api_keys/:id", writeKey, async (c) => {
    await deleteApiKey(c.get("actor"), c.req.param("id"));
    return c.body(null, 204);
  });

  app.notFound((c) => {
    const path = c.req.path;
    const allowed = ROUTE_PATTERNS.filter((route) => route.regex.test(path)).map((route) => route.method as string);
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
    if (allowed.length) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      c.header("Allow", allowed.join(", "));
      return c.json(new ApiError(405, `Method ${c.req.method} is not allowed here. Allowed: ${allowed.join(", ")}.`).body(), 405);
    }
    return c.json(new ApiError(404, "No such endpoint. See /api/v1/openapi.json.").body(), 404);
  });

  app.onError((error, c) => {
    for (const [name, value] of Object.entries(API_HEADERS)) c.header(name, value);
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return c.json(error.body(), error.status as 400);
    }
    if (error instanceof ServiceError) {
      if (error.retryAfterSeconds) c.header("Retry-After", String(error.retryAfterSeconds));
      const status = SERVICE_STATUS[error.code];
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
