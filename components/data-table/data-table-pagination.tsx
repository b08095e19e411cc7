"use client";

import { ChevronLeft, ChevronRight, ChevronsLeft, ChevronsRight } from "lucide-react";
import Link from "next/link";
import { useId, type ReactNode } from "react";
import { cn } from "@/components/ui/cn";
import { inputClass } from "@/components/ui/field";

const numberFormat = new Intl.NumberFormat("en-GB");

/**
 * Pagination for a table paged by the server: a total, a page-size choice and links to the
 * first, previous, next and last pages (real links: they can be opened in a new tab or shared).
 * A total counted only up to a limit (`totalExact` false) reads "of 1,000+ keys" and "Page 1 of
 * 41+": the last page link then leads to the farthest page counted, and Next on to the next.
 */
export function DataTablePagination({
  page,
  pageCount,
  pageSize,
  pageSizes,
  total,
  totalExact = true,
  noun,
  hrefFor,
  onPageSizeChange,
  onNavigate,
}: {
  page: number;
  pageCount: number;
  pageSize: number;
  pageSizes: readonly number[];
  total: number;
  /** False when `total` is only what was counted (there are at least that many): shown with a "+". */
  totalExact?: boolean;
  /** What the rows are, singular and plural: ["key", "keys"]. */
  noun: [string, string];
  hrefFor: (page: number) => string;
  onPageSizeChange: (size: number) => void;
  /** Takes over plain clicks on the page links (e.g. to show the table busy while it loads). */
  onNavigate?: (href: string) => void;
}) {
  const id = useId();
  const first = total === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(total, page * pageSize);
  return (
    <nav aria-label="Pagination" className="flex flex-wrap items-center justify-between gap-3 text-sm text-slate-700">
      <p aria-live="polite">
        {total === 0 ? (
          `No ${noun[1]}`
        ) : (
          <>
            <span className="font-medium text-slate-900">
              {numberFormat.format(first)}–{numberFormat.format(last)}
            </span>{" "}
            of <span className="font-medium text-slate-900">{numberFormat.format(total)}</span>
            {totalExact ? null : <MoreThan />} {total === 1 && totalExact ? noun[0] : noun[1]}
          </>
        )}
      </p>
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <div className="flex items-center gap-2">
          <label htmlFor={id} className="whitespace-nowrap">
            Rows per page
          </label>
          <select
            id={id}
            value={pageSize}
            onChange={(e) => onPageSizeChange(Number(e.target.value))}
            className={cn(inputClass, "h-9 w-auto pr-8")}
          >
            {pageSizes.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </div>
        <span className="whitespace-nowrap">
          Page {numberFormat.format(page)} of {numberFormat.format(pageCount)}
          {totalExact ? null : <MoreThan />}
        </span>
        <div className="flex items-center gap-1">
          <PageLink onNavigate={onNavigate} label="First page" href={hrefFor(1)} disabled={page <= 1}>
            <ChevronsLeft className="h-4 w-4" aria-hidden />
          </PageLink>
          <PageLink onNavigate={onNavigate} label="Previous page" href={hrefFor(page - 1)} disabled={page <= 1}>
            <ChevronLeft className="h-4 w-4" aria-hidden />
          </PageLink>
          <PageLink onNavigate={onNavigate} label="Next page" href={hrefFor(page + 1)} disabled={page >= pageCount}>
            <ChevronRight className="h-4 w-4" aria-hidden />
          </PageLink>
          <PageLink onNavigate={onNavigate} label="Last page" href={hrefFor(pageCount)} disabled={page >= pageCount}>
            <ChevronsRight className="h-4 w-4" aria-hidden />
          </PageLink>
        </div>
      </div>
    </nav>
  );
}

/** The "+" of a count that is only a lower bound, said in words to a screen reader. */
function MoreThan() {
  return (
    <>
      <span aria-hidden>+</span>
      <span className="sr-only"> or more</span>
    </>
  );
}

const pageLinkClass =
  "inline-flex h-9 w-9 items-center justify-center rounded-md border border-slate-300 bg-white text-slate-800 " +
  "hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600";

/** A page link, or the same box marked disabled when there is no such page. */
export function PageLink({
  label,
  href,
  disabled,
  onNavigate,
  children,
}: {
  label: string;
  href: string;
  disabled: boolean;
  onNavigate?: (href: string) => void;
  children: ReactNode;
}) {
  if (disabled) {
    return (
      <span
        role="link"
        aria-disabled="true"
        aria-label={label}
        className={cn(pageLinkClass, "cursor-not-allowed text-slate-400 hover:bg-white")}
      >
        {children}
      </span>
    );
  }
  return (
    <Link
      href={href}
      aria-label={label}
      title={label}
      prefetch={false}
      scroll={false}
      className={pageLinkClass}
      onClick={(e) => {
        // A modified click (new tab, new window) stays a plain link.
        if (!onNavigate || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || e.button !== 0) return;
        e.preventDefault();
        onNavigate(href);
      }}
    >
      {children}
    </Link>
  );
}
