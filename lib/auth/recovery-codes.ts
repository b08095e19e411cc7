import { createHmac, randomInt } from "node:crypto";
import type { Keyring } from "@/lib/config/keyring";

/**
 * Recovery codes (SPEC §12): 10 per person, each `xxxxx-xxxxx` in lowercase Crockford base32
 * (no i, l, o or u: nothing to misread), 50 random bits each. Only their HMAC is stored; each
 * works once. People type them as they like: case, spaces and dashes are ignored, and the
 * letters Crockford reads as digits (i, l -> 1; o -> 0) are read so.
 */
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const LENGTH = 10;

/** One fresh code, as shown: "k3f9a-2mx7q". */
export function generateRecoveryCode(): string {
  let code = "";
  for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

export function generateRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(generateRecoveryCode());
  return [...codes];
}

/** What a typed code is, in the stored form (10 characters, no dash), or null if it cannot be one. */
export function normaliseRecoveryCode(input: string): string | null {
  const code = input.toLowerCase().replace(/[\s-]/g, "").replace(/[il]/g, "1").replace(/o/g, "0");
  if (code.length !== LENGTH) return null;
  for (const char of code) if (!ALPHABET.includes(char)) return null;
  return code;
}

/**
 * The stored digest of a normalised code: HMAC-SHA256 under the keyring's recovery-code key, bound
 * to the person (the same code of another person has another digest). The codes carry 50 random
 * bits, so a keyed hash is enough: no password hashing is needed to make guessing hopeless.
 */
export function recoveryCodeDigest(normalised: string, userId: string, ring: Keyring): string {
  return createHmac("sha256", ring.derive("recovery")).update(`${userId}:${normalised}`).digest("hex");
}
