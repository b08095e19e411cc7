import { z } from "zod";
import { ROLES } from "@/lib/auth/permissions";
import { accessLevel, createApiKeySchema, keyStatus, updateApiKeySchema } from "@/lib/validation/keys";

/**
 * The REST API's wire shapes, as zod schemas: requests reuse lib/validation's (the same ones the
 * server actions use); responses are declared here. The OpenAPI document is generated from both,
 * and the integration tests check every response against them.
 */

/** POST /api_keys: the Add API Key schema, with unknown fields refused. */
export const createKeyRequest = createApiKeySchema.strict();
/** PATCH /api_keys/{id}: name and/or status, nothing else. */
export const updateKeyRequest = updateApiKeySchema;

export const listQuery = z.strictObject({
  per_page: z.coerce
    .number({ error: "per_page must be a number." })
    .int("per_page must be a whole number.")
    .min(1, "per_page must be at least 1.")
    .max(200, "per_page must be at most 200.")
    .default(50)
    .meta({ description: "Keys per page (1-200, default 50)." }),
  cursor: z
    .string()
    .max(200, "The cursor is not valid; use the one a previous page returned.")
    .optional()
    .meta({ description: "The `cursor` of the previous page." }),
});

const timestamp = z.iso.datetime().meta({ description: "ISO 8601, UTC." });

export const apiKeyResponse = z
  .object({
    id: z.uuid(),
    name: z.string().meta({ description: "Unique among the user's keys (case-insensitive)." }),
    access_level: accessLevel,
    status: keyStatus,
    masked_key: z.string().meta({ description: "The key's first 7 and last 4 characters.", example: "lk_AbCd••••••••wXyZ" }),
    created_at: timestamp,
    last_used_at: timestamp.nullable().meta({ description: "Current to the minute; null if never used." }),
  })
  .meta({ description: "An API key. The secret is never part of it." });

export const apiKeyWithSecretResponse = apiKeyResponse
  .extend({
    key: z
      .string()
      .regex(/^lk_[0-9A-Za-z]{49}$/)
      .meta({ description: "The full secret. Only create and regenerate return it: store it now." }),
  })
  .meta({ description: "An API key with its secret, returned once." });

export const apiKeyListResponse = z
  .object({
    entries: z.array(apiKeyResponse),
    has_more: z.boolean(),
    cursor: z.string().nullable().meta({ description: "Pass it as `cursor` for the next page; null on the last page." }),
  })
  .meta({ description: "A page of the caller's keys, oldest first." });

export const whoamiResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    access_level: accessLevel,
    created_at: timestamp,
    last_used_at: timestamp.nullable(),
    user: z.object({ email: z.string(), name: z.string(), role: z.enum(ROLES) }),
  })
  .meta({ description: "The key making the request and its user." });

export const pingResponse = z.object({ data: z.literal("pong!") });

export const errorResponse = z
  .object({
    code: z.int().meta({ description: "The HTTP status again." }),
    message: z.string(),
    param: z.string().nullable().meta({ description: "The field or parameter at fault, when there is one." }),
  })
  .meta({ description: "Every error, ChartMogul's shape." });
