import { ChevronLeft, ChevronRight } from "lucide-react";
import type { Metadata } from "next";
import Form from "next/form";
import Link from "next/link";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { inputClass } from "@/components/ui/field";
import { Td, Th } from "@/components/ui/table";
import { ScrollRegion } from "@/components/data-table/scroll-region";
import { AUDIT_ACTION_LABELS, AUDIT_ACTIONS } from "@/lib/audit/action-names";
import { listAuditLog, type AuditEntryDto } from "@/lib/audit/query";
import { ACCESS_LEVEL_LABELS, ROLE_LABELS } from "@/lib/auth/permissions";
import { requirePermission } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import type { AccessLevel, Role } from "@/db/schema";
import { auditLogSearch, PAGE_SIZES, parseAuditLogQuery } from "@/lib/validation/admin";
import { ExportCsvLink } from "../api-access/_components/export-csv-link";

export const metadata: Metadata = { title: "Audit log" };

const PATH = "/admin/audit-log";

export default async function AuditLogPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requirePermission("audit.read");
  const { entries, newer, older, query } = await listAuditLog(actor, parseAuditLogQuery(await searchParams));
  const filtered = Boolean(query.actor || query.action || query.target);
  const filters = { actor: query.actor, action: query.action, target: query.target, size: query.size };
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Audit log</h1>
          <p className="text-sm text-slate-600">Every sign-in, key and user change, newest first. Entries are never changed or deleted.</p>
        </div>
        <ExportCsvLink
          href={`${PATH}/export${auditLogSearch({ actor: query.actor, action: query.action, target: query.target })}`}
          description="Every entry matching the filters, as a CSV file"
        />
      </div>

      {/* A plain GET form: the filters live in the URL, and it works before any script loads. */}
      <Form
        key={auditLogSearch(filters)}
        action={PATH}
        role="search"
        aria-label="Filter the audit log"
        className="flex flex-wrap items-end gap-3"
      >
        <FilterField label="Actor" hint="Email, contains">
          {(id) => (
            <input id={id} name="actor" defaultValue={query.actor} maxLength={254} autoComplete="off" className={cn(inputClass, "w-56")} />
          )}
        </FilterField>
        <FilterField label="Action">
          {(id) => (
            <select id={id} name="action" defaultValue={query.action ?? ""} className={cn(inputClass, "w-auto pr-8")}>
              <option value="">All actions</option>
              {AUDIT_ACTIONS.map((action) => (
                <option key={action} value={action}>
                  {AUDIT_ACTION_LABELS[action]}
                </option>
              ))}
            </select>
          )}
        </FilterField>
        <FilterField label="Target" hint="Email or key name, contains; or an id">
          {(id) => (
            <input
              id={id}
              name="target"
              defaultValue={query.target}
              maxLength={254}
              autoComplete="off"
              className={cn(inputClass, "w-56")}
            />
          )}
        </FilterField>
        <FilterField label="Rows per page">
          {(id) => (
            <select id={id} name="size" defaultValue={String(query.size)} className={cn(inputClass, "w-auto pr-8")}>
              {PAGE_SIZES.map((size) => (
                <option key={size} value={size}>
                  {size}
                </option>
              ))}
            </select>
          )}
        </FilterField>
        <Button type="submit" variant="secondary">
          Apply filters
        </Button>
        {filtered ? (
          <Link href={PATH} className="mb-2.5 text-sm font-medium text-indigo-700 underline underline-offset-4">
            Clear filters
          </Link>
        ) : null}
      </Form>

      <ScrollRegion label="Audit log entries">
        <table className="w-full border-collapse text-left text-sm">
          <caption className="sr-only">Audit log entries, newest first</caption>
          <thead>
            <tr>
              <Th>Time</Th>
              <Th>Actor</Th>
              <Th>Action</Th>
              <Th>Target</Th>
              <Th>IP</Th>
              <Th>Details</Th>
            </tr>
          </thead>
          <tbody>
            {entries.length === 0 ? (
              <tr>
                <Td colSpan={6} className="py-10 text-center text-slate-600">
                  {filtered ? "No audit entries match these filters." : "Nothing has been recorded yet."}
                </Td>
              </tr>
            ) : (
              entries.map((entry) => (
                <tr key={entry.id}>
                  <Td className="whitespace-nowrap tabular-nums">{formatDateTime(entry.createdAt)}</Td>
                  <Td className="max-w-[16rem] min-w-[12rem] wrap-anywhere">{entry.actorLabel}</Td>
                  <Td className="whitespace-nowrap">
                    <span className="block">{AUDIT_ACTION_LABELS[entry.action] ?? entry.action}</span>
                    <code className="text-xs text-slate-600">{entry.action}</code>
                  </Td>
                  <Td className="max-w-[16rem] min-w-[12rem] wrap-anywhere">
                    {entry.targetLabel ?? entry.targetId ?? "—"}
                    {entry.targetType ? (
                      <span className="block text-xs text-slate-600">{TARGET_TYPES[entry.targetType] ?? entry.targetType}</span>
                    ) : null}
                  </Td>
                  <Td className="font-mono text-xs whitespace-nowrap">{entry.ip ?? "—"}</Td>
                  <Td className="max-w-[20rem] min-w-[12rem] text-xs wrap-anywhere text-slate-700">{details(entry)}</Td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </ScrollRegion>

      <nav aria-label="Pagination" className="flex items-center justify-end gap-2 text-sm">
        <PageStep label="Newer entries" href={newer === null ? null : `${PATH}${auditLogSearch({ ...filters, after: newer })}`}>
          <ChevronLeft className="h-4 w-4" aria-hidden />
          Newer
        </PageStep>
        <PageStep label="Older entries" href={older === null ? null : `${PATH}${auditLogSearch({ ...filters, before: older })}`}>
          Older
          <ChevronRight className="h-4 w-4" aria-hidden />
        </PageStep>
      </nav>
    </div>
  );
}

const TARGET_TYPES: Record<string, string> = { user: "User", api_key: "API key", invite: "Invite" };

const REASONS: Record<string, string> = { role_change: "role change", user_removed: "user removed" };

/** A value as people read it: role and access level codes by their labels. */
function label(value: unknown): string {
  if (Array.isArray(value)) return value.map(label).join(", ");
  if (typeof value === "string") return ROLE_LABELS[value as Role] ?? ACCESS_LEVEL_LABELS[value as AccessLevel] ?? value;
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

/** The metadata of an entry, one short line (role changes, deleted keys, the key's owner...). */
function details(entry: AuditEntryDto): string {
  const { from, to, by_admin: byAdmin, reason, ...rest } = entry.metadata;
  const parts: string[] = [];
  if (from !== undefined && to !== undefined) parts.push(`${label(from)} → ${label(to)}`);
  if (byAdmin === true) parts.push("by an admin");
  if (typeof reason === "string") parts.push(`because: ${REASONS[reason] ?? reason}`);
  for (const [key, value] of Object.entries(rest)) {
    if (Array.isArray(value) && value.length === 0) continue;
    parts.push(`${key.replaceAll("_", " ")}: ${label(value)}`);
  }
  return parts.join("; ");
}

/** A step to the newer or older page, or the same words greyed out when there is none. */
function PageStep({ label: text, href, children }: { label: string; href: string | null; children: React.ReactNode }) {
  const className = "inline-flex h-9 items-center gap-1 rounded-md border border-slate-300 bg-white px-3 font-medium";
  if (href === null) {
    return (
      <span role="link" aria-disabled="true" aria-label={text} className={cn(className, "cursor-not-allowed text-slate-400")}>
        {children}
      </span>
    );
  }
  return (
    <Link
      href={href}
      aria-label={text}
      prefetch={false}
      className={cn(
        className,
        "text-slate-800 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600",
      )}
    >
      {children}
    </Link>
  );
}

function FilterField({ label, hint, children }: { label: string; hint?: string; children: (id: string) => React.ReactNode }) {
  const id = `audit-filter-${label.toLowerCase().replaceAll(" ", "-")}`;
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
        {hint ? <span className="font-normal text-slate-500"> ({hint})</span> : null}
      </label>
      {children(id)}
    </div>
  );
}
