"use client";

import type { DisplayColumnDef } from "@tanstack/react-table";
import { useEffect, useRef, type InputHTMLAttributes } from "react";
import { cn } from "@/components/ui/cn";

/** A checkbox that can also show "some selected" (indeterminate, which only a property can set). */
export function Checkbox({
  indeterminate = false,
  className,
  ...props
}: InputHTMLAttributes<HTMLInputElement> & { indeterminate?: boolean }) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = indeterminate;
  }, [indeterminate]);
  return (
    <input
      ref={ref}
      type="checkbox"
      className={cn("h-4 w-4 cursor-pointer rounded border-slate-400 accent-indigo-600 disabled:cursor-not-allowed", className)}
      {...props}
    />
  );
}

/**
 * The row-selection column of a table with bulk actions: a checkbox per row, named after the row
 * ("Select <name>"), and one in the header for every row of the page. The table needs
 * `enableRowSelection` and a `rowSelection` state; in cards it sits at the head of each card.
 * Pass it to the column helper's `display()`.
 */
export function selectionColumn<T>({
  nameOf,
  allLabel,
  disabled = false,
}: {
  nameOf: (row: T) => string;
  /** The header checkbox's name, e.g. "Select every key on this page". */
  allLabel: string;
  disabled?: boolean;
}): DisplayColumnDef<T> {
  return {
    id: "select",
    enableSorting: false,
    meta: { headerClassName: "w-10", card: "aside", cardLabel: "Select" },
    header: ({ table }) => (
      <Checkbox
        aria-label={allLabel}
        checked={table.getIsAllPageRowsSelected()}
        indeterminate={table.getIsSomePageRowsSelected()}
        disabled={disabled || table.getRowModel().rows.length === 0}
        onChange={(event) => table.toggleAllPageRowsSelected(event.target.checked)}
      />
    ),
    cell: ({ row }) => (
      <Checkbox
        aria-label={`Select ${nameOf(row.original)}`}
        checked={row.getIsSelected()}
        disabled={disabled || !row.getCanSelect()}
        onChange={(event) => row.toggleSelected(event.target.checked)}
      />
    ),
  };
}
