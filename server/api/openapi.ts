import { z } from "zod";
import {
  apiKeyListResponse,
  apiKeyResponse,
  apiKeyWithSecretResponse,
  createKeyRequest,
  errorResponse,
  listQuery,
  pingResponse,
  updateKeyRequest,
  whoamiResponse,
} from "./schemas";

type JsonSchema = Record<string, unknown>;

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/** Turns a registry of named zod schemas into OpenAPI 3.1 components (JSON Schema 2020-12). */
function components(entries: Record<string, z.ZodType>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(entries)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    target: "draft-2020-12",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
      void _dialect;
      void _id;
      return [id, rest];
    }),
  );
}

function parameterSchemas(schema: z.ZodObject): Array<{ name: string; required: boolean; schema: JsonSchema; description?: string }> {
  const json = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      required: json.required?.includes(name) ?? false,
      schema: rest,
      ...(typeof description === "string" ? { description } : {}),
    };
  });
}

const errorContent = { "application/json": { schema: ref("Error") } };
const error = (description: string) => ({ description, content: errorContent });
const ok = (description: string, schema: string) => ({ description, content: { "application/json": { schema: ref(schema) } } });

// Responses every authenticated operation can give.
const common = {
  "400": error("Bad request: malformed Authorization header, a key in the query string, or a body that is not a JSON object."),
  "401": error("No valid API key: missing, unknown, disabled, deleted or regenerated."),
  "429": {
    ...error("Rate limited: too many requests for this key, or too many failed authentications from this address."),
    headers: { "Retry-After": { description: "Seconds until the limit resets.", schema: { type: "integer" } } },
  },
};
const write = {
  "403": error("The key is Read-only (writes need a Read & Write key), or the user's role forbids the change."),
};
const byId = { "404": error("No key with this id among the caller's keys (another user's key is not found either).") };
const withBody = {
  "413": error("The request body is larger than 16 KB."),
  "422": error("A field is invalid or unknown; `param` names it."),
};

const idParameter = {
  name: "id",
  in: "path",
  required: true,
  description: "The key's id.",
  schema: { type: "string", format: "uuid" },
};

function jsonBody(schema: string) {
  return { required: true, content: { "application/json": { schema: ref(schema) } } };
}

/** The OpenAPI 3.1 document for /api/v1, built from the same zod schemas the API validates with. */
export function buildOpenApiDocument(serverUrl = "/api/v1") {
  const schemas = {
    ...components(
      {
        ApiKey: apiKeyResponse,
        ApiKeyWithSecret: apiKeyWithSecretResponse,
        ApiKeyList: apiKeyListResponse,
        WhoAmI: whoamiResponse,
        Pong: pingResponse,
        Error: errorResponse,
      },
      "output",
    ),
    ...components({ CreateApiKeyRequest: createKeyRequest, UpdateApiKeyRequest: updateKeyRequest }, "input"),
  };
  const listParameters = parameterSchemas(listQuery).map((p) => ({ ...p, in: "query" }));

  return {
    openapi: "3.1.0",
    info: {
      title: "Latchkey API",
      version: "1.0.0",
      description:
        "Manage your own API keys, and check a key you were handed. Authenticate with HTTP Basic, the key as the " +
        "username and an empty password (`curl -u KEY: ...`), or `Authorization: Bearer KEY`. Never put a key in the URL.",
    },
    servers: [{ url: serverUrl }],
    security: [{ basicAuth: [] }, { bearerAuth: [] }],
    tags: [
      { name: "Keys", description: "The caller's own API keys. Reads need any active key; writes a Read & Write key." },
      { name: "Utility", description: "Check that a key works, and whose it is." },
    ],
    paths: {
      "/ping": {
        get: {
          operationId: "ping",
          tags: ["Utility"],
          summary: "Check that a key works",
          responses: { "200": ok("The key is valid and active.", "Pong"), ...common },
        },
      },
      "/whoami": {
        get: {
          operationId: "whoami",
          tags: ["Utility"],
          summary: "The calling key and its user",
          responses: { "200": ok("The key and its user.", "WhoAmI"), ...common },
        },
      },
      "/api_keys": {
        get: {
          operationId: "listApiKeys",
          tags: ["Keys"],
          summary: "List the caller's keys",
          parameters: listParameters,
          responses: { "200": ok("A page of keys.", "ApiKeyList"), ...common, "422": error("per_page or cursor is invalid.") },
        },
        post: {
          operationId: "createApiKey",
          tags: ["Keys"],
          summary: "Create a key",
          description: "Needs a Read & Write key. Read-only users can only create Read-only keys. The secret is returned once.",
          requestBody: jsonBody("CreateApiKeyRequest"),
          responses: {
            "201": ok("The new key, with its secret.", "ApiKeyWithSecret"),
            ...common,
            ...write,
            "409": error("The caller already has a key with this name."),
            ...withBody,
          },
        },
      },
      "/api_keys/{id}": {
        parameters: [idParameter],
        get: {
          operationId: "getApiKey",
          tags: ["Keys"],
          summary: "Get one of the caller's keys",
          responses: { "200": ok("The key.", "ApiKey"), ...common, ...byId },
        },
        patch: {
          operationId: "updateApiKey",
          tags: ["Keys"],
          summary: "Rename, disable or enable a key",
          description:
            "Needs a Read & Write key. Both fields are optional but one is required; the change is all or nothing. " +
            "A key an admin disabled can only be enabled by an admin, in the app.",
          requestBody: jsonBody("UpdateApiKeyRequest"),
          responses: {
            "200": ok("The updated key.", "ApiKey"),
            ...common,
            ...write,
            ...byId,
            "409": error("The caller already has a key with this name."),
            ...withBody,
          },
        },
        delete: {
          operationId: "deleteApiKey",
          tags: ["Keys"],
          summary: "Delete a key",
          description: "Needs a Read & Write key. Permanent: the key stops working at once, on every instance.",
          responses: { "204": { description: "Deleted." }, ...common, ...write, ...byId },
        },
      },
      "/api_keys/{id}/regenerate": {
        parameters: [idParameter],
        post: {
          operationId: "regenerateApiKey",
          tags: ["Keys"],
          summary: "Give a key a new secret",
          description: "Needs a Read & Write key. The old secret stops working at once; id, name and level stay.",
          responses: { "200": ok("The key with its new secret.", "ApiKeyWithSecret"), ...common, ...write, ...byId },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openapi",
          tags: ["Utility"],
          summary: "This document",
          security: [],
          responses: { "200": { description: "The OpenAPI 3.1 document.", content: { "application/json": { schema: { type: "object" } } } } },
        },
      },
    },
    components: {
      securitySchemes: {
        basicAuth: { type: "http", scheme: "basic", description: "The key as the username, an empty password." },
        bearerAuth: { type: "http", scheme: "bearer", description: "The key as a Bearer token." },
      },
      schemas,
    },
  };
}
