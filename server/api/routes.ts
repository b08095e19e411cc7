import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import { jsonObjectBody, limitedBody, MAX_BODY_BYTES, writeKey } from "./middleware";
import {
  apiKeyListResponse,
  apiKeyResponse,
  apiKeyWithSecretResponse,
  createKeyRequest,
  errorResponse,
  keyIdParams,
  listQuery,
  openApiDocumentResponse,
  pingResponse,
  updateKeyRequest,
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
const ok = <S>(description: string, schema: S) => ({ description, content: json(schema) });

// Responses every authenticated operation can give.
const common = {
  400: error("Bad request: malformed Authorization header, a key in the query string, or a body that is not a JSON object."),
  401: error("No valid API key: missing, unknown, disabled, deleted or regenerated."),
  429: {
    ...error("Rate limited: too many requests for this key, or too many failed authentications from this address."),
    headers: { "Retry-After": { description: "Seconds until the limit resets.", schema: { type: "integer" as const } } },
  },
} satisfies Responses;
const write = {
  403: error("The key is Read-only (writes need a Read & Write key), or the user's role forbids the change."),
} satisfies Responses;
const byId = { 404: error("No key with this id among the caller's keys (another user's key is not found either).") } satisfies Responses;
const withBody = {
  413: error(`The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`),
  422: error("A field is invalid or unknown; `param` names it."),
} satisfies Responses;

const jsonBody = <S>(schema: S) => ({ required: true, content: json(schema) });

/** A write with a JSON body: a Read & Write key first (before the body is read), then a bounded JSON object. */
const writeWithBody = [writeKey, limitedBody, jsonObjectBody];

export const ping = createRoute({
  method: "get",
  path: "/ping",
  operationId: "ping",
  tags: ["Utility"],
  summary: "Check that a key works",
  responses: { 200: ok("The key is valid and active.", pingResponse), ...common },
});

export const whoami = createRoute({
  method: "get",
  path: "/whoami",
  operationId: "whoami",
  tags: ["Utility"],
  summary: "The calling key and its user",
  responses: { 200: ok("The key and its user.", whoamiResponse), ...common },
});

export const listApiKeys = createRoute({
  method: "get",
  path: "/api_keys",
  operationId: "listApiKeys",
  tags: ["Keys"],
  summary: "List the caller's keys",
  request: { query: listQuery },
  responses: { 200: ok("A page of keys.", apiKeyListResponse), ...common, 422: error("per_page or cursor is invalid.") },
});

export const createApiKey = createRoute({
  method: "post",
  path: "/api_keys",
  operationId: "createApiKey",
  tags: ["Keys"],
  summary: "Create a key",
  description: "Needs a Read & Write key. Read-only users can only create Read-only keys. The secret is returned once.",
  middleware: writeWithBody,
  request: { body: jsonBody(createKeyRequest) },
  responses: {
    201: ok("The new key, with its secret.", apiKeyWithSecretResponse),
    ...common,
    ...write,
    409: error("The caller already has a key with this name."),
    ...withBody,
  },
});

export const getApiKey = createRoute({
  method: "get",
  path: "/api_keys/{id}",
  operationId: "getApiKey",
  tags: ["Keys"],
  summary: "Get one of the caller's keys",
  request: { params: keyIdParams },
  responses: { 200: ok("The key.", apiKeyResponse), ...common, ...byId },
});

export const updateApiKey = createRoute({
  method: "patch",
  path: "/api_keys/{id}",
  operationId: "updateApiKey",
  tags: ["Keys"],
  summary: "Rename, disable or enable a key",
  description:
    "Needs a Read & Write key. Both fields are optional but one is required; the change is all or nothing. " +
    "A key an admin disabled can only be enabled by an admin, in the app.",
  middleware: writeWithBody,
  request: { params: keyIdParams, body: jsonBody(updateKeyRequest) },
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
  middleware: writeKey,
  request: { params: keyIdParams },
  responses: { 204: { description: "Deleted." }, ...common, ...write, ...byId },
});

export const regenerateApiKey = createRoute({
  method: "post",
  path: "/api_keys/{id}/regenerate",
  operationId: "regenerateApiKey",
  tags: ["Keys"],
  summary: "Give a key a new secret",
  description: "Needs a Read & Write key. The old secret stops working at once; id, name and level stay.",
  middleware: writeKey,
  request: { params: keyIdParams },
  responses: { 200: ok("The key with its new secret.", apiKeyWithSecretResponse), ...common, ...write, ...byId },
});

export const openApi = createRoute({
  method: "get",
  path: "/openapi.json",
  operationId: "openapi",
  tags: ["Utility"],
  summary: "This document",
  security: [],
  responses: { 200: ok("The OpenAPI 3.1 document.", openApiDocumentResponse) },
});

/** Every route, as registered. */
export const API_ROUTE_DECLARATIONS = [
  ping,
  whoami,
  openApi,
  listApiKeys,
  createApiKey,
  getApiKey,
  updateApiKey,
  deleteApiKey,
  regenerateApiKey,
] as const;
