import { auditLog } from "@/db/schema";
import type { DbOrTx } from "@/db/client";
import type { Actor, Anonymous } from "@/lib/auth/actor";
import type { AuditAction } from "./action-names";

export { AUDIT_ACTIONS, type AuditAction } from "./action-names";

export interface AuditEntry {
  action: AuditAction;
  targetType?: "user" | "api_key" | "invite";
  targetId?: string | null;
  targetLabel?: string | null;
  metadata?: Record<string, unknown>;
}

/** The in-process jobs (lib/jobs) act as no one: their audit rows name this actor and no user. */
export const SYSTEM_ACTOR: Anonymous = { ip: null, label: "Scheduled job" };

function isActor(who: Actor | Anonymous): who is Actor {
  return "userId" in who;
}

/**
 * Writes one audit row. Call it with the transaction of the change it records, so the change and
 * its row commit (or roll back) together.
 */
export async function recordAudit(tx: DbOrTx, who: Actor | Anonymous, entry: AuditEntry): Promise<void> {
  const actor = isActor(who)
    ? {
        actorUserId: who.userId,
        actorKeyId: who.apiKey?.id ?? null,
        actorLabel: who.apiKey ? `${who.email} (API key "${who.apiKey.name}")` : who.email,
      }
    : { actorUserId: null, actorKeyId: null, actorLabel: who.label };
  await tx.insert(auditLog).values({
    ...actor,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    targetLabel: entry.targetLabel ?? null,
    ip: who.ip,
    metadata: entry.metadata ?? {},
  });
}
