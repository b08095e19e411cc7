import type { ServiceErrorCode } from "@/lib/errors";

/** The REST API's error body, ChartMogul's shape: {"code":401,"message":"...","param":null}. */
export interface ApiErrorBody {
  code: number;
  message: string;
  param: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): ApiErrorBody {
    return { code: this.status, message: this.message, param: this.param };
  }
}

export const NO_VALID_KEY = "No valid API key provided";

export const SERVICE_STATUS: Record<ServiceErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  invalid: 422,
  rate_limited: 429,
};
