import { Hono, type Context, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { ServiceError } from "@/lib/errors";
import { clientIpFrom } from "@/lib/http/client-ip";
import type { KeyVerificationCache } from "@/lib/keys/cache";
import {
  authenticateApiKey,
  createApiKey,
  deleteApiKey,
  getOwnApiKey,
  listOwnApiKeysPage,
  regenerateApiKey,
  updateOwnApiKey,
  type ApiKeyDto,
  type AuthenticatedKey,
} from "@/lib/keys/service";
import { readApiSettings } from "./config";
import { presentedKey } from "./credentials";
import { ApiError, NO_VALID_KEY, SERVICE_STATUS } from "./errors";
import { buildOpenApiDocument } from "./openapi";
import { auditKeyRateLimited, FixedWindowLimiter } from "./rate-limit";
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

export interface ApiAppOptions {
  /** The caller's address; by default the header the Latchkey server sets (see lib/http/client-ip). */
  clientIp?: (c: Context) => string | null;
  /** Requests per key per minute (0: no limit). Default: LATCHKEY_API_RATE_LIMIT, else 600. */
  keyRateLimit?: number;
  /** Failed authentications per client IP per minute before 429 (0: no limit). Default: 20. */
  authFailureLimit?: number;
  /** The verification cache (tests give each "instance" its own); by default the process's. */
  cache?: KeyVerificationCache;
}

/** The REST API (`/api/v1`): parse, authenticate the key, call the same services as the UI. */
export function createApiApp(options: ApiAppOptions = {}) {
  const settings = readApiSettings();
  const ipOf = options.clientIp ?? ((c: Context) => clientIpFrom(c.req.raw.headers));
  const keyLimiter = new FixedWindowLimiter(options.keyRateLimit ?? settings.keyRateLimit);
  const authFailures = new FixedWindowLimiter(options.authFailureLimit ?? settings.authFailureLimit);
  const cache = options.cache;
  let openApiJson: string | undefined;

  const app = new Hono<Env>().basePath(API_BASE);

  // Public, so tools can fetch it without a key.
  app.get("/openapi.json", (c) => {
    openApiJson ??= JSON.stringify(buildOpenApiDocument(API_BASE));
    c.header("Cache-Control", "public, max-age=300");
    return c.body(openApiJson, 200, { "Content-Type": "application/json; charset=utf-8" });
  });

  const countFailure = (ip: string | null) => {
    if (ip && authFailures.enabled) authFailures.hit(ip);
  };

  // Authentication and rate limits, in front of every other route (unknown ones too).
  app.use("*", async (c, next) => {
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    const ip = ipOf(c);
    const now = Date.now();
    if (ip && authFailures.enabled) {
      const state = authFailures.check(ip, now);
      if (state.count >= authFailures.limit) {
        throw new ApiError(429, "Too many failed authentications from your address. Try again later.", null, {
          "Retry-After": String(state.retryAfterSeconds),
        });
      }
    }
    let raw: string;
    try {
      raw = presentedKey(c.req.header("authorization"), c.req.url);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) countFailure(ip);
      throw error;
    }
    const found = await authenticateApiKey(raw, ip, cache ? { cache } : {});
    if (!found) {
      countFailure(ip);
      throw new ApiError(401, NO_VALID_KEY);
    }
    const actor: Actor = {
      userId: found.user.id,
      email: found.user.email,
      name: found.user.name,
      role: found.user.role,
      ip,
      apiKey: { id: found.key.id, name: found.key.name, accessLevel: found.key.accessLevel },
    };
    if (keyLimiter.enabled) {
      const hit = keyLimiter.hit(found.key.id, now);
      if (!hit.allowed) {
        // The first refused request of the window (on this instance) writes the audit row.
        if (hit.count === keyLimiter.limit + 1) {
          await auditKeyRateLimited(actor, { start: hit.windowStart, limit: keyLimiter.limit }).catch((error: Error) =>
            console.error("[latchkey] could not audit a rate-limited key", error.message),
          );
        }
        throw new ApiError(429, `Rate limit exceeded: ${keyLimiter.limit} requests per minute per API key.`, null, {
          "Retry-After": String(hit.retryAfterSeconds),
        });
      }
    }
    c.set("keyInfo", found);
    c.set("actor", actor);
    await next();
  });

  // Writes: a Read & Write key first (before the body is even read), then a bounded body.
  const writeKey: MiddlewareHandler<Env> = async (c, next) => {
    if (c.get("actor").apiKey?.accessLevel !== "read_write") {
      throw new ApiError(403, "This API key is Read-only; use a Read & Write key to make changes.");
    }
    await next();
  };
  const limitedBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, `The request body is too large (${MAX_BODY_BYTES / 1024} KB at most).`);
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
    c.header("Cache-Control", "no-store");
    if (allowed.length) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      c.header("Allow", allowed.join(", "));
      return c.json(new ApiError(405, `Method ${c.req.method} is not allowed here. Allowed: ${allowed.join(", ")}.`).body(), 405);
    }
    return c.json(new ApiError(404, "No such endpoint. See /api/v1/openapi.json.").body(), 404);
  });

  app.onError((error, c) => {
    c.header("Cache-Control", "no-store");
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      return c.json(error.body(), error.status as 400);
    }
    if (error instanceof ServiceError) {
      if (error.retryAfterSeconds) c.header("Retry-After", String(error.retryAfterSeconds));
      const status = SERVICE_STATUS[error.code];
      return c.json({ code: status, message: error.message, param: error.field }, status as 400);
    }
    console.error("[latchkey] API error", error);
    return c.json({ code: 500, message: "Internal server error.", param: null }, 500);
  });

  return app;
}

export type ApiApp = ReturnType<typeof createApiApp>;
