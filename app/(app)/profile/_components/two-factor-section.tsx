"use client";

import { ShieldCheck } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState, useTransition, type FormEvent } from "react";
import { toast } from "sonner";
import { RecoveryCodesList } from "@/components/auth/recovery-codes-list";
import { TwoFactorSetup, type TwoFactorSecret } from "@/components/auth/two-factor-setup";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent } from "@/components/ui/dialog";
import { Field, FormMessage } from "@/components/ui/field";
import type { TwoFactorStatus } from "@/lib/auth/two-factor";
import { formatDate } from "@/lib/format";
import type { ActionState } from "@/lib/safe-action";
import {
  beginTwoFactorSetupAction,
  disableTwoFactorAction,
  enableTwoFactorAction,
  regenerateRecoveryCodesAction,
} from "../two-factor-actions";

const SOMETHING_WRONG = { ok: false, message: "Something went wrong. Please try again." } as const satisfies ActionState<never>;

/** Profile's **Two-factor authentication** (SPEC §12): set it up, or, once on, new recovery codes and **Turn off**. */
export function TwoFactorSection({ status, hasPassword }: { status: TwoFactorStatus; hasPassword: boolean }) {
  const router = useRouter();
  const [secret, setSecret] = useState<TwoFactorSecret | null>(null);
  const [dialog, setDialog] = useState<"off" | "codes" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [starting, startSetup] = useTransition();

  const begin = () =>
    startSetup(async () => {
      setError(null);
      const result = await beginTwoFactorSetupAction({}).catch(() => SOMETHING_WRONG);
      if (result?.ok && result.data) setSecret(result.data);
      else setError(result && !result.ok ? result.message : SOMETHING_WRONG.message);
    });

  const closeSetup = () => {
    setSecret(null);
    router.refresh();
  };

  return (
    <section aria-labelledby="two-factor-heading" className="space-y-4 border-t border-slate-200 pt-8" data-testid="two-factor-section">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="space-y-1">
          <div className="flex items-center gap-2">
            <h2 id="two-factor-heading" className="text-lg font-semibold">
              Two-factor authentication
            </h2>
            {status.enabled ? <Badge tone="green">On</Badge> : <Badge>Off</Badge>}
          </div>
          <p className="max-w-2xl text-sm text-slate-600">
            {status.enabled
              ? `Signing in asks for a code from your authenticator app. On since ${formatDate(status.enabledAt)}; ` +
                `${status.recoveryCodesLeft} of 10 recovery codes left.`
              : "Add a second step to signing in: a code from an authenticator app on your phone, so a stolen password is not enough."}
          </p>
          {status.required ? (
            <p className="text-sm text-slate-600">
              <ShieldCheck className="mr-1 inline h-4 w-4 text-indigo-600" aria-hidden />
              Your organisation requires two-factor authentication.
            </p>
          ) : null}
        </div>
        <div className="flex flex-wrap gap-2">
          {status.enabled ? (
            <>
              <Button variant="secondary" size="sm" onClick={() => setDialog("codes")}>
                Generate new recovery codes
              </Button>
              {status.required ? null : (
                <Button variant="secondary" size="sm" onClick={() => setDialog("off")}>
                  Turn off
                </Button>
              )}
            </>
          ) : (
            <Button size="sm" disabled={starting} onClick={begin}>
              {starting ? "Preparing…" : "Set up two-factor authentication"}
            </Button>
          )}
        </div>
      </div>
      <FormMessage message={error} />

      <Dialog open={secret !== null} onOpenChange={(open) => (open ? null : closeSetup())}>
        {secret ? (
          <DialogContent title="Set up two-factor authentication">
            <TwoFactorSetup secret={secret} enable={enableTwoFactorAction} onFinished={closeSetup} />
          </DialogContent>
        ) : null}
      </Dialog>
      <TurnOffDialog open={dialog === "off"} hasPassword={hasPassword} onClose={() => setDialog(null)} />
      <NewRecoveryCodesDialog
        open={dialog === "codes"}
        onClose={() => {
          setDialog(null);
          router.refresh();
        }}
      />
    </section>
  );
}

/** Sends the dialog's form to `action`; keeps its answer for the fields. */
function useCodeForm<T>(action: (form: FormData) => Promise<ActionState<T>>) {
  const [state, setState] = useState<ActionState<T>>(null);
  const [pending, setPending] = useState(false);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    try {
      setState(await action(form));
    } catch {
      setState(SOMETHING_WRONG);
    } finally {
      setPending(false);
    }
  }
  return { state, setState, pending, submit };
}

function errorsOf(state: ActionState<unknown>, field: string): string[] | undefined {
  return state && !state.ok ? state.fieldErrors?.[field] : undefined;
}

/**
 * **Turn off** asks for a code. It is also one of Confirm it's you's operations: when the session's
 * confirmation has lapsed the service says so, and this dialog then asks the password as well, so
 * the one code serves both (a TOTP code works once; a separate Confirm dialog would need the next).
 */
function TurnOffDialog({ open, hasPassword, onClose }: { open: boolean; hasPassword: boolean; onClose: () => void }) {
  const [askPassword, setAskPassword] = useState(false);
  const [state, setState] = useState<ActionState>(null);
  const [pending, setPending] = useState(false);
  const close = () => {
    setState(null);
    setAskPassword(false);
    onClose();
  };
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    try {
      const result = await disableTwoFactorAction({
        code: String(form.get("code") ?? ""),
        ...(askPassword ? { password: String(form.get("password") ?? "") } : {}),
      });
      if (result && !result.ok && result.code === "confirmation_required" && hasPassword) setAskPassword(true);
      if (result?.ok) {
        toast.success(result.message ?? "Two-factor authentication is off.");
        close();
      } else {
        setState(result);
      }
    } catch {
      setState(SOMETHING_WRONG);
    } finally {
      setPending(false);
    }
  }
  const confirmation = state && !state.ok && state.code === "confirmation_required";
  const general = state && !state.ok && !state.fieldErrors ? state.message : null;
  return (
    <Dialog open={open} onOpenChange={(next) => (next || pending ? null : close())}>
      {open ? (
        <DialogContent
          title="Turn off two-factor authentication"
          description="Signing in will ask only for your password. Enter a code from your authenticator app, or a recovery code."
        >
          <form onSubmit={submit} className="space-y-4" noValidate>
            {askPassword ? <FormMessage tone="info" message="Confirm it's you: enter your password as well to continue." /> : null}
            <Field
              label="Authentication code"
              name="code"
              autoComplete="one-time-code"
              autoFocus
              required
              errors={errorsOf(state, "code") ?? (general && !confirmation && !askPassword ? [general] : undefined)}
            />
            {askPassword ? (
              <Field
                label="Password"
                name="password"
                type="password"
                autoComplete="current-password"
                required
                errors={errorsOf(state, "password") ?? (general && !confirmation ? [general] : undefined)}
              />
            ) : null}
            <div className="flex justify-end gap-2">
              <Button variant="secondary" disabled={pending} onClick={close}>
                Cancel
              </Button>
              <Button type="submit" variant="danger" disabled={pending}>
                {pending ? "Turning off…" : "Turn off"}
              </Button>
            </div>
          </form>
        </DialogContent>
      ) : null}
    </Dialog>
  );
}

/** Generate new recovery codes: a code first, then the 10 new codes, shown once. */
function NewRecoveryCodesDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { state, setState, pending, submit } = useCodeForm((form) =>
    regenerateRecoveryCodesAction({ code: String(form.get("code") ?? "") }),
  );
  const close = () => {
    setState(null);
    onClose();
  };
  const codes = state?.ok ? state.data?.recoveryCodes : undefined;
  const general = state && !state.ok && !state.fieldErrors ? state.message : null;
  return (
    <Dialog open={open} onOpenChange={(next) => (next || pending ? null : close())}>
      {open ? (
        <DialogContent
          title="Generate new recovery codes"
          description={
            codes ? undefined : "Your current recovery codes stop working. Enter a code from your authenticator app to continue."
          }
        >
          {codes ? (
            <div className="space-y-4">
              <RecoveryCodesList codes={codes} />
              <div className="flex justify-end">
                <Button onClick={close}>Done</Button>
              </div>
            </div>
          ) : (
            <form onSubmit={submit} className="space-y-4" noValidate>
              <Field
                label="Authentication code"
                name="code"
                autoComplete="one-time-code"
                autoFocus
                required
                errors={errorsOf(state, "code") ?? (general ? [general] : undefined)}
              />
              <div className="flex justify-end gap-2">
                <Button variant="secondary" disabled={pending} onClick={close}>
                  Cancel
                </Button>
                <Button type="submit" disabled={pending}>
                  {pending ? "Generating…" : "Generate"}
                </Button>
              </div>
            </form>
          )}
        </DialogContent>
      ) : null}
    </Dialog>
  );
}
