import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { notifications } from "@/db/schema";
import type { NotificationKind } from "./kinds";

export interface NewNotification {
  userId: string;
  kind: NotificationKind;
  keyId?: string | null;
  keyName?: string | null;
  data?: Record<string, unknown>;
  /**
   * One notice per dedupe key and person, however often (or on however many instances) the code
   * that raises it runs: e.g. "key_expiring:7:<key id>:<expiry>". Null: every call notifies.
   */
  dedupeKey?: string | null;
}

/**
 * Records a notification in the caller's transaction, so it exists exactly when the change it
 * describes does. Returns whether it was new (false: its dedupe key was already used).
 */
export async function notify(tx: DbOrTx, notice: NewNotification): Promise<boolean> {
  const inserted = await tx
    .insert(notifications)
    .values({
      userId: notice.userId,
      kind: notice.kind,
      keyId: notice.keyId ?? null,
      keyName: notice.keyName ?? null,
      data: notice.data ?? {},
      dedupeKey: notice.dedupeKey ?? null,
    })
    .onConflictDoNothing({ target: [notifications.userId, notifications.dedupeKey], where: sql`${notifications.dedupeKey} is not null` })
    .returning({ id: notifications.id });
  return inserted.length > 0;
}
