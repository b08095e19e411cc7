"use client";

import { createContext, useCallback, useContext, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import { Field } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";

/**
 * Confirm it's you (SPEC §12). The services refuse sensitive operations of a browser session
 * whose last sign-in or confirmation is over 15 minutes old with code "confirmation_required"
 * (lib/auth/authorize.ts). `useConfirmIdentity()` wraps a server action call: on that refusal it
 * asks the password in the **Confirm it's you** dialog, then makes the same call again, so the
 * person's action simply continues. Cancelling answers the original refusal.
 */

/** Runs `call`; when it is refused for want of a recent confirmation, confirms, then runs it once more. */
export type Confirmed = <S extends ActionState<unknown>>(call: () => Promise<S>) => Promise<S>;

type ConfirmAction = (input: { password: string }) => Promise<ActionState>;

const ConfirmIdentityContext = createContext<(() => Promise<boolean>) | null>(null);

export function isConfirmationRequired(state: ActionState<unknown>): boolean {
  return Boolean(state && !state.ok && state.code === "confirmation_required");
}

/** The one Confirm it's you dialog of the signed-in pages; `confirm` is the server action that checks the password. */
export function ConfirmIdentityProvider({ confirm, children }: { confirm: ConfirmAction; children: ReactNode }) {
  // Everyone waiting for the dialog's answer (two refused calls at once share one dialog).
  const waiting = useRef<((confirmed: boolean) => void)[]>([]);
  const [open, setOpen] = useState(false);

  const ask = useCallback(
    () =>
      new Promise<boolean>((resolve) => {
        waiting.current.push(resolve);
        setOpen(true);
      }),
    [],
  );

  const settle = useCallback((confirmed: boolean) => {
    const resolvers = waiting.current;
    waiting.current = [];
    setOpen(false);
    for (const resolve of resolvers) resolve(confirmed);
  }, []);

  return (
    <ConfirmIdentityContext.Provider value={ask}>
      {children}
      <ConfirmIdentityDialog open={open} confirm={confirm} onDone={settle} />
    </ConfirmIdentityContext.Provider>
  );
}

function ConfirmIdentityDialog({ open, confirm, onDone }: { open: boolean; confirm: ConfirmAction; onDone: (confirmed: boolean) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get("password") ?? "");
    setPending(true);
    try {
      const result = await confirm({ password });
      if (result?.ok) {
        setError(null);
        onDone(true);
      } else {
        setError(result?.fieldErrors?.password?.[0] ?? result?.message ?? "Something went wrong. Please try again.");
      }
    } catch {
      setError("Something went wrong. Please try again.");
    } finally {
      setPending(false);
    }
  }

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (next || pending) return;
        setError(null);
        onDone(false);
      }}
    >
      {open ? (
        <DialogContent title="Confirm it's you" description="Enter your password to continue.">
          <form onSubmit={submit} className="space-y-4" noValidate>
            <Field
              label="Password"
              name="password"
              type="password"
              autoComplete="current-password"
              autoFocus
              required
              errors={error ? [error] : undefined}
            />
            <div className="flex justify-end gap-2">
              <Button
                type="button"
                variant="secondary"
                disabled={pending}
                onClick={() => {
                  setError(null);
                  onDone(false);
                }}
              >
                Cancel
              </Button>
              <Button type="submit" disabled={pending}>
                {pending ? "Confirming…" : "Confirm"}
              </Button>
            </div>
          </form>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

/**
 * `const confirmed = useConfirmIdentity();` then `await confirmed(() => someAction(input))`
 * instead of `await someAction(input)`: same answer, with Confirm it's you in between when needed.
 */
export function useConfirmIdentity(): Confirmed {
  const ask = useContext(ConfirmIdentityContext);
  if (!ask) throw new Error("useConfirmIdentity needs a ConfirmIdentityProvider (app/(app)/layout.tsx).");
  return useCallback(
    async <S extends ActionState<unknown>>(call: () => Promise<S>): Promise<S> => {
      const first = await call();
      if (!isConfirmationRequired(first)) return first;
      if (!(await ask())) return first;
      return call();
    },
    [ask],
  );
}
