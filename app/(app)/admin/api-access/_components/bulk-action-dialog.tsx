"use client";

import { useState, useTransition } from "react";
import { toast } from "sonner";
import { Button } from "@/components/ui/button";
import { Confirm } from "@/components/ui/confirm";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import type { AdminKeyRow } from "@/lib/keys/admin";
import type { ActionState } from "@/lib/safe-action";
import type { BulkOutcome } from "../actions";

export type BulkOperation = "disable" | "delete";

const WORDS: Record<BulkOperation, { verb: string; done: string; pending: string }> = {
  disable: { verb: "Disable", done: "disabled", pending: "Disabling…" },
  delete: { verb: "Delete", done: "deleted", pending: "Deleting…" },
};

const keysWord = (n: number) => `${n} API ${n === 1 ? "key" : "keys"}`;
/** How many names the confirmation lists before "and N more". */
const LISTED = 8;

/**
 * Disable selected / Delete selected: a confirmation with the count (and the keys), then the
 * action in one transaction. Keys deleted by someone else since the page was shown are reported
 * here by name; the others were changed.
 */
export function BulkActionDialog({
  operation,
  keys,
  run,
  onClose,
  onDone,
}: {
  operation: BulkOperation | null;
  keys: AdminKeyRow[];
  run: (operation: BulkOperation, ids: string[]) => Promise<ActionState<BulkOutcome>>;
  onClose: () => void;
  /** After the action succeeded (even partly): clear the selection. */
  onDone: () => void;
}) {
  const [pending, startWork] = useTransition();
  const [gone, setGone] = useState<{ names: string[]; done: number } | null>(null);
  const open = operation !== null;
  const words = operation ? WORDS[operation] : WORDS.disable;

  const close = () => {
    if (pending) return;
    setGone(null);
    onClose();
  };

  const confirm = () =>
    startWork(async () => {
      if (!operation) return;
      const result = await run(
        operation,
        keys.map((key) => key.id),
      );
      if (!result?.ok) {
        toast.error(result?.message ?? `Could not ${words.verb.toLowerCase()} the keys.`);
        return;
      }
      onDone();
      const outcome = result.data;
      if (outcome && outcome.missing.length > 0) {
        const missing = new Set(outcome.missing);
        setGone({ names: keys.filter((key) => missing.has(key.id)).map((key) => key.name), done: outcome.done });
        return;
      }
      toast.success(result.message ?? `${keysWord(keys.length)} ${words.done}.`);
      onClose();
    });

  const title = gone ? `Some keys were already gone` : `${words.verb} ${keysWord(keys.length)}`;
  const listed = keys.slice(0, LISTED);

  return (
    <Dialog open={open} onOpenChange={(next) => !next && close()}>
      {open ? (
        <DialogContent title={title}>
          {gone ? (
            <div className="space-y-4" role="status">
              <p className="text-sm text-slate-700">
                {keysWord(gone.done)} {gone.done === 1 ? "was" : "were"} {words.done}.{" "}
                {gone.names.length === 1 ? "This key was" : "These keys were"} deleted by someone else in the meantime, so there was nothing
                to {words.verb.toLowerCase()}:
              </p>
              <ul className="list-disc space-y-0.5 pl-5 text-sm break-all text-slate-800">
                {gone.names.map((name, i) => (
                  <li key={`${name}-${i}`}>{name}</li>
                ))}
              </ul>
              <div className="flex justify-end">
                <Button variant="secondary" onClick={close} autoFocus>
                  Done
                </Button>
              </div>
            </div>
          ) : (
            <Confirm
              confirmLabel={words.verb}
              pendingLabel={words.pending}
              tone="danger"
              pending={pending}
              autoFocus
              onCancel={close}
              onConfirm={confirm}
            >
              <div className="space-y-3 text-sm text-slate-700">
                <p>
                  {operation === "delete"
                    ? `Delete ${keysWord(keys.length)}? This is permanent: anything using them stops working at once.`
                    : `Disable ${keysWord(keys.length)}? They stop working at once, and their holders cannot enable them again.`}{" "}
                  Their holders are notified.
                </p>
                <ul className="list-disc space-y-0.5 pl-5 break-all text-slate-800">
                  {listed.map((key) => (
                    <li key={key.id}>
                      <strong className="font-medium">{key.name}</strong> <span className="text-slate-600">({key.user.email})</span>
                    </li>
                  ))}
                  {keys.length > LISTED ? <li className="list-none text-slate-600">and {keys.length - LISTED} more</li> : null}
                </ul>
              </div>
            </Confirm>
          )}
        </DialogContent>
      ) : null}
    </Dialog>
  );
}
