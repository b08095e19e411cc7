import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import type { Keyring } from "@/lib/config/keyring";

export interface SealedSecret {
  ciphertext: string; // base64: AES-256-GCM output followed by the 16-byte tag
  nonce: string; // base64, 96 bits
  version: number;
}

/** What a sealed secret belongs to: an API key's secret (the row id binds it) or a person's TOTP secret (their user id). */
export type SealedKind = "api_key" | "totp";

const aad = (kind: SealedKind, id: string, version: number) => Buffer.from(`latchkey:${kind}:${id}:v${version}`);

/**
 * Encrypts a secret for its row. Its kind, the row id (and the key version) are bound as associated
 * data, so a ciphertext copied onto another row or kind, or read with another version, fails to open.
 */
export function sealSecret(plaintext: string, keyId: string, ring: Keyring, kind: SealedKind = "api_key"): SealedSecret {
  const version = ring.version;
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", ring.derive("encryption", version), nonce);
  cipher.setAAD(aad(kind, keyId, version));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return { ciphertext: body.toString("base64"), nonce: nonce.toString("base64"), version };
}

/** Opens a sealed secret; throws when the ciphertext, nonce, row id or version do not match. */
export function openSecret(sealed: SealedSecret, keyId: string, ring: Keyring, kind: SealedKind = "api_key"): string {
  const body = Buffer.from(sealed.ciphertext, "base64");
  if (body.length < 17) throw new Error("ciphertext too short");
  const decipher = createDecipheriv("aes-256-gcm", ring.derive("encryption", sealed.version), Buffer.from(sealed.nonce, "base64"));
  decipher.setAAD(aad(kind, keyId, sealed.version));
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8");
}

/** The lookup digest of a full key: HMAC-SHA256 under a key derived from the server secret. */
export function digestApiKey(key: string, ring: Keyring): string {
  return createHmac("sha256", ring.derive("hmac")).update(key).digest("hex");
}
