import { timingSafeEqual } from "node:crypto";
import { HOTP, Secret, TOTP } from "otpauth";

/**
 * TOTP (RFC 6238) as SPEC §12 sets it: SHA-1, 6 digits, 30-second steps, one step of clock drift
 * either way. Pure functions: the secret is a base32 string (what authenticator apps take), time
 * is passed in, and which step a code matched is returned so the caller can refuse it next time.
 */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one (a phone's clock a little off). */
export const TOTP_DRIFT_STEPS = 1;
export const TOTP_ISSUER = "Latchkey";

/** A fresh 160-bit secret (RFC 4226's recommended length), base32 as the Setup key shows it. */
export function generateTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI the set-up QR code carries: issuer Latchkey, the person's email as the label. */
export function totpUri(secret: string, email: string): string {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label: email,
    secret: Secret.fromBase32(secret),
    algorithm: "SHA1",
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  }).toString();
}

/** The Setup key as people type it: groups of four, e.g. "ABCD EFGH ...". */
export function formatSetupKey(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}

/** The time step `now` falls in. */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code of one step (for tests and the check below). */
export function totpCodeAt(secret: string, step: number): string {
  return HOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: TOTP_DIGITS, counter: step });
}

/** A 6-digit code as typed: spaces and dashes ignored ("123 456"). Null when it is not one. */
export function normaliseTotpCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, "");
  return /^[0-9]{6}$/.test(code) ? code : null;
}

export type TotpCheck =
  /** The code of `step`, which is newer than the last accepted one. */
  | { ok: true; step: number }
  /** Right code, but its step was already accepted (the same code, or an older one, again). */
  | { ok: false; reason: "reused" }
  /** Not the code of any step in the window: mistyped, from another account, or expired. */
  | { ok: false; reason: "wrong" };

function sameCode(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Checks `code` against the steps around `now` (± TOTP_DRIFT_STEPS). A step at or before
 * `lastUsedStep` never passes again, so a code seen over someone's shoulder is worthless once used.
 * Every step in the window is compared (no early return) so timing says nothing about which one.
 */
export function checkTotp(secret: string, code: string, now: Date, lastUsedStep: number | null): TotpCheck {
  const normalised = normaliseTotpCode(code);
  if (!normalised) return { ok: false, reason: "wrong" };
  const current = totpStep(now);
  let fresh: number | null = null;
  let reused = false;
  for (let step = current - TOTP_DRIFT_STEPS; step <= current + TOTP_DRIFT_STEPS; step++) {
    if (!sameCode(totpCodeAt(secret, step), normalised)) continue;
    if (lastUsedStep !== null && step <= lastUsedStep) reused = true;
    else fresh = step;
  }
  if (fresh !== null) return { ok: true, step: fresh };
  return { ok: false, reason: reused ? "reused" : "wrong" };
}
