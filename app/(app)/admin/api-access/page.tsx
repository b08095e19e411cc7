import type { Metadata } from "next";
import { requirePermission } from "@/lib/auth/session";
import { listApiKeysForAdmin } from "@/lib/keys/admin";
import { listServiceAccounts } from "@/lib/users/service-accounts";
import { accessManagerSearch, parseAccessManagerQuery } from "@/lib/validation/admin";
import { AccessManager } from "./_components/access-manager";
import { AddServiceAccountKeyDialog } from "./_components/add-service-account-key-dialog";
import { ExportCsvLink } from "./_components/export-csv-link";

export const metadata: Metadata = { title: "API Access Manager" };

export default async function ApiAccessPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requirePermission("keys.manageAll");
  // Whatever the URL says, the schema turns it into a valid query (bad values fall back to defaults).
  // Dates and all: React serialises them for the client component.
  const [result, accounts] = await Promise.all([
    listApiKeysForAdmin(actor, parseAccessManagerQuery(await searchParams)),
    listServiceAccounts(actor),
  ]);
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="max-w-3xl">
          <h1 className="text-2xl font-semibold">API Access Manager</h1>
          <p className="text-sm text-slate-600">
            Every API key in the organisation. Disable a key to stop its access at once (its owner cannot enable it again), or delete it for
            good. Secrets are never shown here, except a service account&apos;s new key, once.
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          <ExportCsvLink
            href={`/admin/api-access/export${accessManagerSearch({ ...result.query, page: 1 })}`}
            description="Every key matching the search and filters, as a CSV file"
          />
          <AddServiceAccountKeyDialog
            accounts={accounts.map(({ id, name, role }) => ({ id, name, role }))}
            maxLifetimeDays={result.policy.maxKeyLifetimeDays}
          />
        </div>
      </div>
      <AccessManager
        rows={result.rows}
        total={result.total}
        totalExact={result.totalExact}
        pageCount={result.pageCount}
        query={result.query}
        policy={result.policy}
      />
    </div>
  );
}
