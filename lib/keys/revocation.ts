import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";

/** The PostgreSQL channel every instance listens on for key changes. */
export const KEY_CHANGE_CHANNEL = "latchkey_key_changes";

/** What changed: some keys by id, or every key of a user (role change, removal). */
export interface KeyChange {
  keyIds?: string[];
  userId?: string;
}

/**
 * Announces, inside the transaction that makes it, a change that can revoke or alter a key
 * (disable, delete, regenerate, rename, role change, removal). PostgreSQL delivers the NOTIFY to
 * every listening instance when the transaction commits, and never when it rolls back.
 */
export async function announceKeyChange(tx: DbOrTx, change: KeyChange): Promise<void> {
  await tx.execute(sql`select pg_notify(${KEY_CHANGE_CHANNEL}, ${JSON.stringify(change)})`);
}
