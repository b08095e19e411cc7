"use client";

import { DropdownMenu as M } from "radix-ui";
import type { ComponentProps } from "react";
import { cn } from "./cn";

export const DropdownMenu = M.Root;
export const DropdownMenuTrigger = M.Trigger;

export function DropdownMenuContent({
  className,
  container,
  ...props
}: ComponentProps<typeof M.Content> & { container?: HTMLElement | null }) {
  return (
    // `container` keeps the open menu inside a landmark (axe: region); the body by default.
    <M.Portal container={container}>
      <M.Content
        align="end"
        sideOffset={4}
        className={cn("z-50 min-w-40 rounded-md border border-slate-200 bg-white p-1 shadow-lg", className)}
        {...props}
      />
    </M.Portal>
  );
}

export function DropdownMenuItem({
  className,
  tone = "default",
  ...props
}: ComponentProps<typeof M.Item> & { tone?: "default" | "danger" }) {
  return (
    <M.Item
      className={cn(
        "flex cursor-pointer items-center gap-2 rounded px-3 py-2 text-sm outline-none select-none",
        tone === "danger" ? "text-red-700 data-highlighted:bg-red-50" : "text-slate-800 data-highlighted:bg-slate-100",
        className,
      )}
      {...props}
    />
  );
}
