import { eq, sql } from "drizzle-orm";
import { recoveryCodes, sessions, users, userTwoFactor } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Anonymous } from "@/lib/auth/actor";
import { db } from "@/lib/runtime";

/** The audit rows' actor for what an operator runs on the server (`npm run user:reset-2fa`). */
export const SERVER_COMMAND: Anonymous = { ip: null, label: "Server command" };

export type ResetTwoFactorResult =
  { found: false } | { found: true; userId: string; email: string; hadTwoFactor: boolean; sessionsEnded: number };

/**
 * For an Owner (or anyone) who lost both their phone and their recovery codes: run on the server by
 * someone who can reach its database, so it takes no actor. Deletes the person's two-factor secret
 * and recovery codes and ends all their sessions (a stolen one must not outlive the reset), in one
 * transaction, audited as user.two_factor_reset by "Server command". They sign in with their
 * password alone next time, and set 2FA up again (the policy, if any, sends them to).
 */
export async function resetTwoFactorByEmail(email: string, now: Date = new Date()): Promise<ResetTwoFactorResult> {
  return db().transaction(async (tx) => {
    const [user] = await tx
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(sql`lower(${users.email}) = lower(${email.trim()}) and ${users.kind} = 'person'`)
      .limit(1);
    if (!user) return { found: false };
    const removed = await tx
      .delete(userTwoFactor)
      .where(eq(userTwoFactor.userId, user.id))
      .returning({ enabledAt: userTwoFactor.enabledAt });
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, user.id));
    const ended = await tx.delete(sessions).where(eq(sessions.userId, user.id)).returning({ id: sessions.id });
    const hadTwoFactor = Boolean(removed[0]?.enabledAt);
    await recordAudit(tx, SERVER_COMMAND, {
      action: "user.two_factor_reset",
      targetType: "user",
      targetId: user.id,
      targetLabel: user.email,
      metadata: { had_two_factor: hadTwoFactor, sessions_ended: ended.length, at: now.toISOString() },
    });
    return { found: true, userId: user.id, email: user.email, hadTwoFactor, sessionsEnded: ended.length };
  });
}
