import "server-only";
import { and, eq } from "drizzle-orm";
import { sessions, users } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import { invalid, ServiceError } from "@/lib/errors";
import { db } from "@/lib/runtime";
import type { Actor } from "./actor";
import { authorize } from "./authorize";
import { verifyPassword } from "./password";
import { admitOwnPasswordAttempt } from "./password-attempts";

export const WRONG_PASSWORD_MESSAGE = "The password is not correct.";

/**
 * Confirm it's you (SPEC §12): the signed-in person types their password again, and their browser
 * session counts as confirmed (sessions.confirmed_at) for the next 15 minutes of sensitive
 * operations (authorize's `recent`). Wrong passwords are audited and slowed down with the
 * password change form's limiter: both guess the same password from the same signed-in person,
 * so they share one budget per (user, address). A wrong password changes nothing else.
 * With two-factor authentication (later) a code will be asked here as well.
 */
export async function confirmIdentity(actor: Actor, password: string, now: Date = new Date()): Promise<{ confirmedAt: Date }> {
  authorize(actor, null, { browserOnly: "Confirming your identity is only done in the browser." });
  if (!actor.sessionId) throw new ServiceError("unauthorized", "Your session has ended. Sign in again.");
  const { succeeded } = await admitOwnPasswordAttempt(actor, "auth.confirm_rate_limited", now);

  const confirmed = await db().transaction(async (tx) => {
    const [user] = await tx.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, actor.userId)).limit(1);
    if (!user || !(await verifyPassword(user.passwordHash, password))) return false;
    const [session] = await tx
      .update(sessions)
      .set({ confirmedAt: now })
      .where(and(eq(sessions.id, actor.sessionId!), eq(sessions.userId, actor.userId)))
      .returning({ id: sessions.id });
    if (!session) throw new ServiceError("unauthorized", "Your session has ended. Sign in again.");
    await recordAudit(tx, actor, { action: "auth.confirmed", targetType: "user", targetId: actor.userId, targetLabel: actor.email });
    return true;
  });
  if (!confirmed) {
    await recordAudit(db(), actor, { action: "auth.confirm_failed", targetType: "user", targetId: actor.userId, targetLabel: actor.email });
    throw invalid(WRONG_PASSWORD_MESSAGE, "password");
  }
  await succeeded();
  return { confirmedAt: now };
}
