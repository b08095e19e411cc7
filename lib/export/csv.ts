import { recordAudit } from "@/lib/audit/service";
import { eachAuditEntry, type AuditEntryDto } from "@/lib/audit/query";
import type { Actor } from "@/lib/auth/actor";
import { eachApiKeyForAdmin, type AdminKeyRow } from "@/lib/keys/admin";
import { db } from "@/lib/runtime";
import type { AccessManagerQuery, AdminApiKeysQuery, AuditLogQuery } from "@/lib/validation/admin";

/**
 * The CSV exports of the Access Manager and the audit log (SPEC §13), shared by the admin API
 * (`Accept: text/csv`) and the pages' Export CSV: every matching row, streamed a batch at a time
 * from a keyset walk, so memory holds one batch whatever the size of the export. Each export is
 * audited once, with its filters, when it starts.
 *
 * RFC 4180: comma-separated, CRLF line ends, a header row; a cell holding a comma, a quote or a
 * line break is quoted, its quotes doubled. Cells a spreadsheet would read as a formula (starting
 * with = + - @, a tab or a carriage return) get a leading apostrophe (OWASP's CSV injection guard),
 * so a key named `=HYPERLINK(...)` stays text.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: text as is (guarded against formulas), numbers and booleans as written, times ISO 8601, null empty. */
export function csvCell(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== "string") return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(cells: ReadonlyArray<Parameters<typeof csvCell>[0]>): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

export const API_KEY_CSV_HEADER = [
  "id",
  "name",
  "description",
  "masked_key",
  "access_level",
  "status",
  "state",
  "user_id",
  "user_name",
  "user_email",
  "user_role",
  "user_type",
  "created_at",
  "expires_at",
  "last_used_at",
  "last_used_ip",
  "previous_secret_expires_at",
  "disabled_by_admin",
  "disabled_reason",
  "over_policy",
] as const;

function apiKeyCells(row: AdminKeyRow) {
  return [
    row.id,
    row.name,
    row.description,
    row.maskedKey,
    row.accessLevel,
    row.status,
    row.state,
    row.user.id,
    row.user.name,
    // A service account's stored address is an internal placeholder, never shown as an email.
    row.user.kind === "person" ? row.user.email : null,
    row.user.role,
    row.user.kind,
    row.createdAt,
    row.expiresAt,
    row.lastUsedAt,
    row.lastUsedIp,
    row.previousSecretExpiresAt,
    row.disabledByAdmin,
    row.disabledReason,
    row.overPolicy,
  ];
}

export const AUDIT_LOG_CSV_HEADER = [
  "id",
  "created_at",
  "actor",
  "action",
  "target_type",
  "target_id",
  "target_label",
  "ip",
  "metadata",
] as const;

function auditCells(entry: AuditEntryDto) {
  return [
    entry.id,
    entry.createdAt,
    entry.actorLabel,
    entry.action,
    entry.targetType,
    entry.targetId,
    entry.targetLabel,
    entry.ip,
    JSON.stringify(entry.metadata),
  ];
}

/** `latchkey-api-keys-2026-11-28.csv`: what the export is, and the day (UTC) it was made. */
export function exportFilename(what: "api-keys" | "audit-log", now = new Date()): string {
  return `latchkey-${what}-${now.toISOString().slice(0, 10)}.csv`;
}

/** Only the filters that are set, for the audit row. */
function setFilters(filters: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined && value !== "" && value !== false));
}

/**
 * A pull-driven stream of CSV text: the header, then one batch of rows each time the reader asks
 * for more (so a slow reader holds the walk back instead of piling rows up in memory).
 */
function csvStream<T>(header: readonly string[], batches: AsyncGenerator<T[]>, cells: (row: T) => Parameters<typeof csvRow>[0]) {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controller.enqueue(encoder.encode(csvRow(header)));
      },
      async pull(controller) {
        const next = await batches.next();
        if (next.done) {
          controller.close();
          return;
        }
        let text = "";
        for (const row of next.value) text += csvRow(cells(row));
        controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await batches.return(undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

/** The headers of a CSV download, for either transport. */
export function csvDownloadHeaders(filename: string): Record<string, string> {
  return {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${filename}"`,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
  };
}

export interface CsvExport {
  filename: string;
  stream: ReadableStream<Uint8Array>;
}

/**
 * Every key matching the Access Manager's filters, as CSV, in its order. Owners and Admins (the
 * service checks); audited once as `export.api_keys` with the filters (`filters`: the API's
 * names for them) before the first row is read.
 */
export async function exportApiKeysCsv(actor: Actor, query: AccessManagerQuery, filters: AdminApiKeysQuery): Promise<CsvExport> {
  const batches = eachApiKeyForAdmin(actor, query);
  // The generator checks the permission on its first step: run it before auditing anything.
  const first = await batches.next();
  await recordAudit(db(), actor, { action: "export.api_keys", metadata: { filters: setFilters({ ...filters }) } });
  return { filename: exportFilename("api-keys"), stream: csvStream(API_KEY_CSV_HEADER, prepend(first, batches), apiKeyCells) };
}

/** Every audit entry matching the Audit log's filters, newest first, as CSV; audited once as `export.audit_log`. */
export async function exportAuditLogCsv(actor: Actor, query: AuditLogQuery): Promise<CsvExport> {
  const batches = eachAuditEntry(actor, query);
  const first = await batches.next();
  const filters = setFilters({ actor: query.actor, action: query.action, target: query.target });
  await recordAudit(db(), actor, { action: "export.audit_log", metadata: { filters } });
  return { filename: exportFilename("audit-log"), stream: csvStream(AUDIT_LOG_CSV_HEADER, prepend(first, batches), auditCells) };
}

/** The generator again, with the step already taken put back in front. */
async function* prepend<T>(first: IteratorResult<T[], void>, rest: AsyncGenerator<T[]>): AsyncGenerator<T[]> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
