import path from "node:path";
import { z } from "zod";
import { parseTrustedProxies, type ProxyTrust } from "./proxies";

// Every setting Latchkey reads, validated once. The README's "Settings" table mirrors this.
const envSchema = z.object({
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
});

export type Env = z.infer<typeof envSchema>;

export function readEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset" (a blank line in a .env file should not fail validation).
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, value]) => value !== undefined && value !== ""),
  );
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

/** Which proxies' X-Forwarded-For entries the server believes (see server/http/client-ip). */
export function proxyTrust(env: Env = readEnv()): ProxyTrust {
  return {
    ranges: env.LATCHKEY_TRUSTED_PROXIES ? parseTrustedProxies(env.LATCHKEY_TRUSTED_PROXIES) : undefined,
    immediatePeer: env.LATCHKEY_TRUST_PROXY === "1",
  };
}
