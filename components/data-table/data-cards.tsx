"use client";

import { flexRender, type Column, type Table as TanstackTable } from "@tanstack/react-table";
import { useId, type ReactNode } from "react";
import { cn } from "@/components/ui/cn";
import { inputClass } from "@/components/ui/field";
import { DataTable } from "./data-table";

declare module "@tanstack/react-table" {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the generics must match TanStack's declaration
  interface ColumnMeta<TData, TValue> {
    /**
     * Where the column goes in a card (DataCards, phones): "title" heads the card, "aside" sits at
     * the head's end (a status, a checkbox), "actions" ends the card, "hidden" leaves it out. Any
     * other column is a labelled fact (its header's text, or `cardLabel`).
     */
    card?: "title" | "aside" | "actions" | "hidden";
    /** The fact's label in a card, when the header is not plain text. */
    cardLabel?: string;
  }
}

const labelOf = <T,>(column: Column<T, unknown>): string => {
  const header = column.columnDef.header;
  return column.columnDef.meta?.cardLabel ?? (typeof header === "string" ? header : column.id);
};

/**
 * The same TanStack table as one card per row, for screens too narrow for its columns: every cell
 * stays reachable (the actions included) without scrolling sideways. Sorting is a select above
 * the cards, driving the table's own sorting state (client-side or in the database alike).
 */
export function DataCards<T>({
  table,
  label,
  empty,
  busy = false,
  className,
}: {
  table: TanstackTable<T>;
  /** The list's accessible name (the table's caption). */
  label: string;
  empty?: ReactNode;
  busy?: boolean;
  className?: string;
}) {
  const rows = table.getRowModel().rows;
  return (
    <div className={cn("space-y-3", className)}>
      <CardSort table={table} />
      {rows.length === 0 ? (
        <div className="rounded-lg border border-slate-200 bg-white px-4 py-10 text-center text-slate-600">
          {empty ?? "Nothing here yet."}
        </div>
      ) : (
        <ul aria-label={label} aria-busy={busy || undefined} className={cn("space-y-3 transition-opacity", busy && "opacity-60")}>
          {rows.map((row) => {
            const cells = row.getVisibleCells();
            const where = (place: string | undefined) => cells.filter((cell) => cell.column.columnDef.meta?.card === place);
            const render = (cell: (typeof cells)[number]) => flexRender(cell.column.columnDef.cell, cell.getContext());
            const actions = where("actions");
            return (
              <li
                key={row.id}
                data-testid="data-card"
                className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 text-sm text-slate-800"
              >
                <div className="flex items-start justify-between gap-3">
                  <div className="min-w-0 flex-1 break-words">
                    {where("title").map((cell) => (
                      <div key={cell.id}>{render(cell)}</div>
                    ))}
                  </div>
                  {where("aside").map((cell) => (
                    <div key={cell.id} className="shrink-0">
                      {render(cell)}
                    </div>
                  ))}
                </div>
                <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-4 gap-y-1.5">
                  {where(undefined).map((cell) => (
                    <div key={cell.id} className="contents">
                      <dt className="text-slate-600">{labelOf(cell.column)}</dt>
                      <dd className="min-w-0 break-words">{render(cell)}</dd>
                    </div>
                  ))}
                </dl>
                {actions.length > 0 ? (
                  <div className="border-t border-slate-100 pt-3">
                    {actions.map((cell) => (
                      <div key={cell.id}>{render(cell)}</div>
                    ))}
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

/** Sort by: the cards have no column headers to click, so the sortable columns are offered here. */
function CardSort<T>({ table }: { table: TanstackTable<T> }) {
  const id = useId();
  const sortable = table.getAllLeafColumns().filter((column) => column.getCanSort());
  if (sortable.length === 0) return null;
  const [current] = table.getState().sorting;
  const value = current ? `${current.id}:${current.desc ? "desc" : "asc"}` : "";
  return (
    <div className="flex items-center justify-end gap-2">
      <label htmlFor={id} className="text-sm text-slate-600">
        Sort by
      </label>
      <select
        id={id}
        value={value}
        className={cn(inputClass, "w-auto")}
        onChange={(event) => {
          const [column, direction] = event.target.value.split(":");
          table.setSorting(column ? [{ id: column, desc: direction === "desc" }] : []);
        }}
      >
        <option value="">Default order</option>
        {sortable.map((column) => (
          <optgroup key={column.id} label={labelOf(column)}>
            <option value={`${column.id}:asc`}>{labelOf(column)}, ascending</option>
            <option value={`${column.id}:desc`}>{labelOf(column)}, descending</option>
          </optgroup>
        ))}
      </select>
    </div>
  );
}

/**
 * The shared data table from 640 px up, and DataCards below: the same table instance, so sorting,
 * selection and pagination are one state. Only one of the two is displayed (the other is
 * display:none, so out of the accessibility tree).
 */
export function ResponsiveDataTable<T>({
  table,
  caption,
  empty,
  busy,
}: {
  table: TanstackTable<T>;
  caption: string;
  empty?: ReactNode;
  busy?: boolean;
}) {
  return (
    <>
      <div className="hidden sm:block">
        <DataTable table={table} caption={caption} empty={empty} busy={busy} />
      </div>
      <DataCards table={table} label={caption} empty={empty} busy={busy} className="sm:hidden" />
    </>
  );
}
