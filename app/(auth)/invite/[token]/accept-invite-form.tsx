"use client";

import { useSubmitThenSignIn } from "@/components/auth/use-sign-in";
import { Button } from "@/components/ui/button";
import { Field, FormMessage, formLevelMessage, fieldErrorsFrom } from "@/components/ui/field";
import { acceptInviteAction } from "./actions";

export function AcceptInviteForm({ token }: { token: string }) {
  const [state, formAction, pending] = useSubmitThenSignIn(acceptInviteAction, {
    values: (formData) => ({ name: String(formData.get("name") ?? "") }),
    // The invite decides the email; the action answers with it.
    emailOf: (_formData, data) => data?.email ?? "",
  });
  const errors = fieldErrorsFrom(state);
  return (
    <form action={formAction} className="space-y-4" noValidate>
      <input type="hidden" name="token" value={token} />
      <FormMessage message={formLevelMessage(state)} />
      <Field label="Name" name="name" autoComplete="name" required defaultValue={state?.values?.name} errors={errors?.name} />
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
