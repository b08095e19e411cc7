"use client";

import { Menu, X } from "lucide-react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect, useId, useRef, useState } from "react";
import { cn } from "@/components/ui/cn";

export interface NavItem {
  href: string;
  label: string;
}

const isActive = (pathname: string, href: string) => pathname === href || pathname.startsWith(`${href}/`);

/**
 * The main navigation. From 640 px up, the links in a row that wraps (never a strip that scrolls
 * sideways: WebKit laid that strip's scrollbar over the lower half of its links, where a tap hit
 * the scrollbar). On a phone, behind a **Menu** button that opens the links as a list, each as wide
 * as the screen; choosing one, Escape, or a tap elsewhere closes it.
 */
export function NavLinks({ items }: { items: NavItem[] }) {
  const pathname = usePathname();
  const [open, setOpen] = useState(false);
  const listId = useId();
  const container = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  // A new page closes the menu.
  const [seenPath, setSeenPath] = useState(pathname);
  if (pathname !== seenPath) {
    setSeenPath(pathname);
    setOpen(false);
  }

  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpen(false);
      button.current?.focus();
    };
    const onPointer = (event: PointerEvent) => {
      if (!container.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("pointerdown", onPointer);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("pointerdown", onPointer);
    };
  }, [open]);

  const link = (item: NavItem, wide: boolean) => {
    const active = isActive(pathname, item.href);
    return (
      <Link
        href={item.href}
        aria-current={active ? "page" : undefined}
        onClick={() => setOpen(false)}
        className={cn(
          "block rounded-md px-3 text-sm font-medium whitespace-nowrap",
          wide ? "py-3" : "py-2",
          active
            ? "bg-indigo-50 text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200"
            : "text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800",
        )}
      >
        {item.label}
      </Link>
    );
  };

  return (
    <div ref={container}>
      <ul className="hidden flex-wrap gap-1 sm:flex">
        {items.map((item) => (
          <li key={item.href}>{link(item, false)}</li>
        ))}
      </ul>
      <div className="sm:hidden">
        <button
          ref={button}
          type="button"
          aria-expanded={open}
          aria-controls={listId}
          onClick={() => setOpen((value) => !value)}
          className={cn(
            "inline-flex h-10 items-center gap-2 rounded-md px-3 text-sm font-medium text-slate-800",
            "hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600 dark:text-slate-100 dark:hover:bg-slate-800",
          )}
        >
          {open ? <X className="h-5 w-5" aria-hidden /> : <Menu className="h-5 w-5" aria-hidden />}
          Menu
        </button>
        <ul id={listId} hidden={!open} className="mt-1 space-y-1 border-t border-slate-200 pt-2 dark:border-slate-700">
          {items.map((item) => (
            <li key={item.href}>{link(item, true)}</li>
          ))}
        </ul>
      </div>
    </div>
  );
}
