import { and, asc, desc, eq, or, sql, type SQL } from "drizzle-orm";
import type { AnyPgColumn } from "drizzle-orm/pg-core";
import { db } from "@/lib/runtime";
import { escapeLike } from "@/db/sql";
import { auditLog } from "@/db/schema";
import type { Actor } from "@/lib/auth/actor";
import { authorize } from "@/lib/auth/authorize";
import { auditLogQuerySchema, type AuditLogQuery } from "@/lib/validation/admin";
import { decodeCursor, encodeCursor, keysetAfter, keysetOrder, keysetValues, type KeysetTerm } from "@/lib/export/cursor";
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

/** The columns of an audit entry, as the page, the admin API and the export read them. */
const entryColumns = {
  id: auditLog.id,
  createdAt: auditLog.createdAt,
  actorLabel: auditLog.actorLabel,
  action: auditLog.action,
  targetType: auditLog.targetType,
  targetId: auditLog.targetId,
  targetLabel: auditLog.targetLabel,
  ip: auditLog.ip,
  metadata: auditLog.metadata,
};

/**
 * Whether `label` contains `text`, in any case. A term with three ASCII letters or digits in a row
 * holds a trigram pg_trgm can look up, so it is written as LIKE '%text%' (wildcards escaped), which
 * the trigram indexes on lower(label) (migration 0008) answer for a rare term; for a common one the
 * planner walks created_at and stops at the page. A shorter term has no trigram: offered the index
 * anyway, the planner reads all of it (every row in the bitmap, ~0.9 s at a million rows), so it
 * is written as strpos, which no index answers, and walks created_at instead: at once when the
 * term is common, the whole log (~0.5 s at a million rows) when it matches little.
 */
function contains(label: AnyPgColumn, text: string): SQL {
  const lower = text.toLowerCase();
  return /[a-z0-9]{3}/.test(lower) ? sql`lower(${label}) like ${`%${escapeLike(lower)}%`}` : sql`strpos(lower(${label}), ${lower}) > 0`;
}

/** The filters: Actor and Target as the Access Manager's search ("contains", any case); Target also an exact id. */
function whereOf(query: AuditLogQuery): SQL | undefined {
  return and(
    query.action ? eq(auditLog.action, query.action) : undefined,
    query.actor ? contains(auditLog.actorLabel, query.actor) : undefined,
    query.target ? or(contains(auditLog.targetLabel, query.target), eq(auditLog.targetId, query.target)) : undefined,
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
    .select(entryColumns)
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

// ---------------------------------------------------------------------------------------------
// By cursor: the admin API's pages and the CSV export (SPEC §13)

const AUDIT_ORDER = "audit:created_at:desc";
const auditTerms: KeysetTerm[] = [
  { expr: sql`${auditLog.createdAt}`, type: "timestamptz" },
  { expr: sql`${auditLog.id}`, type: "bigint" },
];

export interface AuditCursorPage {
  entries: AuditEntryDto[];
  /** The next (older) page's cursor; null on the last page. */
  cursor: string | null;
}

async function auditKeysetPage(query: AuditLogQuery, after: string[] | null, limit: number): Promise<AuditCursorPage> {
  const rows = await db()
    .select({ ...entryColumns, keyset: keysetValues(auditTerms) })
    .from(auditLog)
    .where(and(whereOf(query), after ? keysetAfter(auditTerms, "desc", after) : undefined))
    .orderBy(...keysetOrder(auditTerms, "desc"))
    .limit(limit + 1);
  const more = rows.length > limit;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    entries: page.map(({ keyset: _keyset, ...row }) => (void _keyset, { ...row, action: row.action as AuditAction })),
    cursor: more && last ? encodeCursor(AUDIT_ORDER, last.keyset) : null,
  };
}

/**
 * The audit log, newest first, by cursor: the Audit log page's filters with keyset pagination (a
 * cursor stays valid while rows are added). An unknown or forged cursor is a 422 naming `cursor`.
 */
export async function listAuditLogByCursor(
  actor: Actor,
  input: AuditLogQuery,
  opts: { cursor?: string; limit: number },
): Promise<AuditCursorPage> {
  authorize(actor, "audit.read");
  const query = auditLogQuerySchema.parse(input);
  const after = opts.cursor ? decodeCursor(opts.cursor, AUDIT_ORDER, auditTerms) : null;
  return auditKeysetPage(query, after, opts.limit);
}

/** Every entry matching the filters, newest first, a batch at a time (what the CSV export streams). */
export async function* eachAuditEntry(actor: Actor, input: AuditLogQuery, batchSize = 1000): AsyncGenerator<AuditEntryDto[]> {
  authorize(actor, "audit.read");
  const query = auditLogQuerySchema.parse(input);
  let after: string[] | null = null;
  for (;;) {
    const page = await auditKeysetPage(query, after, batchSize);
    if (page.entries.length) yield page.entries;
    if (!page.cursor) return;
    after = decodeCursor(page.cursor, AUDIT_ORDER, auditTerms);
  }
}
