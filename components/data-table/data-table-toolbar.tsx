"use client";

import { Search, X } from "lucide-react";
import { useEffect, useId, useState, type ReactNode } from "react";
import { cn } from "@/components/ui/cn";
import { inputClass } from "@/components/ui/field";

/** The row of controls above a table: search, filters, and whatever else it is given. */
export function DataTableToolbar({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <div role="search" className={cn("flex flex-wrap items-end gap-3", className)}>
      {children}
    </div>
  );
}

/**
 * A search box that reports its text after a short pause in typing (or at once on Enter). The
 * table's state is in the URL, so `value` can change from outside (back button, a Clear link):
 * the box follows it unless it is the text this box itself reported last. While the table is
 * `navigating` to what was asked for, a `value` on its way there (the page for a search typed
 * halfway, rendered after the person typed on) is not taken over the text in the box.
 */
export function DataTableSearch({
  label,
  placeholder,
  value,
  onSearch,
  maxLength,
  delayMs = 300,
  navigating = false,
}: {
  label: string;
  placeholder?: string;
  value: string;
  onSearch: (text: string) => void;
  maxLength?: number;
  delayMs?: number;
  navigating?: boolean;
}) {
  const id = useId();
  const [text, setText] = useState(value);
  const [reported, setReported] = useState(value);
  const [seen, setSeen] = useState(value);
  if (value !== seen && !navigating) {
    setSeen(value);
    if (value !== reported) {
      setText(value);
      setReported(value);
    }
  }

  useEffect(() => {
    if (text.trim() === reported.trim()) return;
    const timer = setTimeout(() => {
      setReported(text);
      onSearch(text.trim());
    }, delayMs);
    return () => clearTimeout(timer);
  }, [text, reported, onSearch, delayMs]);

  return (
    <div className="w-full space-y-1.5 sm:w-80">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      <div className="relative">
        <Search className="pointer-events-none absolute top-1/2 left-3 h-4 w-4 -translate-y-1/2 text-slate-400" aria-hidden />
        <input
          id={id}
          type="search"
          value={text}
          maxLength={maxLength}
          placeholder={placeholder}
          autoComplete="off"
          // type=search for its semantics; the browser's own clear button is hidden, as the box
          // has ours (one clear button, the same in every browser).
          className={cn(inputClass, "pr-9 pl-9 [&::-webkit-search-cancel-button]:appearance-none")}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key !== "Enter") return;
            e.preventDefault();
            setReported(text);
            onSearch(text.trim());
          }}
        />
        {text ? (
          <button
            type="button"
            aria-label="Clear search"
            className={cn(
              "absolute top-1/2 right-2 -translate-y-1/2 rounded p-1 text-slate-500",
              "hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600",
            )}
            onClick={() => {
              setText("");
              setReported("");
              onSearch("");
            }}
          >
            <X className="h-4 w-4" aria-hidden />
          </button>
        ) : null}
      </div>
    </div>
  );
}

export interface FilterOption {
  value: string;
  label: string;
}

/** A labelled select filter; the empty value means "no filter" (`allLabel`). */
export function DataTableFilter({
  label,
  allLabel,
  value,
  options,
  onChange,
}: {
  label: string;
  allLabel: string;
  value: string | undefined;
  options: readonly FilterOption[];
  onChange: (value: string | undefined) => void;
}) {
  const id = useId();
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-xs font-medium text-slate-700">
        {label}
      </label>
      <select id={id} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)} className={cn(inputClass, "w-auto pr-8")}>
        <option value="">{allLabel}</option>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}
