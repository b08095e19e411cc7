import { z } from "zod";
import { DEFAULT_CACHE_OPTIONS } from "@/lib/keys/cache";

const count = (fallback: number) => z.coerce.number().int().min(0).max(100_000_000).default(fallback);

// The REST API's settings (docs/API.md, "Settings"), validated once when the server starts.
const apiEnvSchema = z.object({
  /** Requests per key per minute, per instance; 0 turns the limit off. */
  LATCHKEY_API_RATE_LIMIT: count(600),
  /** Failed authentications per client IP per minute, per instance, before 429; 0 turns it off. */
  LATCHKEY_API_AUTH_FAILURE_LIMIT: count(20),
  /** How long a verified key is trusted from memory; 0 turns the verification cache off. */
  LATCHKEY_KEY_CACHE_TTL_MS: count(DEFAULT_CACHE_OPTIONS.ttlMs).pipe(z.number().max(60_000)),
  LATCHKEY_KEY_CACHE_SIZE: count(DEFAULT_CACHE_OPTIONS.maxEntries),
  /** Longest a request may take before it is answered 503 (so none hangs on an unreachable database). */
  LATCHKEY_API_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(1_500),
});

export interface ApiSettings {
  keyRateLimit: number;
  authFailureLimit: number;
  cacheTtlMs: number;
  cacheSize: number;
  deadlineMs: number;
}

export function readApiSettings(source: NodeJS.ProcessEnv = process.env): ApiSettings {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = apiEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const env = parsed.data;
  return {
    keyRateLimit: env.LATCHKEY_API_RATE_LIMIT,
    authFailureLimit: env.LATCHKEY_API_AUTH_FAILURE_LIMIT,
    cacheTtlMs: env.LATCHKEY_KEY_CACHE_TTL_MS,
    cacheSize: env.LATCHKEY_KEY_CACHE_SIZE,
    deadlineMs: env.LATCHKEY_API_DEADLINE_MS,
  };
}
