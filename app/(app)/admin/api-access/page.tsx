import type { Metadata } from "next";
import { requirePermission } from "@/lib/auth/session";
import { listApiKeysForAdmin } from "@/lib/keys/admin";
import { parseAccessManagerQuery } from "@/lib/validation/admin";
import { AccessManager } from "./_components/access-manager";

export const metadata: Metadata = { title: "API Access Manager" };

export default async function ApiAccessPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requirePermission("keys.manageAll");
  // Whatever the URL says, the schema turns it into a valid query (bad values fall back to defaults).
  // Dates and all: React serialises them for the client component.
  const result = await listApiKeysForAdmin(actor, parseAccessManagerQuery(await searchParams));
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold">API Access Manager</h1>
        <p className="text-sm text-slate-600">
          Every API key in the organisation. Disable a key to stop its access at once (its owner cannot enable it again), or delete it for
          good. Secrets are never shown here.
        </p>
      </div>
      <AccessManager rows={result.rows} total={result.total} pageCount={result.pageCount} query={result.query} policy={result.policy} />
    </div>
  );
}
