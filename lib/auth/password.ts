import { hash, verify } from "@node-rs/argon2";

// Argon2id with OWASP's minimum parameters (19 MiB, 2 passes); @node-rs/argon2 defaults to Argon2id.
const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * The password hash of an account that has no password: one single sign-on made (SPEC §12). No
 * argon2 hash looks like it, so verifyPassword refuses every password against it.
 */
export const NO_PASSWORD_HASH = "!none";

/** Whether an account has a password it can sign in (and confirm) with. */
export function hasPassword(passwordHash: string): boolean {
  return passwordHash !== NO_PASSWORD_HASH;
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this when the email is unknown keeps the timing of both failures alike.
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword("latchkey-timing-equaliser");
  await verifyPassword(await dummyHash, password);
}
