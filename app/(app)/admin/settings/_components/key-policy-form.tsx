"use client";

import Link from "next/link";
import { useActionState, useId, type ReactNode } from "react";
import { toast } from "sonner";
import { useConfirmIdentity } from "@/components/auth/confirm-identity";
import { Button } from "@/components/ui/button";
import { cn } from "@/components/ui/cn";
import { FieldErrors, FormMessage, fieldErrorsFrom, formLevelMessage, inputClass } from "@/components/ui/field";
import { lifetimeLabel, MAX_LIFETIME_CHOICES, UNUSED_CHOICES } from "@/lib/keys/expiry";
import type { ActionState } from "@/lib/safe-action";
import type { KeyPolicy } from "@/lib/settings/policy";
import { NO_LIMIT } from "@/lib/validation/settings";
import { updateKeyPolicyAction } from "../actions";

const optionsOf = (choices: readonly (number | null)[], none: string) =>
  choices.map((days) => ({ value: days === null ? NO_LIMIT : String(days), label: lifetimeLabel(days, none) }));

const LIFETIME_OPTIONS = optionsOf(MAX_LIFETIME_CHOICES, "No limit");
const UNUSED_OPTIONS = optionsOf(UNUSED_CHOICES, "Off");

/** The organisation's key policy (SPEC §11): Maximum key lifetime and Disable keys unused for. */
export function KeyPolicyForm({ policy }: { policy: KeyPolicy }) {
  const confirmed = useConfirmIdentity();
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await confirmed(() => updateKeyPolicyAction(prev, formData));
    if (result?.ok) toast.success(result.message ?? "Settings saved.");
    return result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-5" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <SelectField
        label="Maximum key lifetime"
        name="max_key_lifetime_days"
        defaultValue={policy.maxKeyLifetimeDays === null ? NO_LIMIT : String(policy.maxKeyLifetimeDays)}
        options={LIFETIME_OPTIONS}
        errors={errors?.max_key_lifetime_days}
        hint={
          <>
            New keys, and keys regenerated after expiring, must expire within this time: No expiration and later dates are no longer
            offered, in the browser or the API. Lowering it deletes nothing: existing keys past it are listed under{" "}
            <Link href="/admin/api-access?over_policy=1" className="font-medium text-indigo-700 underline underline-offset-4">
              Over policy
            </Link>{" "}
            in the API Access Manager.
          </>
        }
      />
      <SelectField
        label="Disable keys unused for"
        name="disable_unused_after_days"
        defaultValue={policy.disableUnusedAfterDays === null ? NO_LIMIT : String(policy.disableUnusedAfterDays)}
        options={UNUSED_OPTIONS}
        errors={errors?.disable_unused_after_days}
        hint={
          "A scheduled job disables active keys nobody has used for this long (counted from their last use, or from when they " +
          "were created or enabled). Their holders are told, and may enable them again, which restarts the clock."
        }
      />
      <Button type="submit" disabled={pending}>
        {pending ? "Saving…" : "Save"}
      </Button>
    </form>
  );
}

function SelectField({
  label,
  name,
  defaultValue,
  options,
  errors,
  hint,
}: {
  label: string;
  name: string;
  defaultValue: string;
  options: { value: string; label: string }[];
  errors?: string[];
  hint: ReactNode;
}) {
  const id = useId();
  const describedBy = [`${id}-hint`, errors?.length ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-sm font-medium text-slate-800">
        {label}
      </label>
      <select
        id={id}
        name={name}
        defaultValue={defaultValue}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={describedBy}
        className={cn(inputClass, "w-full pr-8 sm:w-60")}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      <p id={`${id}-hint`} className="text-xs text-slate-600">
        {hint}
      </p>
      <FieldErrors id={`${id}-error`} errors={errors} />
    </div>
  );
}
