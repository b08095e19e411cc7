import { inArray, sql } from "drizzle-orm";
import type { Tx } from "@/db/client";
import { users } from "@/db/schema";
import { recordAudit, SYSTEM_ACTOR } from "@/lib/audit/service";
import { announceKeyChange } from "@/lib/keys/revocation";
import { notify } from "@/lib/notifications/notify";
import { readKeyPolicy } from "@/lib/settings/policy";
import type { Job } from "./runner";

/** Keys disabled per run at most (the next run takes the rest): one transaction stays short. */
export const UNUSED_BATCH = 500;

/**
 * SPEC §11's **Disable keys unused for**: an active, unexpired key whose clock (its last use, or
 * when it was created or last enabled, whichever is later) is older than the policy is disabled,
 * with reason "unused". Its holder may enable it again (no admin lock), which restarts the clock.
 * The change is announced like any revocation (the API refuses the key from the next request,
 * on every instance), audited per key as the "Scheduled job", and its holder is notified.
 */
export const unusedKeysJob: Job = {
  name: "unused-keys",
  async run(tx: Tx, now: Date) {
    const { disableUnusedAfterDays: days } = await readKeyPolicy(tx);
    if (days === null) return { summary: { disabled: 0 } };
    const cutoff = sql`${new Date(now.getTime() - days * 86_400_000).toISOString()}::timestamptz`;
    const nowAt = sql`${now.toISOString()}::timestamptz`;
    // The subquery walks the partial index on active_since (active keys only); SKIP LOCKED leaves a
    // key that someone is changing right now for the next run.
    const disabled = await tx.execute<{ id: string; name: string; user_id: string; active_since: string; last_used_at: string | null }>(sql`
      update api_keys set
        status = 'disabled', disabled_reason = 'unused', disabled_by = null, disabled_by_admin = false,
        previous_digest = null, previous_expires_at = null, updated_at = ${nowAt}
      where status = 'active' and id in (
        select id from api_keys
        where status = 'active' and active_since < ${cutoff}
          and (last_used_at is null or last_used_at < ${cutoff})
          and (expires_at is null or expires_at > ${nowAt})
        order by active_since
        limit ${UNUSED_BATCH}
        for update skip locked)
      returning id, name, user_id, active_since::text as active_since, last_used_at::text as last_used_at`);
    if (disabled.length === 0) return { summary: { disabled: 0 } };

    await announceKeyChange(tx, { keyIds: disabled.map((k) => k.id) });
    const owners = await tx
      .select({ id: users.id, email: users.email })
      .from(users)
      .where(inArray(users.id, [...new Set(disabled.map((k) => k.user_id))]));
    const emailOf = new Map(owners.map((u) => [u.id, u.email]));
    for (const key of disabled) {
      await recordAudit(tx, SYSTEM_ACTOR, {
        action: "api_key.disabled",
        targetType: "api_key",
        targetId: key.id,
        targetLabel: key.name,
        metadata: { reason: "unused", unused_days: days, last_used_at: key.last_used_at, key_owner: emailOf.get(key.user_id) ?? null },
      });
      await notify(tx, {
        userId: key.user_id,
        kind: "key_disabled_unused",
        keyId: key.id,
        keyName: key.name,
        data: { days },
        // Once per disabling: enabling the key moves active_since, so a later one is a new notice.
        dedupeKey: `key_disabled_unused:${key.id}:${key.active_since}`,
      });
    }
    return { summary: { disabled: disabled.length } };
  },
};
