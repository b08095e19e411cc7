"use client";

import { useActionState } from "react";
import { useSignIn } from "@/components/auth/use-sign-in";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import type { ActionState } from "@/lib/safe-action";
import { createOwnerAction } from "./actions";

type State = (NonNullable<ActionState> & { values?: { name: string; email: string } }) | null;

export function SetupForm() {
  const signIn = useSignIn();
  const [state, formAction, pending] = useActionState<State, FormData>(async (prev, formData) => {
    const values = { name: String(formData.get("name") ?? ""), email: String(formData.get("email") ?? "") };
    const result = await createOwnerAction(prev, formData);
    if (!result?.ok) return { ...result!, values };
    const error = await signIn(values.email, String(formData.get("password") ?? ""));
    return error ? { ok: false, message: `Your account was created, but signing in failed: ${error}`, values } : result;
  }, null);
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="name" required defaultValue={state?.values?.name} errors={errors?.name} />
      <Field label="Email" name="email" type="email" autoComplete="email" required defaultValue={state?.values?.email} errors={errors?.email} />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        required
        hint="At least 8 characters."
        errors={errors?.password}
      />
      <Button type="submit" className="w-full justify-center" disabled={pending}>
        {pending ? "Creating account…" : "Create account"}
      </Button>
    </form>
  );
}
