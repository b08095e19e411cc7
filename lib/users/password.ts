import { eq } from "drizzle-orm";
import { db } from "@/lib/runtime";
import { users } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { deleteOtherSessions } from "@/lib/auth/sessions";
import { admitOwnPasswordAttempt } from "@/lib/auth/password-attempts";
import { invalid } from "@/lib/errors";
import type { ChangePasswordInput } from "@/lib/validation/users";

export const NO_PASSWORD_MESSAGE = "Your account signs in with single sign-on and has no password to change.";

/**
 * Changes the actor's own password after checking the current one. Wrong current passwords are
 * audited and slowed down like sign-ins (per user and address, and per address). A change ends
 * every other session of the user; the one that made it stays signed in.
 */
export async function changeOwnPassword(actor: Actor, input: ChangePasswordInput, now: Date = new Date()): Promise<void> {
  // As every browser action: someone the two-factor policy holds back (a stolen password, say)
  // can set up two-factor authentication and nothing else, so cannot lock the real person out
  // by changing the password and ending their other sessions.
  authorize(actor, null, { browserOnly: "Passwords can only be changed in the browser." });
  // An account single sign-on made has no password to check against: say so, count nothing.
  if (actor.hasPassword === false) throw invalid(NO_PASSWORD_MESSAGE, "current_password");
  const { succeeded } = await admitOwnPasswordAttempt(actor, "user.password_change_rate_limited", now);

  const passwordHash = await hashPassword(input.new_password);
  const changed = await db().transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, actor.userId)).for("update").limit(1);
    if (!user || !(await verifyPassword(user.passwordHash, input.current_password))) return false;
    await tx.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, actor.userId));
    const ended = await deleteOtherSessions(tx, actor);
    await recordAudit(tx, actor, {
      action: "user.password_changed",
      targetType: "user",
      targetId: actor.userId,
      targetLabel: actor.email,
      metadata: { other_sessions_ended: ended },
    });
    return true;
  });
  if (!changed) {
    await recordAudit(db(), actor, {
      action: "user.password_change_failed",
      targetType: "user",
      targetId: actor.userId,
      targetLabel: actor.email,
    });
    throw invalid("The current password is not correct.", "current_password");
  }
  await succeeded();
}
