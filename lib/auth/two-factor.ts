import "server-only";
import { and, count, eq, gt, isNull, lt, or } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { organisationSettings, recoveryCodes, sessions, users, userTwoFactor } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { confirmationRequired, conflict, forbidden, ServiceError } from "@/lib/errors";
import { sealSecret } from "@/lib/keys/crypto";
import { db, keyring } from "@/lib/runtime";
import type { Actor } from "./actor";
import { authorize, isRecentlyConfirmed } from "./authorize";
import { checkOwnPassword, confirmationNeeds, markConfirmed } from "./confirm";
import { generateRecoveryCodes, normaliseRecoveryCode, recoveryCodeDigest } from "./recovery-codes";
import { SESSION_MAX_AGE_MS, findPendingSession } from "./sessions";
import { checkTotp, formatSetupKey, generateTotpSecret, normaliseTotpCode, totpUri } from "./totp";
import { openTotpSecret, withTwoFactorCode, type CodeRefusal, type CodeUse } from "./two-factor-codes";
import { twoFactorRequired } from "./two-factor-policy";

/**
 * Two-factor authentication (SPEC §12): set-up (a sealed TOTP secret, confirmed by a first code),
 * 10 recovery codes shown once and stored as digests, the second sign-in step, Turn off (a code,
 * and Confirm it's you), new recovery codes (a code). Only people, only in the browser.
 */

const BROWSER_ONLY = "Two-factor authentication is only managed in the browser.";
export const ALREADY_ON_MESSAGE = "Two-factor authentication is already on.";
export const NOT_ON_MESSAGE = "Two-factor authentication is not on.";
export const SET_UP_FIRST_MESSAGE = "Start again: choose Set up two-factor authentication for a new QR code.";
export const REQUIRED_BY_POLICY_MESSAGE = "Your organisation requires two-factor authentication: it cannot be turned off.";
export const SIGN_IN_EXPIRED_MESSAGE = "Your sign-in has expired. Sign in again.";

export interface TwoFactorStatus {
  enabled: boolean;
  enabledAt: Date | null;
  /** Recovery codes not used yet. */
  recoveryCodesLeft: number;
  /** The organisation's policy covers this person (then Turn off is refused). */
  required: boolean;
}

function requirePerson(actor: Actor, options: { beforeTwoFactorSetUp?: boolean } = {}): void {
  authorize(actor, null, { browserOnly: BROWSER_ONLY, ...options });
}

async function readPolicyFor(userId: string): Promise<boolean> {
  const [row] = await db()
    .select({ role: users.role, kind: users.kind, policy: organisationSettings.requireTwoFactor })
    .from(users)
    .leftJoin(organisationSettings, eq(organisationSettings.id, 1))
    .where(eq(users.id, userId))
    .limit(1);
  return row ? twoFactorRequired(row.policy ?? "off", row.role, row.kind) : false;
}

export async function getTwoFactorStatus(actor: Actor): Promise<TwoFactorStatus> {
  requirePerson(actor, { beforeTwoFactorSetUp: true });
  const [row] = await db().select({ enabledAt: userTwoFactor.enabledAt }).from(userTwoFactor).where(eq(userTwoFactor.userId, actor.userId));
  const [left] = await db()
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, actor.userId), isNull(recoveryCodes.usedAt)));
  const enabledAt = row?.enabledAt ?? null;
  return {
    enabled: enabledAt !== null,
    enabledAt,
    recoveryCodesLeft: enabledAt ? (left?.n ?? 0) : 0,
    required: await readPolicyFor(actor.userId),
  };
}

/**
 * Set up two-factor authentication: a fresh secret, sealed to the person (kind "totp"), replacing
 * any set-up left unfinished. Nothing is on until `enableTwoFactor` gets a code of it. Returns what
 * the dialog shows: the otpauth:// URI for the QR code and the Setup key to type instead.
 */
export async function beginTwoFactorSetup(actor: Actor, now: Date = new Date()): Promise<{ uri: string; setupKey: string }> {
  requirePerson(actor, { beforeTwoFactorSetUp: true });
  const secret = generateTotpSecret();
  const sealed = sealSecret(secret, actor.userId, keyring(), "totp");
  const values = {
    secretCiphertext: sealed.ciphertext,
    secretNonce: sealed.nonce,
    keyVersion: sealed.version,
    lastUsedStep: null,
    updatedAt: now,
  };
  const [row] = await db()
    .insert(userTwoFactor)
    .values({ userId: actor.userId, ...values, createdAt: now })
    .onConflictDoUpdate({ target: userTwoFactor.userId, set: values, setWhere: isNull(userTwoFactor.enabledAt) })
    .returning({ userId: userTwoFactor.userId });
  if (!row) throw conflict(ALREADY_ON_MESSAGE);
  return { uri: totpUri(secret, actor.email), setupKey: formatSetupKey(secret) };
}

/** Replaces the person's recovery codes with 10 new ones, inside `tx`; returns them (shown once). */
async function replaceRecoveryCodes(tx: Tx, userId: string, now: Date): Promise<string[]> {
  const codes = generateRecoveryCodes();
  await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await tx
    .insert(recoveryCodes)
    .values(
      codes.map((code) => ({ userId, codeDigest: recoveryCodeDigest(normaliseRecoveryCode(code)!, userId, keyring()), createdAt: now })),
    );
  return codes;
}

/**
 * Turn on: the first code of the secret set-up showed proves the app has it. Turns two-factor
 * authentication on, makes 10 recovery codes (any older ones go) and returns them, audited
 * (user.two_factor_enabled). Needs no Confirm it's you: it adds protection, and a person the
 * policy holds back must be able to do it.
 */
export async function enableTwoFactor(actor: Actor, code: string, now: Date = new Date()): Promise<{ recoveryCodes: string[] }> {
  requirePerson(actor, { beforeTwoFactorSetUp: true });
  const [row] = await db().select().from(userTwoFactor).where(eq(userTwoFactor.userId, actor.userId)).limit(1);
  if (!row) throw conflict(SET_UP_FIRST_MESSAGE);
  if (row.enabledAt) throw conflict(ALREADY_ON_MESSAGE);
  const secret = openTotpSecret(row, actor.userId);
  // The code is checked against the secret read above, and the row is turned on only if it still
  // holds that secret (a set-up restarted meanwhile in another tab makes this one start again).
  const check = async (tx: Tx, userId: string, input: string, at: Date): Promise<CodeUse | CodeRefusal> => {
    const totp = normaliseTotpCode(input);
    if (!totp) return "wrong";
    const result = checkTotp(secret, totp, at, row.lastUsedStep);
    if (!result.ok) return result.reason;
    const [on] = await tx
      .update(userTwoFactor)
      .set({ enabledAt: at, lastUsedStep: result.step, updatedAt: at })
      .where(
        and(
          eq(userTwoFactor.userId, userId),
          isNull(userTwoFactor.enabledAt),
          eq(userTwoFactor.secretCiphertext, row.secretCiphertext),
          or(isNull(userTwoFactor.lastUsedStep), lt(userTwoFactor.lastUsedStep, result.step)),
        ),
      )
      .returning({ userId: userTwoFactor.userId });
    if (!on) throw conflict(SET_UP_FIRST_MESSAGE);
    return { method: "totp" };
  };
  return withTwoFactorCode(actor, code, "turn_on", now, (tx) => issueRecoveryCodes(tx, actor, "user.two_factor_enabled", now), check);
}

/** Inside `tx`: a fresh set of recovery codes for the actor (the old ones stop working), audited as `action`. */
async function issueRecoveryCodes(
  tx: Tx,
  actor: Actor,
  action: "user.two_factor_enabled" | "user.recovery_codes_regenerated",
  now: Date,
): Promise<{ recoveryCodes: string[] }> {
  const codes = await replaceRecoveryCodes(tx, actor.userId, now);
  await recordAudit(tx, actor, {
    action,
    targetType: "user",
    targetId: actor.userId,
    targetLabel: actor.email,
    metadata: { recovery_codes: codes.length },
  });
  return { recoveryCodes: codes };
}

async function requireEnabled(actor: Actor): Promise<void> {
  const [row] = await db().select({ enabledAt: userTwoFactor.enabledAt }).from(userTwoFactor).where(eq(userTwoFactor.userId, actor.userId));
  if (!row?.enabledAt) throw conflict(NOT_ON_MESSAGE);
}

/**
 * Turn off: a code (TOTP or recovery), and Confirm it's you (SPEC §12 lists turning 2FA off).
 * When the session's confirmation is older than 15 minutes the same dialog asks the password too
 * (`password`), and the one code serves both: the session is confirmed and 2FA turned off in one
 * transaction (a TOTP code works only once, so a separate confirmation would need the next one).
 * Refused while the organisation's policy requires 2FA of this person. Deletes the secret and the
 * recovery codes, audited (user.two_factor_disabled).
 */
export async function disableTwoFactor(
  actor: Actor,
  input: { code: string; password?: string | null },
  now: Date = new Date(),
): Promise<void> {
  requirePerson(actor);
  await requireEnabled(actor);
  if (await readPolicyFor(actor.userId)) throw forbidden(REQUIRED_BY_POLICY_MESSAGE);
  const recent = isRecentlyConfirmed(actor, now);
  if (!recent) {
    if (!actor.sessionId) throw confirmationRequired();
    const needs = await confirmationNeeds(actor.userId);
    if (needs.password) {
      if (!input.password) throw confirmationRequired();
      await checkOwnPassword(actor, input.password, now);
    }
  }
  await withTwoFactorCode(actor, input.code, "turn_off", now, async (tx, use) => {
    if (!recent) await markConfirmed(tx, actor, now, use);
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, actor.userId));
    await tx.delete(userTwoFactor).where(eq(userTwoFactor.userId, actor.userId));
    await recordAudit(tx, actor, {
      action: "user.two_factor_disabled",
      targetType: "user",
      targetId: actor.userId,
      targetLabel: actor.email,
      metadata: { second_factor: use.method },
    });
  });
}

/** Generate new recovery codes: a code first; the old codes stop working; audited. */
export async function regenerateRecoveryCodes(actor: Actor, code: string, now: Date = new Date()): Promise<{ recoveryCodes: string[] }> {
  requirePerson(actor);
  await requireEnabled(actor);
  return withTwoFactorCode(actor, code, "recovery_codes", now, (tx) =>
    issueRecoveryCodes(tx, actor, "user.recovery_codes_regenerated", now),
  );
}

/**
 * The second sign-in step: a sign-in waiting for its code (`sessionId`, from the browser's cookie)
 * gets a TOTP or an unused recovery code. The session then becomes a normal one (12 hours,
 * confirmed now), audited (auth.two_factor_passed with the method; auth.recovery_code_used with
 * how many remain). A wrong code leaves it waiting, counted towards the limit.
 */
export async function passSecondFactor(
  sessionId: string,
  code: string,
  ip: string | null,
  now: Date = new Date(),
): Promise<{ userId: string }> {
  const pending = await findPendingSession(sessionId, now);
  if (!pending) throw new ServiceError("unauthorized", SIGN_IN_EXPIRED_MESSAGE);
  const who: Actor = { userId: pending.userId, email: pending.email, name: pending.name, role: pending.role, ip, sessionId };
  await withTwoFactorCode(who, code, "sign_in", now, async (tx, use) => {
    const [signedIn] = await tx
      .update(sessions)
      .set({ secondFactorPending: false, confirmedAt: now, lastActiveAt: now, expiresAt: new Date(now.getTime() + SESSION_MAX_AGE_MS) })
      .where(and(eq(sessions.id, sessionId), eq(sessions.secondFactorPending, true), gt(sessions.expiresAt, now)))
      .returning({ id: sessions.id });
    if (!signedIn) throw new ServiceError("unauthorized", SIGN_IN_EXPIRED_MESSAGE);
    await recordAudit(tx, who, {
      action: "auth.two_factor_passed",
      targetType: "user",
      targetId: pending.userId,
      targetLabel: pending.email,
      metadata: { method: use.method },
    });
  });
  return { userId: pending.userId };
}
