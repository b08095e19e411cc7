"use client";

import { createColumnHelper, getCoreRowModel, useReactTable, type SortingState, type Updater } from "@tanstack/react-table";
import { Settings } from "lucide-react";
import Link from "next/link";
import { useCallback, useEffect, useMemo, useRef, useState, useTransition } from "react";
import { toast } from "sonner";
import { DataTable } from "@/components/data-table/data-table";
import { DataTablePagination } from "@/components/data-table/data-table-pagination";
import { DataTableFilter, DataTableSearch, DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useTableNavigation } from "@/components/data-table/use-table-navigation";
import { KeyStatusBadge, RoleBadge } from "@/components/badges";
import { ConfirmDialog } from "@/components/ui/confirm";
import { IconButton } from "@/components/ui/icon-button";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import type { KeyStatus, Role } from "@/db/schema";
import { ACCESS_LEVEL_LABELS, ACCESS_LEVELS, ROLE_LABELS, ROLES } from "@/lib/auth/permissions";
import { formatDate, formatDateTime } from "@/lib/format";
import type { AdminKeyRow } from "@/lib/keys/admin";
import {
  accessManagerSearch,
  KEY_SORTS,
  PAGE_SIZES,
  SEARCH_MAX_LENGTH,
  type AccessManagerQuery,
  type KeySort,
  type PageSize,
} from "@/lib/validation/admin";
import { deleteKeyAsAdminAction, setKeyStatusAsAdminAction } from "../actions";

const column = createColumnHelper<AdminKeyRow>();

const STATUS_OPTIONS = [
  { value: "active", label: "Active" },
  { value: "disabled", label: "Disabled" },
] as const;
const LEVEL_OPTIONS = ACCESS_LEVELS.map((value) => ({ value, label: ACCESS_LEVEL_LABELS[value] }));
const ROLE_OPTIONS = ROLES.map((value) => ({ value, label: ROLE_LABELS[value] }));

const isSort = (id: string): id is KeySort => (KEY_SORTS as readonly string[]).includes(id);

/** Clears the search and every filter, back to the first page. */
const NO_FILTERS = { q: "", status: undefined, level: undefined, role: undefined, page: 1 } as const;

export function AccessManager({
  rows,
  total,
  pageCount,
  query,
}: {
  rows: AdminKeyRow[];
  total: number;
  pageCount: number;
  query: AccessManagerQuery;
}) {
  const { navigate, pending } = useTableNavigation();
  const [deleting, setDeleting] = useState<AdminKeyRow | null>(null);
  const [working, startWork] = useTransition();
  // Menus open inside this section, so they stay within the page's main landmark.
  const [section, setSection] = useState<HTMLElement | null>(null);

  // The query asked for last: changes made in quick succession (a filter, then the page size)
  // build on each other rather than on the page the server rendered before them.
  const latest = useRef(query);
  useEffect(() => {
    latest.current = query;
  }, [query]);

  // Any change of search, filter, sort or page size starts again from the first page.
  const go = useCallback(
    (change: Partial<AccessManagerQuery>, options?: { replace?: boolean }) => {
      const next = { ...latest.current, page: 1, ...change };
      latest.current = next;
      navigate(accessManagerSearch(next), options);
    },
    [navigate],
  );

  const setStatus = useCallback(
    (key: AdminKeyRow, status: KeyStatus) =>
      startWork(async () => {
        const result = await setKeyStatusAsAdminAction({ id: key.id, status });
        if (result?.ok) toast.success(result.message ?? "Done.");
        else toast.error(result?.message ?? "Could not change the status.");
      }),
    [],
  );

  const remove = (key: AdminKeyRow) =>
    startWork(async () => {
      const result = await deleteKeyAsAdminAction({ id: key.id });
      if (result?.ok) {
        toast.success(result.message ?? "Deleted.");
        setDeleting(null);
      } else toast.error(result?.message ?? "Could not delete the key.");
    });

  const columns = useMemo(
    () => [
      column.accessor("name", {
        id: "name",
        header: "Name",
        // A floor as well as a ceiling: on a phone the table scrolls rather than breaking words.
        cell: (c) => <span className="block min-w-[9rem] font-medium break-words text-slate-900">{c.getValue()}</span>,
        meta: { cellClassName: "max-w-[16rem]" },
      }),
      column.accessor("accessLevel", { id: "accessLevel", header: "Access Level", cell: (c) => ACCESS_LEVEL_LABELS[c.getValue()] }),
      column.accessor((row) => row.user.name, {
        id: "user",
        header: "User",
        cell: ({ row }) => (
          <div className="min-w-[11rem]">
            <div className="font-medium text-slate-900">{row.original.user.name}</div>
            <div className="text-xs break-all text-slate-600">{row.original.user.email}</div>
          </div>
        ),
        meta: { cellClassName: "max-w-[18rem]" },
      }),
      column.accessor("createdAt", {
        id: "createdAt",
        header: "Created",
        cell: (c) => <span className="whitespace-nowrap">{formatDate(c.getValue())}</span>,
      }),
      column.accessor((row) => row.user.role, {
        id: "role",
        header: "Role",
        cell: (c) => <RoleBadge role={c.getValue()} />,
      }),
      column.accessor("status", {
        id: "status",
        header: "Status",
        cell: ({ row }) => <KeyStatusBadge status={row.original.status} disabledByAdmin={row.original.disabledByAdmin} />,
      }),
      column.accessor("lastUsedAt", {
        id: "lastUsedAt",
        header: "Last used",
        cell: (c) => (
          <span className="whitespace-nowrap" title={formatDateTime(c.getValue())}>
            {formatDate(c.getValue())}
          </span>
        ),
      }),
      column.display({
        id: "actions",
        header: "Actions",
        meta: { srOnlyHeader: true, cellClassName: "text-right" },
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
    ],
    [setStatus, working, section],
  );

  const sorting: SortingState = [{ id: query.sort, desc: query.dir === "desc" }];
  const table = useReactTable({
    data: rows,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (row) => row.id,
    // Sorting and paging happen in the database; the table only shows and asks.
    manualSorting: true,
    manualPagination: true,
    manualFiltering: true,
    enableSortingRemoval: false,
    enableMultiSort: false,
    rowCount: total,
    state: { sorting, pagination: { pageIndex: query.page - 1, pageSize: query.size } },
    onSortingChange: (updater: Updater<SortingState>) => {
      const current: SortingState = [{ id: latest.current.sort, desc: latest.current.dir === "desc" }];
      const next = (typeof updater === "function" ? updater(current) : updater)[0];
      if (next && isSort(next.id)) go({ sort: next.id, dir: next.desc ? "desc" : "asc" });
    },
  });

  const filtered = Boolean(query.q || query.status || query.level || query.role);

  return (
    <section ref={setSection} aria-label="API keys" className="space-y-4">
      <DataTableToolbar>
        <DataTableSearch
          label="Search"
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
        {filtered ? (
          <Link
            href={`/admin/api-access${accessManagerSearch({ ...query, ...NO_FILTERS })}`}
            className="mb-2.5 text-sm font-medium text-indigo-700 underline underline-offset-4"
          >
            Clear filters
          </Link>
        ) : null}
      </DataTableToolbar>

      <DataTable
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
        noun={["key", "keys"]}
        hrefFor={(page) => `/admin/api-access${accessManagerSearch({ ...query, page })}`}
        onPageSizeChange={(size) => go({ size: size as PageSize })}
        onNavigate={(href) => navigate(href)}
      />

      <ConfirmDialog
        open={deleting !== null}
        title="Delete API key"
        confirmLabel="Delete"
        pendingLabel="Deleting…"
        pending={working}
        autoFocus
        onCancel={() => setDeleting(null)}
        onConfirm={() => deleting && remove(deleting)}
      >
        {deleting ? (
          <p className="text-sm text-slate-700">
            Delete <strong className="break-all">{deleting.name}</strong> of {deleting.user.name} ({deleting.user.email})? This is
            permanent: anything using it stops working at once.
          </p>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}
