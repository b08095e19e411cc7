import type { ServiceErrorCode } from "@/lib/errors";
import { DATABASE_RETRY_AFTER_SECONDS, DATABASE_UNAVAILABLE_MESSAGE } from "@/server/http/database-health";

/** The REST API's error body, ChartMogul's shape: {"code":401,"message":"...","param":null}. */
export interface ApiErrorBody {
  code: number;
  message: string;
  param: string | null;
}

/**
 * RFC 9110's challenge, on every 401: the schemes the API accepts. Clients that send credentials
 * only when challenged (`curl --anyauth`, wget, Python's HTTPBasicAuthHandler) need it to answer
 * with the key at all. Basic comes first: it is the one those clients know.
 */
export const WWW_AUTHENTICATE = 'Basic realm="Latchkey API", charset="UTF-8", Bearer realm="Latchkey API"';

/** The headers an answer with `status` must carry whatever refused it: the challenge on a 401. */
export function statusHeaders(status: number): Record<string, string> {
  return status === 401 ? { "WWW-Authenticate": WWW_AUTHENTICATE } : {};
}

export class ApiError extends Error {
  readonly headers: Record<string, string>;
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.headers = { ...statusHeaders(status), ...headers };
  }
  body(): ApiErrorBody {
    return { code: this.status, message: this.message, param: this.param };
  }

  private serialized: string | undefined = undefined;
  private flatHeaders: readonly string[] | undefined = undefined;

  /** The body as JSON, made once: the gate throws the same 429 again and again (see ApiGate). */
  json(): string {
    return (this.serialized ??= JSON.stringify(this.body()));
  }

  /** `headers` as the flat name-value list writeHead takes, made once. */
  headerList(): readonly string[] {
    return (this.flatHeaders ??= Object.entries(this.headers).flat());
  }
}

export const NO_VALID_KEY = "No valid API key provided";
/** SPEC §11: a key past its expires_at, refused on every request (verification cache hits too). */
export const EXPIRED_KEY = "This API key has expired";

/** The answer while the database cannot be reached (or a request ran past its deadline). */
export function databaseUnavailable(): ApiError {
  return new ApiError(503, DATABASE_UNAVAILABLE_MESSAGE, null, { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS) });
}

export const SERVICE_STATUS: Record<ServiceErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid: 422,
  rate_limited: 429,
  // Only browser sessions are asked to confirm (lib/auth/authorize.ts); should an API call ever
  // meet it, it is a refusal like any other.
  confirmation_required: 403,
};
