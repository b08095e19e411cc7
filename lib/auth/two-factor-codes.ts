import "server-only";
import { and, count, eq, isNull, lt, or } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { recoveryCodes, userTwoFactor } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { invalid, rateLimited } from "@/lib/errors";
import { openSecret } from "@/lib/keys/crypto";
import { db, keyring } from "@/lib/runtime";
import type { Actor } from "./actor";
import { normaliseRecoveryCode, recoveryCodeDigest } from "./recovery-codes";
import { admitAttempt, recordSuccess, retryIn, twoFactorThrottleKeys } from "./throttle";
import { checkTotp, normaliseTotpCode } from "./totp";

/**
 * Checking a person's two-factor code (SPEC §12): a TOTP code from their app, or one of their
 * recovery codes. Every place that asks for one (the second sign-in step, Turn off, Confirm it's
 * you, new recovery codes) goes through `withTwoFactorCode`, so they share one rate limit and one
 * audit trail, and a code is used up in the same transaction as what it allowed.
 */

export const WRONG_CODE_MESSAGE = "The authentication code is not correct, or it has expired.";
export const REUSED_CODE_MESSAGE = "That code has already been used. Wait for the next code in your app.";
export const USED_RECOVERY_CODE_MESSAGE = "That recovery code has already been used. Each one works once.";

/** Why a code was refused. */
export type CodeRefusal = "wrong" | "reused" | "recovery_code_used";
/** How a code was accepted. */
export type CodeUse = { method: "totp" } | { method: "recovery_code"; remaining: number };

const REFUSAL_MESSAGES: Record<CodeRefusal, string> = {
  wrong: WRONG_CODE_MESSAGE,
  reused: REUSED_CODE_MESSAGE,
  recovery_code_used: USED_RECOVERY_CODE_MESSAGE,
};

/** What asked for the code, in the audit rows. */
export type CodePurpose = "sign_in" | "turn_on" | "turn_off" | "confirm" | "recovery_codes";

/** The person's TOTP secret, opened (it is sealed to their user id, kind "totp"). */
export function openTotpSecret(row: { secretCiphertext: string; secretNonce: string; keyVersion: number }, userId: string): string {
  return openSecret({ ciphertext: row.secretCiphertext, nonce: row.secretNonce, version: row.keyVersion }, userId, keyring(), "totp");
}

/**
 * Uses `input` up if it is a valid code of a person with two-factor authentication on: a TOTP code
 * newer than the last accepted one (lastUsedStep moves forward in one conditional UPDATE, so two
 * concurrent uses of one code cannot both pass), or an unused recovery code (marked used in one
 * conditional UPDATE: once, even concurrently).
 */
export async function useTwoFactorCode(tx: Tx, userId: string, input: string, now: Date): Promise<CodeUse | CodeRefusal> {
  const [row] = await tx.select().from(userTwoFactor).where(eq(userTwoFactor.userId, userId)).limit(1);
  if (!row?.enabledAt) return "wrong";
  const totp = normaliseTotpCode(input);
  if (totp) {
    const check = checkTotp(openTotpSecret(row, userId), totp, now, row.lastUsedStep);
    if (!check.ok) return check.reason;
    const [moved] = await tx
      .update(userTwoFactor)
      .set({ lastUsedStep: check.step, updatedAt: now })
      .where(and(eq(userTwoFactor.userId, userId), or(isNull(userTwoFactor.lastUsedStep), lt(userTwoFactor.lastUsedStep, check.step))))
      .returning({ userId: userTwoFactor.userId });
    return moved ? { method: "totp" } : "reused";
  }
  const recovery = normaliseRecoveryCode(input);
  if (!recovery) return "wrong";
  const digest = recoveryCodeDigest(recovery, userId, keyring());
  const [used] = await tx
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeDigest, digest), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id });
  if (!used) {
    const [known] = await tx
      .select({ id: recoveryCodes.id })
      .from(recoveryCodes)
      .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeDigest, digest)))
      .limit(1);
    return known ? "recovery_code_used" : "wrong";
  }
  const [left] = await tx
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
  return { method: "recovery_code", remaining: left?.n ?? 0 };
}

/**
 * Admits a code attempt (the "two_factor" limit: per person and address, per address, and per
 * person from anywhere), checks the code, and on success runs `then` in the same transaction the
 * code is used up in. A refused code changes nothing but the limiter, is audited
 * (auth.two_factor_failed) and throws an "invalid" error on the field "code"; a limited attempt is
 * never checked, and is audited once per window (auth.two_factor_rate_limited).
 */
export async function withTwoFactorCode<T>(
  /** A signed-in person, or one whose sign-in waits for the code (an actor with no session yet). */
  who: Actor,
  code: string,
  purpose: CodePurpose,
  now: Date,
  then: (tx: Tx, use: CodeUse) => Promise<T>,
  check: (tx: Tx, userId: string, input: string, now: Date) => Promise<CodeUse | CodeRefusal> = useTwoFactorCode,
): Promise<T> {
  const target = { targetType: "user" as const, targetId: who.userId, targetLabel: who.email };
  const keys = twoFactorThrottleKeys(who.userId, who.ip);
  const admission = await admitAttempt(keys, now, async (tx, refusal) => {
    if (!refusal.audit) return;
    await recordAudit(tx, who, {
      action: "auth.two_factor_rate_limited",
      ...target,
      metadata: { purpose, limited_by: refusal.limitedBy, retry_after_seconds: refusal.retryAfterSeconds },
    });
  });
  if (!admission.admitted) {
    throw rateLimited(`Too many wrong codes. ${retryIn(admission.retryAfterSeconds)}`, admission.retryAfterSeconds);
  }
  const outcome = await db().transaction(async (tx): Promise<{ refused: CodeRefusal } | { value: T }> => {
    const use = await check(tx, who.userId, code, now);
    if (typeof use === "string") return { refused: use };
    if (use.method === "recovery_code") {
      await recordAudit(tx, who, { action: "auth.recovery_code_used", ...target, metadata: { purpose, remaining: use.remaining } });
    }
    return { value: await then(tx, use) };
  });
  if ("refused" in outcome) {
    await recordAudit(db(), who, { action: "auth.two_factor_failed", ...target, metadata: { purpose, reason: outcome.refused } });
    throw invalid(REFUSAL_MESSAGES[outcome.refused], "code");
  }
  await recordSuccess(keys, admission, now);
  return outcome.value;
}
