import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import type { Actor } from "@/lib/auth/actor";
import { ServiceError } from "@/lib/errors";
import { clientIpFrom } from "@/lib/http/client-ip";
import {
  authenticateApiKey,
  createApiKey,
  deleteApiKey,
  getOwnApiKey,
  listOwnApiKeysPage,
  regenerateApiKey,
  renameApiKey,
  setOwnApiKeyStatus,
  type ApiKeyDto,
} from "@/lib/keys/service";
import { createApiKeySchema, updateApiKeySchema } from "@/lib/validation/keys";
import { presentedKey } from "./credentials";
import { ApiError, NO_VALID_KEY, SERVICE_STATUS } from "./errors";

type Env = { Variables: { actor: Actor; keyInfo: Awaited<ReturnType<typeof authenticateApiKey>> } };

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

const listQuerySchema = z.object({
  per_page: z.coerce.number({ error: "per_page must be a number." }).int("per_page must be a whole number.").min(1, "per_page must be at least 1.").max(200, "per_page must be at most 200.").default(50),
  cursor: z.string().max(200).optional(),
});

function zodToApiError(error: z.ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue?.path.length ? issue.path.join(".") : issue?.code === "unrecognized_keys" ? (issue.keys[0] ?? null) : null;
  const message = issue?.code === "unrecognized_keys" ? `Unknown field: ${issue.keys.join(", ")}.` : (issue?.message ?? "Invalid request.");
  return new ApiError(422, message, param);
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, "The request body is not valid JSON.");
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "The request body must be a JSON object.");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodToApiError(parsed.error);
  return parsed.data;
}

/** The REST API (`/api/v1`): parse, authenticate the key, call the same services as the UI. */
export function createApiApp(options: { clientIp?: (c: Context) => string | null } = {}) {
  const ipOf = options.clientIp ?? ((c: Context) => clientIpFrom(c.req.raw.headers));
  const app = new Hono<Env>().basePath("/api/v1");

  app.use("*", async (c, next) => {
    c.header("Cache-Control", "no-store");
    await next();
  });

  app.use(
    "*",
    bodyLimit({
      maxSize: 16 * 1024,
      onError: () => {
        throw new ApiError(413, "The request body is too large (16 KB at most).");
      },
    }),
  );

  app.use("*", async (c, next) => {
    const raw = presentedKey(c.req.header("authorization"), new URL(c.req.url));
    const ip = ipOf(c);
    const found = await authenticateApiKey(raw, ip);
    if (!found) throw new ApiError(401, NO_VALID_KEY);
    c.set("keyInfo", found);
    c.set("actor", {
      userId: found.user.id,
      email: found.user.email,
      name: found.user.name,
      role: found.user.role,
      ip,
      apiKey: { id: found.key.id, name: found.key.name, accessLevel: found.key.accessLevel },
    });
    await next();
  });

  app.get("/ping", (c) => c.json({ data: "pong!" }));

  app.get("/whoami", (c) => {
    const { key, user } = c.get("keyInfo")!;
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
    const query = listQuerySchema.safeParse(c.req.query());
    if (!query.success) throw zodToApiError(query.error);
    const page = await listOwnApiKeysPage(c.get("actor"), { cursor: query.data.cursor, limit: query.data.per_page });
    return c.json({ entries: page.entries.map(serializeKey), has_more: page.hasMore, cursor: page.cursor });
  });

  app.post("/api_keys", async (c) => {
    const input = parse(createApiKeySchema.strict(), await jsonBody(c));
    const { key, secret } = await createApiKey(c.get("actor"), input);
    return c.json({ ...serializeKey(key), key: secret }, 201);
  });

  app.get("/api_keys/:id", async (c) => c.json(serializeKey(await getOwnApiKey(c.get("actor"), c.req.param("id")))));

  app.patch("/api_keys/:id", async (c) => {
    const input = parse(updateApiKeySchema, await jsonBody(c));
    const actor = c.get("actor");
    const id = c.req.param("id");
    let key = await getOwnApiKey(actor, id);
    if (input.name !== undefined) key = await renameApiKey(actor, id, input.name);
    if (input.status !== undefined) key = await setOwnApiKeyStatus(actor, id, input.status);
    return c.json(serializeKey(key));
  });

  app.post("/api_keys/:id/regenerate", async (c) => {
    const { key, secret } = await regenerateApiKey(c.get("actor"), c.req.param("id"));
    return c.json({ ...serializeKey(key), key: secret });
  });

  app.delete("/api_keys/:id", async (c) => {
    await deleteApiKey(c.get("actor"), c.req.param("id"));
    return c.body(null, 204);
  });

  app.notFound((c) => c.json(new ApiError(404, "No such endpoint.").body(), 404));

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
