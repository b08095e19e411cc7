import { requirePermission } from "@/lib/auth/session";
import { csvDownloadHeaders, exportAuditLogCsv } from "@/lib/export/csv";
import { parseAuditLogQuery } from "@/lib/validation/admin";

/**
 * The Audit log's Export CSV: every entry matching the filters in the URL, newest first,
 * streamed; audited once as export.audit_log. Anyone who may not see the page gets its 404.
 */
export async function GET(request: Request): Promise<Response> {
  const actor = await requirePermission("audit.read");
  const exported = await exportAuditLogCsv(actor, parseAuditLogQuery(new URL(request.url).searchParams));
  return new Response(exported.stream, { headers: csvDownloadHeaders(exported.filename) });
}
