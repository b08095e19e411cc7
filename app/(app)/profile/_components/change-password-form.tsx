"use client";

import { useActionState } from "react";
import { toast } from "sonner";
import { useSignIn } from "@/components/auth/use-sign-in";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";
import { changePasswordAction } from "../actions";

/** Changing the password ends every session; this one signs straight back in with the new password. */
export function ChangePasswordForm({ email }: { email: string }) {
  const signIn = useSignIn();
  const [state, formAction, pending] = useActionState<ActionState, FormData>(async (prev, formData) => {
    const result = await changePasswordAction(prev, formData);
    if (!result?.ok) return result;
    const error = await signIn(email, String(formData.get("new_password") ?? ""), "/profile");
    if (error) return { ok: false, message: `Your password was changed, but signing in again failed: ${error}` };
    toast.success("Password changed. Your other sessions were signed out.");
    return result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="max-w-sm space-y-4" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Current password" name="current_password" type="password" autoComplete="current-password" required errors={errors?.current_password} />
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
