import { and, asc, desc, eq, or, sql, type SQL } from "drizzle-orm";
import { db } from "@/lib/runtime";
import { escapeLike } from "@/db/sql";
import { auditLog } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { auditLogQuerySchema, type AuditLogQuery } from "@/lib/validation/admin";
import type { AuditAction } from "./action-names";

/** One audit row as the Audit log page shows it. */
export interface AuditEntryDto {
  id: number;
  createdAt: Date;
  actorLabel: string;
  action: AuditAction;
  targetType: string | null;
  targetId: string | null;
  targetLabel: string | null;
  ip: string | null;
  metadata: Record<string, unknown>;
}

export interface AuditPage {
  entries: AuditEntryDto[];
  /** Cursor for the next newer page (`after`), when there is one. */
  newer: number | null;
  /** Cursor for the next older page (`before`), when there is one. */
  older: number | null;
  query: AuditLogQuery;
}

function whereOf(query: AuditLogQuery): SQL | undefined {
  const actor = query.actor ? `${escapeLike(query.actor.toLowerCase())}%` : null;
  const target = query.target ? `${escapeLike(query.target.toLowerCase())}%` : null;
  return and(
    query.action ? eq(auditLog.action, query.action) : undefined,
    // Prefix matches, served by the lower(...) text_pattern_ops indexes.
    actor ? sql`lower(${auditLog.actorLabel}) like ${actor}` : undefined,
    target ? or(sql`lower(${auditLog.targetLabel}) like ${target}`, eq(auditLog.targetId, query.target)) : undefined,
  );
}

async function exists(id: number): Promise<boolean> {
  const [row] = await db().select({ id: auditLog.id }).from(auditLog).where(eq(auditLog.id, id)).limit(1);
  return Boolean(row);
}

/**
 * The audit log, newest first, a page at a time. Pages are keyset-paginated on (created_at, id):
 * the cursor is a row id, and its timestamp is compared inside the database at full precision.
 * The log is append-only: nothing here (or anywhere in the app) updates or deletes a row.
 */
export async function listAuditLog(actor: Actor, input: AuditLogQuery): Promise<AuditPage> {
  authorize(actor, "audit.read");
  const query = auditLogQuerySchema.parse(input);
  // An unknown cursor (a row id that never existed) starts again from the newest entry.
  if (query.before && !(await exists(query.before))) query.before = undefined;
  if (!query.before && query.after && !(await exists(query.after))) query.after = undefined;

  const cursorRow = (id: number) => sql`(select ${auditLog.createdAt}, ${auditLog.id} from ${auditLog} where ${auditLog.id} = ${id})`;
  const newerFirst = !(query.after && !query.before);
  const where = and(
    whereOf(query),
    query.before
      ? sql`(${auditLog.createdAt}, ${auditLog.id}) < ${cursorRow(query.before)}`
      : query.after
        ? sql`(${auditLog.createdAt}, ${auditLog.id}) > ${cursorRow(query.after)}`
        : undefined,
  );
  const rows = await db()
    .select({
      id: auditLog.id,
      createdAt: auditLog.createdAt,
      actorLabel: auditLog.actorLabel,
      action: auditLog.action,
      targetType: auditLog.targetType,
      targetId: auditLog.targetId,
      targetLabel: auditLog.targetLabel,
      ip: auditLog.ip,
      metadata: auditLog.metadata,
    })
    .from(auditLog)
    .where(where)
    .orderBy(...(newerFirst ? [desc(auditLog.createdAt), desc(auditLog.id)] : [asc(auditLog.createdAt), asc(auditLog.id)]))
    .limit(query.size + 1);

  // A cursor past either end (edited by hand) shows the newest page instead of an empty one.
  if (rows.length === 0 && (query.before || query.after)) return listAuditLog(actor, { ...query, before: undefined, after: undefined });
  const more = rows.length > query.size;
  const page = rows.slice(0, query.size);
  if (!newerFirst) page.reverse();
  const entries = page.map((r) => ({ ...r, action: r.action as AuditAction }));
  const first = entries[0]?.id ?? null;
  const last = entries[entries.length - 1]?.id ?? null;
  return {
    entries,
    // Reading older pages, the newer side exists as soon as a cursor was used, and vice versa.
    newer: newerFirst ? (query.before ? first : null) : more ? first : null,
    older: newerFirst ? (more ? last : null) : last,
    query,
  };
}
