import { requirePermission } from "@/lib/auth/session";
import { csvDownloadHeaders, exportApiKeysCsv } from "@/lib/export/csv";
import { adminApiKeysQueryOf, parseAccessManagerQuery } from "@/lib/validation/admin";

/**
 * The Access Manager's Export CSV: every key matching the filters in the URL (the page's own
 * query string), in the page's order, streamed; audited once as export.api_keys. Anyone who may
 * not see the page gets its 404.
 */
export async function GET(request: Request): Promise<Response> {
  const actor = await requirePermission("keys.manageAll");
  const query = parseAccessManagerQuery(new URL(request.url).searchParams);
  const exported = await exportApiKeysCsv(actor, query, adminApiKeysQueryOf(query));
  return new Response(exported.stream, { headers: csvDownloadHeaders(exported.filename) });
}
