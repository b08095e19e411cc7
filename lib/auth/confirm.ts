import "server-only";
import { and, eq, isNotNull } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { sessions, users, userTwoFactor } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { invalid, ServiceError } from "@/lib/errors";
import { db } from "@/lib/runtime";
import type { Actor } from "./actor";
import { authorize } from "./authorize";
import { hasPassword, verifyPassword } from "./password";
import { admitOwnPasswordAttempt } from "./password-attempts";
import { withTwoFactorCode, type CodeUse } from "./two-factor-codes";

export const WRONG_PASSWORD_MESSAGE = "The password is not correct.";
export const ENTER_PASSWORD_MESSAGE = "Enter your password.";
export const ENTER_CODE_MESSAGE = "Enter the authentication code from your app, or a recovery code.";
/** A person with neither a password nor two-factor authentication (made by single sign-on) confirms by signing in again. */
export const SIGN_IN_AGAIN_MESSAGE = "Your account has no password: sign in again with single sign-on to confirm it's you.";
const SESSION_ENDED_MESSAGE = "Your session has ended. Sign in again.";

/** What a person has to confirm with: their password (unless single sign-on made the account) and, with 2FA, a code. */
export interface ConfirmationNeeds {
  password: boolean;
  code: boolean;
}

export async function confirmationNeeds(userId: string): Promise<ConfirmationNeeds> {
  const [row] = await db()
    .select({ passwordHash: users.passwordHash, twoFactorUserId: userTwoFactor.userId })
    .from(users)
    .leftJoin(userTwoFactor, and(eq(userTwoFactor.userId, users.id), isNotNull(userTwoFactor.enabledAt)))
    .where(eq(users.id, userId))
    .limit(1);
  if (!row) throw new ServiceError("unauthorized", SESSION_ENDED_MESSAGE);
  return { password: hasPassword(row.passwordHash), code: row.twoFactorUserId !== null };
}

/**
 * Checks the signed-in person's own password, under the limit it shares with Change password.
 * A wrong one is audited as auth.confirm_failed and refused on the field "password".
 */
export async function checkOwnPassword(actor: Actor, password: string, now: Date): Promise<void> {
  const { succeeded } = await admitOwnPasswordAttempt(actor, "auth.confirm_rate_limited", now);
  const [user] = await db().select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, actor.userId)).limit(1);
  if (!user || !(await verifyPassword(user.passwordHash, password))) {
    await recordAudit(db(), actor, { action: "auth.confirm_failed", targetType: "user", targetId: actor.userId, targetLabel: actor.email });
    throw invalid(WRONG_PASSWORD_MESSAGE, "password");
  }
  await succeeded();
}

/** Marks the actor's session confirmed at `now`, audited (auth.confirmed), inside `tx`. */
export async function markConfirmed(tx: Tx, actor: Actor, now: Date, use?: CodeUse): Promise<void> {
  const [session] = await tx
    .update(sessions)
    .set({ confirmedAt: now })
    .where(and(eq(sessions.id, actor.sessionId!), eq(sessions.userId, actor.userId)))
    .returning({ id: sessions.id });
  if (!session) throw new ServiceError("unauthorized", SESSION_ENDED_MESSAGE);
  await recordAudit(tx, actor, {
    action: "auth.confirmed",
    targetType: "user",
    targetId: actor.userId,
    targetLabel: actor.email,
    ...(use ? { metadata: { second_factor: use.method } } : {}),
  });
}

/**
 * Confirm it's you (SPEC §12): the signed-in person types their password again (and, with
 * two-factor authentication, a code), and their browser session counts as confirmed
 * (sessions.confirmed_at) for the next 15 minutes of sensitive operations (authorize's `recent`).
 * Wrong passwords are audited and slowed down with the password change form's limiter (both guess
 * the same password from the same person, so they share one budget per (user, address)); wrong
 * codes with the two-factor limiter. The code is only checked once the password was right, and is
 * used up only when the confirmation is recorded. A person with no password (single sign-on) and
 * two-factor authentication confirms with the code alone; with neither, by signing in again.
 */
export async function confirmIdentity(
  actor: Actor,
  input: { password?: string | null; code?: string | null },
  now: Date = new Date(),
): Promise<{ confirmedAt: Date }> {
  authorize(actor, null, { browserOnly: "Confirming your identity is only done in the browser.", beforeTwoFactorSetUp: true });
  if (!actor.sessionId) throw new ServiceError("unauthorized", SESSION_ENDED_MESSAGE);
  const needs = await confirmationNeeds(actor.userId);
  if (!needs.password && !needs.code) throw invalid(SIGN_IN_AGAIN_MESSAGE);
  const password = input.password ?? "";
  const code = input.code?.trim() ?? "";
  if (needs.password && !password) throw invalid(ENTER_PASSWORD_MESSAGE, "password");
  if (needs.code && !code) throw invalid(ENTER_CODE_MESSAGE, "code");

  if (needs.password) await checkOwnPassword(actor, password, now);
  if (needs.code) await withTwoFactorCode(actor, code, "confirm", now, (tx, use) => markConfirmed(tx, actor, now, use));
  else await db().transaction((tx) => markConfirmed(tx, actor, now));
  return { confirmedAt: now };
}
