import { eq, sql } from "drizzle-orm";
import { db } from "@/db/client";
import { users } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { hashPassword, verifyPassword } from "@/lib/auth/password";
import { invalid } from "@/lib/errors";
import type { ChangePasswordInput } from "@/lib/validation/users";

/**
 * Changes the actor's own password after checking the current one. Bumping the session version
 * ends every session of the user, this one included (the caller signs in again with the new one).
 */
export async function changeOwnPassword(actor: Actor, input: ChangePasswordInput): Promise<void> {
  if (actor.apiKey) throw invalid("Passwords can only be changed in the browser.");
  const passwordHash = await hashPassword(input.new_password);
  await db().transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.id, actor.userId)).for("update").limit(1);
    if (!user || !(await verifyPassword(user.passwordHash, input.current_password))) {
      throw invalid("The current password is not correct.", "current_password");
    }
    await tx
      .update(users)
      .set({ passwordHash, sessionVersion: sql`${users.sessionVersion} + 1`, updatedAt: new Date() })
      .where(eq(users.id, actor.userId));
    await recordAudit(tx, actor, { action: "user.password_changed", targetType: "user", targetId: actor.userId, targetLabel: actor.email });
  });
}
