import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export class ConfigError extends Error {}

export interface SecretOptions {
  secret?: string;
  secretFile?: string;
  dataDir: string;
  /** Generate a secret into the data folder when none is configured. */
  allowGenerate: boolean;
  log?: (message: string) => void;
}

/**
 * Resolves the one server secret every other key is derived from. Order: LATCHKEY_SECRET,
 * LATCHKEY_SECRET_FILE, then (when allowed) a secret generated once into the data folder.
 */
export function resolveServerSecret(opts: SecretOptions): string {
  if (opts.secret) return opts.secret;
  if (opts.secretFile) {
    let content: string;
    try {
      content = fs.readFileSync(opts.secretFile, "utf8").trim();
    } catch (error) {
      throw new ConfigError(`LATCHKEY_SECRET_FILE names ${opts.secretFile}, which cannot be read: ${(error as Error).message}`);
    }
    if (content.length < 32) {
      throw new ConfigError(`The secret in LATCHKEY_SECRET_FILE must be at least 32 characters.`);
    }
    return content;
  }
  if (!opts.allowGenerate) {
    throw new ConfigError(
      "LATCHKEY_SECRET (or LATCHKEY_SECRET_FILE) is required in production with DATABASE_URL. " +
        "Generate one with: openssl rand -base64 48",
    );
  }
  const file = path.join(opts.dataDir, "secret");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  // "wx" fails if another process created it in between: then read theirs.
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
  } catch {
    return fs.readFileSync(file, "utf8").trim();
  }
  (opts.log ?? console.warn)(
    `[latchkey] WARNING: LATCHKEY_SECRET is not set; generated one into ${file} (mode 0600). ` +
      "Back it up: without it stored API keys cannot be decrypted.",
  );
  return secret;
}
