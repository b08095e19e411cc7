import { hkdfSync } from "node:crypto";

/** The version of the derived keys new data is written with. Older versions stay readable. */
export const CURRENT_KEY_VERSION = 1;

// "recovery": the HMAC of two-factor recovery codes (lib/auth/recovery-codes.ts).
export type KeyPurpose = "auth" | "encryption" | "hmac" | "invite" | "recovery";

export interface Keyring {
  version: number;
  derive(purpose: KeyPurpose, version?: number): Buffer;
}

/** Derives independent 256-bit keys from the server secret with HKDF-SHA256, one per purpose and version. */
export function createKeyring(secret: string): Keyring {
  if (secret.length < 32) throw new Error("The server secret must be at least 32 characters.");
  const cache = new Map<string, Buffer>();
  return {
    version: CURRENT_KEY_VERSION,
    derive(purpose, version = CURRENT_KEY_VERSION) {
      const id = `${purpose}:v${version}`;
      let key = cache.get(id);
      if (!key) {
        key = Buffer.from(hkdfSync("sha256", secret, "latchkey", `latchkey:${id}`, 32));
        cache.set(id, key);
      }
      return key;
    },
  };
}
