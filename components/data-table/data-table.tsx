"use client";

import { flexRender, type Table as TanstackTable } from "@tanstack/react-table";
import { ArrowDown, ArrowUp, ArrowUpDown } from "lucide-react";
import type { ReactNode } from "react";
import { cn } from "@/components/ui/cn";
import { ScrollRegion } from "./scroll-region";

declare module "@tanstack/react-table" {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the generics must match TanStack's declaration
  interface ColumnMeta<TData, TValue> {
    headerClassName?: string;
    cellClassName?: string;
    /** Visually hidden header text, for columns of icon buttons. */
    srOnlyHeader?: boolean;
  }
}

/**
 * The shared table for lists a person sorts (Profile's API keys, the API Access Manager): renders
 * any TanStack table, with sortable headers as buttons that announce their order (aria-sort).
 * Sorting itself is the table's: client-side or in the database. Fixed lists that are never
 * sorted (users, sessions, invites, the audit log) are plain tables built from components/ui/table.
 */
export function DataTable<T>({
  table,
  caption,
  empty,
  busy = false,
}: {
  table: TanstackTable<T>;
  caption: string;
  empty?: ReactNode;
  /** The next rows are loading (server-side tables): the current ones stay, dimmed. */
  busy?: boolean;
}) {
  const rows = table.getRowModel().rows;
  return (
    <ScrollRegion label={caption}>
      <table
        aria-busy={busy || undefined}
        className={cn("w-full border-collapse text-left text-sm transition-opacity", busy && "opacity-60")}
      >
        <caption className="sr-only">{caption}</caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const meta = header.column.columnDef.meta;
                const sorted = header.column.getIsSorted();
                const content = header.isPlaceholder ? null : flexRender(header.column.columnDef.header, header.getContext());
                return (
                  <th
                    key={header.id}
                    scope="col"
                    aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
                    className={cn(
                      "border-b border-slate-200 bg-slate-50 px-4 py-2.5",
                      "text-xs font-semibold tracking-wide whitespace-nowrap text-slate-600 uppercase",
                      meta?.headerClassName,
                    )}
                  >
                    {meta?.srOnlyHeader ? (
                      <span className="sr-only">{content}</span>
                    ) : header.column.getCanSort() ? (
                      <button
                        type="button"
                        onClick={header.column.getToggleSortingHandler()}
                        className={cn(
                          "-mx-1 inline-flex items-center gap-1 rounded px-1 uppercase",
                          "hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-indigo-600",
                        )}
                      >
                        {content}
                        {sorted === "asc" ? (
                          <ArrowUp className="h-3.5 w-3.5" aria-hidden />
                        ) : sorted === "desc" ? (
                          <ArrowDown className="h-3.5 w-3.5" aria-hidden />
                        ) : (
                          <ArrowUpDown className="h-3.5 w-3.5 opacity-40" aria-hidden />
                        )}
                      </button>
                    ) : (
                      content
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={table.getVisibleLeafColumns().length} className="px-4 py-10 text-center text-slate-600">
                {empty ?? "Nothing here yet."}
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={row.id} className="hover:bg-slate-50/60">
                {row.getVisibleCells().map((cell) => (
                  <td
                    key={cell.id}
                    className={cn(
                      "border-b border-slate-100 px-4 py-3 align-middle text-slate-800",
                      cell.column.columnDef.meta?.cellClassName,
                    )}
                  >
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
