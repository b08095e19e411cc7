import { eq } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { organisationSettings, type TwoFactorPolicy } from "@/db/schema";
import { recordAudit } from "@/lib/audit/service";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { invalid } from "@/lib/errors";
import { db } from "@/lib/runtime";
import { keyPolicySchema, TWO_FACTOR_POLICY_MESSAGE, twoFactorPolicySchema } from "@/lib/validation/settings";
import { readKeyPolicy, readTwoFactorPolicy, type KeyPolicy } from "./policy";

/**
 * The organisation's settings (/admin/settings), for Owners and Admins. The key services enforce
 * the policy (lib/keys/service.ts reads it with readKeyPolicy); this is where it is read for the
 * page and changed.
 */

/** `change`: saving settings needs Confirm it's you's recent confirmation (SPEC §12); reading them does not. */
function requireSettings(actor: Actor, change = false): void {
  authorize(actor, "settings.manage", {
    write: true,
    browserOnly: "Organisation settings are only available in the browser.",
    recent: change,
  });
}

export async function getKeyPolicy(actor: Actor): Promise<KeyPolicy> {
  requireSettings(actor);
  return readKeyPolicy(db());
}

/**
 * The one row is made by the migration; recreate it if someone removed it. Locked, so two admins
 * saving at once audit one change after the other, each with its true "from".
 */
async function lockSettings(tx: Tx): Promise<void> {
  await tx.insert(organisationSettings).values({ id: 1 }).onConflictDoNothing();
  await tx.select({ id: organisationSettings.id }).from(organisationSettings).where(eq(organisationSettings.id, 1)).for("update");
}

/** The audit row's view of a policy: the JSON names, null for No limit / Off. */
const asJson = (policy: KeyPolicy) => ({
  max_key_lifetime_days: policy.maxKeyLifetimeDays,
  disable_unused_after_days: policy.disableUnusedAfterDays,
});

/**
 * Changes the key policy, audited as settings.changed with what it was and what it became. Keys
 * already past a new, lower limit are left alone: the Access Manager shows them as Over policy.
 * Returns the policy as it now stands and whether anything changed (a no-op is not audited).
 */
export async function updateKeyPolicy(actor: Actor, input: unknown): Promise<{ policy: KeyPolicy; changed: boolean }> {
  requireSettings(actor, true);
  const parsed = keyPolicySchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(issue?.message ?? "Invalid settings.", typeof issue?.path[0] === "string" ? issue.path[0] : null);
  }
  const next: KeyPolicy = {
    maxKeyLifetimeDays: parsed.data.max_key_lifetime_days,
    disableUnusedAfterDays: parsed.data.disable_unused_after_days,
  };
  return db().transaction(async (tx) => {
    await lockSettings(tx);
    const previous = await readKeyPolicy(tx);
    if (previous.maxKeyLifetimeDays === next.maxKeyLifetimeDays && previous.disableUnusedAfterDays === next.disableUnusedAfterDays) {
      return { policy: previous, changed: false };
    }
    await tx
      .update(organisationSettings)
      .set({ ...next, updatedAt: new Date(), updatedBy: actor.userId })
      .where(eq(organisationSettings.id, 1));
    await recordAudit(tx, actor, {
      action: "settings.changed",
      targetLabel: "Key policy",
      metadata: { from: asJson(previous), to: asJson(next) },
    });
    return { policy: next, changed: true };
  });
}

export async function getTwoFactorPolicy(actor: Actor): Promise<TwoFactorPolicy> {
  requireSettings(actor);
  return readTwoFactorPolicy(db());
}

/**
 * Require two-factor authentication (SPEC §12): Off, For Owners and Admins, For everyone. From the
 * next request on, a person it covers who has not set 2FA up is sent to do so before anything
 * else (lib/auth/session.ts, authorize). Audited as settings.changed with from and to; a no-op is not.
 */
export async function updateTwoFactorPolicy(actor: Actor, input: unknown): Promise<{ policy: TwoFactorPolicy; changed: boolean }> {
  requireSettings(actor, true);
  const parsed = twoFactorPolicySchema.safeParse(input);
  // Whatever was sent (a wrong choice, no choice, not an object at all), the one question is the choice.
  if (!parsed.success) throw invalid(TWO_FACTOR_POLICY_MESSAGE, "require_two_factor");
  const next = parsed.data.require_two_factor;
  return db().transaction(async (tx) => {
    await lockSettings(tx);
    const previous = await readTwoFactorPolicy(tx);
    if (previous === next) return { policy: previous, changed: false };
    await tx
      .update(organisationSettings)
      .set({ requireTwoFactor: next, updatedAt: new Date(), updatedBy: actor.userId })
      .where(eq(organisationSettings.id, 1));
    await recordAudit(tx, actor, {
      action: "settings.changed",
      targetLabel: "Two-factor authentication",
      metadata: { from: { require_two_factor: previous }, to: { require_two_factor: next } },
    });
    return { policy: next, changed: true };
  });
}
