"use client";

import { Dialog as D } from "radix-ui";
import { X } from "lucide-react";
import type { ReactNode } from "react";
import { cn } from "./cn";

export const Dialog = D.Root;
export const DialogTrigger = D.Trigger;
export const DialogClose = D.Close;

/** What a dialog's body offers to focus first: its first field, else its first control. */
const FIRST_FIELD = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
const FIRST_CONTROL = "[data-dialog-body] :is(button, a[href], [tabindex]:not([tabindex='-1'])):not([disabled])";

/**
 * A dialog opens with focus in its first field (Add API Key: Name), else on its first control,
 * never on the close button at its top (typing a name's space there closed the dialog). Only when
 * nothing inside has taken focus itself (an `autoFocus`): Radix asks only then.
 */
function focusFirstField(event: Event): void {
  const content = event.currentTarget as HTMLElement;
  const target = content.querySelector<HTMLElement>(FIRST_FIELD) ?? content.querySelector<HTMLElement>(FIRST_CONTROL);
  if (!target) return;
  event.preventDefault();
  target.focus();
}

export function DialogContent({
  title,
  description,
  children,
  className,
}: {
  title: string;
  description?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <D.Portal>
      <D.Overlay className="fixed inset-0 z-40 bg-slate-900/40" />
      <D.Content
        onOpenAutoFocus={focusFirstField}
        className={cn(
          "fixed top-1/2 left-1/2 z-50 max-h-[90vh] w-[calc(100vw-2rem)] max-w-md -translate-x-1/2 -translate-y-1/2",
          "overflow-y-auto rounded-lg bg-white p-6 shadow-xl focus:outline-none",
          className,
        )}
        {...(description ? {} : { "aria-describedby": undefined })}
      >
        <div className="mb-4 flex items-start justify-between gap-4">
          <D.Title className="text-lg font-semibold text-slate-900">{title}</D.Title>
          <D.Close
            className="rounded-md p-1 text-slate-500 hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-600"
            aria-label="Close"
          >
            <X className="h-5 w-5" aria-hidden />
          </D.Close>
        </div>
        {description ? <D.Description className="mb-4 text-sm text-slate-600">{description}</D.Description> : null}
        <div data-dialog-body>{children}</div>
      </D.Content>
    </D.Portal>
  );
}
