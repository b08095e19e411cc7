/** Errors services throw; both transports (server actions and the REST API) map them the same way. */
export type ServiceErrorCode =
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "invalid"
  | "rate_limited"
  /** Confirm it's you (SPEC §12): the browser session's last sign-in or confirmation is too old. */
  | "confirmation_required";

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** The input field the error is about, when there is one. */
    readonly field: string | null = null,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

export const forbidden = (message = "You do not have permission to do that.") => new ServiceError("forbidden", message);
export const notFound = (message = "Not found.") => new ServiceError("not_found", message);
export const conflict = (message: string, field: string | null = null) => new ServiceError("conflict", message, field);
export const invalid = (message: string, field: string | null = null) => new ServiceError("invalid", message, field);
export const CONFIRMATION_REQUIRED_MESSAGE = "Confirm it's you: enter your password to continue.";
export const confirmationRequired = () => new ServiceError("confirmation_required", CONFIRMATION_REQUIRED_MESSAGE);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new ServiceError("rate_limited", message, null, retryAfterSeconds);
