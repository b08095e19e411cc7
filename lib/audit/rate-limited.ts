import { and, eq, gte, sql } from "drizzle-orm";
import { auditLog } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/runtime";
import { recordAudit } from "./service";

/**
 * Writes one `api_key.rate_limited` audit row per key per window, across every instance: an
 * advisory lock on the key serialises the instances, and the row is only added when the window
 * has none yet. The API's gate calls it once per window per instance (the first refused request),
 * never per request. Returns whether it wrote the row.
 */
export async function auditKeyRateLimited(actor: Actor, window: { start: number; limit: number }): Promise<boolean> {
  const key = actor.apiKey;
  if (!key) return false;
  return db().transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`latchkey:rate_limited:${key.id}`}, 0))`);
    const [existing] = await tx
      .select({ id: auditLog.id })
      .from(auditLog)
      .where(
        and(eq(auditLog.targetId, key.id), eq(auditLog.action, "api_key.rate_limited"), gte(auditLog.createdAt, new Date(window.start))),
      )
      .limit(1);
    if (existing) return false;
    await recordAudit(tx, actor, {
      action: "api_key.rate_limited",
      targetType: "api_key",
      targetId: key.id,
      targetLabel: key.name,
      metadata: { limit_per_minute: window.limit, window_start: new Date(window.start).toISOString() },
    });
    return true;
  });
}
