import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Actor } from "@/lib/auth/actor";
import { can, type Permission } from "@/lib/auth/permissions";
import { READ_ONLY_KEY_MESSAGE } from "@/lib/keys/messages";
import type { AuthenticatedKey } from "@/lib/keys/service";
import { ApiError } from "./errors";

/** What the gate leaves on every authenticated request's context. */
export type ApiEnv = { Variables: { actor: Actor; keyInfo: AuthenticatedKey } };

export const MAX_BODY_BYTES = 16 * 1024;

/** The API's answer to a path it does not serve; also what a non-admin gets for the admin API (as the pages' 404). */
export const NO_SUCH_ENDPOINT = "No such endpoint. See /api/v1/openapi.json.";

/**
 * The admin API is for Owners and Admins: anyone else gets the very 404 an unknown path gets, as
 * the pages answer them, before anything else about the request is looked at. The services check
 * the permission again themselves.
 */
export const adminOnly = (permission: Permission): MiddlewareHandler<ApiEnv> =>
  async function adminOnly(c, next) {
    if (!can(c.get("actor").role, permission)) throw new ApiError(404, NO_SUCH_ENDPOINT);
    await next();
  };

/** Writes need a Read & Write key; checked before the body is even read. */
export const writeKey: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (c.get("actor").apiKey?.accessLevel !== "read_write") {
    throw new ApiError(403, READ_ONLY_KEY_MESSAGE);
  }
  await next();
};

export function tooLarge(): ApiError {
  // The rest of the body is never read, so the connection cannot carry another request: say
  // so, rather than promise keep-alive and then drop it (the client retries on a new one).
  return new ApiError(413, `The request body is too large (${MAX_BODY_BYTES / 1024} KB at most).`, null, { Connection: "close" });
}

/** A body of at most MAX_BODY_BYTES. */
export const limitedBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw tooLarge();
  },
});

const NO_BODY = "This endpoint takes no request body.";

/**
 * The one body rule, for the endpoints that take none (every GET and DELETE): a body over
 * MAX_BODY_BYTES is a 413 as anywhere else, and any other body a 400, so a client that sends one
 * learns it was ignored rather than guessing. Decided from the headers when they say (a GET's body
 * never reaches the app); a chunked body is read, within the limit, and must be blank.
 */
export const noBody: MiddlewareHandler = async (c, next) => {
  const length = c.req.header("content-length");
  const chunked = c.req.header("transfer-encoding") !== undefined;
  if (length === undefined && !chunked) return next();
  if (length !== undefined && !chunked) {
    const bytes = Number(length);
    if (bytes > MAX_BODY_BYTES) throw tooLarge();
    if (bytes > 0) throw new ApiError(400, NO_BODY);
    return next();
  }
  if (!c.req.raw.body) throw new ApiError(400, NO_BODY);
  await limitedBody(c, async () => {
    if ((await c.req.text()).trim()) throw new ApiError(400, NO_BODY);
  });
  await next();
};

const JSON_CONTENT_TYPE = "application/json";

/**
 * The body must be one JSON object (400 otherwise, with the API's own messages); the route's zod
 * schema then validates it (422). The API reads the body as JSON whatever the request's
 * Content-Type says (`curl -d` sends form-urlencoded), as it always has; zod-openapi's validator
 * only reads a body labelled JSON (and answers 415 otherwise), so the checked body is handed on
 * labelled `application/json` (hono's bodyLimit rebuilds the request the same way).
 */
export const jsonObjectBody: MiddlewareHandler = async (c, next) => {
  const text = await readJsonObject(c);
  if (c.req.header("content-type") !== JSON_CONTENT_TYPE) handOnAsJson(c, text);
  await next();
};

/**
 * The same for a body that may be left out (regenerate's): no body, or a blank one, reads as `{}`
 * (so the schema's defaults apply and a plain `curl -X POST` works as it always has); anything else
 * must be a JSON object.
 */
export const optionalJsonObjectBody: MiddlewareHandler = async (c, next) => {
  const text = await c.req.text();
  if (!text.trim()) handOnAsJson(c, "{}");
  else if (c.req.header("content-type") !== JSON_CONTENT_TYPE) handOnAsJson(c, parseJsonObject(text));
  else parseJsonObject(text);
  await next();
};

/** Replaces the request's body with `text`, labelled JSON (and forgets the body already read). */
function handOnAsJson(c: Context, text: string): void {
  const headers = new Headers(c.req.raw.headers);
  headers.set("content-type", JSON_CONTENT_TYPE);
  headers.delete("content-length");
  c.req.raw = new Request(c.req.raw.url, { method: c.req.raw.method, headers, body: text });
  c.req.bodyCache = {};
}

async function readJsonObject(c: Context): Promise<string> {
  const text = await c.req.text();
  requireJsonObject(text);
  return text;
}

/** A body that must be present and one JSON object (400 otherwise). */
export function requireJsonObject(text: string): Record<string, unknown> {
  if (!text.trim()) throw new ApiError(400, "The request body is empty; send a JSON object.");
  return jsonObjectOf(text);
}

/** `text` if it is one JSON object; a 400 in the API's words otherwise. */
export function parseJsonObject(text: string): string {
  jsonObjectOf(text);
  return text;
}

/** The JSON object `text` holds; a 400 in the API's words when it holds anything else. */
function jsonObjectOf(text: string): Record<string, unknown> {
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
