import "server-only";
import { recordAudit, type AuditAction } from "@/lib/audit/service";
import { rateLimited } from "@/lib/errors";
import type { Actor } from "./actor";
import { admitAttempt, recordSuccess, retryIn, throttleKeys } from "./throttle";

/**
 * A signed-in person typing their own password again (Change password, Confirm it's you): both
 * guess the same password from the same person, so they share one limit per (person, address) and
 * per address. Admits the attempt or throws a rate-limited error, auditing a limited one as
 * `limitedAction` (at most once per audit window). Call `succeeded()` once the password was right.
 */
export async function admitOwnPasswordAttempt(
  actor: Actor,
  limitedAction: AuditAction,
  now: Date,
): Promise<{ succeeded: () => Promise<void> }> {
  const keys = throttleKeys("password_change", actor.userId, actor.ip);
  const admission = await admitAttempt(keys, now, async (tx, refusal) => {
    if (!refusal.audit) return;
    await recordAudit(tx, actor, {
      action: limitedAction,
      targetType: "user",
      targetId: actor.userId,
      targetLabel: actor.email,
      metadata: { limited_by: refusal.limitedBy, retry_after_seconds: refusal.retryAfterSeconds },
    });
  });
  if (!admission.admitted) {
    throw rateLimited(`Too many wrong passwords. ${retryIn(admission.retryAfterSeconds)}`, admission.retryAfterSeconds);
  }
  return { succeeded: () => recordSuccess(keys, admission, now) };
}
