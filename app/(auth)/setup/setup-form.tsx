"use client";

import { useSubmitThenSignIn } from "@/components/auth/use-sign-in";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import { createOwnerAction } from "./actions";

export function SetupForm() {
  const [state, formAction, pending] = useSubmitThenSignIn(createOwnerAction, {
    values: (formData) => ({ name: String(formData.get("name") ?? ""), email: String(formData.get("email") ?? "") }),
    emailOf: (formData) => String(formData.get("email") ?? ""),
  });
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="name" required defaultValue={state?.values?.name} errors={errors?.name} />
      <Field
        label="Email"
        name="email"
        type="email"
        autoComplete="email"
        required
        defaultValue={state?.values?.email}
        errors={errors?.email}
      />
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
