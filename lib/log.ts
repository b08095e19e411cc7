/**
 * Logging an error without what it may carry. A failed query's message is drizzle's "Failed
 * query: <sql> params: <values>", and those values include key digests, password hashes and
 * e-mail addresses; a driver's error may quote a row. So a logged error is its class, its code and
 * the first line of its message (never a failed query's), for it and each `cause`, with anything
 * shaped like a key or a digest blanked out, and where it was thrown.
 */

const KEY_LIKE = /lk_[0-9A-Za-z]{8,}/g;
// Long runs of base64/hex/base64url: digests, hashes, tokens, ciphertexts.
const SECRET_LIKE = /[A-Za-z0-9+/_=-]{32,}/g;
const MAX_MESSAGE = 200;

function redact(text: string): string {
  return text.replace(KEY_LIKE, "lk_[redacted]").replace(SECRET_LIKE, "[redacted]");
}

function describeOne(error: unknown): string {
  if (!(error instanceof Error)) return `non-error ${typeof error}`;
  const name = error.constructor?.name && error.constructor.name !== "Object" ? error.constructor.name : error.name;
  const code = (error as { code?: unknown }).code;
  const firstLine = error.message.split("\n", 1)[0] ?? "";
  // A failed query's own message is the SQL and its parameters: only its cause says what went wrong.
  const quoted = name === "DrizzleQueryError" || /^Failed query/i.test(firstLine);
  const message = quoted ? "" : redact(firstLine.slice(0, MAX_MESSAGE));
  return [name, typeof code === "string" || typeof code === "number" ? String(code) : "", message].filter(Boolean).join(" ");
}

/** One line describing an error and its causes, e.g. "DrizzleQueryError <- PostgresError 23505 duplicate key ...". */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(describeOne(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  const frame =
    error instanceof Error
      ? error.stack
          ?.split("\n")
          .find((line) => /^\s+at /.test(line))
          ?.trim()
      : undefined;
  // A stack frame is code, not data: a file path is a long run of the characters SECRET_LIKE looks
  // for, so the frame is left as it is (only a key, which no path holds, would be blanked).
  return `${parts.join(" <- ")}${frame ? ` (${frame.replace(KEY_LIKE, "lk_[redacted]")})` : ""}`;
}

/** Logs `[latchkey] <what>: <describeError(error)>` on one line, to stderr. */
export function logError(what: string, error: unknown): void {
  console.error(`[latchkey] ${what}: ${describeError(error)}`);
}
