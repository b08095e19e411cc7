import path from "node:path";
import { z } from "@/lib/validation/zod";
import type { DatabaseSettings } from "@/db/open";
import { DEFAULT_CACHE_OPTIONS } from "@/lib/keys/cache";
import { ROLE_VALUES } from "@/db/enums";
import { parseTrustedProxies, type ProxyTrust } from "./proxies";

type Role = (typeof ROLE_VALUES)[number];

const count = (fallback: number) => z.coerce.number().int().min(0).max(100_000_000).default(fallback);

// Every setting Latchkey reads, validated once when the process starts (server/main.ts, scripts/).
// The README's "Settings" table (and docs/API.md's for the LATCHKEY_API_* ones) mirrors this.
const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// or postgresql:// URL")
      .optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    LATCHKEY_DATA_DIR: z.string().min(1).default("./data"),
    LATCHKEY_SECRET: z.string().min(32, "LATCHKEY_SECRET must be at least 32 characters").optional(),
    LATCHKEY_SECRET_FILE: z.string().min(1).optional(),
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    HOST: z.string().min(1).default("0.0.0.0"),
    // Proxies whose X-Forwarded-For is believed: the client is the right-most address not in them.
    LATCHKEY_TRUSTED_PROXIES: z
      .string()
      .superRefine((value, ctx) => {
        try {
          parseTrustedProxies(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: `LATCHKEY_TRUSTED_PROXIES: ${(error as Error).message}` });
        }
      })
      .optional(),
    // Kept for compatibility: "1" trusts the immediate peer only (its X-Forwarded-For's right-most entry).
    LATCHKEY_TRUST_PROXY: z
      .enum(["0", "1"], { message: "LATCHKEY_TRUST_PROXY must be 1 or 0 (prefer LATCHKEY_TRUSTED_PROXIES, a list of CIDR ranges)" })
      .optional(),

    // The REST API (docs/API.md, "Settings").
    /** Requests per key per minute, per instance; 0 turns the limit off. */
    LATCHKEY_API_RATE_LIMIT: count(600),
    /** Failed authentications per client IP per minute, per instance, before 429; 0 turns it off. */
    LATCHKEY_API_AUTH_FAILURE_LIMIT: count(20),
    /** How long a verified key is trusted from memory; 0 turns the verification cache off. */
    LATCHKEY_KEY_CACHE_TTL_MS: count(DEFAULT_CACHE_OPTIONS.ttlMs).pipe(z.number().max(60_000)),
    LATCHKEY_KEY_CACHE_SIZE: count(DEFAULT_CACHE_OPTIONS.maxEntries),
    /** Longest a request may take before it is answered 503 (so none hangs on an unreachable database). */
    LATCHKEY_API_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(1_500),

    // Jobs and notifications (SPEC §11).
    /** How often the in-process jobs run (expiry notices, the unused-key policy, pruning, email); 0 turns them off. */
    LATCHKEY_JOB_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
    /** Where notification emails go out: smtp://user:pass@host:587 (STARTTLS when offered) or smtps:// (TLS). Unset: no email. */
    SMTP_URL: z
      .string()
      .superRefine((value, ctx) => {
        const problem = smtpUrlProblem(value);
        if (problem) ctx.addIssue({ code: "custom", message: `SMTP_URL ${problem}` });
      })
      .optional(),
    /** The From of notification emails. */
    SMTP_FROM: z.string().min(3).max(320).default("Latchkey <latchkey@localhost>"),

    // Limits shared by several instances (SPEC §14).
    /** redis://[user:password@]host:6379[/db] (or rediss:// for TLS). Unset: each instance counts its own limits. */
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/[^\s]+$/, "REDIS_URL must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379")
      .optional(),

    // Single sign-on with OpenID Connect (SPEC §12): all three set, or none.
    /** The provider's issuer URL; its /.well-known/openid-configuration is read at sign-in. */
    OIDC_ISSUER: z.url({ protocol: /^https?$/, message: "OIDC_ISSUER must be an http(s) URL" }).optional(),
    OIDC_CLIENT_ID: z.string().min(1).max(500).optional(),
    OIDC_CLIENT_SECRET: z.string().min(1).max(2000).optional(),
    /** The role of someone the provider vouches for who is neither a person here nor invited. Unset: they are refused. */
    OIDC_DEFAULT_ROLE: z
      .enum(ROLE_VALUES.filter((role) => role !== "owner") as [Exclude<Role, "owner">, ...Exclude<Role, "owner">[]], {
        message: "OIDC_DEFAULT_ROLE must be admin, staff, read_only or lite",
      })
      .optional(),
  })
  .superRefine((env, ctx) => {
    const oidc = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET].filter(Boolean).length;
    if (oidc !== 0 && oidc !== 3) {
      ctx.addIssue({ code: "custom", path: ["OIDC_ISSUER"], message: "set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET together" });
    }
    if (env.OIDC_DEFAULT_ROLE && oidc === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["OIDC_DEFAULT_ROLE"],
        message: "OIDC_DEFAULT_ROLE needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET",
      });
    }
  });

/** Why an SMTP_URL cannot be used, or null. */
function smtpUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be a URL such as smtp://user:password@mail.example.com:587";
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") return "must start with smtp:// or smtps://";
  if (!url.hostname) return "must name a host";
  return null;
}

export type Env = z.infer<typeof envSchema>;

export function readEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset" (a blank line in a .env file should not fail validation).
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

export function dataDir(env: Env = readEnv()): string {
  return path.resolve(env.LATCHKEY_DATA_DIR);
}

/** Which database to open (db/open.ts): DATABASE_URL, or the embedded one in the data folder. */
export function databaseSettings(env: Env = readEnv()): DatabaseSettings {
  return { url: env.DATABASE_URL, dataDir: dataDir(env), poolMax: env.DATABASE_POOL_MAX };
}

export interface ApiSettings {
  /** Where the limits are counted across instances; null: in this process. */
  redisUrl: string | null;
  keyRateLimit: number;
  authFailureLimit: number;
  cacheTtlMs: number;
  cacheSize: number;
  deadlineMs: number;
}

/** The REST API's settings. */
export function apiSettings(env: Env = readEnv()): ApiSettings {
  return {
    redisUrl: env.REDIS_URL ?? null,
    keyRateLimit: env.LATCHKEY_API_RATE_LIMIT,
    authFailureLimit: env.LATCHKEY_API_AUTH_FAILURE_LIMIT,
    cacheTtlMs: env.LATCHKEY_KEY_CACHE_TTL_MS,
    cacheSize: env.LATCHKEY_KEY_CACHE_SIZE,
    deadlineMs: env.LATCHKEY_API_DEADLINE_MS,
  };
}

/** Which proxies' X-Forwarded-For entries the server believes (see server/http/client-ip). */
export function proxyTrust(env: Env = readEnv()): ProxyTrust {
  return {
    ranges: env.LATCHKEY_TRUSTED_PROXIES ? parseTrustedProxies(env.LATCHKEY_TRUSTED_PROXIES) : undefined,
    immediatePeer: env.LATCHKEY_TRUST_PROXY === "1",
  };
}

export interface JobSettings {
  /** Milliseconds between runs of each job; 0: the scheduler does not start. */
  intervalMs: number;
  /** Notification email, when SMTP_URL is set. */
  mail: { url: string; from: string } | null;
}

/** The in-process jobs' settings (lib/jobs) and the notification email's (lib/mail). */
export function jobSettings(env: Env = readEnv()): JobSettings {
  return {
    intervalMs: env.LATCHKEY_JOB_INTERVAL_SECONDS * 1000,
    mail: env.SMTP_URL ? { url: env.SMTP_URL, from: env.SMTP_FROM } : null,
  };
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The role given to someone the provider vouches for who is neither a person here nor invited; null: refused. */
  defaultRole: Exclude<Role, "owner"> | null;
}

/** Single sign-on's settings, or null when OIDC_ISSUER (and its two companions) are unset. */
export function oidcSettings(env: Env = readEnv()): OidcSettings | null {
  if (!env.OIDC_ISSUER || !env.OIDC_CLIENT_ID || !env.OIDC_CLIENT_SECRET) return null;
  return {
    issuer: env.OIDC_ISSUER, // as the provider writes it (Auth0's ends in "/"): the `iss` of its tokens must match
    clientId: env.OIDC_CLIENT_ID,
    clientSecret: env.OIDC_CLIENT_SECRET,
    defaultRole: env.OIDC_DEFAULT_ROLE ?? null,
  };
}
