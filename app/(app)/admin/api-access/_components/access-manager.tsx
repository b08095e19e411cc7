"use client";

import {
  createColumnHelper,
  getCoreRowModel,
  useReactTable,
  type RowSelectionState,
  type SortingState,
  type Updater,
} from "@tanstack/react-table";
import { Settings } from "lucide-react";
import Link from "next/link";
import { useCallback, useEffect, useId, useMemo, useRef, useState, useTransition } from "react";
import { toast } from "sonner";
import { ResponsiveDataTable } from "@/components/data-table/data-cards";
import { DataTablePagination } from "@/components/data-table/data-table-pagination";
import { DataTableFilter, DataTableSearch, DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { Checkbox, selectionColumn } from "@/components/data-table/select-column";
import { useTableNavigation } from "@/components/data-table/use-table-navigation";
import { KeyStatusBadge, RoleBadge } from "@/components/badges";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { ConfirmDialog } from "@/components/ui/confirm";
import { IconButton } from "@/components/ui/icon-button";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import type { KeyStatus, Role } from "@/db/schema";
import { ACCESS_LEVEL_LABELS, ACCESS_LEVELS, ROLE_LABELS, ROLES } from "@/lib/auth/permissions";
import { formatDate, formatDateTime } from "@/lib/format";
import type { AdminKeyRow } from "@/lib/keys/admin";
import { lifetimeLabel } from "@/lib/keys/expiry";
import { KEY_CONFIRM_TITLES, KEY_TOASTS } from "@/lib/keys/messages";
import type { KeyPolicy } from "@/lib/settings/policy";
import {
  accessManagerSearch,
  EXPIRES_FILTER_LABELS,
  EXPIRES_FILTERS,
  KEY_SORTS,
  LAST_USED_FILTER_LABELS,
  LAST_USED_FILTERS,
  PAGE_SIZES,
  SEARCH_MAX_LENGTH,
  type AccessManagerQuery,
  type KeySort,
  type PageSize,
} from "@/lib/validation/admin";
import { deleteKeyAsAdminAction, deleteSelectedAction, disableSelectedAction, setKeyStatusAsAdminAction } from "../actions";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { BulkActionDialog, type BulkOperation } from "./bulk-action-dialog";

const column = createColumnHelper<AdminKeyRow>();

const STATUS_OPTIONS = [
  { value: "active", label: "Active" },
  { value: "disabled", label: "Disabled" },
  { value: "expired", label: "Expired" },
] as const;
const EXPIRES_OPTIONS = EXPIRES_FILTERS.map((value) => ({ value, label: EXPIRES_FILTER_LABELS[value] }));
const LAST_USED_OPTIONS = LAST_USED_FILTERS.map((value) => ({ value, label: LAST_USED_FILTER_LABELS[value] }));
const LEVEL_OPTIONS = ACCESS_LEVELS.map((value) => ({ value, label: ACCESS_LEVEL_LABELS[value] }));
const ROLE_OPTIONS = ROLES.map((value) => ({ value, label: ROLE_LABELS[value] }));

const isSort = (id: string): id is KeySort => (KEY_SORTS as readonly string[]).includes(id);

/** Clears the search and every filter, back to the first page. */
const NO_FILTERS = {
  q: "",
  status: undefined,
  level: undefined,
  role: undefined,
  expires: undefined,
  last_used: undefined,
  over_policy: undefined,
  page: 1,
} as const;

const runBulk = (operation: BulkOperation, ids: string[]) =>
  operation === "disable" ? disableSelectedAction({ ids }) : deleteSelectedAction({ ids });

export function AccessManager({
  rows,
  total,
  totalExact,
  pageCount,
  query,
  policy,
}: {
  rows: AdminKeyRow[];
  total: number;
  /** False for a search matching more keys than it counts: `total` is how many there are at least. */
  totalExact: boolean;
  pageCount: number;
  query: AccessManagerQuery;
  policy: KeyPolicy;
}) {
  const { navigate, pending } = useTableNavigation();
  const confirmed = useConfirmIdentity();
  const [deleting, setDeleting] = useState<AdminKeyRow | null>(null);
  const [bulk, setBulk] = useState<{ operation: BulkOperation; keys: AdminKeyRow[] } | null>(null);
  // Selected rows by key id. Only rows on the page count: a key that left it (another page, a
  // filter, deleted) is no longer selected.
  const [selection, setSelection] = useState<RowSelectionState>({});
  const [seenRows, setSeenRows] = useState(rows);
  if (rows !== seenRows) {
    setSeenRows(rows);
    const present = new Set(rows.map((row) => row.id));
    setSelection((current) => Object.fromEntries(Object.entries(current).filter(([id]) => present.has(id))));
  }
  const [working, startWork] = useTransition();
  // Menus open inside this section, so they stay within the page's main landmark.
  const [section, setSection] = useState<HTMLElement | null>(null);

  // The query asked for last: changes made in quick succession (a filter, then the page size)
  // build on each other rather than on the page the server rendered before them. The URL's query
  // (which the back button or a link may change too) becomes the latest when it arrives, except a
  // page rendered for an earlier navigation of ours while a later one is still on its way (a
  // search typed halfway, rendered after the rest was typed): that one is not taken for it.
  const latest = useRef(query);
  /** The query string of our last navigation, until the page for it (or any page, once none is pending) arrives. */
  const asked = useRef<string | null>(null);
  const navigating = useRef(pending);
  useEffect(() => {
    navigating.current = pending;
  }, [pending]);
  useEffect(() => {
    if (navigating.current && asked.current !== null && accessManagerSearch(query) !== asked.current) return;
    asked.current = null;
    latest.current = query;
  }, [query]);

  // Any change of search, filter, sort or page size starts again from the first page.
  const go = useCallback(
    (change: Partial<AccessManagerQuery>, options?: { replace?: boolean }) => {
      const next = { ...latest.current, page: 1, ...change };
      latest.current = next;
      asked.current = accessManagerSearch(next);
      navigate(asked.current, options);
    },
    [navigate],
  );

  const setStatus = useCallback(
    (key: AdminKeyRow, status: KeyStatus) =>
      startWork(async () => {
        const result = await confirmed(() => setKeyStatusAsAdminAction({ id: key.id, status }));
        if (result?.ok)
          toast.success(result.message ?? (status === "active" ? KEY_TOASTS.enabled(key.name) : KEY_TOASTS.disabled(key.name)));
        else toast.error(result?.message ?? "Could not change the status.");
      }),
    [confirmed],
  );

  const remove = (key: AdminKeyRow) =>
    startWork(async () => {
      const result = await confirmed(() => deleteKeyAsAdminAction({ id: key.id }));
      if (result?.ok) {
        toast.success(result.message ?? KEY_TOASTS.deleted(key.name));
        setDeleting(null);
      } else toast.error(result?.message ?? "Could not delete the key.");
    });

  const columns = useMemo(
    () =>
      [
        column.display(
          selectionColumn<AdminKeyRow>({ nameOf: (key) => key.name, allLabel: "Select every key on this page", disabled: working }),
        ),
        column.accessor("name", {
          id: "name",
          header: "Name",
          // A floor as well as a ceiling: on a phone the table scrolls rather than breaking words.
          cell: (c) => <span className="block min-w-[9rem] font-medium break-words text-slate-900">{c.getValue()}</span>,
          meta: { cellClassName: "max-w-[16rem]", card: "title" },
        }),
        column.accessor("accessLevel", { id: "accessLevel", header: "Access Level", cell: (c) => ACCESS_LEVEL_LABELS[c.getValue()] }),
        column.accessor((row) => row.user.name, {
          id: "user",
          header: "User",
          cell: ({ row }) => (
            <div className="min-w-[10rem]">
              <div className="font-medium text-slate-900">{row.original.user.name}</div>
              <div className="text-xs break-all text-slate-600">
                {row.original.user.kind === "person" ? row.original.user.email : "Service account"}
              </div>
            </div>
          ),
          meta: { cellClassName: "max-w-[18rem]" },
        }),
        column.accessor("createdAt", {
          id: "createdAt",
          header: "Created",
          cell: (c) => <span className="whitespace-nowrap">{formatDate(c.getValue())}</span>,
        }),
        column.accessor("expiresAt", {
          id: "expiresAt",
          header: "Expires",
          cell: ({ row }) => {
            const key = row.original;
            return (
              <span className="inline-flex flex-wrap items-center gap-x-1.5 gap-y-1">
                <span className="whitespace-nowrap" title={key.expiresAt ? formatDateTime(key.expiresAt) : undefined}>
                  {formatDate(key.expiresAt)}
                </span>
                {key.overPolicy ? <Badge tone="amber">Over policy</Badge> : null}
              </span>
            );
          },
        }),
        column.accessor((row) => row.user.role, {
          id: "role",
          header: "Role",
          cell: (c) => <RoleBadge role={c.getValue()} />,
        }),
        column.accessor("status", {
          id: "status",
          header: "Status",
          cell: ({ row }) => (
            <KeyStatusBadge
              status={row.original.state}
              disabledByAdmin={row.original.disabledByAdmin}
              disabledReason={row.original.disabledReason}
            />
          ),
        }),
        column.accessor("lastUsedAt", {
          id: "lastUsedAt",
          header: "Last used",
          cell: ({ row }) => {
            const key = row.original;
            return (
              <span className="block">
                <span className="whitespace-nowrap" title={formatDateTime(key.lastUsedAt)}>
                  {formatDate(key.lastUsedAt)}
                </span>
                {key.lastUsedIp ? (
                  <span className="block font-mono text-xs break-all text-slate-600">
                    <span className="sr-only">from IP address </span>
                    {key.lastUsedIp}
                  </span>
                ) : null}
              </span>
            );
          },
        }),
        column.display({
          id: "actions",
          header: "Actions",
          meta: { srOnlyHeader: true, cellClassName: "text-right", card: "actions" },
          cell: ({ row }) => {
            const key = row.original;
            return (
              <DropdownMenu modal={false}>
                <DropdownMenuTrigger asChild>
                  <IconButton label="Settings" title={`Settings for ${key.name}`} icon={Settings} disabled={working} />
                </DropdownMenuTrigger>
                <DropdownMenuContent container={section} aria-label={`Settings for ${key.name}`}>
                  {key.status === "active" ? (
                    <DropdownMenuItem onSelect={() => setStatus(key, "disabled")}>Disable</DropdownMenuItem>
                  ) : (
                    <DropdownMenuItem onSelect={() => setStatus(key, "active")}>Enable</DropdownMenuItem>
                  )}
                  <DropdownMenuItem tone="danger" onSelect={() => setDeleting(key)}>
                    Delete
                  </DropdownMenuItem>
                </DropdownMenuContent>
              </DropdownMenu>
            );
          },
        }),
      ].map((def) => ({
        ...def,
        // Ten columns: narrower gutters than the shared table's, so that at a laptop's width every
        // column (the Settings menu last) fits without scrolling sideways.
        meta: { ...def.meta, headerClassName: cn("px-3", def.meta?.headerClassName), cellClassName: cn("px-3", def.meta?.cellClassName) },
      })),
    [setStatus, working, section],
  );

  const sorting: SortingState = [{ id: query.sort, desc: query.dir === "desc" }];
  const table = useReactTable({
    data: rows,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (row) => row.id,
    enableRowSelection: true,
    onRowSelectionChange: setSelection,
    // Sorting and paging happen in the database; the table only shows and asks.
    manualSorting: true,
    manualPagination: true,
    manualFiltering: true,
    enableSortingRemoval: false,
    enableMultiSort: false,
    rowCount: total,
    state: { sorting, rowSelection: selection, pagination: { pageIndex: query.page - 1, pageSize: query.size } },
    onSortingChange: (updater: Updater<SortingState>) => {
      const current: SortingState = [{ id: latest.current.sort, desc: latest.current.dir === "desc" }];
      const next = (typeof updater === "function" ? updater(current) : updater)[0];
      // The cards' "Default order" clears the sort: back to the newest first.
      if (!next) go({ sort: "createdAt", dir: "desc" });
      else if (isSort(next.id)) go({ sort: next.id, dir: next.desc ? "desc" : "asc" });
    },
  });

  const filtered = Boolean(query.q || query.status || query.level || query.role || query.expires || query.last_used || query.over_policy);
  const selected = rows.filter((row) => selection[row.id]);

  return (
    <section ref={setSection} aria-label="API keys" className="space-y-4">
      <DataTableToolbar>
        <DataTableSearch
          label="Search"
          navigating={pending}
          placeholder="Key name, user name or email"
          value={query.q}
          maxLength={SEARCH_MAX_LENGTH}
          onSearch={(q) => go({ q }, { replace: true })}
        />
        <DataTableFilter
          label="Status"
          allLabel="All statuses"
          value={query.status}
          options={STATUS_OPTIONS}
          onChange={(status) => go({ status: status as AccessManagerQuery["status"] })}
        />
        <DataTableFilter
          label="Access Level"
          allLabel="All access levels"
          value={query.level}
          options={LEVEL_OPTIONS}
          onChange={(level) => go({ level: level as AccessManagerQuery["level"] })}
        />
        <DataTableFilter
          label="Role"
          allLabel="All roles"
          value={query.role}
          options={ROLE_OPTIONS}
          onChange={(role) => go({ role: role as Role | undefined })}
        />
        <DataTableFilter
          label="Expires"
          allLabel="Any expiry"
          value={query.expires}
          options={EXPIRES_OPTIONS}
          onChange={(expires) => go({ expires: expires as AccessManagerQuery["expires"] })}
        />
        <DataTableFilter
          label="Last used"
          allLabel="Any time"
          value={query.last_used}
          options={LAST_USED_OPTIONS}
          onChange={(lastUsed) => go({ last_used: lastUsed as AccessManagerQuery["last_used"] })}
        />
        <OverPolicyFilter checked={Boolean(query.over_policy)} policy={policy} onChange={(on) => go({ over_policy: on || undefined })} />
        {filtered ? (
          <Link
            href={`/admin/api-access${accessManagerSearch({ ...query, ...NO_FILTERS })}`}
            className="mb-2.5 text-sm font-medium text-indigo-700 underline underline-offset-4"
          >
            Clear filters
          </Link>
        ) : null}
      </DataTableToolbar>

      <div className="flex flex-wrap items-center gap-x-3 gap-y-2" role="group" aria-label="Selected keys">
        {/* Phones have no header row: this selects the page's keys there. */}
        <label className="flex items-center gap-2 text-sm text-slate-700 sm:hidden">
          <Checkbox
            checked={table.getIsAllPageRowsSelected()}
            indeterminate={table.getIsSomePageRowsSelected()}
            disabled={working || rows.length === 0}
            onChange={(event) => table.toggleAllPageRowsSelected(event.target.checked)}
          />
          Select all on this page
        </label>
        <p className="text-sm text-slate-700" aria-live="polite">
          {selected.length === 0 ? "No keys selected" : `${selected.length} selected`}
        </p>
        <Button
          variant="secondary"
          size="sm"
          disabled={selected.length === 0 || working}
          onClick={() => setBulk({ operation: "disable", keys: selected })}
        >
          Disable selected
        </Button>
        <Button
          variant="secondary"
          size="sm"
          className="text-red-700"
          disabled={selected.length === 0 || working}
          onClick={() => setBulk({ operation: "delete", keys: selected })}
        >
          Delete selected
        </Button>
      </div>

      <ResponsiveDataTable
        table={table}
        caption="Every API key in the organisation"
        busy={pending || working}
        empty={
          filtered ? (
            <>
              <span className="block font-medium text-slate-800">No API keys match</span>
              <span className="text-sm">Try another search, or clear the filters.</span>
            </>
          ) : (
            <>
              <span className="block font-medium text-slate-800">No API keys yet</span>
              <span className="text-sm">Keys people create on their profile appear here.</span>
            </>
          )
        }
      />

      <DataTablePagination
        page={query.page}
        pageCount={pageCount}
        pageSize={query.size}
        pageSizes={PAGE_SIZES}
        total={total}
        // A search matching very many keys is counted up to a limit (lib/keys/admin.ts): "of 1,000+ keys".
        totalExact={totalExact}
        noun={["key", "keys"]}
        hrefFor={(page) => `/admin/api-access${accessManagerSearch({ ...query, page })}`}
        onPageSizeChange={(size) => go({ size: size as PageSize })}
        onNavigate={(href) => navigate(href)}
      />

      <BulkActionDialog
        operation={bulk?.operation ?? null}
        keys={bulk?.keys ?? []}
        run={(operation, ids) => confirmed(() => runBulk(operation, ids))}
        onClose={() => setBulk(null)}
        onDone={() => setSelection({})}
      />

      <ConfirmDialog
        open={deleting !== null}
        title={KEY_CONFIRM_TITLES.delete}
        confirmLabel="Delete"
        pendingLabel="Deleting…"
        pending={working}
        autoFocus
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove(deleting)}
      >
        {deleting ? (
          <p className="text-sm text-slate-700">
            Delete <strong className="break-all">{deleting.name}</strong> of {deleting.user.name} (
            {deleting.user.kind === "person" ? deleting.user.email : "service account"})? This is permanent: anything using it stops working
            at once.
          </p>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}

/** Over policy: keys that would live longer from now than the Maximum key lifetime allows. */
function OverPolicyFilter({ checked, policy, onChange }: { checked: boolean; policy: KeyPolicy; onChange: (on: boolean) => void }) {
  const hintId = useId();
  // Ticked at once; the URL (and so `checked`) follows when the next page arrives.
  const [on, setOn] = useState(checked);
  const [seen, setSeen] = useState(checked);
  if (checked !== seen) {
    setSeen(checked);
    setOn(checked);
  }
  return (
    <div className="space-y-1.5">
      <span className="block text-xs font-medium text-slate-700" id={hintId}>
        Policy: {lifetimeLabel(policy.maxKeyLifetimeDays, "no limit")}
      </span>
      <label className="flex h-10 items-center gap-2 text-sm text-slate-800">
        <Checkbox
          checked={on}
          aria-describedby={hintId}
          onChange={(event) => {
            setOn(event.target.checked);
            onChange(event.target.checked);
          }}
        />
        Over policy
      </label>
    </div>
  );
}
