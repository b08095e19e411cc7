"use client";

import type { ReactNode } from "react";
import { Button } from "./button";
import { Dialog, DialogContent } from "./dialog";

export interface ConfirmProps {
  /** What is about to happen, and anything the person should see first. */
  children: ReactNode;
  /** The confirming button's label; the group is named "Confirm <label>". */
  confirmLabel: string;
  /** The label while the work runs (the button keeps `confirmLabel` without one). */
  pendingLabel?: string;
  tone?: "danger" | "primary";
  /** The work is running: both buttons wait. */
  pending: boolean;
  /** The confirming button waits for something else as well (a list still loading). */
  confirmDisabled?: boolean;
  /** Focus the confirming button first. */
  autoFocus?: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}

/** A question and its two answers, Cancel and the action it confirms: the one confirmation of the app. */
export function Confirm({
  children,
  confirmLabel,
  pendingLabel,
  tone = "danger",
  pending,
  confirmDisabled,
  autoFocus,
  onCancel,
  onConfirm,
}: ConfirmProps) {
  return (
    <div className="space-y-4" role="group" aria-label={`Confirm ${confirmLabel.toLowerCase()}`}>
      {children}
      <div className="flex justify-end gap-2">
        <Button variant="secondary" onClick={onCancel} disabled={pending}>
          Cancel
        </Button>
        <Button variant={tone} onClick={onConfirm} disabled={pending || confirmDisabled} autoFocus={autoFocus}>
          {pending && pendingLabel ? pendingLabel : confirmLabel}
        </Button>
      </div>
    </div>
  );
}

/**
 * A confirmation in a dialog of its own, titled `title`. Closing it (Escape, the close button,
 * a click outside) is a Cancel, refused while the work runs.
 */
export function ConfirmDialog({ open, title, ...confirm }: ConfirmProps & { open: boolean; title: string }) {
  return (
    <Dialog open={open} onOpenChange={(next) => !next && !confirm.pending && confirm.onCancel()}>
      {open ? (
        <DialogContent title={title}>
          <Confirm {...confirm} />
        </DialogContent>
      ) : null}
    </Dialog>
  );
}
