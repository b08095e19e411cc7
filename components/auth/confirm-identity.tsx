"use client";

import { signIn } from "next-auth/react";
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
 *
 * What the dialog asks follows the account (`needs`): the **Password**, and with two-factor
 * authentication the **Authentication code** too; an account single sign-on made has no password
 * (the code alone, with 2FA); with neither, the only proof left is signing in with SSO again.
 */

/** Runs `call`; when it is refused for want of a recent confirmation, confirms, then runs it once more. */
export type Confirmed = <S extends ActionState<unknown>>(call: () => Promise<S>) => Promise<S>;

type ConfirmAction = (input: { password?: string; code?: string }) => Promise<ActionState>;

/** What the signed-in person confirms with. */
export interface ConfirmNeeds {
  password: boolean;
  code: boolean;
}

const ConfirmIdentityContext = createContext<(() => Promise<boolean>) | null>(null);

export function isConfirmationRequired(state: ActionState<unknown>): boolean {
  return Boolean(state && !state.ok && state.code === "confirmation_required");
}

/** The one Confirm it's you dialog of the signed-in pages; `confirm` is the server action that checks the password. */
export function ConfirmIdentityProvider({
  confirm,
  needs = { password: true, code: false },
  children,
}: {
  confirm: ConfirmAction;
  needs?: ConfirmNeeds;
  children: ReactNode;
}) {
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
      <ConfirmIdentityDialog open={open} confirm={confirm} needs={needs} onDone={settle} />
    </ConfirmIdentityContext.Provider>
  );
}

const DESCRIPTIONS = {
  both: "Enter your password and the authentication code from your app to continue.",
  password: "Enter your password to continue.",
  code: "Enter the authentication code from your app to continue.",
  neither: "Your account signs in with single sign-on: sign in again to continue.",
} as const;

function ConfirmIdentityDialog({
  open,
  confirm,
  needs,
  onDone,
}: {
  open: boolean;
  confirm: ConfirmAction;
  needs: ConfirmNeeds;
  onDone: (confirmed: boolean) => void;
}) {
  const [state, setState] = useState<ActionState>(null);
  const [pending, setPending] = useState(false);
  const kind = needs.password && needs.code ? "both" : needs.password ? "password" : needs.code ? "code" : "neither";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const input = {
      ...(needs.password ? { password: String(form.get("password") ?? "") } : {}),
      ...(needs.code ? { code: String(form.get("code") ?? "") } : {}),
    };
    setPending(true);
    try {
      const result = await confirm(input);
      if (result?.ok) {
        setState(null);
        onDone(true);
      } else {
        setState(result ?? { ok: false, message: "Something went wrong. Please try again." });
      }
    } catch {
      setState({ ok: false, message: "Something went wrong. Please try again." });
    } finally {
      setPending(false);
    }
  }

  const errors = state && !state.ok ? state.fieldErrors : undefined;
  // A refusal that is about neither field (rate limited, session ended) shows under the first one.
  const general = state && !state.ok && !errors?.password && !errors?.code ? state.message : null;
  const cancel = () => {
    setState(null);
    onDone(false);
  };

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (next || pending) return;
        cancel();
      }}
    >
      {open ? (
        <DialogContent title="Confirm it's you" description={DESCRIPTIONS[kind]}>
          {kind === "neither" ? (
            <div className="flex justify-end gap-2">
              <Button type="button" variant="secondary" onClick={cancel}>
                Cancel
              </Button>
              {/* Back here signed in afresh: the page's action can then be done again. */}
              <Button type="button" onClick={() => void signIn("oidc", { callbackUrl: window.location.href })}>
                Sign in with SSO
              </Button>
            </div>
          ) : (
            <form onSubmit={submit} className="space-y-4" noValidate>
              {needs.password ? (
                <Field
                  label="Password"
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  autoFocus
                  required
                  errors={errors?.password ?? (general ? [general] : undefined)}
                />
              ) : null}
              {needs.code ? (
                <Field
                  label="Authentication code"
                  name="code"
                  autoComplete="one-time-code"
                  inputMode="text"
                  autoFocus={!needs.password}
                  required
                  hint="The 6-digit code from your authenticator app, or a recovery code."
                  errors={errors?.code ?? (general && !needs.password ? [general] : undefined)}
                />
              ) : null}
              <div className="flex justify-end gap-2">
                <Button type="button" variant="secondary" disabled={pending} onClick={cancel}>
                  Cancel
                </Button>
                <Button type="submit" disabled={pending}>
                  {pending ? "Confirming…" : "Confirm"}
                </Button>
              </div>
            </form>
          )}
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
