"use client";

import { useActionState, useRef } from "react";
import { toast } from "sonner";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";
import { changePasswordAction } from "../actions";

/** Changing the password ends every other session; this one stays signed in. */
export function ChangePasswordForm() {
  const form = useRef<HTMLFormElement>(null);
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await changePasswordAction(prev, formData);
    if (result?.ok) {
      toast.success(result.message ?? "Password changed.");
      form.current?.reset();
    }
    return result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form ref={form} action={formAction} className="max-w-sm space-y-4" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <Field
        label="Current password"
        name="current_password"
        type="password"
        autoComplete="current-password"
        required
        errors={errors?.current_password}
      />
      <Field
        label="New password"
        name="new_password"
        type="password"
        autoComplete="new-password"
        required
        hint="At least 8 characters. Every other session is signed out."
        errors={errors?.new_password}
      />
      <Button type="submit" variant="secondary" disabled={pending}>
        {pending ? "Changing…" : "Change password"}
      </Button>
    </form>
  );
}
