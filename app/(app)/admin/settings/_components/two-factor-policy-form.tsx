"use client";

import { useActionState, useId } from "react";
import { toast } from "sonner";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { FieldErrors, FormMessage, fieldErrorsFrom, formLevelMessage, inputClass } from "@/components/ui/field";
import type { TwoFactorPolicy } from "@/db/schema";
import { TWO_FACTOR_POLICY_LABELS } from "@/lib/auth/two-factor-policy";
import type { ActionState } from "@/lib/safe-action";
import { updateTwoFactorPolicyAction } from "../actions";

const OPTIONS = Object.entries(TWO_FACTOR_POLICY_LABELS) as [TwoFactorPolicy, string][];

/** **Require two-factor authentication** (SPEC §12): Off, For Owners and Admins, For everyone. */
export function TwoFactorPolicyForm({ policy }: { policy: TwoFactorPolicy }) {
  const id = useId();
  const confirmed = useConfirmIdentity();
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await confirmed(() => updateTwoFactorPolicyAction(prev, formData));
    if (result?.ok) toast.success(result.message ?? "Settings saved.");
    return result;
  }, null);
  const errors = fieldErrorsFrom(state)?.require_two_factor;
  return (
    <form action={formAction} className="space-y-5" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <div className="space-y-1.5">
        <label htmlFor={id} className="block text-sm font-medium text-slate-800">
          Require two-factor authentication
        </label>
        <select
          id={id}
          name="require_two_factor"
          defaultValue={policy}
          aria-invalid={errors?.length ? true : undefined}
          aria-describedby={[`${id}-hint`, errors?.length ? `${id}-error` : null].filter(Boolean).join(" ")}
          className={cn(inputClass, "w-full pr-8 sm:w-60")}
        >
          {OPTIONS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        <p id={`${id}-hint`} className="text-xs text-slate-600">
          People it covers who have not set up two-factor authentication are sent to set it up before anything else, on their next page (you
          too). API keys keep working. Service accounts never sign in, so it does not apply to them.
        </p>
        <FieldErrors id={`${id}-error`} errors={errors} />
      </div>
      <Button type="submit" disabled={pending}>
        {/* Not "Save": the key policy's form above has that one. */}
        {pending ? "Applying…" : "Apply"}
      </Button>
    </form>
  );
}
